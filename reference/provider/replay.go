package provider

import (
	"crypto/sha256"
	"net/http"
	"time"

	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// The replay cache of client assertions: each accepted (client, jti) is remembered until the
// assertion's exp plus the leeway, and a second use is refused (OpenID Connect Core §9; RFC 7523
// §3 item 7). Its memory is bounded: an assertion lives at most maxAssertionLifetime, so the
// cache holds at most the assertions accepted in that window, and it is capped besides, in all
// and per client. When a cap is reached the assertion is refused with a retryable error (503, or
// 429 for the one client that filled its share) and Retry-After, never accepted unrecorded: a
// forgotten jti would be replayable.
const (
	defaultMaxAssertionIDs          = 100_000 // about 20 MB
	defaultMaxAssertionIDsPerClient = 20_000  // 33 a second for ten minutes
)

type replayCache struct {
	set       *expiringSet
	perClient int
}

func newReplayCache() *replayCache {
	return &replayCache{set: newExpiringSet(defaultMaxAssertionIDs), perClient: defaultMaxAssertionIDsPerClient}
}

// use records the client's jti until the given time, or refuses it: used already, or no room.
func (c *replayCache) use(clientID, jti string, until time.Time) error {
	// A fixed-size key whatever the jti's length; the client id is part of it, since jti values
	// are unique per issuer (the client) only.
	h := sha256.New()
	h.Write([]byte(clientID))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	switch result, retry := c.set.add(string(h.Sum(nil)), clientID, until, c.perClient); result {
	case alreadyThere:
		return assertionError("this jti was used already")
	case setFull:
		return &oauthError{code: oauth2errors.ErrTemporarilyUnavailable, status: http.StatusServiceUnavailable,
			retryAfter: retry, description: "too many client assertions are being remembered; retry later"}
	case tagFull:
		return &oauthError{code: oauth2errors.ErrTemporarilyUnavailable, status: http.StatusTooManyRequests,
			retryAfter: retry, description: "this client sent too many assertions recently; retry later"}
	}
	return nil
}
