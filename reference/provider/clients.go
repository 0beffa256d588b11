package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/netip"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-oauth2/oauth2/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// registeredClient is a Client as go-oauth2 sees it: oauth2.ClientInfo plus
// oauth2.ClientPasswordVerifier, so that the library's own secret check is constant-time too.
type registeredClient struct {
	Client
	secretDigest [sha256.Size]byte
	// pass is what authenticateClient hands go-oauth2 as the "secret" of a client that
	// authenticated with a JWT assertion or a TLS certificate, so that the library's own
	// password check (which it makes again when issuing) passes: random, never sent or
	// accepted on the wire, and verified only by VerifyPassword of such a client.
	pass       string
	passDigest [sha256.Size]byte
	algs       []jose.SignatureAlgorithm // the assertion algorithm allow-list (clientauth.go)
	tlsKeys    [][]byte                  // a self-signed certificate client's public keys (mtls.go)
}

func (c *registeredClient) GetID() string     { return c.ID }
func (c *registeredClient) GetSecret() string { return c.Secret }
func (c *registeredClient) GetDomain() string { return "" }
func (c *registeredClient) IsPublic() bool {
	return c.Secret == "" && !c.usesAssertion() && !c.usesCertificate()
}
func (c *registeredClient) GetUserID() string { return "" }

// VerifyPassword compares digests, so neither the secret's content nor its length shows in the
// time the comparison takes. A client without a secret never verifies. A JWT client (whose
// secret, if it has one, is an HMAC key and not a password) and a certificate client (which
// has no secret) verify only their internal pass.
func (c *registeredClient) VerifyPassword(secret string) bool {
	got := sha256.Sum256([]byte(secret))
	if c.usesAssertion() || c.usesCertificate() {
		return subtle.ConstantTimeCompare(got[:], c.passDigest[:]) == 1 && c.pass != ""
	}
	return subtle.ConstantTimeCompare(got[:], c.secretDigest[:]) == 1 && c.Secret != ""
}

func (c *registeredClient) mayUse(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// clientStore implements oauth2.ClientStore. go-oauth2's own store answers an unknown id with
// a plain error, which the library turns into a 500 server_error; this one answers
// invalid_client, as RFC 6749 §5.2 requires.
type clientStore struct {
	byID    map[string]*registeredClient
	guesses *guessThrottle
	// assertionGuesses counts failed client assertions (assertion.go), apart from secrets.
	assertionGuesses *guessThrottle
	// decoy is verified against when the id is unknown, so that an unknown id and a wrong
	// secret take the same time.
	decoy *registeredClient
}

func newClientStore(clients []Client, guesses *guessThrottle) *clientStore {
	s := &clientStore{byID: map[string]*registeredClient{}, guesses: guesses}
	for _, c := range clients {
		rc := &registeredClient{Client: c, secretDigest: sha256.Sum256([]byte(c.Secret)), algs: c.assertionAlgs()}
		if c.usesAssertion() {
			rc.pass = rand.Text()
			rc.passDigest = sha256.Sum256([]byte(rc.pass))
		}
		if c.usesCertificate() {
			// A certificate client has no secret (validate); go-oauth2 gets its internal pass
			// (authenticateClient), and authenticate refuses it whatever secret it sends.
			rc.pass = rand.Text()
			rc.passDigest = sha256.Sum256([]byte(rc.pass))
			rc.tlsKeys = c.registeredPublicKeys()
		}
		s.byID[c.ID] = rc
	}
	s.decoy = &registeredClient{Client: Client{Secret: "decoy"}, secretDigest: sha256.Sum256([]byte("decoy"))}
	return s
}

// GetByID implements oauth2.ClientStore.
func (s *clientStore) GetByID(_ context.Context, id string) (oauth2.ClientInfo, error) {
	if c, ok := s.byID[id]; ok {
		return c, nil
	}
	return nil, oauth2errors.ErrInvalidClient
}

// authenticate returns the client whose id and secret these are, sent from src. It fails with
// invalid_client, or, while this id and source are being slowed down for guessing (throttle.go),
// with 429 and Retry-After. Registered and unknown ids are treated alike, and so is a client that
// authenticates with JWT assertions: its secret (client_secret_jwt) is a key, not a password, and
// sent as such it is refused (OpenID Connect Core §9: the registered method only), and so is a
// client that authenticates with a TLS certificate (mtls.go), whatever secret it sends.
func (s *clientStore) authenticate(id, secret string, src netip.Addr) (*registeredClient, error) {
	if wait := s.guesses.refusedFor(id, src); wait > 0 {
		return nil, &oauthError{code: oauth2errors.ErrInvalidClient, status: http.StatusTooManyRequests,
			retryAfter: wait, description: "too many failed authentications from this address; retry later"}
	}
	c, ok := s.byID[id]
	if !ok {
		c = s.decoy
	}
	if !c.VerifyPassword(secret) || !ok || c.usesAssertion() || c.usesCertificate() {
		s.guesses.failed(id, src, secret)
		return nil, oauth2errors.ErrInvalidClient
	}
	return c, nil
}
