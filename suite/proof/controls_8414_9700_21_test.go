package proof

import (
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ccconform/ccconform/reference/provider"
)

// Controls of the metadata (RFC 8414), the security BCP (RFC 9700) and OAuth 2.1: variations
// the RFCs allow, which must pass --strict without a warning.
func init() {
	controls = append(controls,
		// RFC 8414 §2: token_endpoint_auth_methods_supported is optional (client_secret_basic by
		// default, which works); unknown and OpenID Discovery members are allowed, and only the
		// three endpoint authentication lists must not hold none (an ID token list may).
		control{name: "metadata without token_endpoint_auth_methods_supported, with OpenID Discovery members and none among id_token_signing_alg_values_supported",
			args: meta8414Args,
			wrap: editResponses(metaGET, func(q *http.Request, r *response) {
				delMember("token_endpoint_auth_methods_supported")(q, r)
				setMember("id_token_signing_alg_values_supported", []string{"RS256", "none"})(q, r)
				setMember("subject_types_supported", []string{"public"})(q, r)
				setMember("x_vendor_extension", map[string]any{"a": 1})(q, r)
			})},
		// RFC 8414 §3.1 removes a trailing / from the issuer before inserting the well-known
		// suffix; §3.3 compares the issuer as it is, slash included.
		control{name: "an issuer with a trailing slash, named the same in the metadata",
			args: []string{"-ginkgo.label-filter=C-8414-3-a || C-8414-3.3-a || C-8414-2-a"}, serve: withIssuerPath("/"),
			wrap: editResponses(metaGET, metaEditIssuer(func(iss string) string { return strings.TrimRight(iss, "/") + "/" }))},
		// RFC 9700 §2.6 asks for RFC 8414 metadata; OpenID Connect Discovery's document, which
		// RFC 8414 §5 recognizes, is that metadata too.
		control{name: "bcp: the metadata is published only at /.well-known/openid-configuration",
			args: profileRow("bcp", "C-9700-2.6-a"), wrap: metaOnlyAtOpenIDConfiguration},
		// RFC 9700 §2.2.1: DPoP (RFC 9449) advertised is sender-constraining offered.
		control{name: "bcp: the metadata advertises DPoP",
			args: profileRow("bcp", "C-9700-2.2.1-a"), wrap: editResponses(metaGET, setMember("dpop_signing_alg_values_supported", []string{"ES256"}))},
		// RFC 9700 §4.13: refusing a request with forged client certificate headers binds
		// nothing.
		control{name: "bcp: a token request with client certificate headers is refused with 400 invalid_request",
			args: profileRow("bcp", "C-9700-4.13-a"),
			wrap: answer(and(tokenPOST, func(r *http.Request) bool { return r.Header.Get("Client-Cert") != "" }),
				http.StatusBadRequest, "application/json", `{"error":"invalid_request","error_description":"client certificate headers are not accepted"}`)},
		// OAuth 2.1 §5.1: the query's access_token is ignored, so a request with a Bearer header
		// is served with the header's token (the reading the reference should follow).
		control{name: "oauth2.1: with a Bearer header, the query's access_token is ignored",
			args: profileRow("oauth2.1", "C-21-5.1-a"), wrap: rsIgnoreOtherTokens},
		// OAuth 2.1 §3.2.3 no longer asks for Pragma: no-cache (C-6749-5.1-h is information).
		control{name: "oauth2.1: token responses without Pragma",
			args: []string{"-profile=oauth2.1", "-ginkgo.label-filter=C-21-3.2.3-a || C-6749-5.1-h"},
			wrap: editResponses(tokenPOST, delHeader("Pragma"))},
		// OAuth 2.1 §3.2: a declared single-valued extension parameter sent twice is
		// invalid_request (the reference refuses every repeated parameter).
		control{name: "oauth2.1: audience, declared single-valued, sent twice is invalid_request",
			args: append(profileRow("oauth2.1", "C-21-3.2-a"), "-single-valued-parameters=audience")},
	)
}

// metaOnlyAtOpenIDConfiguration serves the metadata at /.well-known/openid-configuration and
// nothing at RFC 8414's well-known URL.
func metaOnlyAtOpenIDConfiguration(next http.Handler) http.Handler {
	withOpenID := atOpenIDConfiguration(nil)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == provider.PathMetadata {
			http.NotFound(w, r)
			return
		}
		withOpenID.ServeHTTP(w, r)
	})
}

// atOpenIDConfiguration serves the RFC 8414 metadata at OpenID Connect Discovery's
// /.well-known/openid-configuration too, changed by edit (nil: as it is).
func atOpenIDConfiguration(edit func(*http.Request, *response)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/openid-configuration" {
				next.ServeHTTP(w, r)
				return
			}
			metadata := r.Clone(r.Context())
			metadata.URL.Path, metadata.RequestURI = provider.PathMetadata, provider.PathMetadata
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, metadata)
			res := &response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
			if edit != nil {
				edit(r, res)
			}
			res.write(w)
		})
	}
}
