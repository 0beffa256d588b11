package provider

import (
	"strings"
	"time"
)

// tokenFacts is what an access token says, whatever its format: what the resource server,
// introspection (RFC 7662) and revocation (RFC 7009) need to know about it.
type tokenFacts struct {
	ClientID, Scope string
	// Audience is the token's aud (JWT), or the default resource for an opaque token when the
	// provider has an issuer; nil otherwise.
	Audience            []string
	IssuedAt, ExpiresAt time.Time
	// ID is the JWT's jti, or a stable id of an opaque token (opaqueTokenID).
	ID string
	// JWT tells an RFC 9068 JWT access token from an opaque one.
	JWT bool
	// Binding is what the token is bound to (its cnf claim; binding.go): only JWTs are bound.
	Binding binding
}

// inspectToken verifies an access token of either format (the JWT's signature, type and
// issuer, or the opaque token's MAC) and that it has not expired, and returns what it says.
// It does not consult revocation: callers ask isRevoked.
func (p *Provider) inspectToken(token string) (tokenFacts, bool) {
	f, berr := p.checkToken(token, time.Now())
	return f, berr == nil
}

// checkToken is inspectToken with the reason for a refusal, as the Bearer error the resource
// server answers with (RFC 6750 §3.1).
func (p *Provider) checkToken(token string, now time.Time) (tokenFacts, *bearerError) {
	if p.keys != nil && strings.Count(token, ".") == 2 {
		return p.checkJWT(token, now)
	}
	ti, err := p.codec.decode(token)
	if err != nil {
		return tokenFacts{}, &errUnknownToken
	}
	issued, lifetime := ti.GetAccessCreateAt(), ti.GetAccessExpiresIn()
	// As go-oauth2's Manager.LoadAccessToken: a token is good until issue time plus lifetime.
	if lifetime != 0 && issued.Add(lifetime).Before(now) {
		return tokenFacts{}, &errExpiredToken
	}
	f := tokenFacts{ClientID: ti.GetClientID(), Scope: ti.GetScope(), IssuedAt: issued,
		ExpiresAt: issued.Add(lifetime), ID: opaqueTokenID(token)}
	if p.defaultResource != "" {
		f.Audience = p.defaultAudience // shared: read it, never change it
	}
	return f, nil
}

// opaqueTokenID is a stable id of an opaque token that reveals nothing usable: its MAC, as the
// token spells it (tokens.go). The MAC covers a 256-bit random nonce, so it is unique to the
// token, and without the payload it is not a token; taking a substring costs no hashing or
// allocation on the resource server's path. Call it on a verified token only.
func opaqueTokenID(token string) string {
	_, mac, _ := strings.Cut(token, ".")
	return mac
}
