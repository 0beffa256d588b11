package proof

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/judge"
)

// Faults of the resource server side: RFC 6749 §7 and §10.3, and RFC 6750. Each breaks one rule
// of rfc6749_7_resource_access_test.go, rfc6749_10_3_token_transport_test.go or the
// rfc6750_* files. The suite's made-up tokens start with rsProofBogus, which is how faults that
// concern only a made-up token recognise it. C-6750-2.2-a, 2.3-a and 3-g are MAYs: the suite
// only records what the provider does, so there is nothing to break.
var _ = register([]fault{
	// RFC 6749 §7.
	{name: "a random token reads the resource", breaks: "C-6749-7-a",
		wrap: answer(and(readGET, withAuthorizationContaining(rsProofBogus)), http.StatusOK, "application/json", `{"resource":null}`)},
	{name: "a token with one character changed is taken for the token it resembles", breaks: "C-6749-7-a",
		wrap: rsLooseTokenComparison},
	{name: "an expired token is still accepted", breaks: "C-6749-7-a",
		wrap: rsIgnoreExpiry, args: allSpecs},
	{name: "a token without the scope reads the scoped resource", breaks: "C-6749-7-a",
		wrap: rsIgnoreScope},
	{name: "a made-up token's refusal says nothing of the error, in challenge or body", breaks: "C-6749-7.2-a", soft: true,
		also: []string{"C-6750-3-f", "C-6750-3.1-c"},
		wrap: editResponses(and(protected, withAuthorizationContaining(rsProofBogus)), when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
			r.header.Set("WWW-Authenticate", `Bearer realm="ccconform"`)
			r.header.Del("Content-Type")
			r.body = nil
		}))},

	// RFC 6749 §10.3: the provider's cleartext listener (--cleartext-url, on the https URL's
	// host and port) answers for its resources too; other cleartext requests get a plain
	// refusal, so that only the resource's rule is broken.
	{name: "the resources answer tokens over cleartext too", breaks: "C-6749-10.3-a",
		serve: withCleartextURL(serveTLSAndCleartext), wrap: rsCleartextResources},

	// RFC 6750 §2: a token sent two ways is answered 400 invalid_request, or the query's or
	// body's copy is ignored (OAuth 2.1 §5.1; the control that ignores them passes). These
	// providers use the other copy instead, or as well.
	{name: "a token in both the header and the query: the query's token is used", breaks: "C-6750-2-a", soft: true,
		wrap: editRequests(and(readGET, rsWithBothTokens), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+rsDropQueryToken(r)) })},
	{name: "a token in both the header and the query: a valid query token stands in for a made-up header token", breaks: "C-6750-2-a", soft: true,
		wrap: rsQueryTokenAsFallback},
	{name: "a token in both the header and a form body: the body's token is used", breaks: "C-6750-2-a", soft: true,
		wrap: editRequests(and(writePOST, rsWithBothTokens), func(r *http.Request) { rsMoveBodyToken(r, true) })},

	// RFC 6750 §2.1.
	{name: "the scoped resource refuses a token that has its scope", breaks: "C-6750-2.1-a",
		wrap: editResponses(at(http.MethodGet, provider.PathScopedResource), when(http.StatusOK, func(_ *http.Request, r *response) {
			r.status = http.StatusForbidden
			r.header.Set("WWW-Authenticate", `Bearer realm="ccconform", error="insufficient_scope", scope="write"`)
			r.body = []byte(`{"error":"insufficient_scope"}`)
		}))},
	{name: "the Bearer scheme is matched case-sensitively", breaks: "C-6750-2.1-b",
		wrap: editRequests(protected, func(r *http.Request) {
			scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if strings.EqualFold(scheme, "Bearer") && scheme != "Bearer" {
				r.Header.Del("Authorization")
			}
		})},
	{name: "access tokens start with a character outside b64token", breaks: "C-6750-2.1-c", soft: true,
		wrap: rsTokenOutsideB64token},
	{name: "a malformed Authorization value is answered 401 invalid_token", breaks: "C-6750-2.1-d", soft: true,
		wrap: editResponses(func(r *http.Request) bool { return readGET(r) && !r.URL.Query().Has("access_token") },
			when(http.StatusBadRequest, func(_ *http.Request, r *response) {
				r.status = http.StatusUnauthorized
				r.header.Set("WWW-Authenticate", `Bearer realm="ccconform", error="invalid_token"`)
				r.body = []byte(`{"error":"invalid_token"}`)
			}))},

	// RFC 6750 §2.2 and §2.3.
	{name: "a token is taken from any body: a GET's, a JSON one, a multipart one", breaks: "C-6750-2.2-b", soft: true,
		wrap: editRequests(func(r *http.Request) bool { return protected(r) && r.Header.Get("Authorization") == "" },
			func(r *http.Request) { rsTakeBodyToken(r) })},
	{name: "a query token is accepted without Cache-Control: private", breaks: "C-6750-2.3-b", soft: true,
		wrap: editRequests(func(r *http.Request) bool {
			return readGET(r) && r.Header.Get("Authorization") == "" && r.URL.Query().Has("access_token")
		}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+rsDropQueryToken(r)) })},

	// RFC 6750 §3. A 400 invalid_request is a refusal too, and carries the challenge.
	{name: "a 400 invalid_request is sent without WWW-Authenticate", breaks: "C-6750-3-a",
		wrap: editResponses(protected, when(http.StatusBadRequest, delHeader("WWW-Authenticate")))},
	{name: "a token without the scope is refused without WWW-Authenticate", breaks: "C-6750-3-a",
		wrap: editResponses(at(http.MethodGet, provider.PathScopedResource), when(http.StatusForbidden, delHeader("WWW-Authenticate")))},
	{name: "a request that tries HTTP Basic is challenged with Basic only", breaks: "C-6750-3-b",
		wrap: editResponses(and(protected, withAuthorizationContaining("Basic ")), setHeader("WWW-Authenticate", `Basic realm="ccconform"`))},
	// A stray comma after the scheme is a malformed challenge, no Bearer challenge at all.
	{name: "a refused token's challenge has a comma after Bearer", breaks: "C-6750-3-b",
		wrap: editResponses(and(protected, withAuthorizationContaining("Bearer ")), when(http.StatusUnauthorized,
			setHeader("WWW-Authenticate", `Bearer, realm="ccconform", error="invalid_token"`)))},
	{name: "a made-up token gets a bare Bearer challenge", breaks: "C-6750-3-c", soft: true,
		also: []string{"C-6750-3-f", "C-6750-3.1-c"},
		wrap: editResponses(and(protected, withAuthorizationContaining(rsProofBogus)), when(http.StatusUnauthorized, setHeader("WWW-Authenticate", "Bearer")))},
	{name: "a made-up token's challenge repeats error", breaks: "C-6750-3-d",
		wrap: editResponses(and(protected, withAuthorizationContaining(rsProofBogus)), when(http.StatusUnauthorized,
			setHeader("WWW-Authenticate", `Bearer realm="ccconform", error="invalid_token", error="invalid_token"`)))},
	{name: "a made-up token's error_description holds a double quote", breaks: "C-6750-3-e",
		wrap: editResponses(and(protected, withAuthorizationContaining(rsProofBogus)), when(http.StatusUnauthorized,
			setHeader("WWW-Authenticate", `Bearer realm="ccconform", error="invalid_token", error_description="the \"token\" is unknown"`)))},
	{name: "the scope attribute of insufficient_scope has an empty scope token", breaks: "C-6750-3-e",
		wrap: editResponses(at(http.MethodGet, provider.PathScopedResource), when(http.StatusForbidden,
			setHeader("WWW-Authenticate", `Bearer realm="ccconform", error="insufficient_scope", scope="write  admin"`)))},
	{name: "a made-up token's challenge has no error attribute (the JSON body keeps it)", breaks: "C-6750-3-f", soft: true,
		also: []string{"C-6750-3.1-c"},
		wrap: editResponses(and(protected, withAuthorizationContaining(rsProofBogus)), when(http.StatusUnauthorized, setHeader("WWW-Authenticate", `Bearer realm="ccconform"`)))},

	// RFC 6750 §3.1.
	{name: "a token without the scope is called invalid_scope", breaks: "C-6750-3.1-a",
		wrap: editResponses(at(http.MethodGet, provider.PathScopedResource), when(http.StatusForbidden,
			setHeader("WWW-Authenticate", `Bearer realm="ccconform", error="invalid_scope", scope="write"`)))},
	{name: "invalid_request is answered with 401", breaks: "C-6750-3.1-b", soft: true,
		also: []string{"C-6750-2-a", "C-6750-2.1-d"},
		wrap: editResponses(protected, when(http.StatusBadRequest, setStatus(http.StatusUnauthorized)))},
	{name: "a made-up token is answered with 400", breaks: "C-6750-3.1-c", soft: true,
		wrap: editResponses(and(protected, withAuthorizationContaining(rsProofBogus)), when(http.StatusUnauthorized, setStatus(http.StatusBadRequest)))},
	{name: "a token without the scope is answered with 401", breaks: "C-6750-3.1-d", soft: true,
		wrap: editResponses(at(http.MethodGet, provider.PathScopedResource), when(http.StatusForbidden, setStatus(http.StatusUnauthorized)))},
	{name: "a request that tries HTTP Basic gets an error code", breaks: "C-6750-3.1-e", soft: true,
		wrap: editResponses(and(protected, withAuthorizationContaining("Basic ")),
			setHeader("WWW-Authenticate", `Bearer realm="ccconform", error="invalid_token", error_description="no bearer token"`))},

	// RFC 6750 §5.3. The lifetime fault unpins expires_in (-expires-in=0), so that only the
	// recommendation is broken, not the scenario's pinned 3600.
	{name: "access tokens live two hours", breaks: "C-6750-5.3-a", soft: true, args: []string{"-expires-in=0"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("expires_in", 7200)))},
	{name: "access tokens are JWTs without aud", breaks: "C-6750-5.3-b", soft: true,
		wrap: rsJWTWithoutAudience},
})

// rsProofBogus starts every made-up token the suite sends (rsBogusPrefix in the suite).
const rsProofBogus = "ccconform-bogus-"

// rsChain applies wraps so that the first is the outermost.
func rsChain(wraps ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(wraps) - 1; i >= 0; i-- {
			h = wraps[i](h)
		}
		return h
	}
}

// rsBearerToken returns the token of a request's Authorization: Bearer header (any case).
func rsBearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return tok, true
}

// rsMint asks the reference behind a fault for a token of the default client.
func rsMint(next http.Handler, scope string) string {
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}.Encode()
	req := httptest.NewRequest(http.MethodPost, provider.PathToken, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", goodBasic)
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	return tok.AccessToken
}

// rsLooseTokenComparison remembers every token the reference issues and lets a presented token
// that differs from one of them in a single character stand for it: a resource server that
// compares tokens loosely.
func rsLooseTokenComparison(next http.Handler) http.Handler {
	var mu sync.Mutex
	issued := map[string]bool{}
	remember := editResponses(tokenPOST, when(http.StatusOK, func(_ *http.Request, r *response) {
		if t, ok := r.object()["access_token"].(string); ok {
			mu.Lock()
			issued[t] = true
			mu.Unlock()
		}
	}))
	loosen := editRequests(protected, func(r *http.Request) {
		tok, ok := rsBearerToken(r)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if issued[tok] {
			return
		}
		for t := range issued {
			if len(t) == len(tok) && rsDifferences(t, tok) == 1 {
				r.Header.Set("Authorization", "Bearer "+t)
				return
			}
		}
	})
	return rsChain(remember, loosen)(next)
}

func rsDifferences(a, b string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// rsIgnoreExpiry serves a token the reference calls expired as if it were fresh: it swaps it
// for a fresh token of the default client.
func rsIgnoreExpiry(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if protected(r) && r.Header.Get("Authorization") != "" {
			probe := httptest.NewRequest(http.MethodGet, provider.PathReadResource, nil)
			probe.Header.Set("Authorization", r.Header.Get("Authorization"))
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, probe)
			if strings.Contains(rec.Header().Get("WWW-Authenticate"), "expired") {
				r.Header.Set("Authorization", "Bearer "+rsMint(next, provider.ScopeRead))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// rsIgnoreScope serves the scoped resource to any valid token: when the reference refuses a
// token for its scope, the fault swaps it for one that has the scope.
func rsIgnoreScope(next http.Handler) http.Handler {
	scoped := at(http.MethodGet, provider.PathScopedResource)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scoped(r) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r.Clone(r.Context()))
			if rec.Code == http.StatusForbidden {
				r.Header.Set("Authorization", "Bearer "+rsMint(next, provider.ScopeWrite))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// rsCleartextResources serves the protected resources over cleartext as over TLS, and refuses
// every other cleartext request with a plain 403.
func rsCleartextResources(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil && !protected(r) {
			http.Error(w, "use https", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rsDropQueryToken removes access_token from the query and returns it.
func rsDropQueryToken(r *http.Request) string {
	q := r.URL.Query()
	tok := q.Get("access_token")
	q.Del("access_token")
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
	return tok
}

func rsMediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// rsWithBothTokens: a request with a Bearer Authorization header and an access_token in its query
// or form body.
func rsWithBothTokens(r *http.Request) bool {
	if _, ok := rsBearerToken(r); !ok {
		return false
	}
	return r.URL.Query().Has("access_token") || (rsMediaType(r) == "application/x-www-form-urlencoded" && formOf(r).Has("access_token"))
}

// rsQueryTokenAsFallback serves a read that carries tokens in the header and the query with the
// header's token when the reference takes it, and else with the query's: a resource server that
// tries every token it is sent.
func rsQueryTokenAsFallback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readGET(r) && rsWithBothTokens(r) {
			query := rsDropQueryToken(r)
			probe := httptest.NewRequest(http.MethodGet, provider.PathReadResource, nil)
			probe.Header.Set("Authorization", r.Header.Get("Authorization"))
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, probe)
			if rec.Code != http.StatusOK {
				r.Header.Set("Authorization", "Bearer "+query)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// rsIgnoreOtherTokens drops the access_token of the query and of a form body when the request
// has a Bearer Authorization header: a resource server that takes only the header's token, as
// OAuth 2.1 §5.1 has it do with query tokens.
func rsIgnoreOtherTokens(next http.Handler) http.Handler {
	return editRequests(and(protected, rsWithBothTokens), func(r *http.Request) {
		if r.URL.Query().Has("access_token") {
			rsDropQueryToken(r)
		}
		if rsMediaType(r) == "application/x-www-form-urlencoded" {
			v := formOf(r)
			v.Del("access_token")
			setForm(r, v)
		}
	})(next)
}

// rsTakeBodyToken moves an access_token found in the request body (form, JSON or multipart, for
// any method) into the Authorization header, unless the request has one already, in which case
// the body token is dropped; the body is left without it.
func rsTakeBodyToken(r *http.Request) { rsMoveBodyToken(r, false) }

// rsMoveBodyToken is rsTakeBodyToken; with override, the body's token replaces the header's.
func rsMoveBodyToken(r *http.Request, override bool) {
	if r.Body == nil {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body.Close()
	tok, rest := "", raw
	switch rsMediaType(r) {
	case "application/x-www-form-urlencoded":
		if v, err := url.ParseQuery(string(raw)); err == nil && v.Has("access_token") {
			tok = v.Get("access_token")
			v.Del("access_token")
			rest = []byte(v.Encode())
		}
	case "application/json":
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			if t, ok := m["access_token"].(string); ok {
				tok = t
				delete(m, "access_token")
				rest, _ = json.Marshal(m)
			}
		}
	case "multipart/form-data":
		req := &http.Request{Method: http.MethodPost, Header: r.Header.Clone(), Body: io.NopCloser(bytes.NewReader(raw))}
		if req.ParseMultipartForm(1<<20) == nil && req.MultipartForm != nil {
			if vs := req.MultipartForm.Value["access_token"]; len(vs) > 0 {
				tok, rest = vs[0], nil
				r.Header.Del("Content-Type")
			}
		}
	}
	if tok != "" && (override || r.Header.Get("Authorization") == "") {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	r.Body = io.NopCloser(bytes.NewReader(rest))
	r.ContentLength = int64(len(rest))
}

// rsTokenOutsideB64token issues the default client's tokens with a leading "!", which RFC 6749
// allows in an access token (any visible ASCII) but a Bearer credential cannot carry; the
// resources strip it again, so the tokens still work.
func rsTokenOutsideB64token(next http.Handler) http.Handler {
	mark := editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, r *response) {
		if t, ok := r.object()["access_token"].(string); ok {
			setMember("access_token", "!"+t)(nil, r)
		}
	}))
	strip := editRequests(protected, func(r *http.Request) {
		if tok, ok := rsBearerToken(r); ok && strings.HasPrefix(tok, "!") {
			r.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(tok, "!"))
		}
	})
	return rsChain(mark, strip)(next)
}

// rsJWTWithoutAudience issues the default client's tokens as HS256 JWTs that carry the
// reference's token in jti and have no aud; the resources check the signature and unwrap them,
// so the tokens still work, and a token with a character changed still fails.
func rsJWTWithoutAudience(next http.Handler) http.Handler {
	key := []byte("ccconform proof: JWT without aud")
	enc := base64.RawURLEncoding
	sign := func(s string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return enc.EncodeToString(m.Sum(nil))
	}
	wrapToken := func(inner string) string {
		claims, _ := json.Marshal(map[string]any{"iss": "https://reference.invalid", "sub": provider.DemoClientID, "jti": inner})
		s := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + enc.EncodeToString(claims)
		return s + "." + sign(s)
	}
	unwrapToken := func(tok string) string {
		i := strings.LastIndex(tok, ".")
		if i < 0 || !hmac.Equal([]byte(sign(tok[:i])), []byte(tok[i+1:])) {
			return "not-a-valid-jwt"
		}
		parts := strings.Split(tok, ".")
		b, err := enc.DecodeString(parts[1])
		var claims struct {
			JTI string `json:"jti"`
		}
		if err != nil || json.Unmarshal(b, &claims) != nil {
			return "not-a-valid-jwt"
		}
		return claims.JTI
	}
	issue := editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, r *response) {
		if t, ok := r.object()["access_token"].(string); ok {
			setMember("access_token", wrapToken(t))(nil, r)
		}
	}))
	check := editRequests(protected, func(r *http.Request) {
		if tok, ok := rsBearerToken(r); ok && strings.Count(tok, ".") == 2 {
			r.Header.Set("Authorization", "Bearer "+unwrapToken(tok))
		}
	})
	return rsChain(issue, check)(next)
}

// rsNewestTokenOnly is a provider that keeps only each client's newest access token: it
// remembers, from the token responses, which token each client was issued last, and refuses an
// earlier one at the resources with 401 invalid_token, as a provider that revokes a client's
// earlier tokens when it issues one. supersede, when set, says of the n-th token issued to a
// client whether another request for a token of that client lands right after it, as one from a
// spec on another process would under ginkgo -p: that token is then old before the suite shows
// it. refused, when set, counts the earlier tokens refused.
func rsNewestTokenOnly(supersede func(client string, n int) bool, refused *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		tokens := newNewestTokens(supersede)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case tokenPOST(r):
				tokens.issue(w, r, next)
				return
			case protected(r):
				if tok, _ := rsBearerToken(r); tokens.stale(tok) {
					if refused != nil {
						refused.Add(1)
					}
					w.Header().Set("WWW-Authenticate", `Bearer realm="ccconform", error="invalid_token", error_description="a newer token was issued to this client"`)
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Cache-Control", "no-store")
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"a newer token was issued to this client"}` + "\n"))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// newestTokens remembers, from the token responses, which token each client was issued last.
type newestTokens struct {
	mu        sync.Mutex
	newest    map[string]string // client id → its newest token
	owner     map[string]string // token → client id
	issued    map[string]int    // client id → tokens issued
	supersede func(client string, n int) bool
}

func newNewestTokens(supersede func(client string, n int) bool) *newestTokens {
	return &newestTokens{newest: map[string]string{}, owner: map[string]string{}, issued: map[string]int{}, supersede: supersede}
}

// issue passes a token request on and records the token it got.
func (n *newestTokens) issue(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id, ok := basicClientID(r)
	if !ok {
		id = formOf(r).Get("client_id")
	}
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.AccessToken != "" {
		n.mu.Lock()
		n.issued[id]++
		n.owner[body.AccessToken], n.newest[id] = id, body.AccessToken
		if n.supersede != nil && n.supersede(id, n.issued[id]) {
			n.newest[id] = "" // another process's token, which this run never sees
		}
		n.mu.Unlock()
	}
	(&response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}).write(w)
}

// stale reports whether the token was issued and a newer one has been since.
func (n *newestTokens) stale(tok string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	id, known := n.owner[tok]
	return known && n.newest[id] != tok
}

// TestFreshTokenRetry proves that the resource server's positive checks replace a token that was
// revoked before they showed it. Under ginkgo -p, specs on other processes ask for tokens of the
// default client at any time; against a provider that keeps only each client's newest token
// (a control the suite must pass), that revokes the token a spec holds. The compiled suite runs
// on one process, so the interleaving is simulated: every other token the provider issues to
// the default client is superseded at once, as if another process had asked for one right
// after. The resource server's specs must still pass strict, having shown a fresh token once;
// the documented scenario and the load checks, which keep one token across requests by design,
// are left out.
func TestFreshTokenRetry(t *testing.T) {
	var refused atomic.Int64
	wrap := rsNewestTokenOnly(func(client string, n int) bool { return client == provider.DemoClientID && n%2 == 1 }, &refused)
	args := append(append(serveTLS(t, referenceHandler(t, wrap)), "-strict"), faultArgs...)
	args = append(args, "-ginkgo.label-filter=endpoint:resource && !scenario && !load && !slow")
	expectRetried(t, runSuite(t, runTimeout, args...), refused.Load())
}

// expectRetried checks a run against a newest-token-only provider: it passed strict, judged
// something, and was shown superseded tokens, so the retry was exercised.
func expectRetried(t *testing.T, run suiteRun, refused int64) {
	t.Helper()
	if run.exitCode != 0 {
		t.Fatalf("the suite failed a provider whose tokens another process's request revoked (exit %d):\n%s%s", run.exitCode,
			describeRows(run.rows(judge.Failed, judge.Warned, judge.Stale)), describeFailures(run))
	}
	if len(run.rows(judge.Passed)) == 0 {
		t.Fatalf("no row passed:\n%s", run.output)
	}
	if refused == 0 {
		t.Fatal("no superseded token was shown, so the retry was not exercised")
	}
	t.Logf("%d superseded tokens were refused or reported inactive, and replaced by fresh ones", refused)
}
