package provider

import (
	"encoding/json"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// Client authentication with a JWT assertion: RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID
// Connect Core §9, and the audience rule of RFC 10070.
//
// The reference is strict where the documents let it be:
//   - aud must be exactly the issuer identifier, a string or a one-element array (RFC 10070 §4;
//     RFC 7523 §3 item 3 also allowed the token endpoint's URL, which the reference refuses);
//   - exp is required and at most maxAssertionLifetime ahead, so that the jti replay cache
//     (replay.go) holds every live assertion in bounded memory; nbf is honoured;
//   - jti is required and single-use per client until exp (OpenID Connect Core §9);
//   - typ may be absent, "JWT" or "client-authentication+jwt" (RFC 10070 §4); any other type is
//     a JWT meant for something else and is refused;
//   - a crit header is refused: the reference understands no JWS extension for assertions;
//   - the algorithm must be on the client's allow-list (its keys' algorithms, or HMAC for a
//     client_secret_jwt client), so "none" and algorithm confusion never get to verification;
//   - the key is the client's registered key, never one the JWS names or carries (jwk, jku, x5c).
//
// Claims it does not know are ignored (OpenID Connect Core §9). Every failure is invalid_client
// (RFC 7523 §3.2); a missing or wrong client_assertion_type is invalid_request, as a missing or
// wrong parameter is (RFC 6749 §5.2). No failure says more than which rule was broken, and
// neither the assertion nor the secret is ever logged.

// JWTBearerAssertionType is the client_assertion_type of a JWT assertion (RFC 7523 §2.2).
const JWTBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const (
	// maxAssertionLifetime is how far in the future an assertion's exp may be. RFC 7523 §3
	// item 4 lets the server refuse an exp unreasonably far away; this bound is what keeps the
	// replay cache small.
	maxAssertionLifetime = 10 * time.Minute
	// assertionLeeway is the clock skew allowed on exp and nbf (RFC 7523 §3 items 4-5).
	assertionLeeway = 30 * time.Second
	// maxAssertionBytes bounds an assertion before it is parsed; the token request body is
	// bounded already (maxTokenRequestBytes), this says so for the parser.
	maxAssertionBytes = 8 << 10
	// maxNumericDate bounds exp, nbf and iat: the year 5138, far beyond any real date and far
	// within time.Time's and int64's range.
	maxNumericDate = 1e11
)

// assertionError is an invalid_client refusal of an assertion, with what was wrong.
func assertionError(description string) error {
	return newOAuthError(oauth2errors.ErrInvalidClient, "client assertion: "+description)
}

// authenticateAssertion authenticates the client of a request that carries client_assertion and
// client_assertion_type (authenticateRequest has checked that it uses no other method).
func (p *Provider) authenticateAssertion(form url.Values, src netip.Addr) (*registeredClient, error) {
	switch form.Get("client_assertion_type") {
	case JWTBearerAssertionType:
	case "":
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "client_assertion_type is missing")
	default:
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "client_assertion_type is not "+JWTBearerAssertionType)
	}
	raw := form.Get("client_assertion")
	if raw == "" {
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "client_assertion is missing")
	}
	if p.issuer == "" {
		// The assertion's audience is the issuer identifier; without one, nothing can be it.
		return nil, assertionError("this provider has no issuer identifier, so it takes no assertion")
	}
	if len(raw) > maxAssertionBytes {
		return nil, assertionError("too long")
	}
	// First without trusting anything: one compact JWS of an algorithm the reference knows,
	// whose claims name the client. Only then the client's own allow-list and key.
	jws, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil {
		return nil, assertionError("not one JWS in compact serialization with a supported algorithm")
	}
	if err := checkAssertionHeader(jws.Signatures[0].Header); err != nil {
		return nil, err
	}
	claims, err := parseAssertionClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, err
	}
	if claims.iss == "" || claims.sub == "" {
		return nil, assertionError("iss and sub are both required")
	}
	if claims.iss != claims.sub {
		return nil, assertionError("iss and sub must both be the client id")
	}
	id := claims.sub
	if cid := form.Get("client_id"); cid != "" && cid != id {
		return nil, assertionError("client_id names another client than the assertion")
	}

	if wait := p.clients.assertionGuesses.refusedFor(id, src); wait > 0 {
		return nil, &oauthError{code: oauth2errors.ErrInvalidClient, status: http.StatusTooManyRequests,
			retryAfter: wait, description: "too many failed authentications from this address; retry later"}
	}
	c, ok := p.clients.byID[id]
	if !ok || !c.usesAssertion() {
		// Counted, as a wrong secret for an unknown id is, so that the answers do not tell
		// which ids are registered (throttle.go).
		p.clients.assertionGuesses.failed(id, src, raw)
		return nil, oauth2errors.ErrInvalidClient
	}
	jws, err = jose.ParseSignedCompact(raw, c.algs)
	if err != nil {
		return nil, assertionError("the algorithm is not one this client is registered for")
	}
	if err := p.verifyAssertion(jws, c); err != nil {
		if c.AuthMethod == AuthMethodClientSecretJWT {
			// A wrong MAC is a guess at the secret. (A wrong signature is no guess at a private
			// key, which cannot be guessed; counting it would only slow a suite that tests it.)
			p.clients.assertionGuesses.failed(id, src, raw)
		}
		return nil, err
	}
	now := time.Now()
	if err := claims.checkTimeAndAudience(p.issuer, now); err != nil {
		return nil, err
	}
	if err := p.replay.use(c.ID, claims.jti, claims.exp.Add(assertionLeeway)); err != nil {
		return nil, err
	}
	return c, nil
}

// assertionGuessBudget multiplies the free failures of Config.MaxFailedAuthentications for
// assertions. Every assertion is new (a fresh jti), so a client or a test suite that sends the
// same wrong key again is not deduplicated as a repeated wrong secret is (throttle.go); a larger
// budget keeps a suite that is run many times in a row from being slowed, and is still nothing
// against a secret of 32 bytes or more (client_secret_jwt), since the delay doubles after it.
const assertionGuessBudget = 10

// newAssertionThrottle is the guessing throttle of client assertions: the secrets' settings,
// with assertionGuessBudget times their free failures.
func newAssertionThrottle(cfg Config) *guessThrottle {
	t := newGuessThrottle(cfg)
	t.free *= assertionGuessBudget
	return t
}

// checkAssertionHeader refuses the header parameters the reference does not take.
func checkAssertionHeader(h jose.Header) error {
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return assertionError("crit names extensions this server does not process")
	}
	if _, ok := h.ExtraHeaders["b64"]; ok {
		return assertionError("b64 is not for JWTs (RFC 7797 section 7)")
	}
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok {
		s, _ := typ.(string)
		switch strings.TrimPrefix(strings.ToLower(s), "application/") {
		case "jwt", "client-authentication+jwt":
		default:
			return assertionError("typ is neither JWT nor client-authentication+jwt")
		}
	}
	return nil
}

// verifyAssertion checks the signature or MAC with the client's registered key: the key the kid
// names, or, without a kid, each key of the JWS's algorithm.
func (p *Provider) verifyAssertion(jws *jose.JSONWebSignature, c *registeredClient) error {
	h := jws.Signatures[0].Header
	if c.AuthMethod == AuthMethodClientSecretJWT {
		if _, err := jws.Verify([]byte(c.Secret)); err != nil {
			return assertionError("the MAC does not verify with the client's secret")
		}
		return nil
	}
	for _, k := range c.Keys {
		if h.KeyID != "" && k.KeyID != h.KeyID || k.Algorithm != h.Algorithm {
			continue
		}
		if _, err := jws.Verify(k.Key); err == nil {
			return nil
		}
	}
	if h.KeyID != "" {
		return assertionError("the signature does not verify with the client's key of that kid")
	}
	return assertionError("the signature does not verify with the client's keys")
}

// assertionClaims are the claims the reference checks. Each is read from its exact member name
// (encoding/json would match "ISS" to a field tagged iss) and must have the registered type.
type assertionClaims struct {
	iss, sub, jti string
	aud           json.RawMessage
	exp, nbf      time.Time // zero when absent
	hasNbf        bool
}

func parseAssertionClaims(payload []byte) (*assertionClaims, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return nil, assertionError("the claims are not a JSON object")
	}
	c := &assertionClaims{aud: members["aud"]}
	for name, dst := range map[string]*string{"iss": &c.iss, "sub": &c.sub, "jti": &c.jti} {
		if v, ok := members[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil || *dst == "" {
				return nil, assertionError(name + " is not a non-empty string")
			}
		}
	}
	for name, dst := range map[string]*time.Time{"exp": &c.exp, "nbf": &c.nbf, "iat": new(time.Time)} {
		v, ok := members[name]
		if !ok {
			continue
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
			return nil, assertionError(name + " is not a NumericDate")
		}
		sec, frac := math.Modf(f)
		*dst = time.Unix(int64(sec), int64(frac*1e9))
		c.hasNbf = c.hasNbf || name == "nbf"
	}
	return c, nil
}

// checkTimeAndAudience applies the rules on exp, nbf, jti and aud.
func (c *assertionClaims) checkTimeAndAudience(issuer string, now time.Time) error {
	switch {
	case c.exp.IsZero():
		return assertionError("exp is required")
	case now.After(c.exp.Add(assertionLeeway)):
		return assertionError("expired")
	case c.exp.After(now.Add(maxAssertionLifetime + assertionLeeway)):
		return assertionError("exp is more than 10 minutes ahead")
	case c.hasNbf && c.nbf.After(now.Add(assertionLeeway)):
		return assertionError("not valid yet (nbf)")
	case c.jti == "":
		return assertionError("jti is required")
	}
	if !audienceIsExactly(c.aud, issuer) {
		return assertionError("aud must be the issuer identifier, " + safeForDescription(issuer) + ", and nothing else")
	}
	return nil
}

// audienceIsExactly reports whether aud is the string want, or an array of that one string,
// compared byte for byte (RFC 7523 §3 item 3, RFC 3986 §6.2.1).
func audienceIsExactly(aud json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && len(many) == 1 && many[0] == want
}
