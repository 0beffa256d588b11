package provider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/go-oauth2/oauth2/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// registeredClient is a Client as go-oauth2 sees it: oauth2.ClientInfo plus
// oauth2.ClientPasswordVerifier, so that the library's own secret check is constant-time too.
type registeredClient struct {
	Client
	secretDigest [sha256.Size]byte
}

func (c *registeredClient) GetID() string     { return c.ID }
func (c *registeredClient) GetSecret() string { return c.Secret }
func (c *registeredClient) GetDomain() string { return "" }
func (c *registeredClient) IsPublic() bool    { return c.Secret == "" }
func (c *registeredClient) GetUserID() string { return "" }

// VerifyPassword compares digests, so neither the secret's content nor its length shows in the
// time the comparison takes. A client without a secret never verifies.
func (c *registeredClient) VerifyPassword(secret string) bool {
	got := sha256.Sum256([]byte(secret))
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
	byID     map[string]*registeredClient
	failures *failureLimiter
	// decoy is verified against when the id is unknown, so that an unknown id and a wrong
	// secret take the same time.
	decoy *registeredClient
}

func newClientStore(clients []Client, failures *failureLimiter) *clientStore {
	s := &clientStore{byID: map[string]*registeredClient{}, failures: failures}
	for _, c := range clients {
		s.byID[c.ID] = &registeredClient{Client: c, secretDigest: sha256.Sum256([]byte(c.Secret))}
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

// authenticate returns the client whose id and secret these are. It fails with invalid_client,
// or, for a client locked out by too many failures, with 429 and Retry-After.
func (s *clientStore) authenticate(id, secret string) (*registeredClient, error) {
	c, ok := s.byID[id]
	if !ok {
		s.decoy.VerifyPassword(secret)
		return nil, oauth2errors.ErrInvalidClient
	}
	if left, blocked := s.failures.blocked(id); blocked {
		return nil, &oauthError{code: oauth2errors.ErrInvalidClient, status: http.StatusTooManyRequests,
			retryAfter: left, description: "too many failed authentications for this client; retry later"}
	}
	if !c.VerifyPassword(secret) {
		s.failures.fail(id)
		return nil, oauth2errors.ErrInvalidClient
	}
	return c, nil
}
