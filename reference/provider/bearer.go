package provider

import (
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strconv"
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
	errMalformedDPoP = bearerError{http.StatusBadRequest, "invalid_request",
		"the Authorization header is not a well-formed DPoP credential"}
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

// routeKind says which access tokens a protected route takes.
type routeKind int

const (
	// anyToken: unbound tokens with the Bearer scheme, DPoP-bound ones with the DPoP scheme and a
	// proof (RFC 9449 §7), certificate-bound ones over a connection with their certificate (RFC
	// 8705 §3). Challenges are Bearer challenges, or DPoP ones when the DPoP scheme was used.
	anyToken routeKind = iota
	// dpopTokens: DPoP-bound tokens only (PathResourceDPoP); every challenge is a DPoP one.
	dpopTokens
	// certificateTokens: certificate-bound tokens only (PathResourceMTLS).
	certificateTokens
)

// protectResource is protect for the resource identified by resource: a token whose audience
// does not contain it is invalid here (RFC 9068 §4, RFC 8707 §2), as is a revoked one. An empty
// resource (no issuer) accepts every audience.
func (p *Provider) protectResource(resource, requiredScope string, next http.HandlerFunc) http.Handler {
	return p.protectRoute(resource, requiredScope, anyToken, next)
}

// protectRoute is protectResource for a route that takes the tokens kind says.
func (p *Provider) protectRoute(resource, requiredScope string, kind routeKind, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, dpopScheme, berr := p.accessCredential(r)
		dpopChallenge := dpopScheme || kind == dpopTokens
		if berr != nil {
			p.writeResourceError(w, resourceFailure{bearerError: *berr}, "", dpopChallenge)
			return
		}
		facts, berr := p.checkToken(token, time.Now())
		switch {
		case berr != nil:
			p.writeResourceError(w, resourceFailure{bearerError: *berr}, "", dpopChallenge)
			return
		case resource != "" && !slices.Contains(facts.Audience, resource):
			p.writeResourceError(w, resourceFailure{bearerError: errWrongAudience}, "", dpopChallenge)
			return
		case p.isRevoked(facts):
			p.writeResourceError(w, resourceFailure{bearerError: errRevokedToken}, "", dpopChallenge)
			return
		}
		if facts.Binding.bound() || dpopScheme || kind != anyToken {
			if f := p.checkSenderConstraint(r, token, dpopScheme, facts, kind); f != nil {
				p.writeResourceError(w, *f, "", dpopChallenge)
				return
			}
		}
		if requiredScope != "" && !slices.Contains(strings.Fields(facts.Scope), requiredScope) {
			p.writeResourceError(w, resourceFailure{bearerError: bearerError{http.StatusForbidden, "insufficient_scope",
				"the access token does not carry the scope " + requiredScope}}, requiredScope, dpopChallenge)
			return
		}
		if dpopScheme && p.dpop.nonces {
			// RFC 9449 §8.2, §9: a fresh nonce on success, for the client's next request.
			w.Header().Set("DPoP-Nonce", p.dpop.newNonce(nonceForResource))
		}
		next(w, r)
	})
}

// accessCredential finds the access token of a request: with the DPoP scheme when the provider
// takes DPoP (dpop true), otherwise as bearerCredential does.
func (p *Provider) accessCredential(r *http.Request) (token string, dpop bool, berr *bearerError) {
	if !p.dpopEnabled() {
		token, berr = bearerCredential(r)
		return token, false, berr
	}
	authz := r.Header.Values("Authorization")
	if len(authz) != 1 {
		token, berr = bearerCredential(r)
		return token, false, berr
	}
	scheme, rest, _ := strings.Cut(authz[0], " ")
	if !strings.EqualFold(scheme, "DPoP") {
		token, berr = bearerCredential(r)
		return token, false, berr
	}
	if formHasAccessToken(r) {
		return "", true, &errTwoWays
	}
	token = strings.TrimLeft(rest, " ")
	if !isB64token(token) { // token68 (RFC 9449 §7.1) is b64token's syntax
		return "", true, &errMalformedDPoP
	}
	return token, true, nil
}

// resourceFailure is a refusal at the resource server: the error, and what goes with it for DPoP
// (dpop.go): a fresh nonce (use_dpop_nonce), a Retry-After (the jti cache is full).
type resourceFailure struct {
	bearerError
	nonce      bool
	retryAfter time.Duration
}

// writeResourceError answers a refused request with a Bearer challenge (writeBearerError) or,
// when dpop is set, a DPoP challenge (RFC 9449 §7.1): the same attributes plus algs.
func (p *Provider) writeResourceError(w http.ResponseWriter, f resourceFailure, scope string, dpop bool) {
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter.Round(time.Second)/time.Second)+1))
	}
	if !dpop {
		p.writeBearerError(w, f.bearerError, scope)
		return
	}
	if f.nonce {
		w.Header().Set("DPoP-Nonce", p.dpop.newNonce(nonceForResource))
	}
	w.Header().Set("WWW-Authenticate", authChallenge("DPoP", p.realm, f.code, f.description, scope)+`, algs="`+dpopAlgsParam+`"`)
	p.writeErrorBody(w, f.bearerError)
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
	p.writeErrorBody(w, e)
}

// writeErrorBody writes the status of e and, where there is an error, the error as JSON.
func (p *Provider) writeErrorBody(w http.ResponseWriter, e bearerError) {
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
	return authChallenge("Bearer", realm, code, description, scope)
}

// authChallenge is bearerChallenge for the given scheme (Bearer, or DPoP: RFC 9449 §7.1).
func authChallenge(scheme, realm, code, description, scope string) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(` realm=`)
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
