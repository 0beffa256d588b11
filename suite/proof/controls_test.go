package proof

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/judge"
)

// control is a provider that differs from the reference in a way the RFCs allow: the suite
// must pass it, strict included, without a warning.
type control struct {
	name string
	wrap func(http.Handler) http.Handler
	// args are extra suite flags (allSpecs runs the slow specs too).
	args []string
	// serve, when set, serves the provider instead of serveTLS (see fault.serve).
	serve func(t *testing.T, h http.Handler) []string
	// config, when set, is an allowed variation the reference has as an option (see
	// fault.config).
	config func(*provider.Config)
}

// controls differ only in ways the RFCs allow.
var controls = []control{
	{name: "the reference as it is, slow specs included", args: allSpecs},
	{name: "token_type in lower case", wrap: editResponses(isGoodBasic, setMember("token_type", "bearer"))},
	{name: "JSON with a charset parameter", wrap: editResponses(func(*http.Request) bool { return true },
		func(_ *http.Request, r *response) {
			if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				r.header.Set("Content-Type", "application/json; charset=utf-8")
			}
		})},
	{name: "more cache directives around no-store", wrap: editResponses(tokenPOST, setHeader("Cache-Control", "private, NO-STORE, max-age=0"))},
	{name: "an extension member in the token response", wrap: editResponses(isGoodBasic, setMember("ext_info", map[string]any{"a": 1}))},
	{name: "a lower-case basic challenge", wrap: editResponses(isBadBasic, setHeader("WWW-Authenticate", `basic realm="x"`))},
	{name: "challenges split over two fields", wrap: editResponses(and(protected, withoutAuthorization), func(_ *http.Request, r *response) {
		r.header["Www-Authenticate"] = []string{`Newauth realm="apps", type=1`, `Bearer realm="x"`}
	})},

	// The token endpoint's requests (RFC 6749 §2.3, §3.2, §4.4).
	// §5.2 lists an unsupported authentication method under invalid_client, and a client that
	// used the Authorization header then gets 401 with its scheme's challenge.
	{name: "Basic and body credentials together are a failed authentication: 401 invalid_client with a Basic challenge",
		wrap: editResponses(and(tokenPOST, rqHasAuthorization, rqFormHas(func(v url.Values) bool { return v.Has("client_id") || v.Has("client_secret") })),
			ctlFailedBasic)},
	{name: "a GET to the token endpoint is 400 invalid_request, not 405",
		wrap: editResponses(at(http.MethodGet, provider.PathToken), when(http.StatusMethodNotAllowed, func(_ *http.Request, r *response) {
			r.status = http.StatusBadRequest
			r.header.Del("Allow")
		}))},
	{name: "token request parameters in the URI query are ignored, so query-only credentials are no credentials",
		wrap: editRequests(tokenPOST, func(r *http.Request) { r.URL.RawQuery = "" })},
	{name: "HTTP Basic credentials are taken unencoded too, when only that reading matches a client", wrap: rqRewriteBasic(ctlLenientBasic)},
	{name: "a public client is 400 unauthorized_client, not invalid_client",
		wrap: editResponses(ctlPublicClient, when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
			r.status = http.StatusBadRequest
			r.header.Del("WWW-Authenticate")
			r.setObject(map[string]any{"error": "unauthorized_client", "error_description": "public clients may not use client_credentials"})
		}))},
	{name: "an Authorization scheme other than Basic is 400 invalid_request",
		wrap: editResponses(and(tokenPOST, rqHasAuthorization, func(r *http.Request) bool {
			scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			return !strings.EqualFold(scheme, "Basic")
		}), func(_ *http.Request, r *response) {
			r.status = http.StatusBadRequest
			r.header.Del("WWW-Authenticate")
			r.setObject(map[string]any{"error": "invalid_request", "error_description": "unsupported Authorization scheme"})
		})},
	{name: "brute force: a client is locked out after 5 failed Basic authentications, answered 401 invalid_client even for the right secret",
		wrap: ctlLockout(5)},
	{name: "brute force: failed Basic authentications are slowed by 1.2 s after 4 failures", wrap: ctlTarpit(4, 1200*time.Millisecond)},
	{name: "the cleartext listener (--cleartext-url) redirects everything with 308 to https",
		serve: withCleartextURL(serveTLSAndCleartext), wrap: ctlCleartextRedirect(func(*http.Request) bool { return true })},
	// RFC 9700 §2.4 under --profile=bcp: a client not allowed the password grant is
	// unauthorized_client (RFC 6749 §5.2), as good an answer as unsupported_grant_type.
	// Only its own spec runs: the bcp profile also judges sender-constrained tokens
	// (C-9700-2.2.1-a), which the reference lacks until DPoP.
	{name: "the password grant is 400 unauthorized_client for a client credentials client", args: []string{"-profile=bcp", "-ginkgo.label-filter=C-9700-2.4-a"},
		wrap: answer(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Get("grant_type") == "password" })),
			http.StatusBadRequest, "application/json", `{"error":"unauthorized_client","error_description":"this client may not use the password grant"}`)},

	// The token endpoint's responses (RFC 6749 §3.3, §5.1, §5.2, §10.10).
	{name: "a forbidden scope is narrowed away and the granted scope named", wrap: respNarrowScope(respForbiddenToken, ctlKeepResponse)},
	// §3.3 lets a server ignore what was asked, in part: a malformed scope narrowed away, with
	// the granted scope named, is no invalid_scope (C-6749-5.2-i).
	{name: "a malformed scope is narrowed away and the granted scope named", wrap: respNarrowScope(respMalformedToken, ctlKeepResponse)},
	{name: "no default scope: a request without scope is 400 invalid_scope",
		wrap: answer(and(isGoodBasic, respWithoutScope), http.StatusBadRequest, "application/json", `{"error":"invalid_scope"}`)},
	{name: "a failed body authentication is 400 invalid_client without a challenge",
		wrap: editResponses(and(tokenPOST, withoutAuthorization), when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
			r.status = http.StatusBadRequest
			r.header.Del("WWW-Authenticate")
		}))},
	{name: "token endpoint errors carry an error_uri",
		wrap: editResponses(tokenPOST, respWithErrorStatus(setMember("error_uri", "https://as.example/errors#token")))},
	{name: "Cache-Control in two fields, mixed case, with a quoted argument; Pragma with an extension",
		wrap: editResponses(tokenPOST, func(_ *http.Request, r *response) {
			r.header["Cache-Control"] = []string{"private", `no-cache="set-cookie", No-Store`}
			r.header.Set("Pragma", "x-foo, no-cache")
		})},
	// A DPoP proof's ath hashes the token the client holds, the alias, and the reference compares
	// it with the token it issued: the resource server's DPoP specs cannot run behind aliases.
	{name: "access tokens are opaque: 32 random bytes in hex", wrap: respAliasTokens(func(int) string { return hex.EncodeToString(ctlRandom(32)) }),
		args: []string{"-ginkgo.label-filter=!slow && !cap:rs-dpop"}},
	// The RFC 6749/6750 specs take such tokens; RFC 9068 and 8707 judge the claims of a JWT
	// access token (outside profile rfc9068, a JWT that does not claim RFC 9068 warns on their
	// AS rows, as the checklist says), which these tokens do not carry, so those specs are left
	// out here; so are RFC 9449's and RFC 8705's, since a bound JWT must carry cnf (RFC 9449
	// §6.1, RFC 8705 §3.1) and the aliases break DPoP proofs' ath.
	{name: "access tokens are HS256 JWTs with a random jti", wrap: respAliasTokens(ctlJWT),
		args: []string{"-ginkgo.label-filter=!slow && !cap:jwt-at && !cap:resource-indicators && !cap:dpop && !cap:mtls"}},
	// No RFC requires a new token for every request (RFC 6749 §10.10 bounds how guessable a
	// token is, not how often it changes): the entropy rows are then not judged, which is no
	// warning. A provider that reuses tokens counts down their expires_in, so the target pins
	// no lifetime.
	{name: "a repeated token request gets the same still-valid token, its expires_in counted down",
		args: []string{"-expires-in=0"}, wrap: ctlReuseTokens},

	// The protected resources (RFC 6750, RFC 6749 §10.3).
	{name: "a token in a form body is taken on POST with a form Content-Type",
		wrap: editRequests(func(r *http.Request) bool {
			return r.Method == http.MethodPost && protected(r) && withoutAuthorization(r) && rsMediaType(r) == "application/x-www-form-urlencoded"
		}, rsTakeBodyToken)},
	{name: "a token in the query is taken on GET, and the answer is Cache-Control: private", wrap: ctlQueryTokens},
	// RFC 6750 §2 forbids the client to send a token two ways; OAuth 2.1 §5.1 has the resource
	// server ignore query tokens. Serving with the header's token alone is as good as 400.
	{name: "with a Bearer header, the query's and form body's access_token are ignored", wrap: rsIgnoreOtherTokens},
	// Nothing forbids a provider to revoke a client's earlier tokens when it issues one
	// (TestFreshTokenRetry simulates the other processes of ginkgo -p against it).
	{name: "only each client's newest token is valid: issuing one revokes the client's earlier ones", wrap: rsNewestTokenOnly(nil, nil)},
	{name: "challenges spell the scheme bearer", wrap: editResponses(protected, func(_ *http.Request, r *response) {
		if v := r.header.Get("WWW-Authenticate"); strings.HasPrefix(v, "Bearer ") {
			r.header.Set("WWW-Authenticate", "bearer "+strings.TrimPrefix(v, "Bearer "))
		}
	})},
	{name: "error challenges carry error_uri instead of realm, after a DPoP challenge in the same field",
		wrap: editResponses(protected, func(_ *http.Request, r *response) {
			v := r.header.Get("WWW-Authenticate")
			if v == "" {
				return
			}
			if strings.Contains(v, "error=") {
				v = strings.Replace(v, `realm="ccconform"`, `error_uri="https://as.example/errors#bearer"`, 1)
			}
			r.header.Set("WWW-Authenticate", `DPoP algs="ES256", `+v)
		})},
	{name: "the challenge to a request without a token names the scope read write",
		wrap: editResponses(protected, func(_ *http.Request, r *response) {
			if v := r.header.Get("WWW-Authenticate"); v != "" && !strings.Contains(v, "error=") {
				r.header.Set("WWW-Authenticate", v+`, scope="read write"`)
			}
		})},
	{name: "resource refusals with 400 have no body", wrap: editResponses(protected, when(http.StatusBadRequest, func(_ *http.Request, r *response) {
		r.body = nil
		r.header.Del("Content-Type")
	}))},
	{name: "the resources' cleartext listener (--cleartext-url) redirects with 308 to https; the token endpoint's refuses with a plain 403",
		serve: withCleartextURL(serveTLSAndCleartext), wrap: ctlCleartextRedirect(protected)},
}

// ctlFailedBasic makes a token endpoint answer a failed HTTP Basic authentication (§5.2).
func ctlFailedBasic(_ *http.Request, r *response) {
	r.status = http.StatusUnauthorized
	r.header.Set("WWW-Authenticate", `Basic realm="ccconform"`)
	r.setObject(map[string]any{"error": "invalid_client", "error_description": "client authentication failed"})
}

// ctlLenientBasic reads Basic credentials as §2.3.1 says and, when that matches no client, also
// unencoded, split at whichever colon gives a registered client's id and secret.
func ctlLenientBasic(raw string) (string, string, bool) {
	registered := func(id, secret string) bool {
		for _, c := range provider.FixtureConfig(provider.DemoClientID, provider.DemoClientSecret).Clients {
			if c.ID == id && c.Secret == secret && secret != "" {
				return true
			}
		}
		return false
	}
	encodedID, encodedSecret, _ := strings.Cut(raw, ":")
	id, err1 := url.QueryUnescape(encodedID)
	secret, err2 := url.QueryUnescape(encodedSecret)
	if err1 == nil && err2 == nil && registered(id, secret) {
		return id, secret, true
	}
	for i := range raw {
		if raw[i] == ':' && registered(raw[:i], raw[i+1:]) {
			return raw[:i], raw[i+1:], true
		}
	}
	return "", "", false // left as sent
}

// ctlPublicClient: a token request from the public fixture client, with Basic or in the body.
func ctlPublicClient(r *http.Request) bool {
	id, _ := basicClientID(r)
	return tokenPOST(r) && (id == provider.FixturePublic.ID || formOf(r).Get("client_id") == provider.FixturePublic.ID)
}

// ctlLockout counts, per client id, the token requests with HTTP Basic that the reference
// refuses with 401; from the after-th on, every Basic request of that client gets 401
// invalid_client without reaching the reference, the right secret too.
func ctlLockout(after int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var mu sync.Mutex
		failures := map[string]int{}
		count := editResponses(tokenPOST, when(http.StatusUnauthorized, func(r *http.Request, _ *response) {
			id, _ := basicClientID(r)
			mu.Lock()
			failures[id]++
			mu.Unlock()
		}))(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := basicClientID(r)
			mu.Lock()
			locked := ok && tokenPOST(r) && failures[id] >= after
			mu.Unlock()
			if !locked {
				count.ServeHTTP(w, r)
				return
			}
			res := &response{status: http.StatusUnauthorized, header: w.Header()}
			ctlFailedBasic(r, res)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(res.status)
			_, _ = w.Write(res.body)
		})
	}
}

// ctlTarpit delays the 401 answers to HTTP Basic token requests by delay once the client has
// failed after times.
func ctlTarpit(after int, delay time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var mu sync.Mutex
		failures := map[string]int{}
		return editResponses(tokenPOST, when(http.StatusUnauthorized, func(r *http.Request, _ *response) {
			id, ok := basicClientID(r)
			mu.Lock()
			failures[id]++
			n := failures[id]
			mu.Unlock()
			if ok && n > after {
				time.Sleep(delay)
			}
		}))(next)
	}
}

// ctlCleartextRedirect redirects the cleartext requests that match to https (308, so the method
// and body would be kept), without processing them, and refuses other cleartext requests with a
// plain 403.
func ctlCleartextRedirect(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.TLS != nil:
				next.ServeHTTP(w, r)
			case match(r):
				http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusPermanentRedirect)
			default:
				http.Error(w, "use https", http.StatusForbidden)
			}
		})
	}
}

// ctlKeepResponse leaves a response as the reference made it.
func ctlKeepResponse(string, string, *response) {}

// ctlReuseTokens answers a token request identical to one that got a token (the same query,
// Authorization, Content-Type and body) with that token again while it has more than
// ctlReuseMargin to live, its expires_in counting the seconds left.
func ctlReuseTokens(next http.Handler) http.Handler {
	type issued struct {
		res     *response
		expires time.Time
	}
	var mu sync.Mutex
	cache := map[string]issued{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tokenPOST(r) {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, _ := url.ParseQuery(string(body)); form.Has("client_assertion") || r.Header.Get("DPoP") != "" {
			// A replayed assertion must be refused (OpenID Connect Core §9), and a DPoP proof
			// binds the token to its key (RFC 9449 §5), so a request that carries either is
			// never answered from the cache.
			next.ServeHTTP(w, r)
			return
		}
		// The client certificate authenticates a mutual TLS client (RFC 8705 §2): it is part
		// of the request's credentials.
		cert := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cert = string(r.TLS.PeerCertificates[0].Raw)
		}
		key := strings.Join([]string{r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), cert, string(body)}, "\n")
		mu.Lock()
		c, cached := cache[key]
		mu.Unlock()
		var res *response
		if left := time.Until(c.expires); cached && left > ctlReuseMargin {
			res = &response{status: c.res.status, header: c.res.header.Clone()}
			m := c.res.object()
			m["expires_in"] = int(left.Seconds())
			res.setObject(m)
		} else {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			res = &response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
			m := res.object()
			if lifetime, ok := m["expires_in"].(float64); ok && res.status == http.StatusOK && m["access_token"] != nil {
				mu.Lock()
				cache[key] = issued{res: res, expires: time.Now().Add(time.Duration(lifetime) * time.Second)}
				mu.Unlock()
			}
		}
		res.write(w)
	})
}

// ctlReuseMargin is how long a reused token has left at least.
const ctlReuseMargin = 5 * time.Second

func ctlRandom(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ctlJWT is an HS256 JWT with a random jti (the token's meaning stays in respAliasTokens' map).
func ctlJWT(int) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"iss": "https://as.example", "aud": "https://rs.example",
		"iat": time.Now().Unix(), "jti": hex.EncodeToString(ctlRandom(32))})
	s := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte("ccconform control: HS256 access tokens"))
	mac.Write([]byte(s))
	return s + "." + enc.EncodeToString(mac.Sum(nil))
}

// ctlQueryTokens takes an access_token from the query of a GET without Authorization (RFC 6750
// §2.3) and marks the answer Cache-Control: private.
func ctlQueryTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && protected(r) && withoutAuthorization(r) && r.URL.Query().Has("access_token") {
			r.Header.Set("Authorization", "Bearer "+rsDropQueryToken(r))
			w.Header().Set("Cache-Control", "private")
		}
		next.ServeHTTP(w, r)
	})
}

func TestControlsPassStrict(t *testing.T) {
	for _, c := range controls {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			serve := c.serve
			if serve == nil {
				serve = serveTLS
			}
			args := append(append(append(serve(t, referenceHandlerWith(t, c.config, c.wrap)), "-strict"), controlArgs...), c.args...)
			run := runSuite(t, runTimeout, args...)
			if run.exitCode != 0 {
				t.Fatalf("the suite failed a provider the RFCs allow (exit %d):\n%s", run.exitCode, describeFailures(run))
			}
			if rows := run.rows(judge.Warned, judge.Failed, judge.Stale); len(rows) > 0 {
				t.Fatalf("the suite warned about a provider the RFCs allow:\n%s", describeRows(rows))
			}
			if len(run.rows(judge.Passed)) == 0 {
				t.Fatalf("no row passed:\n%s", run.output)
			}
			if run.table != nil && len(run.table.Errors) > 0 {
				t.Errorf("spec errors: %v", run.table.Errors)
			}
			recordDetection(detection{fault: "control: " + c.name, rule: "-", outcome: "passed", caughtBy: "-"})
		})
	}
}
