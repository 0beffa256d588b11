package proof

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults in the token endpoint's responses: RFC 6749 §3.2 (no repeated member), §3.3 (scope),
// §5.1 (the successful response), §5.2 (the error response) and §10.10 (guessable tokens).
// C-6749-3.3-c is a MAY that the suite only records, so no fault can break it.
var _ = register([]fault{
	// §3.2: no member twice.
	{name: "token responses repeat token_type", breaks: "C-6749-3.2-g", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, r *response) {
			r.body = append([]byte(`{"token_type":"Bearer",`), bytes.TrimPrefix(r.body, []byte("{"))...)
		}))},
	{name: "token error responses repeat the error member", breaks: "C-6749-3.2-g",
		wrap: editResponses(tokenPOST, func(_ *http.Request, r *response) {
			if r.status >= 400 {
				r.body = append([]byte(`{"error":"server_error",`), bytes.TrimPrefix(r.body, []byte("{"))...)
			}
		})},

	// §3.3: scope.
	{name: "a scope of several tokens is a JSON array", breaks: "C-6749-3.3-a",
		wrap: editResponses(tokenPOST, respWhenGrantedScope(func(scope string) any {
			if strings.Contains(scope, " ") {
				return strings.Fields(scope)
			}
			return scope
		}))},
	{name: "scope tokens separated by two spaces", breaks: "C-6749-3.3-a",
		wrap: editResponses(tokenPOST, respWhenGrantedScope(func(scope string) any { return strings.ReplaceAll(scope, " ", "  ") }))},
	{name: "a forbidden scope is dropped without saying so", breaks: "C-6749-3.3-b",
		wrap: respNarrowScope(respForbiddenToken, respDropScopeMember)},
	{name: "a forbidden scope is dropped but reported as granted", breaks: "C-6749-3.3-b", also: []string{"C-6749-5.2-i"},
		wrap: respNarrowScope(respForbiddenToken, respReportAsked)},
	{name: "a request without scope gets 500", breaks: "C-6749-3.3-d",
		wrap: answer(and(isGoodBasic, respWithoutScope), http.StatusInternalServerError, "application/json", `{"error":"server_error"}`)},
	{name: "a request without scope gets invalid_request", breaks: "C-6749-3.3-d",
		wrap: answer(and(isGoodBasic, respWithoutScope), http.StatusBadRequest, "application/json", `{"error":"invalid_request","error_description":"scope is required"}`)},

	// §5.1: the successful response.
	{name: "a successful token response has status 203", breaks: "C-6749-5.1-a", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setStatus(http.StatusNonAuthoritativeInfo)))},
	{name: "access_token is a JSON number", breaks: "C-6749-5.1-b", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("access_token", 4711)))},
	{name: "access_token has a non-ASCII character", breaks: "C-6749-5.1-b", also: []string{"C-6749-4.4.3-a"},
		wrap: respAliasTokens(func(n int) string { return fmt.Sprintf("t%03d-%s-é", n, respRandomAlias(24)) })},
	{name: "token_type is empty", breaks: "C-6749-5.1-c", also: []string{"S2S-4", "C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("token_type", "")))},
	{name: "token_type is two words", breaks: "C-6749-5.1-c", also: []string{"S2S-4"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("token_type", "Bearer token")))},
	{name: "expires_in is missing and the target pins no lifetime", breaks: "C-6749-5.1-d", soft: true,
		args: []string{"-expires-in=0"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, delMember("expires_in")))},
	{name: "expires_in is negative", breaks: "C-6749-5.1-e", also: []string{"S2S-4", "C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("expires_in", -3600)))},
	{name: "expires_in in exponent form", breaks: "C-6749-5.1-e", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, r *response) {
			r.body = regexp.MustCompile(`"expires_in":\d+`).ReplaceAll(r.body, []byte(`"expires_in":3.6e3`))
		}))},
	{name: "expires_in is 0 and the target pins no lifetime", breaks: "C-6749-5.1-e", soft: true,
		args: []string{"-expires-in=0"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("expires_in", 0)))},
	{name: "token response sent as application/javascript", breaks: "C-6749-5.1-f", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setHeader("Content-Type", "application/javascript")))},
	{name: "token response followed by a second JSON object", breaks: "C-6749-5.1-f", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, r *response) { r.body = append(r.body, []byte("{}")...) }))},
	{name: "token response with no-store only inside a quoted argument", breaks: "C-6749-5.1-g", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(tokenPOST, when(http.StatusOK, setHeader("Cache-Control", `private="a,no-store,b"`)))},
	{name: "token response with Cache-Control: max-age=3600", breaks: "C-6749-5.1-g", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(tokenPOST, when(http.StatusOK, setHeader("Cache-Control", "max-age=3600")))},
	{name: "token response with Pragma: no-store", breaks: "C-6749-5.1-h", soft: true,
		wrap: editResponses(tokenPOST, when(http.StatusOK, setHeader("Pragma", "no-store")))},

	// §5.2: the error response.
	{name: "invalid_scope answered with 401", breaks: "C-6749-5.2-a", also: []string{"H-9110-15.5.2-a"},
		wrap: editResponses(tokenPOST, respWithErrorCode("invalid_scope", setStatus(http.StatusUnauthorized)))},
	{name: "unauthorized_client answered with 401", breaks: "C-6749-5.2-a", also: []string{"H-9110-15.5.2-a"},
		wrap: editResponses(tokenPOST, respWithErrorCode("unauthorized_client", setStatus(http.StatusUnauthorized)))},
	{name: "unsupported_grant_type answered with 401", breaks: "C-6749-5.2-a", also: []string{"H-9110-15.5.2-a"},
		wrap: editResponses(tokenPOST, respWithErrorCode("unsupported_grant_type", setStatus(http.StatusUnauthorized)))},
	{name: "an unknown Basic client gets 400", breaks: "C-6749-5.2-b", soft: true,
		wrap: editResponses(respUnknownBasicClient, setStatus(http.StatusBadRequest))},
	{name: "an unknown Basic client is challenged with Bearer", breaks: "C-6749-5.2-b",
		wrap: editResponses(respUnknownBasicClient, setHeader("WWW-Authenticate", `Bearer realm="ccconform"`))},
	{name: "an unknown Basic client gets 403", breaks: "C-6749-5.2-b", also: []string{"C-6749-4.4.2-c"},
		wrap: editResponses(respUnknownBasicClient, func(_ *http.Request, r *response) {
			r.status = http.StatusForbidden
			r.header.Del("WWW-Authenticate")
		})},
	// C-6749-5.2-c is a MAY (400 or 401, recorded): a 401 without a challenge breaks RFC 9110,
	// and another status breaks §5.2's status rule.
	{name: "a failed body authentication gets 401 without WWW-Authenticate", breaks: "H-9110-15.5.2-a",
		wrap: editResponses(and(tokenPOST, withoutAuthorization), when(http.StatusUnauthorized, delHeader("WWW-Authenticate")))},
	{name: "a failed body authentication gets 403", breaks: "C-6749-5.2-a", also: []string{"C-6749-4.4.2-c"},
		wrap: editResponses(and(tokenPOST, withoutAuthorization), when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
			r.status = http.StatusForbidden
			r.header.Del("WWW-Authenticate")
		}))},
	{name: "an unknown client's error is a JSON array", breaks: "C-6749-5.2-d",
		wrap: editResponses(respUnknownBasicClient, setMember("error", []string{"invalid_client"}))},
	{name: "an unknown client gets access_denied", breaks: "C-6749-5.2-d", also: []string{"C-6749-4.4.2-c"},
		wrap: editResponses(respUnknownBasicClient, setMember("error", "access_denied"))},
	{name: "invalid_scope echoes the requested scope in error_description", breaks: "C-6749-5.2-e",
		wrap: respEchoScope},
	{name: "error_description with a line break", breaks: "C-6749-5.2-e",
		wrap: editResponses(tokenPOST, respWithErrorStatus(setMember("error_description", "the request failed:\nsee the log")))},
	{name: "error_uri with a space", breaks: "C-6749-5.2-f",
		wrap: editResponses(tokenPOST, respWithErrorStatus(setMember("error_uri", "https://as.example/oauth errors")))},
	{name: "error_uri is a JSON number", breaks: "C-6749-5.2-f",
		wrap: editResponses(tokenPOST, respWithErrorStatus(setMember("error_uri", 404)))},
	{name: "400 errors sent as text/plain", breaks: "C-6749-5.2-g",
		wrap: editResponses(tokenPOST, when(http.StatusBadRequest, setHeader("Content-Type", "text/plain; charset=utf-8")))},
	{name: "errors sent as application/problem+json", breaks: "C-6749-5.2-g",
		wrap: editResponses(tokenPOST, respWithErrorStatus(setHeader("Content-Type", "application/problem+json")))},
	{name: "a client without the grant gets invalid_client", breaks: "C-6749-5.2-h",
		wrap: editResponses(respWithBasicClient(provider.FixtureNoClientCredentials.ID), respWithErrorCode("unauthorized_client", func(_ *http.Request, r *response) {
			r.status = http.StatusUnauthorized
			r.header.Set("WWW-Authenticate", `Basic realm="ccconform"`)
			r.setObject(map[string]any{"error": "invalid_client"})
		}))},
	{name: "a client without the grant gets a token", breaks: "C-6749-5.2-h",
		wrap: editRequests(respWithBasicClient(provider.FixtureNoClientCredentials.ID), func(r *http.Request) { r.Header.Set("Authorization", goodBasic) })},
	// §3.3 lets a server narrow a malformed scope away, if it names what it granted (a control).
	{name: "a malformed scope is narrowed away without saying so", breaks: "C-6749-3.3-b",
		wrap: respNarrowScope(respMalformedToken, respDropScopeMember)},
	{name: "a malformed scope gets a token reported as granted for it", breaks: "C-6749-5.2-i",
		wrap: respNarrowScope(respMalformedToken, respReportAsked)},
	{name: "a malformed scope gets invalid_request", breaks: "C-6749-5.2-i", soft: true,
		wrap: editResponses(and(tokenPOST, respWithMalformedScope), respWithErrorCode("invalid_scope", setMember("error", "invalid_request")))},
	{name: "a malformed scope gets 500 server_error", breaks: "C-6749-5.2-i", also: []string{"C-6749-5.2-a"},
		wrap: answer(and(tokenPOST, respWithMalformedScope), http.StatusInternalServerError, "application/json", `{"error":"server_error"}`)},
	{name: "a forbidden scope gets invalid_request", breaks: "C-6749-5.2-i", also: []string{"C-6749-3.3-b"},
		wrap: editResponses(and(tokenPOST, respWithScopeToken("admin")), respWithErrorCode("invalid_scope", setMember("error", "invalid_request")))},

	// §10.10: guessable tokens. The faults hand out aliases and map them back to the reference's
	// tokens on the way in, so that everything but the tokens' look keeps working.
	{name: "tokens are a counter", breaks: "C-6749-10.10-a", also: []string{"C-6749-10.10-b"}, soft: true,
		wrap: respAliasTokens(func(n int) string { return fmt.Sprintf("ccconform-token-%08d", 7919*(n+1)) })},
	{name: "tokens carry 144 random bits", breaks: "C-6749-10.10-b", soft: true,
		wrap: respAliasTokens(func(int) string { return respRandomAlias(18) })},
})

// respSetBodyForm changes (or, with an empty value, removes) one parameter of a form body.
func respSetBodyForm(r *http.Request, name, value string) {
	v := formOf(r)
	if value == "" {
		v.Del(name)
	} else {
		v.Set(name, value)
	}
	setForm(r, v)
}

// respEchoScope answers invalid_scope with an error_description that quotes the requested scope
// as it came, quotes and backslashes included.
func respEchoScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope := formOf(r).Get("scope")
		editResponses(tokenPOST, respWithErrorCode("invalid_scope", func(_ *http.Request, res *response) {
			m := res.object()
			m["error_description"] = "the scope " + scope + " is not allowed"
			res.setObject(m)
		}))(next).ServeHTTP(w, r)
	})
}

func respWithoutScope(r *http.Request) bool { return formOf(r).Get("scope") == "" }

func respWithMalformedScope(r *http.Request) bool {
	return strings.ContainsAny(formOf(r).Get("scope"), "\"\\")
}

func respWithScopeToken(scope string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		for _, s := range strings.Fields(formOf(r).Get("scope")) {
			if s == scope {
				return true
			}
		}
		return false
	}
}

// respBasicClientID is the client id of a Basic Authorization header, form-decoded.
func respWithBasicClient(id string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		got, ok := basicClientID(r)
		return tokenPOST(r) && ok && got == id
	}
}

// respUnknownBasicClient matches token requests whose Basic client id the reference does not know.
func respUnknownBasicClient(r *http.Request) bool {
	id, ok := basicClientID(r)
	if !tokenPOST(r) || !ok {
		return false
	}
	for _, c := range provider.FixtureConfig(provider.DemoClientID, provider.DemoClientSecret).Clients {
		if c.ID == id {
			return false
		}
	}
	return true
}

// respErrorCode is the error member of a captured response, if any.
func respErrorCode(r *response) string {
	code, _ := r.object()["error"].(string)
	return code
}

func respWithErrorCode(code string, edit func(*http.Request, *response)) func(*http.Request, *response) {
	return func(req *http.Request, r *response) {
		if respErrorCode(r) == code {
			edit(req, r)
		}
	}
}

func respWithErrorStatus(edit func(*http.Request, *response)) func(*http.Request, *response) {
	return func(req *http.Request, r *response) {
		if r.status >= 400 {
			edit(req, r)
		}
	}
}

// respWhenGrantedScope replaces the scope member of successful token responses.
func respWhenGrantedScope(change func(scope string) any) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) {
		m := r.object()
		if s, ok := m["scope"].(string); ok && r.status == http.StatusOK {
			m["scope"] = change(s)
			r.setObject(m)
		}
	}
}

func respWithout(m map[string]any, name string) map[string]any {
	delete(m, name)
	return m
}

// respNarrowScope drops the scope tokens that drop matches from token requests before the
// reference sees them, and lets edit change the successful response, knowing what was asked and
// granted.
func respNarrowScope(drop func(scopeToken string) bool, edit func(asked, granted string, r *response)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !tokenPOST(r) {
				next.ServeHTTP(w, r)
				return
			}
			asked := formOf(r).Get("scope")
			var kept []string
			for _, s := range strings.Fields(asked) {
				if !drop(s) {
					kept = append(kept, s)
				}
			}
			if len(kept) == len(strings.Fields(asked)) {
				next.ServeHTTP(w, r)
				return
			}
			respSetBodyForm(r, "scope", strings.Join(kept, " "))
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			res := &response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
			if res.status == http.StatusOK {
				granted, _ := res.object()["scope"].(string)
				edit(asked, granted, res)
			}
			res.write(w)
		})
	}
}

// respForbiddenToken is the reference's forbidden scope; respMalformedToken a scope token with a
// character no scope token has.
func respForbiddenToken(s string) bool { return s == "admin" }
func respMalformedToken(s string) bool { return strings.ContainsAny(s, "\"\\") }

// respDropScopeMember leaves the granted scope out of a narrowed token response.
func respDropScopeMember(_, _ string, r *response) { r.setObject(respWithout(r.object(), "scope")) }

// respReportAsked reports the scope asked for as granted, though it was narrowed.
func respReportAsked(asked, _ string, r *response) {
	m := r.object()
	m["scope"] = asked
	r.setObject(m)
}

// respAliasTokens hands out mint(n) instead of the n-th access token the reference issues, and
// turns an alias back into its token when a client presents it with any Authorization scheme.
func respAliasTokens(mint func(n int) string) func(http.Handler) http.Handler {
	var mu sync.Mutex
	tokens := map[string]string{}
	issued := 0
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if scheme, credentials, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
				mu.Lock()
				token, known := tokens[credentials]
				mu.Unlock()
				if known {
					r.Header.Set("Authorization", scheme+" "+token)
				}
			}
			// Introspection and revocation (RFC 7662, RFC 7009) take the token in the form.
			if r.Method == http.MethodPost && !tokenPOST(r) {
				if v := formOf(r); v.Has("token") {
					mu.Lock()
					token, known := tokens[v.Get("token")]
					mu.Unlock()
					if known {
						v.Set("token", token)
						setForm(r, v)
					}
				}
			}
			if !tokenPOST(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			res := &response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
			m := res.object()
			if token, ok := m["access_token"].(string); ok {
				mu.Lock()
				alias := mint(issued)
				issued++
				tokens[alias] = token
				mu.Unlock()
				m["access_token"] = alias
				res.setObject(m)
			}
			res.write(w)
		})
	}
}

// respRandomAlias is n random bytes in base64url.
func respRandomAlias(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
