package provider

import (
	"net/http"

	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// Revocation (RFC 7009). Access tokens, opaque or JWT, are self-contained: the provider keeps no
// record of the tokens it issues, so revoking one means remembering its id (tokenFacts.ID) in a
// deny-list until it expires, after which it is refused anyway. The resource server and
// introspection consult the list on every token (isRevoked), so a revocation takes effect at the
// next request.
//
// The list is bounded, in all and per client (a client can only fill it with its own tokens, but
// could otherwise keep others from revoking theirs). When it is full the revocation is refused
// with 503 and Retry-After, as RFC 7009 §2.2.1 provides, and the client knows its token is still
// valid; it is never accepted and then forgotten.
const (
	defaultMaxRevoked          = 100_000
	defaultMaxRevokedPerClient = 10_000
)

// isRevoked reports whether the token was revoked (and has not expired since).
func (p *Provider) isRevoked(f tokenFacts) bool {
	return p.revoked.contains(f.ID)
}

// handleRevoke is the revocation endpoint. The client authenticates as at the token endpoint
// (§2.1); a token that is unknown, invalid, expired or another client's is answered 200 as a
// revoked one is (§2.2), and only the client's own tokens are revoked (§2.1). token_type_hint is
// ignored: the reference issues access tokens only, and a hint may be ignored (§2.1).
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, c := p.authenticatedForm(w, r, "revocation")
	if c == nil {
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeTokenError(w, newOAuthError(oauth2errors.ErrInvalidRequest, "token is missing"), 0)
		return
	}
	if f, ok := p.inspectToken(token); ok && f.ClientID == c.ID {
		switch result, retry := p.revoked.add(f.ID, c.ID, f.ExpiresAt, defaultMaxRevokedPerClient); result {
		case setFull, tagFull:
			p.writeTokenError(w, &oauthError{code: oauth2errors.ErrTemporarilyUnavailable, status: http.StatusServiceUnavailable,
				retryAfter: retry, description: "the revocation list is full; the token is still valid; retry later"}, 0)
			return
		}
	}
	w.Header()["Cache-Control"] = headerNoStore
	w.WriteHeader(http.StatusOK)
}
