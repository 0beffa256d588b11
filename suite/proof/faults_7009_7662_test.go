package proof

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/httpauth"
)

// Faults of token revocation (RFC 7009, checklist 2.C) and token introspection (RFC 7662,
// checklist 2.D). Each runs only the specs of its row (a narrow label filter), with a short
// revocation window, so that a token that is never revoked is given up on quickly.

var (
	rvPOST = at(http.MethodPost, provider.PathRevoke)
	tiPOST = at(http.MethodPost, provider.PathIntrospect)

	tiIntrospectorBasic = httpauth.BasicAuthorization(provider.FixtureIntrospector.ID, provider.FixtureIntrospector.Secret)
	rvSecondBasic       = httpauth.BasicAuthorization(provider.FixtureSecond.ID, provider.FixtureSecond.Secret)
)

// rvArgs runs the specs of one row, with a revocation window of 2 s.
func rvArgs(id string) []string {
	return []string{"-ginkgo.label-filter=" + id, "-revocation-window=2s"}
}

// rvFormToken: the request's form has a token parameter satisfying pred ("" when absent).
func rvFormToken(pred func(token string) bool) func(*http.Request) bool {
	return rqFormHas(func(v url.Values) bool { return pred(v.Get("token")) })
}

// rvHint: the request's token_type_hint satisfies pred ("" when absent).
func rvHint(pred func(hint string) bool) func(*http.Request) bool {
	return rqFormHas(func(v url.Values) bool { return pred(v.Get("token_type_hint")) })
}

// rvMadeUp: the token is one the suite made up (rsBogusToken's prefix).
func rvMadeUp(token string) bool { return strings.HasPrefix(token, "ccconform-bogus-") }

// rvUnauthenticated: the request carries no client credentials, or an unknown client's HTTP
// Basic credentials (the suite's unknown clients are named ccconform-unknown-client-…).
func rvUnauthenticated(r *http.Request) bool {
	if id, ok := basicClientID(r); ok {
		return strings.HasPrefix(id, "ccconform-unknown-client")
	}
	v := formOf(r)
	return r.Header.Get("Authorization") == "" && !v.Has("client_id") && !v.Has("client_assertion")
}

// rvMetadataMember sets a member of the metadata document to an http:// URL of the path on the
// host the request reached.
func rvMetadataMember(member, path string) func(http.Handler) http.Handler {
	return editResponses(at(http.MethodGet, provider.PathMetadata), func(req *http.Request, r *response) {
		m := r.object()
		m[member] = "http://" + req.Host + path
		r.setObject(m)
	})
}

// rvChain applies wraps, the first outermost.
func rvChain(wraps ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(wraps) - 1; i >= 0; i-- {
			h = wraps[i](h)
		}
		return h
	}
}

// tiInactive: an introspection response for an inactive token.
func tiInactive(r *response) bool { return r.status == http.StatusOK && r.object()["active"] == false }

// tiActive: an introspection response for an active token.
func tiActive(r *response) bool { return r.status == http.StatusOK && r.object()["active"] == true }

var _ = register([]fault{
	// RFC 7009 §2: the revocation endpoint's URL.
	{name: "the metadata's revocation_endpoint is an http:// URL", breaks: "C-7009-2-a", soft: true,
		args: rvArgs("C-7009-2-a"), wrap: rvMetadataMember("revocation_endpoint", provider.PathRevoke)},

	// RFC 7009 §2, §2.1: revocation of access tokens takes effect.
	{name: "revocation answers 200 and revokes nothing", breaks: "C-7009-2-b", soft: true,
		args: rvArgs("C-7009-2-b"), wrap: answer(rvPOST, http.StatusOK, "", "")},
	{name: "revocation of access tokens is unsupported_token_type", breaks: "C-7009-2-b", soft: true,
		args: rvArgs("C-7009-2-b"), wrap: answer(rvPOST, http.StatusBadRequest, "application/json", `{"error":"unsupported_token_type"}`)},

	{name: "revocation of access tokens is 400 invalid_request", breaks: "C-7009-2.2.1-a", args: rvArgs("C-7009-2-b"),
		wrap: answer(rvPOST, http.StatusBadRequest, "application/json", `{"error":"invalid_request"}`)},

	// RFC 7009 §2: refresh tokens can be revoked. The token responses carry a refresh token,
	// which the revocation endpoint says it cannot revoke.
	{name: "a refresh token is issued and cannot be revoked", breaks: "C-7009-2-c", args: rvArgs("C-7009-2-c"),
		wrap: rvChain(
			editResponses(tokenPOST, when(http.StatusOK, setMember("refresh_token", "ccconform-fault-refresh-token"))),
			answer(and(rvPOST, rvFormToken(func(t string) bool { return t == "ccconform-fault-refresh-token" })),
				http.StatusBadRequest, "application/json", `{"error":"unsupported_token_type"}`))},

	// RFC 7009 §2.1: token is required.
	{name: "revocation without token answers 200", breaks: "C-7009-2.1-a", args: rvArgs("C-7009-2.1-a"),
		wrap: answer(and(rvPOST, rvFormToken(func(t string) bool { return t == "" })), http.StatusOK, "", "")},

	// RFC 7009 §2.1: the client is authenticated first.
	{name: "revocation takes requests without valid credentials as the demo client's", breaks: "C-7009-2.1-b",
		args: rvArgs("C-7009-2.1-b"),
		wrap: editRequests(and(rvPOST, rvUnauthenticated), func(r *http.Request) { r.Header.Set("Authorization", goodBasic) })},

	// RFC 7009 §2.1: only the client's own tokens are revoked.
	{name: "revocation by the second client revokes the demo client's tokens", breaks: "C-7009-2.1-c",
		args: rvArgs("C-7009-2.1-c"),
		wrap: editRequests(and(rvPOST, func(r *http.Request) bool { return r.Header.Get("Authorization") == rvSecondBasic }),
			func(r *http.Request) { r.Header.Set("Authorization", goodBasic) })},

	// RFC 7009 §2.1: a token not found under its hint is looked for under every type.
	{name: "revocation with token_type_hint=refresh_token does not find access tokens", breaks: "C-7009-2.1-d",
		args: rvArgs("C-7009-2.1-d"),
		wrap: answer(and(rvPOST, rvHint(func(h string) bool { return h == "refresh_token" })), http.StatusOK, "", "")},

	// RFC 7009 §2.2: 200 for an invalid token; an unknown hint changes nothing.
	{name: "revocation of an unknown token is 403 (doorkeeper #1362)", breaks: "C-7009-2.2-a", args: rvArgs("C-7009-2.2-a"),
		wrap: answer(and(rvPOST, rvFormToken(rvMadeUp)), http.StatusForbidden, "application/json", `{"error":"invalid_token"}`)},
	{name: "revocation with an unknown token_type_hint is unsupported_token_type", breaks: "C-7009-2.2-b",
		args: rvArgs("C-7009-2.2-b"),
		wrap: answer(and(rvPOST, rvHint(func(h string) bool { return h != "" && h != "access_token" && h != "refresh_token" })),
			http.StatusBadRequest, "application/json", `{"error":"unsupported_token_type"}`)},
	{name: "revocation with an unknown token_type_hint answers 200 and revokes nothing", breaks: "C-7009-2.2-b",
		args: rvArgs("C-7009-2.2-b"),
		wrap: answer(and(rvPOST, rvHint(func(h string) bool { return h != "" && h != "access_token" && h != "refresh_token" })),
			http.StatusOK, "", "")},

	// RFC 7009 §2.2.1: errors in RFC 6749 §5.2's shape.
	{name: "revocation errors are sent as text/plain", breaks: "C-7009-2.2.1-a", args: rvArgs("C-7009-2.2.1-a"),
		wrap: editResponses(rvPOST, respWithErrorStatus(setHeader("Content-Type", "text/plain")))},
	{name: "revocation errors have a quote in error_description", breaks: "C-7009-2.2.1-a", args: rvArgs("C-7009-2.2.1-a"),
		wrap: editResponses(rvPOST, respWithErrorStatus(setMember("error_description", `the "token" is missing`)))},

	// RFC 7662 §2.1: token is required.
	{name: "introspection without token answers active: false", breaks: "C-7662-2.1-a", args: rvArgs("C-7662-2.1-a"),
		wrap: answer(and(tiPOST, rvFormToken(func(t string) bool { return t == "" })), http.StatusOK, "application/json", `{"active":false}`)},

	// RFC 7662 §2.1, §2.3: the endpoint requires authorization; invalid credentials get 401.
	{name: "introspection answers callers without valid credentials", breaks: "C-7662-2.1-b", args: rvArgs("C-7662-2.1-b"),
		wrap: editRequests(and(tiPOST, rvUnauthenticated), func(r *http.Request) { r.Header.Set("Authorization", tiIntrospectorBasic) })},
	{name: "introspection answers an unknown client with 400", breaks: "C-7662-2.1-b", args: rvArgs("C-7662-2.1-b"),
		wrap: editResponses(and(tiPOST, rqHasAuthorization, rvUnauthenticated), when(http.StatusUnauthorized, setStatus(http.StatusBadRequest)))},

	// RFC 7662 §2.2: the response.
	{name: "introspection responses are sent as text/plain", breaks: "C-7662-2.2-a", args: rvArgs("C-7662-2.2-a"),
		wrap: editResponses(tiPOST, when(http.StatusOK, setHeader("Content-Type", "text/plain")))},
	{name: "introspection's active is the string \"true\"", breaks: "C-7662-2.2-a", args: rvArgs("C-7662-2.2-a"),
		wrap: editResponses(tiPOST, func(req *http.Request, r *response) {
			if tiActive(r) {
				setMember("active", "true")(req, r)
			}
		})},
	{name: "introspection reports every token inactive", breaks: "C-7662-2.2-b", args: rvArgs("C-7662-2.2-b"),
		wrap: editResponses(tiPOST, when(http.StatusOK, setBody(`{"active":false}`)))},
	{name: "introspection of an unknown token is 400 invalid_token", breaks: "C-7662-2.2-c", args: rvArgs("C-7662-2.2-c"),
		wrap: answer(and(tiPOST, rvFormToken(rvMadeUp)), http.StatusBadRequest, "application/json", `{"error":"invalid_token"}`)},
	{name: "introspection reports an unknown token active", breaks: "C-7662-2.2-c", args: rvArgs("C-7662-2.2-c"),
		wrap: answer(and(tiPOST, rvFormToken(rvMadeUp)), http.StatusOK, "application/json", `{"active":true}`)},
	{name: "introspection of a revoked token is 400 invalid_token", breaks: "C-7662-2.2-c", args: rvArgs("C-7662-2.2-c"),
		wrap: tiRevokedTokenError},
	{name: "introspection says why a token is inactive", breaks: "C-7662-2.2-d", soft: true, args: rvArgs("C-7662-2.2-d"),
		wrap: editResponses(tiPOST, func(req *http.Request, r *response) {
			if tiInactive(r) {
				setMember("reason", "token not found")(req, r)
			}
		})},
	{name: "introspection's scope is an array (SimpleIdServer #957)", breaks: "C-7662-2.2-e", args: rvArgs("C-7662-2.2-e"),
		wrap: editResponses(tiPOST, func(req *http.Request, r *response) {
			if tiActive(r) {
				setMember("scope", []string{"read"})(req, r)
			}
		})},
	{name: "introspection's exp is a string", breaks: "C-7662-2.2-e", args: rvArgs("C-7662-2.2-e"),
		wrap: editResponses(tiPOST, func(req *http.Request, r *response) {
			if tiActive(r) {
				setMember("exp", "1800000000")(req, r)
			}
		})},

	// RFC 7662 §4: TLS; callers specifically authorised.
	{name: "the metadata's introspection_endpoint is an http:// URL", breaks: "C-7662-4-a", args: rvArgs("C-7662-4-a"),
		wrap: rvMetadataMember("introspection_endpoint", provider.PathIntrospect)},
	{name: "any client may introspect any token", breaks: "C-7662-4-c", soft: true, args: rvArgs("C-7662-4-c"),
		wrap: editRequests(and(tiPOST, func(r *http.Request) bool { return r.Header.Get("Authorization") == rvSecondBasic }),
			func(r *http.Request) { r.Header.Set("Authorization", tiIntrospectorBasic) })},
})

// The MAY rows of introspection are only recorded: no fault can break them.
func init() {
	mayOnly["C-7662-2.2-f"] = "client_id and scope are optional in an introspection response; the spec records whether they agree with the token"
	mayOnly["C-7662-4-b"] = "a server may refuse GET at introspection; the spec records whether it does"
}

// tiRevokedTokenError answers the introspection of a token that was revoked with 400
// invalid_token: it remembers the tokens of the revocation requests the reference answered 200.
func tiRevokedTokenError(next http.Handler) http.Handler {
	var mu sync.Mutex
	revoked := map[string]bool{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case rvPOST(r):
			token := formOf(r).Get("token")
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if rec.Code == http.StatusOK {
				mu.Lock()
				revoked[token] = true
				mu.Unlock()
			}
			(&response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}).write(w)
			return
		case tiPOST(r):
			mu.Lock()
			isRevoked := revoked[formOf(r).Get("token")]
			mu.Unlock()
			if isRevoked {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"the token was revoked"}`))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
