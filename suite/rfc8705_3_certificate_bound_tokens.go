package suite

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 8705 §3: certificate-bound access tokens. A token issued over mutual TLS is bound to the
// client's certificate: a JWT carries the binding in cnf (§3.1), introspection returns it
// (§3.2), and the resource server serves the token only over a connection with that
// certificate (§3). The token is the first mTLS fixture client's (certificate A, F-MTLS); the
// other certificate is the second client's (certificate B), or one the suite makes.
var _ = Describe("RFC 8705 §3: certificate-bound access tokens", func() {
	// §3.1 (MUST): x5t#S256 is the base64url (no padding) SHA-256 of the certificate's DER: 43
	// characters; a hex or SHA-1 thumbprint is a known mistake (wso2/product-is #4846). §3.2:
	// introspection conveys the same cnf as a top-level member (cap:introspection, judged with
	// the introspector; at introspection's mTLS alias only when the introspector itself does
	// mutual TLS, since §5's aliases are for clients that do, and an alias host may refuse a
	// connection without a certificate). A JWT SHOULD carry the
	// binding in cnf (§3.1), so a token shown with no x5t#S256 at all is the row's lenient case:
	// what a TLS-terminating edge that does not pass the certificate on produces
	// (marcjazz/authkestra #224), or a binding shown elsewhere.
	It("binds a token issued over mutual TLS to the certificate: cnf x5t#S256 is the base64url SHA-256 of its DER, in the JWT and in introspection",
		mtlsLabels("token", "C-8705-3.1-a"), func(ctx SpecContext) {
			c := needMTLSClient()
			tok := mtlsBoundToken(ctx, c)
			r := row("C-8705-3.1-a")
			seen := false
			if t, isJWT := decodeJWT(tok.AccessToken); isJWT {
				seen = true
				expectCertificateConfirmation(r, t.Claims["cnf"], c.Certificate, "the JWT access token's cnf claim")
			}
			if canIntrospect() {
				seen = true
				By("introspecting the certificate-bound token")
				res := introspect(ctx, *target.Clients.Introspector, "introspect the certificate-bound token", tokenForm(tok.AccessToken, ""))
				members := introspectionOf(res)
				if active, _ := members["active"].(bool); !active {
					r.Cannot("introspection calls the fresh certificate-bound token inactive, so its cnf cannot be seen")
				} else {
					expectCertificateConfirmation(r, members["cnf"], c.Certificate, "introspection's top-level cnf member")
				}
			}
			if !seen {
				judge.Skip("the token is not a JWT and introspection is not configured (introspection endpoint and clients.introspector), so its binding cannot be seen")
			}
		}, SpecTimeout(target.specTimeout(3)))

	// §3 (MUST): the resource server obtains the client certificate of the connection and
	// verifies that it matches the token's binding; a request without it, or with another
	// certificate, is refused as RFC 6750 says: 401 with invalid_token. Judged at the mTLS
	// resource path (mtls_resource_path, F-MTLS), which must serve the token with certificate A.
	It("serves a certificate-bound token at the mTLS resource with its certificate, and answers 401 invalid_token without a certificate or with another",
		mtlsLabels("resource", "C-8705-3-a"), func(ctx SpecContext) {
			clients := needMTLSClients()
			if target.MTLSResourcePath == "" {
				judge.Skip("this spec needs F-MTLS's resource path, a protected GET route that requires certificate-bound tokens (mtls_resource_path in the target description, --mtls-resource-path), and none is given")
			}
			tok := mtlsBoundToken(ctx, clients[0])
			r := row("C-8705-3-a")
			By("presenting the token with its certificate")
			res := send(ctx, request{Path: target.MTLSResourcePath, Note: "certificate-bound token with its certificate",
				Authorization: tok.bearer(), Certificate: clients[0].Certificate})
			r.RequireThat(res.StatusCode >= 200 && res.StatusCode < 300, "%s answered %s to the certificate-bound token presented with its certificate",
				redactor.mask(target.MTLSResourcePath), res.Status)
			expectBindingRefusal(ctx, r, target.MTLSResourcePath, tok, nil, "without a certificate")
			expectBindingRefusal(ctx, r, target.MTLSResourcePath, tok, otherCertificate(clients, 0), "with another certificate")
		}, SpecTimeout(target.specTimeout(4)))

	// §3 (MUST), at the scenario's read route: a resource server that serves the token there
	// with its certificate must check the binding there too. When the read route does not serve
	// the token even with the certificate, its refusals say nothing of the binding: not judged.
	It("refuses a certificate-bound token at the read route without its certificate or with another, with 401 invalid_token",
		mtlsLabels("resource", "C-8705-3-a"), func(ctx SpecContext) {
			clients := needMTLSClients()
			needReadPath()
			tok := mtlsBoundToken(ctx, clients[0])
			r := row("C-8705-3-a")
			By("presenting the token with its certificate")
			res := send(ctx, request{Path: target.ReadPath, Note: "certificate-bound token with its certificate",
				Authorization: tok.bearer(), Certificate: clients[0].Certificate})
			if res.StatusCode < 200 || res.StatusCode >= 300 {
				judge.Skip("the read route answered %s to the certificate-bound token presented with its certificate, so its refusals would say nothing of the binding (the mTLS resource path is judged instead)", res.Status)
			}
			expectBindingRefusal(ctx, r, target.ReadPath, tok, nil, "without a certificate")
			expectBindingRefusal(ctx, r, target.ReadPath, tok, otherCertificate(clients, 0), "with another certificate")
		}, SpecTimeout(target.specTimeout(4)))
})

// expectBindingRefusal judges, for the row r, that the route refuses the certificate-bound
// token presented with cert (nil: none) as RFC 8705 §3 says: 401 and a Bearer challenge with
// invalid_token. A connection refused in the TLS handshake shows no answer: not judged.
func expectBindingRefusal(ctx SpecContext, r judge.Judge, path string, tok issuedToken, cert *tls.Certificate, what string) {
	GinkgoHelper()
	By("presenting the token " + what)
	res, err := trySend(ctx, request{Path: path, Note: "certificate-bound token " + what, Authorization: tok.bearer(), Certificate: cert})
	if err != nil {
		r.Cannot("the certificate-bound token sent %s got no HTTP answer (a server may refuse the TLS handshake itself): %s", what, err.Error())
		return
	}
	r.Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "the certificate-bound token sent "+what)
	r.Expect(res).To(HaveBearerAttribute("error", "invalid_token"), "the certificate-bound token sent "+what)
}

// expectCertificateConfirmation judges, for the row r, that cnf (where says where it was read)
// is a confirmation object whose x5t#S256 is cert's thumbprint (RFC 8705 §3.1), and names the
// mistake when it is another encoding of the certificate.
func expectCertificateConfirmation(r judge.Judge, cnf any, cert *tls.Certificate, where string) {
	GinkgoHelper()
	want := certThumbprint(cert)
	obj, isObject := cnf.(map[string]any)
	switch {
	case cnf == nil:
		r.Lenient().That(false, "%s is absent: the token is not shown as bound to the client certificate it was issued over (an edge that terminates TLS without passing the certificate on issues unbound tokens, marcjazz/authkestra #224)", where)
	case !isObject:
		r.That(false, "%s is a JSON %s, not an object", where, jsonKindOf(cnf))
	default:
		got, isString := obj["x5t#S256"].(string)
		switch {
		case obj["x5t#S256"] == nil:
			hint := ""
			if _, sha1Member := obj["x5t"]; sha1Member {
				hint = " (it has x5t, a SHA-1 thumbprint, which RFC 8705 §3.1 does not use)"
			}
			r.Lenient().That(false, "%s has no x5t#S256 member%s", where, hint)
		case !isString:
			r.That(false, "%s has x5t#S256 as a JSON %s, not a string", where, jsonKindOf(obj["x5t#S256"]))
		default:
			r.That(got == want, "%s has x5t#S256 %q, not the certificate's base64url SHA-256 %q%s", where, oneLine(got, 100), want,
				thumbprintMistake(got, cert))
		}
	}
}

// thumbprintMistake names the encoding got is of the certificate, when it is one of the known
// wrong ones (checklist 2.O item 10: hex, SHA-1, padding); "" otherwise.
func thumbprintMistake(got string, cert *tls.Certificate) string {
	if cert == nil || len(cert.Certificate) == 0 {
		return ""
	}
	der := cert.Certificate[0]
	s256, s1 := sha256.Sum256(der), sha1.Sum(der)
	switch {
	case strings.EqualFold(got, hex.EncodeToString(s256[:])):
		return ": that is the SHA-256 hex-encoded, not base64url-encoded (wso2/product-is #4846)"
	case got == base64.URLEncoding.EncodeToString(s256[:]):
		return ": that is the base64url SHA-256 with = padding, which base64url here leaves out (RFC 7515 §2)"
	case got == base64.StdEncoding.EncodeToString(s256[:]) || got == base64.RawStdEncoding.EncodeToString(s256[:]):
		return ": that is the SHA-256 in standard base64 (+ and /), not base64url"
	case got == base64.RawURLEncoding.EncodeToString(s1[:]) || got == base64.URLEncoding.EncodeToString(s1[:]) ||
		strings.EqualFold(got, hex.EncodeToString(s1[:])) || got == base64.StdEncoding.EncodeToString(s1[:]):
		return ": that is a SHA-1 thumbprint (x5t), not SHA-256"
	}
	return fmt.Sprintf(" (%d characters, where a base64url SHA-256 has 43)", len(got))
}
