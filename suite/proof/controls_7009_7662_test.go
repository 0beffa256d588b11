package proof

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/judge"
)

// Controls of token revocation (RFC 7009) and token introspection (RFC 7662): answers the RFCs
// allow that the reference does not give. Each runs the two sections' specs only.
func init() {
	only := []string{"-ginkgo.label-filter=/^rfc7009:|^rfc7662:/", "-revocation-window=2s"}
	controls = append(controls,
		// RFC 7009 §2.1 refuses a request whose token was not issued to the client, and §2.2
		// answers 200 for an invalid token: both are read into a cross-client revocation.
		control{name: "revocation of another client's token is refused with 400 unauthorized_client", args: only,
			wrap: answer(and(rvPOST, func(r *http.Request) bool { return r.Header.Get("Authorization") == rvSecondBasic }),
				http.StatusBadRequest, "application/json", `{"error":"unauthorized_client","error_description":"the token was not issued to this client"}`)},
		// RFC 7009 §2.2: the client ignores the body of a 200.
		control{name: "revocation answers 200 with an empty JSON object", args: only,
			wrap: editResponses(rvPOST, when(http.StatusOK, func(_ *http.Request, r *response) {
				r.header.Set("Content-Type", "application/json")
				r.body = []byte(`{}`)
			}))},
		// RFC 6749 §5.2: a failed authentication without the Authorization header may be 400.
		control{name: "failed authentications at revocation and introspection are 400 invalid_client without a challenge", args: only,
			wrap: editResponses(and(onPaths(provider.PathRevoke, provider.PathIntrospect), withoutAuthorization), when(http.StatusUnauthorized,
				func(_ *http.Request, r *response) {
					r.status = http.StatusBadRequest
					r.header.Del("WWW-Authenticate")
				}))},
		// RFC 7662 §2.1 allows a bearer token as the authorization to introspect; §2.3 then
		// refuses a caller without one as RFC 6750 §3 does: 401, a Bearer challenge, no error
		// code and no body.
		control{name: "introspection without credentials is 401 with a bare Bearer challenge and no body", args: only,
			wrap: editResponses(and(tiPOST, rvUnauthenticated, withoutAuthorization), when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
				r.header.Set("WWW-Authenticate", `Bearer realm="introspection"`)
				r.header.Del("Content-Type")
				r.body = nil
			}))},
		// RFC 7662 §2.2: a caller not allowed to introspect a token gets active: false.
		control{name: "an ordinary client's introspection is answered active: false", args: only,
			wrap: answer(and(tiPOST, func(r *http.Request) bool { return r.Header.Get("Authorization") == rvSecondBasic }),
				http.StatusOK, "application/json", `{"active":false}`)},
		// RFC 7662 §2.2: aud may be an array, client_id and scope are optional, and a server
		// may add members of its own.
		control{name: "active introspection responses have aud as an array, an extension member, and no client_id or scope", args: only,
			wrap: editResponses(tiPOST, func(_ *http.Request, r *response) {
				if !tiActive(r) {
					return
				}
				m := r.object()
				if aud, ok := m["aud"].(string); ok {
					m["aud"] = []string{aud}
				}
				delete(m, "client_id")
				delete(m, "scope")
				m["ext_tenant"] = map[string]any{"id": 7}
				r.setObject(m)
			})},
		// RFC 7662 §4 lets a server refuse GET, and so take it too.
		control{name: "introspection takes GET with the parameters in the query", args: only,
			wrap: editRequests(at(http.MethodGet, provider.PathIntrospect), func(r *http.Request) {
				body := r.URL.RawQuery
				r.Method, r.URL.RawQuery = http.MethodPost, ""
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			})},
	)
}

// TestRevocationFreshTokenRetry proves that the revocation and introspection specs that need a
// token to keep working replace a token that was revoked before they looked at it, as
// TestFreshTokenRetry does for the resource server's: against a provider that keeps only each
// client's newest token, a spec on another process of ginkgo -p may get a token of the default
// client at any moment. The interleaving is simulated: every fifth token issued to the default
// client (the second, the seventh, …) is superseded at once, at the resources and at
// introspection alike. The two sections' specs must still pass strict.
func TestRevocationFreshTokenRetry(t *testing.T) {
	var refused atomic.Int64
	wrap := tiNewestTokenOnly(func(client string, n int) bool { return client == provider.DemoClientID && n%5 == 2 }, &refused)
	args := append(append(serveTLS(t, referenceHandler(t, wrap)), "-strict"), faultArgs...)
	args = append(args, "-ginkgo.label-filter=/^rfc7009:|^rfc7662:/", "-revocation-window=2s")
	expectRetried(t, runSuite(t, runTimeout, args...), refused.Load())
}

// tiNewestTokenOnly is rsNewestTokenOnly at introspection too: a token issued to a client
// before its newest one is refused at the resources (401 invalid_token) and reported inactive
// to an authenticated caller of introspection. supersede and refused are as rsNewestTokenOnly's.
func tiNewestTokenOnly(supersede func(client string, n int) bool, refused *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		tokens := newNewestTokens(supersede)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case tokenPOST(r):
				tokens.issue(w, r, next)
				return
			case tiPOST(r) && !rvUnauthenticated(r) && tokens.stale(formOf(r).Get("token")):
				refused.Add(1)
				(&response{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}},
					body: []byte(`{"active":false}`)}).write(w)
				return
			case protected(r):
				if tok, _ := rsBearerToken(r); tokens.stale(tok) {
					refused.Add(1)
					(&response{status: http.StatusUnauthorized, header: http.Header{"Content-Type": {"application/json"},
						"Www-Authenticate": {`Bearer realm="ccconform", error="invalid_token"`}},
						body: []byte(`{"error":"invalid_token"}`)}).write(w)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// A provider whose fresh tokens work nowhere the revocation specs can look (its resources refuse
// every token, its introspection calls every token inactive) breaks C-6750-2.1-a and
// C-7662-2.2-b; the revocation specs are then blocked by those rows, not failed for the same
// cause: a token that never worked says nothing about a revocation.
func TestRevocationBlockedWhenFreshTokensNeverWork(t *testing.T) {
	nothingWorks := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case tiPOST(r) && !rvUnauthenticated(r):
				(&response{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}},
					body: []byte(`{"active":false}`)}).write(w)
			case protected(r) && r.Header.Get("Authorization") != "":
				(&response{status: http.StatusUnauthorized, header: http.Header{"Content-Type": {"application/json"},
					"Www-Authenticate": {`Bearer realm="ccconform", error="invalid_token"`}},
					body: []byte(`{"error":"invalid_token"}`)}).write(w)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	args := append(append(serveTLS(t, referenceHandler(t, nothingWorks)), faultArgs...), "-ginkgo.label-filter=/^rfc7009:/", "-revocation-window=2s")
	run := runSuite(t, runTimeout, args...)
	for _, r := range run.rows(judge.Failed) {
		t.Errorf("%s failed, though no fresh token ever worked: %s", r.ID, firstLine(r.Message))
	}
	for _, id := range []string{"C-7009-2-b", "C-7009-2.1-c"} {
		if o := run.outcome(id); o != judge.NotJudged {
			t.Errorf("%s is %q, not %q", id, o, judge.NotJudged)
			continue
		}
		for _, r := range run.rows(judge.NotJudged) {
			if r.ID == id && !strings.Contains(strings.Join(r.Reasons, ";"), "blocked by C-") {
				t.Errorf("%s is not judged for another reason: %v", id, r.Reasons)
			}
		}
	}
}
