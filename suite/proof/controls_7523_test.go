package proof

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
)

// Controls of JWT client authentication (checklist 2.J): providers that differ from the
// reference in ways RFC 7523, RFC 7521 and RFC 10070 allow. Each runs the 2.J specs only.
func init() {
	jwtSpecs := "-ginkgo.label-filter=rfc7523"
	controls = append(controls,
		control{name: "2.J: the reference under profiles rfc10070 and oidcc", args: []string{jwtSpecs, "-profile=rfc10070,oidcc"}},
		// RFC 7523 §3 item 3: the token endpoint's URL MAY identify the AS as the audience.
		control{name: "2.J: the token endpoint's URL is a client assertion audience besides the issuer (RFC 7523)", args: []string{jwtSpecs},
			wrap: resignAssertions(func(a *clientAssertion) bool {
				if a.signer == "" || a.claims["aud"] != a.issuer+provider.PathToken {
					return false
				}
				a.claims["aud"] = a.issuer
				return true
			})},
		// The same rule read the other way: an AS that names itself by its token endpoint only
		// (Okta: "the endpoint invoked"). RFC 10070 forbids it, RFC 7523 does not.
		control{name: "2.J: the token endpoint's URL is the only client assertion audience, the issuer is refused (Okta)", args: []string{jwtSpecs},
			wrap: ctlTokenEndpointAudience},
		// RFC 6749 §5.2: a failed body authentication may be 400 as well as 401.
		control{name: "2.J: a refused client assertion is 400 invalid_client without a challenge", args: []string{jwtSpecs},
			wrap: editResponses(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("client_assertion") })),
				when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
					r.status = http.StatusBadRequest
					r.header.Del("WWW-Authenticate")
				}))},
		// Checklist 2.J's error expectation (openid/connect #1121): a JWT that cannot be parsed,
		// or a wrong client_assertion_type, may be invalid_request.
		control{name: "2.J: an unparseable client assertion or a wrong client_assertion_type is 400 invalid_request", args: []string{jwtSpecs},
			wrap: editResponses(and(tokenPOST, func(r *http.Request) bool {
				v := formOf(r)
				if !v.Has("client_assertion") {
					return false
				}
				_, readable := readAssertion(r)
				return !readable || v.Get("client_assertion_type") != provider.JWTBearerAssertionType
			}), func(_ *http.Request, r *response) {
				if r.status >= 400 {
					r.status = http.StatusBadRequest
					r.header.Del("WWW-Authenticate")
					r.setObject(map[string]any{"error": "invalid_request", "error_description": "client_assertion is not a JWT"})
				}
			})},
		// FAPI 2.0 and OpenID Connect Core -36 want aud as a string; RFC 10070 allows [issuer] but
		// does not require it.
		control{name: "2.J: an aud array is refused, [issuer] included (FAPI 2.0)", args: []string{jwtSpecs, "-profile=rfc10070"},
			wrap: answer(jwtRequest(func(a *clientAssertion) bool { _, isArray := a.claims["aud"].([]any); return isArray }),
				http.StatusBadRequest, "application/json", `{"error":"invalid_client","error_description":"aud must be a string"}`)},
		// RFC 7523 §3 items 4 and 6: a far exp may be accepted, an old iat may be refused.
		control{name: "2.J: an exp a year ahead is accepted and an iat a day old refused", args: []string{jwtSpecs},
			wrap: ctlAssertionTimes},
	)
}

// ctlTokenEndpointAudience refuses assertions whose aud names the issuer, and takes those whose
// aud is the token endpoint's URL (the reference gets them with the issuer instead).
func ctlTokenEndpointAudience(next http.Handler) http.Handler {
	refuse := answer(func(*http.Request) bool { return true }, http.StatusBadRequest, "application/json",
		`{"error":"invalid_client","error_description":"aud must be the token endpoint"}`)(next)
	fix := resignAssertions(func(a *clientAssertion) bool {
		if a.signer == "" || a.claims["aud"] != a.issuer+provider.PathToken {
			return false
		}
		a.claims["aud"] = a.issuer
		return true
	})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := readAssertion(r)
		if !ok || !tokenPOST(r) {
			next.ServeHTTP(w, r)
			return
		}
		aud, _ := a.claims["aud"].([]any)
		if a.claims["aud"] == a.issuer || slices.Contains(aud, any(a.issuer)) {
			refuse.ServeHTTP(w, r)
			return
		}
		fix.ServeHTTP(w, r)
	})
}

// ctlAssertionTimes accepts a validly signed assertion whose exp is far ahead (re-signed with an
// exp the reference takes) and refuses one issued more than an hour ago.
func ctlAssertionTimes(next http.Handler) http.Handler {
	refuse := answer(func(*http.Request) bool { return true }, http.StatusBadRequest, "application/json",
		`{"error":"invalid_client","error_description":"iat is too old"}`)(next)
	fix := resignAssertions(func(a *clientAssertion) bool {
		exp, _ := a.claims["exp"].(float64)
		if a.signer == "" || time.Unix(int64(exp), 0).Before(time.Now().Add(time.Hour)) {
			return false
		}
		a.claims["exp"] = time.Now().Add(time.Minute).Unix()
		return true
	})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := readAssertion(r); ok && tokenPOST(r) {
			if iat, isNumber := a.claims["iat"].(float64); isNumber && time.Unix(int64(iat), 0).Before(time.Now().Add(-time.Hour)) {
				refuse.ServeHTTP(w, r)
				return
			}
		}
		fix.ServeHTTP(w, r)
	})
}
