package provider

import (
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// isB64token reports whether s has the syntax of a Bearer credential, b64token (RFC 6750 §2.1):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". A table look-up per byte, not a
// regexp: it runs on every protected request, and the regexp was most of the middleware's time.
func isB64token(s string) bool {
	i := 0
	for i < len(s) && b64tokenChar[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

// b64tokenChar marks the bytes of b64token before its "=" padding.
var b64tokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// bearerError is an RFC 6750 §3.1 error: the status it goes with, its code and description.
// A zero code is the "no authentication information" case, which carries no error (§3.1).
type bearerError struct {
	status      int
	code        string
	description string
}

var (
	errNoToken = bearerError{status: http.StatusUnauthorized}
	errTwoWays = bearerError{http.StatusBadRequest, "invalid_request",
		"the access token was sent in more than one way"}
	errMalformed = bearerError{http.StatusBadRequest, "invalid_request",
		"the Authorization header is not a well-formed Bearer credential"}
	errUnknownToken = bearerError{http.StatusUnauthorized, "invalid_token",
		"the access token is invalid"}
	errExpiredToken = bearerError{http.StatusUnauthorized, "invalid_token",
		"the access token expired"}
	errWrongAudience = bearerError{http.StatusUnauthorized, "invalid_token",
		"the access token is not meant for this resource"}
	errRevokedToken = bearerError{http.StatusUnauthorized, "invalid_token",
		"the access token was revoked"}
)

// protect puts a handler behind Bearer authentication (RFC 6750). requiredScope, when not empty,
// is a scope the token must carry; a token without it gets 403 insufficient_scope.
// The scenario's routes belong to the default resource: with an issuer, a token is accepted
// there only if its audience contains it (every opaque token's does).
func (p *Provider) protect(requiredScope string, next http.HandlerFunc) http.Handler {
	return p.protectResource(p.defaultResource, requiredScope, next)
}

// protectResource is protect for the resource identified by resource: a token whose audience
// does not contain it is invalid here (RFC 9068 §4, RFC 8707 §2), as is a revoked one. An empty
// resource (no issuer) accepts every audience.
func (p *Provider) protectResource(resource, requiredScope string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, berr := bearerCredential(r)
		if berr != nil {
			p.writeBearerError(w, *berr, "")
			return
		}
		facts, berr := p.checkToken(token, time.Now())
		switch {
		case berr != nil:
			p.writeBearerError(w, *berr, "")
			return
		case resource != "" && !slices.Contains(facts.Audience, resource):
			p.writeBearerError(w, errWrongAudience, "")
			return
		case p.isRevoked(facts):
			p.writeBearerError(w, errRevokedToken, "")
			return
		}
		if requiredScope != "" && !slices.Contains(strings.Fields(facts.Scope), requiredScope) {
			p.writeBearerError(w, bearerError{http.StatusForbidden, "insufficient_scope",
				"the access token does not carry the scope " + requiredScope}, requiredScope)
			return
		}
		next(w, r)
	})
}

// bearerCredential finds the access token of a request. The reference accepts it in the
// Authorization header only (RFC 6750 §2.1); §2.2 (form body) and §2.3 (query) are optional,
// and the query form leaks tokens into logs. A query access_token is ignored altogether, as
// OAuth 2.1 §5.1 requires of resource servers ("MUST ignore access tokens in a URI query
// parameter"), which RFC 6750 allows, since the query method is optional: with a header, the
// header's token is used. A token in the body alongside a header is a request that sends it more
// than one way (§2, §3.1: invalid_request). A body or query token alone, like an Authorization
// header of another scheme, is a request without authentication information the provider
// understands: 401 with a challenge and no error code (§3.1).
func bearerCredential(r *http.Request) (string, *bearerError) {
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return "", &errMalformed
	}
	if len(authz) == 0 {
		return "", &errNoToken
	}
	scheme, rest, _ := strings.Cut(authz[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", &errNoToken
	}
	if formHasAccessToken(r) {
		return "", &errTwoWays
	}
	token := strings.TrimLeft(rest, " ")
	if !isB64token(token) {
		return "", &errMalformed
	}
	return token, nil
}

// formHasAccessToken looks for an access_token in a form-encoded body without consuming the
// body for the handler behind (ParseForm keeps the parsed values on the request).
func formHasAccessToken(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" || r.Body == nil {
		return false
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxResourceBodyBytes)
	if err := r.ParseForm(); err != nil {
		return false
	}
	return r.PostForm.Has("access_token")
}

// writeBearerError answers a request that failed Bearer authentication: the status, a Bearer
// challenge with the error attributes (RFC 6750 §3), and, where there is an error, the same
// error as JSON for clients that read bodies.
func (p *Provider) writeBearerError(w http.ResponseWriter, e bearerError, scope string) {
	w.Header().Set("WWW-Authenticate", bearerChallenge(p.realm, e.code, e.description, scope))
	if e.code == "" {
		w.WriteHeader(e.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.description})
}

// bearerChallenge builds a Bearer challenge (RFC 6750 §3). The realm is always there, so the
// scheme is never bare; the other attributes appear when they have a value. Values are quoted
// strings; the reference's own values never contain a quote or backslash, but a realm from
// configuration might, so both are escaped.
func bearerChallenge(realm, code, description, scope string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm=`)
	b.WriteString(quote(realm))
	for _, kv := range [][2]string{{"error", code}, {"error_description", description}, {"scope", scope}} {
		if kv[1] != "" {
			b.WriteString(", ")
			b.WriteString(kv[0])
			b.WriteByte('=')
			b.WriteString(quote(kv[1]))
		}
	}
	return b.String()
}

var quotedPairs = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// quote makes s an HTTP quoted-string.
func quote(s string) string { return `"` + quotedPairs.Replace(s) + `"` }
