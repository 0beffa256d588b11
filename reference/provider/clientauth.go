package provider

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-jose/go-jose/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// Client authentication methods (RFC 7591 §2 token_endpoint_auth_method, RFC 8414 §2).
const (
	// AuthMethodSecret is a client secret sent with HTTP Basic (client_secret_basic) or in the
	// body (client_secret_post), RFC 6749 §2.3.1: the default, the empty string.
	AuthMethodSecret = ""
	// AuthMethodPrivateKeyJWT is a JWT assertion signed with one of the client's keys (RFC 7523
	// §2.2, OpenID Connect Core §9).
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	// AuthMethodClientSecretJWT is a JWT assertion MACed with the client's secret.
	AuthMethodClientSecretJWT = "client_secret_jwt"
)

// minJWTSecretBytes is the shortest secret a client_secret_jwt client may have: an HS256 key
// must be at least as long as the hash (RFC 7518 §3.2).
const minJWTSecretBytes = 32

// Algorithms of client assertions the reference verifies. "none" is never among them.
var (
	assertionAsymmetricAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	assertionMACAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	assertionAlgs    = append(slices.Clip(assertionAsymmetricAlgs), assertionMACAlgs...)
)

// advertisedClientAuth lists, for the metadata document (RFC 8414 §2:
// token_endpoint_auth_methods_supported and the introspection and revocation equivalents), the
// client authentication methods the provider takes, and the assertion algorithms: those some
// registered client's allow-list holds, so that what is advertised works and an assertion of
// any other algorithm is refused; with no JWT client registered, every algorithm a client could
// be registered with. The algorithm list is there whenever a *_jwt method is (§2 requires it
// then), and never holds "none".
func (p *Provider) advertisedClientAuth() (methods, algs []string) {
	allowed := map[jose.SignatureAlgorithm]bool{}
	for _, c := range p.clients.byID {
		for _, a := range c.algs {
			allowed[a] = true
		}
	}
	for _, a := range assertionAlgs {
		if allowed[a] || len(allowed) == 0 {
			algs = append(algs, string(a))
		}
	}
	methods = []string{"client_secret_basic", "client_secret_post", AuthMethodPrivateKeyJWT, AuthMethodClientSecretJWT}
	if p.advertisesMutualTLS() { // mtls.go
		methods = append(methods, AuthMethodTLSClientAuth, AuthMethodSelfSignedTLSClientAuth)
	}
	return methods, algs
}

// usesAssertion reports whether the client authenticates with JWT assertions.
func (c *Client) usesAssertion() bool {
	return c.AuthMethod == AuthMethodPrivateKeyJWT || c.AuthMethod == AuthMethodClientSecretJWT
}

// assertionAlgs is the client's algorithm allow-list: what its keys are registered for, or the
// HMAC algorithms its secret is long enough for (RFC 7518 §3.2). Nil for a secret client.
func (c *Client) assertionAlgs() []jose.SignatureAlgorithm {
	switch c.AuthMethod {
	case AuthMethodPrivateKeyJWT:
		var algs []jose.SignatureAlgorithm
		for _, k := range c.Keys {
			if a := jose.SignatureAlgorithm(k.Algorithm); !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
		return algs
	case AuthMethodClientSecretJWT:
		algs := []jose.SignatureAlgorithm{jose.HS256}
		if len(c.Secret) >= 48 {
			algs = append(algs, jose.HS384)
		}
		if len(c.Secret) >= 64 {
			algs = append(algs, jose.HS512)
		}
		return algs
	}
	return nil
}

// validateAuthMethod checks the client's registration for its authentication method.
func (c *Client) validateAuthMethod() error {
	switch c.AuthMethod {
	case AuthMethodSecret:
		if len(c.Keys) > 0 {
			return fmt.Errorf("provider: client %q has keys but does not use private_key_jwt", c.ID)
		}
	case AuthMethodClientSecretJWT:
		if len(c.Secret) < minJWTSecretBytes {
			return fmt.Errorf("provider: client %q uses client_secret_jwt and needs a secret of at least %d bytes", c.ID, minJWTSecretBytes)
		}
		if len(c.Keys) > 0 {
			return fmt.Errorf("provider: client %q uses client_secret_jwt and has keys", c.ID)
		}
	case AuthMethodPrivateKeyJWT:
		if c.Secret != "" {
			// It could never be used (a JWT client is authenticated by its assertion only), and
			// a registration that says otherwise is a mistake.
			return fmt.Errorf("provider: client %q uses private_key_jwt and must not have a secret", c.ID)
		}
		if len(c.Keys) == 0 {
			return fmt.Errorf("provider: client %q uses private_key_jwt and has no key", c.ID)
		}
		kids := map[string]bool{}
		for _, k := range c.Keys {
			if err := checkClientKey(k); err != nil {
				return fmt.Errorf("provider: client %q: key %q: %w", c.ID, k.KeyID, err)
			}
			if kids[k.KeyID] {
				return fmt.Errorf("provider: client %q has two keys with the id %q", c.ID, k.KeyID)
			}
			kids[k.KeyID] = true
		}
	case AuthMethodTLSClientAuth, AuthMethodSelfSignedTLSClientAuth: // validateCertificateRegistration
	default:
		return fmt.Errorf("provider: client %q has an unknown authentication method %q", c.ID, c.AuthMethod)
	}
	return c.validateCertificateRegistration() // mtls.go
}

// checkClientKey accepts a public signature key with a key id and an algorithm it can do.
func checkClientKey(k jose.JSONWebKey) error {
	if k.KeyID == "" {
		return fmt.Errorf("no key id")
	}
	if !k.Valid() || !k.IsPublic() {
		return fmt.Errorf("not a valid public key")
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("use %q is not sig", k.Use)
	}
	alg := jose.SignatureAlgorithm(k.Algorithm)
	ok := false
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		ok = pub.N.BitLen() >= 2048 && slices.Contains([]jose.SignatureAlgorithm{jose.RS256, jose.RS384,
			jose.RS512, jose.PS256, jose.PS384, jose.PS512}, alg)
	case *ecdsa.PublicKey:
		ok = alg == jose.ES256 && pub.Curve == elliptic.P256() || alg == jose.ES384 && pub.Curve == elliptic.P384() ||
			alg == jose.ES512 && pub.Curve == elliptic.P521()
	case ed25519.PublicKey:
		ok = alg == jose.EdDSA
	}
	if !ok {
		return fmt.Errorf("algorithm %q does not fit the key (RSA keys need 2048 bits or more)", k.Algorithm)
	}
	return nil
}

// authenticateRequest authenticates the client of a request to the token, introspection or
// revocation endpoint, from its Authorization header and form. A request uses exactly one method
// (RFC 6749 §2.3, RFC 7523 §2.2, RFC 8705 §2): HTTP Basic, the secret in the body, a JWT
// assertion, or, for a client registered for it, client_id alone with a TLS client certificate
// (mtls.go). Two of them at once is invalid_request; a failure is invalid_client, or 429 while
// the id and source are slowed for guessing (throttle.go).
func (p *Provider) authenticateRequest(r *http.Request, form url.Values) (*registeredClient, error) {
	authz := r.Header.Values("Authorization")
	assertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	switch {
	case len(authz) > 1:
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "more than one Authorization header")
	case len(authz) == 1 && (form.Has("client_id") || form.Has("client_secret") || assertion),
		assertion && form.Has("client_secret"):
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "the client used more than one authentication method")
	case assertion:
		return p.authenticateAssertion(form, sourceOf(r.RemoteAddr))
	case len(authz) == 1:
		id, secret, ok := parseBasic(authz[0])
		if !ok {
			return nil, newOAuthError(oauth2errors.ErrInvalidClient, "the Authorization header is not valid HTTP Basic credentials")
		}
		return p.clients.authenticate(id, secret, sourceOf(r.RemoteAddr))
	case !form.Has("client_secret") && p.clients.usesCertificate(form.Get("client_id")):
		// RFC 8705 §2: client_id names the client, the TLS client certificate authenticates it.
		return p.authenticateCertificate(r, form.Get("client_id")) // mtls.go
	case form.Get("client_id") != "":
		return p.clients.authenticate(form.Get("client_id"), form.Get("client_secret"), sourceOf(r.RemoteAddr))
	default:
		return nil, newOAuthError(oauth2errors.ErrInvalidClient, "no client authentication was included")
	}
}
