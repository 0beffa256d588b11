package proof

import (
	"net/http"
)

// Controls of RFC 9068 and RFC 8707: providers that differ from the reference only in ways the
// RFCs allow. Each runs the specs of both sections (slow ones included) against the reference
// with F-RES and F-OTHER-JWT (serveWithOtherJWT), and must pass strict with no warning.

// jwtSections selects the specs of RFC 9068, RFC 8707 and RFC 9700 §2.3, slow ones included.
const jwtSections = "-ginkgo.label-filter=/rfc9068|rfc8707|rfc9700:2.3/"

func init() {
	controls = append(controls,
		control{name: "the reference with F-RES, F-OTHER-JWT, rs-jwt and resource-indicators, under profiles bcp and rfc9068",
			serve: serveWithOtherJWT, args: []string{jwtSections, "-profile=bcp,rfc9068"}},
		control{name: "the reference with F-RES, F-OTHER-JWT, rs-jwt and resource-indicators, in the default profile",
			serve: serveWithOtherJWT, args: []string{jwtSections}},
		// RFC 9068 §2.1 recommends at+jwt but allows application/at+jwt; §4 compares
		// case-insensitively (the RFC's own §3 example writes at+JWT).
		control{name: "JWT access tokens typed with the full media type application-at+jwt, under profile rfc9068", serve: serveWithOtherJWT,
			args: []string{jwtSections, "-profile=rfc9068"},
			wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, h, _ map[string]any) { h["typ"] = "application/at+jwt" })},
		control{name: "JWT access tokens typed AT+JWT, under profile rfc9068", serve: serveWithOtherJWT,
			args: []string{jwtSections, "-profile=rfc9068"},
			wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, h, _ map[string]any) { h["typ"] = "AT+JWT" })},
		// Outside profile rfc9068 a JWT need not claim RFC 9068: reported, not warned about.
		control{name: "JWT access tokens typed JWT, in the default profile", serve: serveWithOtherJWT, args: []string{jwtSections},
			wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, h, _ map[string]any) { h["typ"] = "JWT" })},
		// RFC 9068 §2.2: other claims may be present; RFC 7519 §4.1.3: aud is a string or an
		// array of strings.
		control{name: "JWT access tokens with extra claims", serve: serveWithOtherJWT, args: []string{jwtSections, "-profile=rfc9068"},
			wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) {
				c["urn:example:claim"] = map[string]any{"a": 1}
				c["auth_time"] = c["iat"]
			})},
		control{name: "JWT access tokens with aud as a one-element array", serve: serveWithOtherJWT, args: []string{jwtSections, "-profile=rfc9068"},
			wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) {
				if s, ok := c["aud"].(string); ok {
					c["aud"] = []string{s}
				}
			})},
		// RFC 9068 §2.2: for client credentials sub identifies the client; the client_id is one
		// way, another stable per-client value is recorded, not warned about.
		control{name: "JWT access tokens whose sub is a stable value other than the client_id", serve: serveWithOtherJWT, args: []string{jwtSections},
			wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { c["sub"] = "client:" + c["client_id"].(string) })},
		// RFC 9068 §4: RS256 is what both sides must support, not what the AS must use.
		control{name: "JWT access tokens signed with PS256", serve: serveWithOtherJWT, args: []string{jwtSections, "-profile=rfc9068"},
			wrap: reissueJWTs(everyRequest, proofPS256, func(*http.Request, map[string]any, map[string]any) {})},
		// RFC 6749 §5.1: scope may be left out of the response when it is the one requested.
		control{name: "token responses for a resource without scope", serve: serveWithOtherJWT, args: []string{jwtSections},
			wrap: editResponses(askedResource(func(_ *http.Request, rs []string) bool { return len(rs) > 0 }), when(http.StatusOK, delMember("scope")))},
		// RFC 8707 §2: the AS may decline several resources in one request with invalid_target.
		control{name: "repeated resources declined with invalid_target", serve: serveWithOtherJWT, args: []string{jwtSections},
			wrap: answer(askedResource(func(_ *http.Request, rs []string) bool { return len(rs) > 1 }), http.StatusBadRequest, "application/json",
				`{"error":"invalid_target","error_description":"one resource per request"}`)},
		// RFC 9068 §4 ¶2: both discovery documents, agreeing.
		control{name: "OpenID Connect discovery that agrees with the RFC 8414 metadata", serve: serveWithOtherJWT, args: []string{jwtSections},
			wrap: atOpenIDConfiguration(nil)},
	)
}
