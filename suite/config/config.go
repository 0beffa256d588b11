// Package config is the conformance suite's configuration: what the provider under test is and
// how the suite reaches it. Every option is declared once, in the table in options.go, with its
// flag, its CCCONFORM_ environment variable, its key in the target description file, its
// default, its help and its validation; Register, Load, Given and Describe all read that table.
//
// Precedence, strongest first: a flag on the command line, its environment variable, the target
// description file (--target-config), the built-in default.
package config

import (
	"net/http"
	"net/url"
	"time"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// Target describes the provider under test.
type Target struct {
	// TargetConfig is the target description file Load read (resolved against the working
	// directory), or empty.
	TargetConfig string
	// ProviderURL is the provider's base URL. Empty means the bundled reference provider.
	ProviderURL string
	// Client is a client registered for the client credentials grant that may be granted the
	// allowed scopes.
	Client Client
	// TokenPath, PublicPath, ReadPath and WritePath are the scenario's routes, relative to
	// ProviderURL. An empty path switches off the specs that need it. TokenPath may carry a
	// query (RFC 6749 §3.2 allows one on the token endpoint URI), never a fragment.
	TokenPath, PublicPath, ReadPath, WritePath string
	// RequestTimeout bounds every request the suite sends.
	RequestTimeout time.Duration
	// ExpiresIn is the token lifetime, in seconds, that the target pins. Zero accepts any
	// positive lifetime and lets a missing expires_in pass with a warning (RFC 6749 §5.1).
	ExpiresIn int
	// Strict turns warnings into failures.
	Strict bool
	// Profile is the set of rules the target is held to: ProfileRFC6749, ProfileOAuth21 or
	// ProfileBCP.
	Profile string
	// CAFile is a PEM file of certificate authorities to trust besides the system's.
	CAFile string
	// Clients are the optional fixture clients.
	Clients Fixtures
	// Scopes says which scopes the main client may be granted, and names one it may not.
	Scopes Scopes
	// Resources are the protected resources and the scope each requires.
	Resources []Resource
	// MaxExpiryWait bounds how long the expiry check waits for a short-lived token to expire.
	MaxExpiryWait time.Duration
	// Load is how many concurrent requests the load checks send; zero leaves them out.
	Load int
	// CleartextURL is an http:// URL where the provider's cleartext listener, if any, can be
	// probed by the TLS-only checks (RFC 6749 §3.2, §10.3). Empty leaves them to the provider
	// URL alone.
	CleartextURL string
	// ExpectedFailures is the --expected-failures file.
	ExpectedFailures string
	// SummaryMarkdown, SummaryHTML, ResultsJSON and ResultsJUnit are output files; empty
	// writes none.
	SummaryMarkdown, SummaryHTML, ResultsJSON, ResultsJUnit string
	// IntrospectionProtectedOutsideHTTP says the provider protects its introspection endpoint by
	// means outside HTTP (network isolation, an authenticating proxy), so that an endpoint that
	// answers anyone is not judged (RFC 7662 §2.1, checklist C-7662-2.1-b).
	IntrospectionProtectedOutsideHTTP bool

	// Issuer is the authorization server's issuer identifier (RFC 8414 §2). Given, the suite
	// reads the server's metadata (RFC 8414 §3) and takes from it what flags and the description
	// leave out: the token, introspection and revocation endpoints, the JWK set, the
	// authentication methods. Given without ProviderURL, the provider URL is the issuer's origin.
	Issuer string
	// IntrospectionPath, RevocationPath and JWKSURI locate the introspection endpoint
	// (RFC 7662), the revocation endpoint (RFC 7009) and the JWK set: a path relative to
	// ProviderURL or an absolute URL; empty takes the metadata's, if any. TokenPath may be an
	// absolute URL too.
	IntrospectionPath, RevocationPath, JWKSURI string
	// Capabilities are capabilities the provider has whether or not its metadata advertises
	// them (see Capabilities in this package for the names).
	Capabilities []string
	// RevocationWindow is how long a revocation may take to show at the resource server and at
	// introspection (RFC 7009 §2: "immediately", give or take propagation).
	RevocationWindow time.Duration
	// OtherJWT is a validly signed JWT from the provider that is not an access token, such as
	// an ID token (checklist fixture F-OTHER-JWT).
	OtherJWT string
	// UserSub is the subject of a known user, to tell client tokens from user tokens
	// (RFC 9068 §5, RFC 9700 §4.15).
	UserSub string
	// SingleValuedParameters are extension parameters of the token endpoint that the provider
	// documents as single-valued (OAuth 2.1 §3.2, checklist C-21-3.2-a).
	SingleValuedParameters []string
	// ResourceIndicators are the resources the provider accepts as RFC 8707 resource
	// indicators (checklist fixture F-RES): the first two are R1 and R2.
	ResourceIndicators []ResourceIndicator
	// DPoPResourcePath is a protected GET route that requires DPoP-bound tokens (RFC 9449 §7;
	// checklist fixture F-RS-DPOP): a path or an absolute URL.
	DPoPResourcePath string
	// MTLSResourcePath is a protected GET route that requires certificate-bound tokens over
	// mutual TLS (RFC 8705 §3; part of checklist fixture F-MTLS): a path or an absolute URL.
	MTLSResourcePath string
}

// ResourceIndicator is a resource the provider issues tokens for (RFC 8707).
type ResourceIndicator struct {
	// Resource is the resource indicator: an absolute URI without a fragment.
	Resource string
	// Path is a protected GET route served for that resource: a path relative to the provider
	// URL or an absolute URL; empty when the resource has none the suite can call.
	Path string
}

// The capabilities a provider can have; metadata switches most of them on (RFC 8414), and the
// target description can declare them.
const (
	CapMetadata           = "metadata"
	CapIntrospection      = "introspection"
	CapRevocation         = "revocation"
	CapJWTClientAuth      = "jwt-client-auth"
	CapJWTAccessTokens    = "jwt-at"
	CapResourceServerJWT  = "rs-jwt"
	CapResourceIndicators = "resource-indicators"
	// CapDPoP is DPoP at the authorization server (RFC 9449; metadata
	// dpop_signing_alg_values_supported), CapResourceServerDPoP DPoP at the resource server
	// (no metadata says so), CapMTLS mutual TLS client authentication and certificate-bound
	// tokens (RFC 8705).
	CapDPoP               = "dpop"
	CapResourceServerDPoP = "rs-dpop"
	CapMTLS               = "mtls"
)

// Capabilities lists every capability name.
func Capabilities() []string {
	return []string{CapMetadata, CapIntrospection, CapRevocation, CapJWTClientAuth, CapJWTAccessTokens,
		CapResourceServerJWT, CapResourceIndicators, CapDPoP, CapResourceServerDPoP, CapMTLS}
}

// The client authentication methods (RFC 6749 §2.3; the names are the registry's, RFC 7591 §2).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none"
	// AuthPrivateKeyJWT and AuthClientSecretJWT authenticate with a signed JWT assertion
	// (RFC 7523 §2.2; OpenID Connect Core §9): the suite signs it with the client's private key,
	// or its secret.
	AuthPrivateKeyJWT   = "private_key_jwt"
	AuthClientSecretJWT = "client_secret_jwt"
	// AuthTLSClientAuth and AuthSelfSignedTLSClientAuth authenticate with the client's TLS
	// certificate (RFC 8705 §2.1, §2.2): the suite presents it in the handshake and sends
	// client_id in the body.
	AuthTLSClientAuth           = "tls_client_auth"
	AuthSelfSignedTLSClientAuth = "self_signed_tls_client_auth"
)

// IsMTLSMethod reports whether m authenticates the client by its TLS certificate.
func IsMTLSMethod(m string) bool { return m == AuthTLSClientAuth || m == AuthSelfSignedTLSClientAuth }

// The profiles a target can be held to.
const (
	ProfileRFC6749 = "rfc6749"
	ProfileOAuth21 = "oauth2.1"
	ProfileBCP     = "bcp"
)

// Client is a client and how it authenticates at the token endpoint.
type Client struct {
	ID, Secret string
	// AuthMethod is AuthClientSecretBasic, AuthClientSecretPost, AuthNone, AuthPrivateKeyJWT or
	// AuthClientSecretJWT. Empty (a fixture client whose description leaves it out) means
	// AuthClientSecretBasic.
	AuthMethod string
	// PrivateKey is the private key of a private_key_jwt client, or of a mutual TLS client's
	// certificate: PEM (PKCS#8, PKCS#1 or SEC 1) or a JWK; PrivateKeyFile names a file that
	// holds one instead.
	PrivateKey, PrivateKeyFile string
	// Certificate is a mutual TLS client's certificate, PEM (its chain may follow);
	// CertificateFile names a file that holds it instead.
	Certificate, CertificateFile string
	// KeyID is the kid the suite puts in the client's assertions (the JWK's own kid if empty).
	KeyID string
	// Alg is the JWS algorithm of the client's assertions; empty takes the key's usual one
	// (RS256, ES256, EdDSA) or HS256 for client_secret_jwt.
	Alg string
}

// ClientAuth is how a request authenticates the client (RFC 6749 §2.3).
type ClientAuth interface {
	// Method is the method's name, such as client_secret_basic.
	Method() string
	// Apply adds the client's credentials to a token request's header and form.
	Apply(h http.Header, form url.Values)
}

// Auth returns how the client authenticates. A method Load would refuse gives a ClientAuth that
// adds nothing, under that method's name.
func (c Client) Auth() ClientAuth {
	switch c.AuthMethod {
	case "", AuthClientSecretBasic:
		return secretBasic{c.ID, c.Secret}
	case AuthClientSecretPost:
		return secretPost{c.ID, c.Secret}
	case AuthNone, AuthTLSClientAuth, AuthSelfSignedTLSClientAuth:
		// A mutual TLS client names itself with client_id too; its certificate goes in the
		// TLS handshake (RFC 8705 §2).
		return noAuth{c.ID, c.AuthMethod}
	}
	return unsupported(c.AuthMethod)
}

// BasicAuthorization is the Authorization value for HTTP Basic client authentication: id and
// secret are form-urlencoded (RFC 6749 Appendix B) before they are joined and Base64-encoded
// (RFC 6749 §2.3.1).
func BasicAuthorization(id, secret string) string {
	return httpauth.BasicAuthorization(id, secret)
}

// secretBasic is client_secret_basic: HTTP Basic (RFC 6749 §2.3.1).
type secretBasic struct{ id, secret string }

func (secretBasic) Method() string { return AuthClientSecretBasic }
func (a secretBasic) Apply(h http.Header, _ url.Values) {
	h.Set("Authorization", BasicAuthorization(a.id, a.secret))
}

// secretPost is client_secret_post: the credentials in the request body (RFC 6749 §2.3.1).
type secretPost struct{ id, secret string }

func (secretPost) Method() string { return AuthClientSecretPost }
func (a secretPost) Apply(_ http.Header, form url.Values) {
	form.Set("client_id", a.id)
	form.Set("client_secret", a.secret)
}

// noAuth is none: a public client names itself with client_id (RFC 6749 §2.2, §3.2.1); so
// does a mutual TLS client, whose credentials are in the TLS handshake.
type noAuth struct{ id, method string }

func (a noAuth) Method() string {
	if a.method == "" {
		return AuthNone
	}
	return a.method
}
func (a noAuth) Apply(_ http.Header, form url.Values) {
	form.Set("client_id", a.id)
}

type unsupported string

func (u unsupported) Method() string              { return string(u) }
func (unsupported) Apply(http.Header, url.Values) {}

// Fixtures are the clients some rules need besides the main one; a spec that needs one that is
// not declared is skipped with the reason.
type Fixtures struct {
	// SpecialCharacters has an id and a secret containing space, +, %, /, =, &, : and a
	// non-ASCII letter, which HTTP Basic must form-urlencode (RFC 6749 §2.3.1).
	SpecialCharacters *Client
	// WithoutClientCredentials is registered without the client credentials grant.
	WithoutClientCredentials *Client
	// ShortLived gets tokens that expire within MaxExpiryWait.
	ShortLived *Client
	// Public is a public client (only its id is used).
	Public *Client
	// BruteForce is a throwaway client that the brute-force check hammers with wrong secrets.
	BruteForce *Client
	// Introspector is authorized to call the introspection endpoint (RFC 7662 §2.1).
	Introspector *Client
	// Second is another ordinary client, with no rights the main client lacks (cross-client
	// revocation, RFC 7009 §2.1).
	Second *Client
	// PrivateKeyJWT and PrivateKeyJWT2 are clients registered for private_key_jwt, with
	// different keys; ClientSecretJWT one registered for client_secret_jwt (checklist F-PKJ,
	// F-PKJ2, F-CSJ).
	PrivateKeyJWT, PrivateKeyJWT2, ClientSecretJWT *Client
	// DPoPBound is registered with dpop_bound_access_tokens=true (RFC 9449 §5.2; checklist
	// F-DPOP-BOUND).
	DPoPBound *Client
	// MTLS and MTLS2 authenticate with tls_client_auth or self_signed_tls_client_auth, each
	// with a certificate of its own (checklist F-MTLS: MTLS2's certificate is the "other"
	// certificate of MTLS's checks, and the reverse).
	MTLS, MTLS2 *Client
}

// Scopes are the main client's scopes.
type Scopes struct {
	// Allowed are scopes the main client may be granted.
	Allowed []string
	// Forbidden is a well-formed scope the main client may not be granted; empty switches
	// off the specs that need one.
	Forbidden string
}

// Resource is a protected resource.
type Resource struct {
	Path string
	// Method is GET, POST, PUT, PATCH or DELETE.
	Method string
	// Scope is the scope a token needs for it; empty means any valid token.
	Scope string
}

// OptionInfo documents one option. Flag and Env are empty for an option only the target
// description sets; YAML is empty for one it cannot set (--target-config itself).
type OptionInfo struct{ Flag, Env, YAML, Default, Help string }
