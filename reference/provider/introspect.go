package provider

import (
	"net/http"

	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// handleIntrospect is the introspection endpoint (RFC 7662). The caller authenticates as at the
// token endpoint, and must be a client registered with MayIntrospect: RFC 7662 §4 wants callers
// specifically authorized, and answering any client would let each learn about the others'
// tokens. An authenticated client without the right gets 403, which says what is wrong, rather
// than a quiet {"active":false}, which would look like a verdict on the token.
//
// A token is active when it verifies, has not expired and was not revoked; the answer then
// describes it (§2.2), and otherwise is {"active":false} and nothing else (§2.2, §4: nothing
// about a token that is not active).
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, c := p.authenticatedForm(w, r, "introspection")
	if c == nil {
		return
	}
	if !c.MayIntrospect {
		p.writeTokenError(w, newOAuthError(oauth2errors.ErrUnauthorizedClient, "this client may not introspect tokens"), http.StatusForbidden)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeTokenError(w, newOAuthError(oauth2errors.ErrInvalidRequest, "token is missing"), 0)
		return
	}
	// token_type_hint is optional and the reference has one type of token: it is ignored.
	f, ok := p.inspectToken(token)
	if !ok || p.isRevoked(f) {
		_ = writeTokenResponse(w, map[string]any{"active": false}, nil)
		return
	}
	resp := map[string]any{
		"active":     true,
		"scope":      f.Scope,
		"client_id":  f.ClientID,
		"token_type": "Bearer",
		"exp":        f.ExpiresAt.Unix(),
		"iat":        f.IssuedAt.Unix(),
		// A client credentials token is the client's own: its subject is the client (as the
		// JWT's sub, RFC 9068 §2.2).
		"sub": f.ClientID,
		"jti": f.ID,
	}
	switch len(f.Audience) {
	case 0:
	case 1:
		resp["aud"] = f.Audience[0]
	default:
		resp["aud"] = f.Audience
	}
	if p.issuer != "" {
		resp["iss"] = p.issuer
	}
	if b := f.Binding; b.bound() {
		// RFC 9449 §6.2, RFC 8705 §3.2: the token's cnf, and its type for a DPoP-bound one.
		resp["cnf"] = b.cnf()
		if b.JKT != "" {
			resp["token_type"] = "DPoP"
		}
	}
	_ = writeTokenResponse(w, resp, nil)
}
