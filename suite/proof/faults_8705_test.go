package proof

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"slices"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults of RFC 8705 (mutual TLS): each runs its row's specs only. The reference asks every
// client for a certificate (askForClientCertificates) and has the fixture clients mtls
// (certificate A, tls_client_auth) and mtls_2 (certificate B, self_signed_tls_client_auth). A
// wrapper cannot forge a TLS state, so a fault that ignores the certificate answers for the
// reference: it hands out a token itself, serves the resource itself, or edits the JWT the
// reference issued (its cnf, with the stale signature kept: the 3.1 spec reads the claims).

// mtlsFixtureIDs are the client ids of the reference's mutual TLS fixture clients.
var mtlsFixtureIDs = []string{provider.FixtureMTLS.ID, provider.FixtureMTLSSelfSigned.ID}

// fixtureThumbprints are the x5t#S256 of each mutual TLS fixture client's own certificate.
var fixtureThumbprints = map[string]string{
	provider.FixtureMTLS.ID:           pemThumbprint(provider.FixtureMTLSCertPEM),
	provider.FixtureMTLSSelfSigned.ID: pemThumbprint(provider.FixtureMTLSSelfSignedCertPEM),
}

// pemThumbprint is the x5t#S256 of a PEM certificate.
func pemThumbprint(certPEM []byte) string {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		panic("a fixture certificate is not PEM")
	}
	sum := sha256.Sum256(block.Bytes)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// presentedThumbprint is the x5t#S256 of the certificate the request's connection presented,
// "" when it presented none.
func presentedThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// mtlsClientRequest matches token requests of a mutual TLS fixture client.
func mtlsClientRequest(r *http.Request) bool {
	return tokenPOST(r) && slices.Contains(mtlsFixtureIDs, formOf(r).Get("client_id"))
}

// withoutCertificate matches requests whose connection presented no client certificate.
func withoutCertificate(r *http.Request) bool { return presentedThumbprint(r) == "" }

// withAnotherClientsCertificate matches token requests presenting a certificate that is not
// the named client's own.
func withAnotherClientsCertificate(r *http.Request) bool {
	got := presentedThumbprint(r)
	return got != "" && got != fixtureThumbprints[formOf(r).Get("client_id")]
}

// withCertificateOtherThanA matches requests presenting a certificate other than the mtls
// client's (certificate A), or none.
func withCertificateOtherThanA(r *http.Request) bool {
	return presentedThumbprint(r) != fixtureThumbprints[provider.FixtureMTLS.ID]
}

// tokenWithoutCertificate is the token a fault hands out for the reference.
const tokenWithoutCertificate = `{"access_token":"issued-without-checking-the-certificate","token_type":"Bearer","expires_in":3600}`

// editCnf edits the cnf claim of the JWTs issued to the mutual TLS fixture clients, given the
// DER of the certificate the request presented.
func editCnf(edit func(der []byte, claims map[string]any)) func(http.Handler) http.Handler {
	return reissueJWTs(mtlsClientRequest, keepSignature, func(r *http.Request, _, claims map[string]any) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			edit(r.TLS.PeerCertificates[0].Raw, claims)
		}
	})
}

// presentsBoundJWT matches requests whose Bearer token is a JWT with a cnf claim.
var presentsBoundJWT = presentedJWT(func(_, claims map[string]any) bool { return claims["cnf"] != nil })

var _ = register([]fault{
	// §2: the certificate authenticates the client.
	{name: "mtls: a token for an mTLS client's id without a certificate", breaks: "C-8705-2-a", args: rowFilter("C-8705-2-a"),
		wrap: answer(and(mtlsClientRequest, withoutCertificate), http.StatusOK, "application/json", tokenWithoutCertificate)},
	{name: "mtls: a token for an mTLS client's id with another client's certificate", breaks: "C-8705-2-a", args: rowFilter("C-8705-2-a"),
		wrap: answer(and(mtlsClientRequest, withAnotherClientsCertificate), http.StatusOK, "application/json", tokenWithoutCertificate)},

	// §3.1, §3.2: the confirmation claim.
	{name: "mtls: cnf x5t#S256 hex-encoded", breaks: "C-8705-3.1-a", args: rowFilter("C-8705-3.1-a"),
		wrap: editCnf(func(der []byte, c map[string]any) {
			sum := sha256.Sum256(der)
			c["cnf"] = map[string]any{"x5t#S256": hex.EncodeToString(sum[:])}
		})},
	{name: "mtls: cnf x5t#S256 is the SHA-1 thumbprint", breaks: "C-8705-3.1-a", args: rowFilter("C-8705-3.1-a"),
		wrap: editCnf(func(der []byte, c map[string]any) {
			sum := sha1.Sum(der)
			c["cnf"] = map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
		})},
	{name: "mtls: cnf x5t#S256 with base64 padding", breaks: "C-8705-3.1-a", args: rowFilter("C-8705-3.1-a"),
		wrap: editCnf(func(der []byte, c map[string]any) {
			sum := sha256.Sum256(der)
			c["cnf"] = map[string]any{"x5t#S256": base64.URLEncoding.EncodeToString(sum[:])}
		})},
	// A TLS-terminating edge that does not pass the certificate on (marcjazz/authkestra #224);
	// a binding that is not shown is the row's lenient case (§3.1: SHOULD).
	{name: "mtls: tokens issued over mutual TLS without cnf", breaks: "C-8705-3.1-a", soft: true, args: rowFilter("C-8705-3.1-a"),
		wrap: editCnf(func(_ []byte, c map[string]any) { delete(c, "cnf") })},
	{name: "mtls: introspection without the token's cnf", breaks: "C-8705-3.1-a", soft: true, args: rowFilter("C-8705-3.1-a"),
		wrap: editResponses(at(http.MethodPost, provider.PathIntrospect), when(http.StatusOK, delMember("cnf")))},

	// §3: the resource server checks the binding.
	{name: "mtls: the mTLS resource serves a bound token without a certificate", breaks: "C-8705-3-a", args: rowFilter("C-8705-3-a"),
		wrap: servedByFault(and(routeGET(provider.PathResourceMTLS), withoutCertificate))},
	{name: "mtls: the mTLS resource serves a bound token with another certificate", breaks: "C-8705-3-a", args: rowFilter("C-8705-3-a"),
		wrap: servedByFault(and(routeGET(provider.PathResourceMTLS), func(r *http.Request) bool {
			return !withoutCertificate(r) && withCertificateOtherThanA(r)
		}))},
	{name: "mtls: the mTLS resource refuses a certificate mismatch with 403", breaks: "C-8705-3-a", args: rowFilter("C-8705-3-a"),
		wrap: editResponses(routeGET(provider.PathResourceMTLS), when(http.StatusUnauthorized, setStatus(http.StatusForbidden)))},
	{name: "mtls: the read route serves a bound token without a certificate", breaks: "C-8705-3-a", args: rowFilter("C-8705-3-a"),
		wrap: servedByFault(and(readGET, presentsBoundJWT, withoutCertificate))},

	// §3.3, §5: the metadata.
	{name: "mtls: tls_client_certificate_bound_access_tokens is the string \"true\"", breaks: "C-8705-5-a", args: rowFilter("C-8705-5-a"),
		wrap: editResponses(at(http.MethodGet, provider.PathMetadata), setMember("tls_client_certificate_bound_access_tokens", "true"))},
	{name: "mtls: mtls_endpoint_aliases is an array", breaks: "C-8705-5-a", args: rowFilter("C-8705-5-a"),
		wrap: editResponses(at(http.MethodGet, provider.PathMetadata), func(r *http.Request, res *response) {
			setMember("mtls_endpoint_aliases", []string{resourceIssuer(r) + provider.PathToken})(r, res)
		})},
	{name: "mtls: an mtls_endpoint_aliases entry with a fragment", breaks: "C-8705-5-a", args: rowFilter("C-8705-5-a"),
		wrap: editResponses(at(http.MethodGet, provider.PathMetadata), func(r *http.Request, res *response) {
			setMember("mtls_endpoint_aliases", map[string]any{"token_endpoint": resourceIssuer(r) + provider.PathToken + "#mtls"})(r, res)
		})},
	{name: "mtls: an mtls_endpoint_aliases entry over http", breaks: "C-8705-5-a", args: rowFilter("C-8705-5-a"),
		wrap: editResponses(at(http.MethodGet, provider.PathMetadata), func(r *http.Request, res *response) {
			setMember("mtls_endpoint_aliases", map[string]any{"revocation_endpoint": "http://" + r.Host + provider.PathRevoke})(r, res)
		})},
	{name: "mtls: token_endpoint_auth_methods_supported leaves out the mTLS methods that work", breaks: "C-8705-5-a", soft: true,
		args: rowFilter("C-8705-5-a"),
		wrap: editResponses(at(http.MethodGet, provider.PathMetadata), func(r *http.Request, res *response) {
			m := res.object()
			methods, _ := m["token_endpoint_auth_methods_supported"].([]any)
			m["token_endpoint_auth_methods_supported"] = slices.DeleteFunc(methods, func(v any) bool {
				return v == provider.AuthMethodTLSClientAuth || v == provider.AuthMethodSelfSignedTLSClientAuth
			})
			res.setObject(m)
		})},
})
