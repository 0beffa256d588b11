package provider

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Demo credentials of the documented scenario. They are public: a provider that runs with them
// must say so (the reference's command does, once, on start).
const (
	DemoClientID     = "this-client-id-is-for-demo-only"
	DemoClientSecret = "this-secret-id-is-for-demo-only"
)

// DefaultTokenLifetime is the access token lifetime of the documented scenario (expires_in 3600).
const DefaultTokenLifetime = time.Hour

// Scopes the reference knows. The scenario's client may be granted both.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// Client is one registered client.
type Client struct {
	// ID is the client identifier (RFC 6749 §2.2).
	ID string
	// Secret is the client password (§2.3.1). A client without one cannot use the client
	// credentials grant, which is for confidential clients only (§4.4).
	Secret string
	// Scopes lists the scopes the client may be granted.
	Scopes []string
	// DefaultScopes is what the client gets when it asks for no scope (§3.3). Empty means a
	// request without scope fails with invalid_scope.
	DefaultScopes []string
	// NoClientCredentials marks a client registered without the client credentials grant: it
	// authenticates, but gets unauthorized_client (§5.2).
	NoClientCredentials bool
	// AuthMethod is how the client authenticates (RFC 7591 §2 token_endpoint_auth_method), at
	// every endpoint that authenticates clients: AuthMethodSecret (empty: the secret with HTTP
	// Basic or in the body, RFC 6749 §2.3.1), AuthMethodPrivateKeyJWT or AuthMethodClientSecretJWT
	// (a JWT assertion, RFC 7523 §2.2; assertion.go), AuthMethodTLSClientAuth or
	// AuthMethodSelfSignedTLSClientAuth (a TLS client certificate, RFC 8705 §2; mtls.go). A
	// client is authenticated by its method only: a JWT client's secret, sent as such, never
	// authenticates it.
	AuthMethod string
	// Keys are a private_key_jwt client's public keys, each with its key id and algorithm (the
	// algorithm allow-list of its assertions). Other clients have none.
	Keys []jose.JSONWebKey
	// TLSSubjectDN is the subject distinguished name of a tls_client_auth client's certificate
	// (RFC 8705 §2.1.2 tls_client_auth_subject_dn), as crypto/x509/pkix.Name.String() writes it
	// (RFC 4514), e.g. "CN=conformance-mtls,O=ccconform". Other clients have none.
	TLSSubjectDN string
	// TLSCertificates are a self_signed_tls_client_auth client's certificates (RFC 8705 §2.2),
	// each a PEM CERTIFICATE block or DER: a certificate the client presents authenticates it
	// when its public key is one of theirs. Other clients have none.
	TLSCertificates [][]byte
	// MayIntrospect lets the client use the introspection endpoint (RFC 7662 §4: callers
	// should be specifically authorized).
	MayIntrospect bool
	// TokenLifetime overrides Config.TokenLifetime for this client's tokens. Zero means the
	// provider's default.
	TokenLifetime time.Duration
	// JWTAccessTokens gives this client RFC 9068 JWT access tokens instead of opaque ones
	// (jwtat.go). It needs Config.Issuer.
	JWTAccessTokens bool
	// DPoPBound is RFC 9449 §5.2 dpop_bound_access_tokens: the client gets DPoP-bound tokens
	// only, and a token request without a DPoP proof is refused with invalid_request (dpop.go).
	DPoPBound bool
}

// Config configures a Provider. Its zero value is not usable: Clients needs at least one entry.
// DefaultConfig gives the documented scenario's configuration.
type Config struct {
	// Clients are the registered clients.
	Clients []Client
	// Issuer is the authorization server's issuer identifier (RFC 8414 §2): an http or https
	// URL with a host and no path, query or fragment, e.g. https://127.0.0.1:8443. It switches
	// on the metadata document, the JWKS, JWT access tokens and resource indicators, and names
	// the resources (DefaultResource, ResourceOne, ResourceTwo). Empty means none of these:
	// tokens stay opaque, as before.
	Issuer string
	// JWTAccessTokens makes every access token an RFC 9068 JWT (jwtat.go). Without it, a token
	// is a JWT only when the request carries resource (RFC 8707) or the client asks for JWTs
	// (Client.JWTAccessTokens). It needs Issuer.
	JWTAccessTokens bool
	// SigningKeys are the RSA keys (2048 bits or more) that sign JWT access tokens with RS256
	// (keys.go). The first signs; the others are still published at /jwks and accepted until
	// they are removed from the list. Replicas that share the keys accept each other's tokens
	// (ParseSigningKeysPEM reads them). Empty means a fresh 2048-bit key when Issuer is set.
	SigningKeys []*rsa.PrivateKey
	// MTLSClientCAs are the certificate authorities a tls_client_auth client's certificate must
	// chain to (RFC 8705 §2.1; mtls.go). Required when such a client is registered.
	MTLSClientCAs *x509.CertPool
	// TokenLifetime is how long an access token is valid. Zero means DefaultTokenLifetime.
	TokenLifetime time.Duration
	// DPoPNonces makes the token endpoint and the resource server demand DPoP nonces (RFC 9449
	// §8, §9; dpop.go). DPoP itself is on whenever Issuer is set.
	DPoPNonces bool
	// Realm names the protection space in WWW-Authenticate challenges. Empty means "ccconform".
	Realm string
	// TokenKey is the HMAC-SHA256 key that signs access tokens; it must be at least 32 bytes.
	// Replicas that share a key accept each other's tokens. Nil means a fresh random key, so
	// tokens die with the process.
	TokenKey []byte
	// MaxFailedAuthentications is how many distinct wrong secrets one client id may be sent
	// from one source address before that pair is slowed down (RFC 6749 §2.3.1; throttle.go).
	// Zero means 10.
	MaxFailedAuthentications int
	// GuessDelay is how long a pair that has used up MaxFailedAuthentications is refused (429
	// with Retry-After) after its next wrong secret; each further one doubles the delay, up to
	// MaxGuessDelay. Zero means FailureWindow, and when that is zero too, 1 s.
	GuessDelay time.Duration
	// FailureWindow is the old name of GuessDelay, honoured when GuessDelay is zero. (It was how
	// long a client stayed locked out, for everyone; now only the guessing address waits.)
	FailureWindow time.Duration
	// MaxGuessDelay is the ceiling of the doubling delay. Zero means 5 minutes.
	MaxGuessDelay time.Duration
	// GuessMemory is how long a pair's failures are remembered after its last one (once it is
	// no longer refused). Zero means an hour.
	GuessMemory time.Duration
	// MaxGuessPairs bounds the throttle's table of (client id, source) pairs. Zero means 50,000
	// (a few MB).
	MaxGuessPairs int
	// MaxConnections and MaxConnectionsPerSource bound the connections Serve keeps open, in all
	// and per source address (an IPv6 source is its /64). At the limit an idle keep-alive
	// connection is closed to make room, and when none is idle the new connection is. Zero
	// means DefaultMaxConnections (further limited to three quarters of the process's file
	// descriptor limit) and DefaultMaxConnectionsPerSource.
	MaxConnections          int
	MaxConnectionsPerSource int
	// AccessLog, when set, receives one line per request (time, method, path, status,
	// duration), buffered: lines are written when the buffer fills, at least every
	// 100 ms, and when Serve returns (Provider.FlushAccessLog flushes by hand). Nil means the
	// lines go to Logger, unbuffered, as before.
	AccessLog io.Writer
	// Logger receives start-up notes and, without AccessLog, one line per request (method,
	// path, status, duration). Neither ever receives headers, bodies, query strings, secrets or
	// tokens, and a path is clipped to 256 bytes. Nil means no logging.
	Logger *slog.Logger
}

// DefaultConfig is the documented scenario: one client with the given credentials that may be
// granted read and write, and gets read when it asks for nothing.
func DefaultConfig(clientID, clientSecret string) Config {
	return Config{
		Clients: []Client{{
			ID:            clientID,
			Secret:        clientSecret,
			Scopes:        []string{ScopeRead, ScopeWrite},
			DefaultScopes: []string{ScopeRead},
		}},
	}
}

func (c *Config) validate() error {
	if len(c.Clients) == 0 {
		return errors.New("provider: no client is configured")
	}
	seen := map[string]bool{}
	for _, cl := range c.Clients {
		if cl.ID == "" {
			return errors.New("provider: a client has an empty id")
		}
		// A token carries the client id and its scope (tokens.go) and must stay under
		// maxTokenBytes once encoded.
		if len(cl.ID) > 255 || len(cl.ID)+len(strings.Join(cl.Scopes, " ")) > maxClaimBytes {
			return fmt.Errorf("provider: client %q: the id (at most 255 bytes) and all its scopes together must fit in %d bytes", cl.ID, maxClaimBytes)
		}
		if seen[cl.ID] {
			return fmt.Errorf("provider: client id %q is registered twice", cl.ID)
		}
		seen[cl.ID] = true
		if err := cl.validateAuthMethod(); err != nil {
			return err
		}
		for _, s := range append(append([]string{}, cl.Scopes...), cl.DefaultScopes...) {
			if !validScopeToken(s) {
				return fmt.Errorf("provider: client %q has a malformed scope %q", cl.ID, s)
			}
		}
	}
	if c.TokenKey != nil && len(c.TokenKey) < 32 {
		return errors.New("provider: the token key must be at least 32 bytes")
	}
	if c.TokenLifetime < 0 {
		return errors.New("provider: the token lifetime is negative")
	}
	if err := c.validateMTLS(); err != nil {
		return err
	}
	return c.validateJWTFeatures()
}

// Fixture clients: what the conformance suite needs beyond the scenario's client to test every
// rule. They are registered only on request (FixtureConfig; the provider command's --fixtures),
// and their credentials are public, in reference/target.yaml.
var (
	// FixtureSpecialCharacters has an id and a secret with every character HTTP Basic must
	// form-urlencode (RFC 6749 §2.3.1).
	FixtureSpecialCharacters = Client{ID: "special id +%/=&:é", Secret: "s3cret +%/=&:é",
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
	// FixtureNoClientCredentials is registered without the client credentials grant.
	FixtureNoClientCredentials = Client{ID: "conformance-no-client-credentials", Secret: "no-cc-secret",
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}, NoClientCredentials: true}
	// FixtureShortLived gets tokens that expire after two seconds.
	FixtureShortLived = Client{ID: "conformance-short-lived", Secret: "short-lived-secret",
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}, TokenLifetime: 2 * time.Second}
	// FixturePublic is a public client: it has no secret, so it may not use the client
	// credentials grant (RFC 6749 §4.4).
	FixturePublic = Client{ID: "conformance-public", Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
	// FixtureThrowaway is the client the brute-force check hammers with wrong secrets.
	FixtureThrowaway = Client{ID: "conformance-throwaway", Secret: "throwaway-secret",
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
)

// FixtureConfig is DefaultConfig plus the fixture clients.
func FixtureConfig(clientID, clientSecret string) Config {
	cfg := DefaultConfig(clientID, clientSecret)
	cfg.Clients = append(cfg.Clients, FixtureSpecialCharacters, FixtureNoClientCredentials,
		FixtureShortLived, FixturePublic, FixtureThrowaway,
		FixtureIntrospector, FixtureSecond, FixturePrivateKeyJWT, FixturePrivateKeyJWT2, FixtureClientSecretJWT,
		FixtureMTLS, FixtureMTLSSelfSigned, FixtureDPoPBound)
	cfg.MTLSClientCAs = FixtureMTLSClientCAs()
	return cfg
}
