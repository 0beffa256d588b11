package proof

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults of the token endpoint's request side (RFC 6749 §2.3, §2.3.1, §3.2, §4.4, §4.4.2,
// §4.4.3): what a provider accepts that it must refuse, refuses that it must accept, or reads
// wrongly. C-6749-2.3.1-c (body credentials, MAY) has no fault: what the provider does there is
// only recorded.
var _ = register([]fault{
	// §2.3: one authentication method per request.
	{name: "Basic and body credentials together get a token", breaks: "C-6749-2.3-a", soft: true,
		wrap: rqEditForm(and(tokenPOST, rqHasAuthorization, rqFormHas(func(v url.Values) bool { return v.Has("client_id") })),
			func(v url.Values) { v.Del("client_id"); v.Del("client_secret") })},

	// §2.3.1: HTTP Basic is supported.
	// The token Basic credentials would get is refused with a 400 invalid_request: a 401 or
	// invalid_client for the main client's Basic credentials stops the run at the preflight as
	// a configuration mistake (wrong --client-id or --client-secret), before any row is judged.
	{name: "HTTP Basic is refused: only body credentials authenticate", breaks: "C-6749-2.3.1-a",
		// Every spec that authenticates with Basic to check something else fails with it too.
		also: []string{"C-6749-5.1-a", "C-6749-5.1-b", "C-6749-4.4.3-a", "S2S-4", "C-6749-5.2-a", "C-6749-3.3-d"},
		wrap: editResponses(and(tokenPOST, rqHasAuthorization), when(http.StatusOK, func(_ *http.Request, r *response) {
			r.status, r.body = http.StatusBadRequest, []byte(`{"error":"invalid_request","error_description":"use client_secret_post"}`)
			r.header.Set("Content-Type", "application/json")
			r.header.Del("WWW-Authenticate")
		}))},

	// §2.3.1: Basic credentials are form-urlencoded; the server splits, then decodes.
	{name: "Basic credentials are compared without form-urldecoding", breaks: "C-6749-2.3.1-b",
		wrap: rqRewriteBasic(func(raw string) (string, string, bool) {
			id, secret, ok := strings.Cut(raw, ":")
			return id, secret, ok
		})},
	{name: "Basic credentials are form-urldecoded before the split at the colon", breaks: "C-6749-2.3.1-b",
		wrap: rqRewriteBasic(func(raw string) (string, string, bool) {
			decoded, err := url.QueryUnescape(raw)
			if err != nil {
				return "", "", false
			}
			return strings.Cut(decoded, ":")
		})},

	// §2.3.1: credentials never come from the URI.
	{name: "client credentials are taken from the query string", breaks: "C-6749-2.3.1-d", soft: true,
		wrap: editRequests(and(tokenPOST, func(r *http.Request) bool { return r.URL.Query().Has("client_id") }), func(r *http.Request) {
			v := formOf(r)
			for k, vs := range r.URL.Query() {
				v[k] = vs
			}
			r.URL.RawQuery = ""
			setForm(r, v)
		})},

	// A POST whose parameters and credentials are all in the query, with an empty body: a server
	// that falls back on the query (as frameworks that merge the two do) issues a token.
	{name: "a POST with an empty body takes its parameters from the query string", breaks: "C-6749-2.3.1-d", soft: true,
		wrap: editRequests(and(tokenPOST, func(r *http.Request) bool { return r.URL.RawQuery != "" && len(formOf(r)) == 0 }), func(r *http.Request) {
			v := r.URL.Query()
			r.URL.RawQuery = ""
			setForm(r, v)
		})},

	// §2.3.1: brute-force protection (a MUST the registry grades fail).
	{name: "failed authentications of a client are never throttled", breaks: "C-6749-2.3.1-e", soft: true,
		wrap: rqAnswerFailedBasic(func(r *http.Request) bool {
			id, secret, ok := rqBasicCredentials(r)
			return ok && id == provider.FixtureThrowaway.ID && secret != provider.FixtureThrowaway.Secret
		})},

	// §3.2: TLS only. The cleartext listener shares the https port, so the suite is told where
	// it is (--cleartext-url); the http:// twin of an explicit https port is not probed without.
	// C-6749-3.2-b (no fragment in the endpoint URI) has no fault: the suite is given the URL and
	// cannot judge the row, and a fault could only change the suite's own --token-path.
	{name: "the token endpoint answers over cleartext http too", breaks: "C-6749-3.2-a", also: []string{"C-6749-10.3-a"},
		serve: withCleartextURL(serveTLSAndCleartext)},

	// §3.2: POST only.
	{name: "a GET with the parameters in the query gets a token", breaks: "C-6749-3.2-c", soft: true,
		wrap: editRequests(at(http.MethodGet, provider.PathToken), func(r *http.Request) {
			v := r.URL.Query()
			r.Method, r.URL.RawQuery = http.MethodPost, ""
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			setForm(r, v)
		})},

	// §3.2: an empty parameter is an omitted one.
	{name: "an empty scope is invalid_scope, while no scope gets the default", breaks: "C-6749-3.2-d",
		wrap: answer(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("scope") && v.Get("scope") == "" })),
			http.StatusBadRequest, "application/json", `{"error":"invalid_scope"}`)},
	{name: "an empty unknown parameter is refused", breaks: "C-6749-3.2-d",
		wrap: answer(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("conformance_empty") })),
			http.StatusBadRequest, "application/json", `{"error":"invalid_request"}`)},
	{name: "an empty grant_type is unsupported_grant_type, unlike a missing one", breaks: "C-6749-3.2-d",
		wrap: editResponses(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("grant_type") && v.Get("grant_type") == "" })),
			setMember("error", "unsupported_grant_type"))},

	// §3.2: unknown parameters are ignored.
	{name: "an unknown parameter is refused", breaks: "C-6749-3.2-e",
		wrap: answer(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("conformance_unknown") })),
			http.StatusBadRequest, "application/json", `{"error":"invalid_request"}`)},

	// §3.2: no parameter twice (derived: the registry grades the row warn, as C-6749-3.2-c).
	{name: "a repeated grant_type: the first one wins", breaks: "C-6749-3.2-f", soft: true,
		wrap: rqEditForm(tokenPOST, rqFirstWins("grant_type"))},
	{name: "a repeated scope: the last one wins", breaks: "C-6749-3.2-f", soft: true,
		wrap: rqEditForm(tokenPOST, func(v url.Values) {
			if s := v["scope"]; len(s) > 1 {
				v["scope"] = s[len(s)-1:]
			}
		})},
	{name: "a repeated client_id in the body: the first one wins", breaks: "C-6749-3.2-f", soft: true,
		wrap: rqEditForm(tokenPOST, rqFirstWins("client_id"))},
	{name: "a repeated parameter is invalid_scope, not invalid_request", breaks: "C-6749-3.2-f", soft: true,
		wrap: editResponses(and(tokenPOST, rqFormHas(func(v url.Values) bool {
			for _, vs := range v {
				if len(vs) > 1 {
					return true
				}
			}
			return false
		})), setMember("error", "invalid_scope"))},

	// §4.4.2 and Appendix B: the form media type with charset=UTF-8.
	{name: "a charset parameter on the form media type is refused", breaks: "C-6749-3.2-h", soft: true,
		wrap: answer(and(tokenPOST, func(r *http.Request) bool { return strings.Contains(r.Header.Get("Content-Type"), "charset") }),
			http.StatusBadRequest, "application/json", `{"error":"invalid_request"}`)},

	// §4.4: confidential clients only.
	{name: "a public client gets a token", breaks: "C-6749-4.4-a", soft: true,
		wrap: editRequests(tokenPOST, func(r *http.Request) {
			v := formOf(r)
			id, _, _ := rqBasicCredentials(r)
			if id != provider.FixturePublic.ID && v.Get("client_id") != provider.FixturePublic.ID {
				return
			}
			v.Del("client_id")
			r.Header.Set("Authorization", goodBasic)
			setForm(r, v)
		})},

	// §4.4.2: grant_type.
	{name: "a missing grant_type defaults to client_credentials", breaks: "C-6749-4.4.2-a",
		wrap: rqEditForm(tokenPOST, func(v url.Values) {
			if v.Get("grant_type") == "" {
				v.Set("grant_type", "client_credentials")
			}
		})},
	{name: "a missing grant_type is unsupported_grant_type", breaks: "C-6749-4.4.2-a",
		wrap: editResponses(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Get("grant_type") == "" })),
			setMember("error", "unsupported_grant_type"))},
	{name: "an unknown grant type is invalid_grant", breaks: "C-6749-4.4.2-b",
		wrap: editResponses(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Get("grant_type") == "urn:example:bogus" })),
			setMember("error", "invalid_grant"))},
	{name: "an unknown grant type is served as client_credentials", breaks: "C-6749-4.4.2-b",
		wrap: rqEditForm(tokenPOST, func(v url.Values) {
			if v.Get("grant_type") == "urn:example:bogus" {
				v.Set("grant_type", "client_credentials")
			}
		})},

	// §4.4.2: the client is authenticated.
	{name: "a client_id alone in the body authenticates", breaks: "C-6749-4.4.2-c",
		wrap: editRequests(and(tokenPOST, withoutAuthorization), func(r *http.Request) {
			v := formOf(r)
			if v.Get("client_id") == provider.DemoClientID && !v.Has("client_secret") {
				v.Set("client_secret", provider.DemoClientSecret)
				setForm(r, v)
			}
		})},
	{name: "an unknown client id is invalid_request", breaks: "C-6749-4.4.2-c", also: []string{"C-6749-5.2-d"},
		wrap: editResponses(and(tokenPOST, func(r *http.Request) bool {
			id, _, ok := rqBasicCredentials(r)
			return ok && id == "ccconform-unknown-client"
		}), func(_ *http.Request, res *response) {
			res.status = http.StatusBadRequest
			res.header.Del("WWW-Authenticate")
			setMember("error", "invalid_request")(nil, res)
		})},
	{name: "a request without credentials gets 200 with an error body", breaks: "C-6749-4.4.2-c",
		wrap: answer(and(tokenPOST, withoutAuthorization, rqFormHas(func(v url.Values) bool { return !v.Has("client_id") })),
			http.StatusOK, "application/json", `{"error":"invalid_client"}`)},
	{name: "any scheme word before Base64 credentials is read as Basic", breaks: "C-6749-4.4.2-c",
		wrap: editRequests(tokenPOST, func(r *http.Request) {
			if scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && !strings.EqualFold(scheme, "Bearer") {
				r.Header.Set("Authorization", "Basic "+rest)
			}
		})},

	// §4.4.3: a §5.1 response, whichever way the client authenticated.
	{name: "a body-authenticated token response has no token_type", breaks: "C-6749-4.4.3-a", also: []string{"C-6749-5.1-c"},
		wrap: editResponses(and(tokenPOST, withoutAuthorization), when(http.StatusOK, delMember("token_type")))},
	{name: "a body-authenticated token response may be cached", breaks: "C-6749-4.4.3-a", also: []string{"C-6749-5.1-g"},
		wrap: editResponses(and(tokenPOST, withoutAuthorization), when(http.StatusOK, setHeader("Cache-Control", "max-age=3600")))},
	{name: "every token response carries a refresh_token", breaks: "C-6749-4.4.3-b", soft: true,
		wrap: editResponses(tokenPOST, when(http.StatusOK, setMember("refresh_token", "r3fr3sh-everywhere")))},

	// RFC 6749 §3.2: the token endpoint URI the provider publishes (its RFC 8414 metadata) has
	// no fragment. The suite then sends its requests to that URI, whose fragment never goes on
	// the wire. The metadata's own rule for token_endpoint says the same (C-8414-2-b).
	{name: "the metadata's token_endpoint has a fragment", breaks: "C-6749-3.2-b", also: []string{"C-8414-2-b"},
		args: []string{"-ginkgo.label-filter=C-6749-3.2-b || C-8414-2-b"},
		wrap: editResponses(metaGET, metaEditMember("token_endpoint", func(u string) string { return u + "#frag" }))},

	// RFC 9700 §2.4: no password grant. The row is the security BCP's, judged only under
	// --profile=bcp, so the fault is caught only with that flag; under the default profile the
	// spec is skipped and the fault passes unnoticed. Only its own spec runs: the bcp profile
	// also judges sender-constrained tokens (C-9700-2.2.1-a), which the reference lacks.
	{name: "the password grant is accepted: a client with the client credentials grant gets a token for any user", breaks: "C-9700-2.4-a", soft: true,
		args: []string{"-profile=bcp", "-ginkgo.label-filter=C-9700-2.4-a"},
		wrap: rqEditForm(tokenPOST, func(v url.Values) {
			if v.Get("grant_type") == "password" {
				v.Set("grant_type", "client_credentials")
				v.Del("username")
				v.Del("password")
			}
		})},
})

// withCleartextURL serves as serve does and adds --cleartext-url: the http:// URL of the
// provider's host and port, where serveTLSAndCleartext answers cleartext too.
func withCleartextURL(serve func(*testing.T, http.Handler) []string) func(*testing.T, http.Handler) []string {
	return withCleartextFlag("-cleartext-url", serve)
}

// withCleartextFlag serves as serve does and gives the flag the http:// URL of the https
// provider's host and port.
func withCleartextFlag(flag string, serve func(*testing.T, http.Handler) []string) func(*testing.T, http.Handler) []string {
	return func(t *testing.T, h http.Handler) []string {
		t.Helper()
		flags := serve(t, h)
		for _, f := range flags {
			if hostPort, ok := strings.CutPrefix(f, "-provider-url=https://"); ok {
				return append(flags, flag+"=http://"+hostPort)
			}
		}
		t.Fatalf("no https provider URL among the flags %q", flags)
		return nil
	}
}

// rqAnswerFailedBasic answers matching token requests at once, without the reference's
// throttle, as a failed HTTP Basic authentication: 401, invalid_client and a Basic challenge.
func rqAnswerFailedBasic(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !tokenPOST(r) || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="ccconform"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		})
	}
}

// rqFormHas matches requests whose form body satisfies pred.
func rqFormHas(pred func(url.Values) bool) func(*http.Request) bool {
	return func(r *http.Request) bool { return pred(formOf(r)) }
}

// rqEditForm lets edit change the form body of matching requests.
func rqEditForm(match func(*http.Request) bool, edit func(url.Values)) func(http.Handler) http.Handler {
	return editRequests(match, func(r *http.Request) {
		v := formOf(r)
		edit(v)
		setForm(r, v)
	})
}

// rqFirstWins keeps the first of a repeated parameter, as some providers do.
func rqFirstWins(name string) func(url.Values) {
	return func(v url.Values) {
		if vs := v[name]; len(vs) > 1 {
			v[name] = vs[:1]
		}
	}
}

func rqHasAuthorization(r *http.Request) bool { return r.Header.Get("Authorization") != "" }

// rqBasicCredentials decodes HTTP Basic credentials as RFC 6749 §2.3.1 says.
func rqBasicCredentials(r *http.Request) (id, secret string, ok bool) {
	raw, ok := rqBasicRaw(r)
	if !ok {
		return "", "", false
	}
	encodedID, encodedSecret, ok := strings.Cut(raw, ":")
	if !ok {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(encodedID)
	secret, err2 := url.QueryUnescape(encodedSecret)
	return id, secret, ok && err1 == nil && err2 == nil
}

// rqBasicRaw is the Base64-decoded value of a Basic Authorization header.
func rqBasicRaw(r *http.Request) (string, bool) {
	scheme, credentials, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(credentials)
	return string(raw), err == nil
}

// rqRewriteBasic makes the reference read Basic credentials as split does: it re-encodes what
// split returns so that the reference's own (correct) decoding yields exactly that.
func rqRewriteBasic(split func(raw string) (id, secret string, ok bool)) func(http.Handler) http.Handler {
	return editRequests(tokenPOST, func(r *http.Request) {
		raw, ok := rqBasicRaw(r)
		if !ok {
			return
		}
		if id, secret, ok := split(raw); ok {
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
				[]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
		}
	})
}
