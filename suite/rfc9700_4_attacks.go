package suite

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
)

// RFC 9700 §4: attacks and their mitigations, where a client-credentials provider's part can be
// seen from outside. Judged only under --profile=bcp (checklist 2.F).
var _ = Describe("RFC 9700 §4: attacks and mitigations", func() {
	// §4.3.2 (MUST, on the client; kind R, a warning): access tokens do not travel in the URI
	// query, where logs and histories keep them, so a resource server should not take one
	// there. RFC 6750 §2.3 allows it (C-6750-2.3-a records it); the BCP warns. A read path
	// that serves a request with no token at all is RFC 6749 §7's failure, not this one.
	It("does not serve the read path to a valid token sent only as access_token in the query",
		bcpLabels("resource", "C-9700-4.3.2-a"), func(ctx SpecContext) {
			needProfile("C-9700-4.3.2-a")
			issue := func() issuedToken { return rsReadToken(ctx) }
			res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return send(ctx, request{Path: target.ReadPath, Note: "token in the query only",
					Query: url.Values{"access_token": {t.AccessToken}}})
			})
			if rsSucceeded(res) {
				rsNeedProtectedReadPath(ctx)
			}
			row("C-9700-4.3.2-a").That(!rsSucceeded(res), "a token in the URI query was accepted (%s)", res.Status)
		}, SpecTimeout(target.specTimeout(5)))

	// §4.13 (MUST): a TLS-terminating proxy removes the security headers a client could forge,
	// such as the client certificate it forwards. A token request made without TLS client
	// authentication, carrying a made-up certificate in Client-Cert (RFC 9440),
	// X-Forwarded-Client-Cert (Envoy) and X-SSL-Client-Cert (nginx), must not get a token bound
	// to that certificate: no cnf with x5t#S256 (RFC 8705 §3.1) in a JWT access token or in
	// its introspection. A refusal binds nothing, so it passes. An opaque token without
	// introspection shows nothing: not judged.
	It("does not bind a token to a client certificate forged in Client-Cert, X-Forwarded-Client-Cert or X-SSL-Client-Cert headers",
		bcpLabels("token", "C-9700-4.13-a"), func(ctx SpecContext) {
			needProfile("C-9700-4.13-a")
			needTokenPath()
			der, thumb, err := bcpForgedCertificate()
			if err != nil {
				Fail("cannot make the forged certificate: " + err.Error())
			}
			pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
			header := http.Header{
				"Client-Cert":             {":" + base64.StdEncoding.EncodeToString(der) + ":"},
				"X-Forwarded-Client-Cert": {"Hash=" + thumb + `;Cert="` + url.QueryEscape(pemText) + `"`},
				"X-Ssl-Client-Cert":       {url.QueryEscape(pemText)},
			}
			authorization, body := target.Client.authenticate(form("scope", askedScope()))
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "token request with forged client certificate headers",
				Form: body, Authorization: authorization, Header: header})
			r := row("C-9700-4.13-a")
			tok, why := parseTokenResponse(res)
			if why != "" {
				r.That(true, "")
				return
			}
			cnf, seen, how := bcpConfirmation(ctx, tok.AccessToken)
			if !seen {
				r.Cannot("%s", how)
				return
			}
			x5t, bound := cnf["x5t#S256"]
			r.That(!bound, "the token is bound to a client certificate (cnf x5t#S256 %s, in %s), though none was presented in TLS: the forged headers were trusted%s",
				metadataValue(x5t), how, map[bool]string{true: " (it is the forged certificate's thumbprint)", false: ""}[x5t == thumb])
		}, SpecTimeout(target.specTimeout(3)))

	// §4.15 (SHOULD NOT, with a MUST where it cannot be avoided): a client must not be able to
	// pass for a resource owner. A client-credentials token names the client: its sub is the
	// client_id (RFC 9068 §2.2 recommends that), it carries no claims that only a user has
	// (name, email, authentication time, acr, amr...), and it does not carry the known user's
	// subject (--user-sub). Seen in a JWT access token, or in introspection for an opaque one;
	// a sub that is neither the client_id nor the user's is recorded, since another stable
	// per-client value is allowed.
	It("issues client-credentials tokens whose subject is the client, with no user claims",
		bcpLabels("token", "C-9700-4.15-a"), func(ctx SpecContext) {
			needProfile("C-9700-4.15-a")
			tok := issueToken(ctx, target.Client, askedScope())
			claims, isJWT := rsJWTClaims(tok.AccessToken)
			where := "the JWT access token"
			if !isJWT {
				var seen bool
				var why string
				claims, seen, why = bcpIntrospection(ctx, tok.AccessToken)
				if !seen {
					row("C-9700-4.15-a").Cannot("%s", why)
					return
				}
				where = "the token's introspection"
			}
			r := row("C-9700-4.15-a")
			sub, _ := claims["sub"].(string)
			if target.UserSub != "" {
				r.That(sub != target.UserSub, "%s's sub is the known user's subject (--user-sub): the client passes for that user", where)
			}
			var userClaims []string
			for _, c := range bcpUserOnlyClaims {
				if _, ok := claims[c]; ok {
					userClaims = append(userClaims, c)
				}
			}
			sort.Strings(userClaims)
			r.That(len(userClaims) == 0, "%s carries claims only a user has: %s", where, strings.Join(userClaims, ", "))
			switch {
			case sub == target.Client.ID:
				r.That(true, "")
			case sub == "":
				r.Inform("%s has no sub, so it names no subject that could be taken for a user", where)
			default:
				r.Inform("%s's sub (%d characters) is not the client_id; whether it could collide with a user's subject cannot be told from outside", where, len(sub))
			}
		}, SpecTimeout(target.specTimeout(3)))
})

// bcpUserOnlyClaims are claims that describe a user or a user's authentication (OpenID Connect
// Core §5.1 and §2; RFC 9068 §2.2.1), which a token of a client acting for itself has no
// reason to carry.
var bcpUserOnlyClaims = []string{"name", "given_name", "family_name", "preferred_username", "nickname", "email",
	"email_verified", "phone_number", "address", "birthdate", "auth_time", "acr", "amr", "sid"}

// bcpForgedCertificate is a self-signed certificate the suite makes up for the forged proxy
// headers, and its SHA-256 thumbprint as RFC 8705 §3.1 writes it (x5t#S256).
func bcpForgedCertificate() (der []byte, x5t string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "ccconform forged client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(der)
	return der, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// bcpConfirmation is a token's cnf claim (RFC 7800), from the token itself when it is a JWT,
// else from introspection; seen is false when neither can show it, and how says where it
// was read or why it could not be.
func bcpConfirmation(ctx context.Context, token string) (cnf map[string]any, seen bool, how string) {
	if claims, ok := rsJWTClaims(token); ok {
		cnf, _ = claims["cnf"].(map[string]any)
		return cnf, true, "the JWT access token"
	}
	claims, seen, why := bcpIntrospection(ctx, token)
	if !seen {
		return nil, false, why
	}
	cnf, _ = claims["cnf"].(map[string]any)
	return cnf, true, "the token's introspection"
}

// bcpIntrospection is what introspection (RFC 7662) says of an active token; seen is false,
// with the reason, when the provider has no introspection, no introspecting client is
// configured, or the answer is not an active token's.
func bcpIntrospection(ctx context.Context, token string) (map[string]any, bool, string) {
	GinkgoHelper()
	if !hasCap(config.CapIntrospection) || target.Clients.Introspector == nil {
		return nil, false, "the token is opaque and the provider's introspection (with an introspector client) is not configured, so its claims cannot be seen"
	}
	endpoint := target.url(target.IntrospectionPath)
	authorization, body := target.Clients.Introspector.authenticateAt(endpoint, url.Values{"token": {token}})
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.IntrospectionPath, Note: "introspect the token",
		Form: body, Authorization: authorization})
	if err != nil {
		return nil, false, "the token is opaque and its introspection got no answer: " + err.Error()
	}
	var claims map[string]any
	if res.StatusCode != http.StatusOK || json.Unmarshal(bodyOf(res), &claims) != nil {
		return nil, false, "the token is opaque and its introspection did not answer with a JSON object (" + res.Status + ")"
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, false, "the token is opaque and introspection calls it inactive, so its claims cannot be seen"
	}
	return claims, true, ""
}
