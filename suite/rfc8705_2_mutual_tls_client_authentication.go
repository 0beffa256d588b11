package suite

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 8705 §2: mutual-TLS client authentication. A client registered for tls_client_auth
// (§2.1, a PKI certificate and its subject) or self_signed_tls_client_auth (§2.2, a registered
// certificate) authenticates by the certificate it presents in the TLS handshake and the
// client_id in the body. Every mutual TLS request goes to the metadata's mtls_endpoint_aliases
// entry when there is one (§5; mtlsURL), as the checklist asks of the suite (a client that
// ignored the aliases: cloudentity/oauth2c PR #55). Needs F-MTLS: the fixture clients mtls and
// mtls_2, each with a certificate of its own.
var _ = Describe("RFC 8705 §2: mutual-TLS client authentication", func() {
	// §2 (MUST): the authorization server enforces the binding between the client and its
	// certificate; no certificate, or one that is not the client's, is a failed client
	// authentication: RFC 6749 §5.2's invalid_client. Judged for each mTLS fixture client; the
	// other client's certificate is the wrong one (a certificate the suite makes when only one
	// client is declared). A server that refuses the connection in the TLS handshake shows no
	// OAuth error, but issues nothing either: that case is recorded as not judged.
	It("issues a token to an mTLS client presenting its certificate with its client_id, and answers invalid_client without a certificate or with another client's",
		mtlsLabels("token", "C-8705-2-a"), func(ctx SpecContext) {
			clients := needMTLSClients()
			r := row("C-8705-2-a")
			for i, c := range clients {
				By("asking for a token as " + c.ID + " (" + c.AuthMethod + ") with its own certificate")
				res := mtlsTokenRequest(ctx, "token request over mutual TLS with the client's certificate", c, c.Certificate)
				_, why := parseTokenResponse(res)
				r.That(why == "", "%s (%s) presented its registered certificate and its client_id at %s and got no token: %s",
					c.ID, c.AuthMethod, redactor.mask(mtlsURL("token_endpoint")), why)

				By("asking for a token as " + c.ID + " without a certificate")
				expectMTLSRefusal(ctx, "C-8705-2-a", c, nil, "no certificate")

				By("asking for a token as " + c.ID + " with another certificate")
				expectMTLSRefusal(ctx, "C-8705-2-a", c, otherCertificate(clients, i), "another client's certificate")
			}
		}, SpecTimeout(target.specTimeout(7)))
})

// mtlsLabels labels a spec of RFC 8705: its rows, rfc8705 and cap:mtls.
func mtlsLabels(endpoint string, ids ...string) Labels {
	return append(specLabels(endpoint, ids...), "rfc8705", "cap:mtls")
}

// needMTLSClients returns the mTLS fixture clients the target declares (F-MTLS), or ends the
// spec as not judged.
func needMTLSClients() []Credentials {
	GinkgoHelper()
	needCap(config.CapMTLS)
	out := mtlsClients()
	if len(out) == 0 {
		judge.Skip("this spec needs F-MTLS: a client registered for tls_client_auth or self_signed_tls_client_auth with its certificate and key (clients.mtls in the target description), and none is declared")
	}
	return out
}

// mtlsClients are the mTLS fixture clients the target declares, certificate A's first.
func mtlsClients() []Credentials {
	var out []Credentials
	for _, c := range []*Credentials{target.Clients.MTLS, target.Clients.MTLS2} {
		if c != nil && c.Certificate != nil {
			out = append(out, *c)
		}
	}
	return out
}

// needMTLSClient is the first mTLS fixture client (certificate A), or ends the spec as not
// judged.
func needMTLSClient() Credentials {
	GinkgoHelper()
	return needMTLSClients()[0]
}

// mtlsTokenRequest asks for a token as client c over mutual TLS, presenting cert (nil: none),
// at the token endpoint's mTLS alias when the metadata lists one.
func mtlsTokenRequest(ctx context.Context, note string, c Credentials, cert *tls.Certificate) *http.Response {
	GinkgoHelper()
	res, err := tryMTLSTokenRequest(ctx, note, c, cert)
	if err != nil {
		Fail(err.Error())
	}
	return res
}

// tryMTLSTokenRequest is mtlsTokenRequest without failing the spec when there is no answer.
func tryMTLSTokenRequest(ctx context.Context, note string, c Credentials, cert *tls.Certificate) (*http.Response, error) {
	GinkgoHelper()
	needTokenPath()
	endpoint := mtlsURL("token_endpoint")
	authorization, body := c.authenticateAt(target.url(endpoint), form("client_id", c.ID))
	return trySend(ctx, request{Method: http.MethodPost, Path: endpoint, Note: note, Form: body, Authorization: authorization, Certificate: cert})
}

// expectMTLSRefusal judges, for the row id, that the token request of client c presenting cert
// (what describes it) gets invalid_client and no token (RFC 8705 §2). A connection refused in
// the TLS handshake shows no OAuth error: not judged, and said so.
func expectMTLSRefusal(ctx context.Context, id string, c Credentials, cert *tls.Certificate, what string) {
	GinkgoHelper()
	r := row(id)
	res, err := tryMTLSTokenRequest(ctx, "token request over mutual TLS with "+what, c, cert)
	if err != nil {
		r.Cannot("%s with %s got no HTTP answer, so no invalid_client could be seen (a server may refuse the TLS handshake itself): %s", c.ID, what, err.Error())
		return
	}
	tok, why := parseTokenResponse(res)
	if why == "" {
		r.That(false, "%s sent %s with its client_id and got a token (token_type %q): the certificate does not authenticate the client", c.ID, what, oneLine(tok.TokenType, 40))
		return
	}
	expectTokenError(res, id, "invalid_client")
}

// mtlsBoundToken gets a token of client c over mutual TLS with its certificate, for a spec
// that needs a certificate-bound token; the spec is blocked by C-8705-2-a when there is none.
func mtlsBoundToken(ctx context.Context, c Credentials) issuedToken {
	GinkgoHelper()
	res, err := tryMTLSTokenRequest(ctx, "get a token over mutual TLS", c, c.Certificate)
	if err != nil {
		judge.Block("C-8705-2-a", "no token could be obtained over mutual TLS, which this spec needs: %s", err.Error())
	}
	tok, why := parseTokenResponse(res)
	if why != "" {
		judge.Block("C-8705-2-a", "%s got no token over mutual TLS with its certificate, which this spec needs: %s", c.ID, why)
	}
	return tok
}

// otherCertificate is a certificate that is not clients[i]'s: the next fixture client's, or,
// with one client declared, one the suite makes that no client is registered with.
func otherCertificate(clients []Credentials, i int) *tls.Certificate {
	GinkgoHelper()
	if len(clients) > 1 {
		return clients[(i+1)%len(clients)].Certificate
	}
	cert, err := strangerCertificate()
	if err != nil {
		Fail("cannot make a certificate of the suite's own: " + err.Error())
	}
	return cert
}

// strangerCertificate is a self-signed client certificate the suite makes once per run: no
// client is registered with it.
var strangerCertificate = sync.OnceValues(func() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "ccconform stranger client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})
