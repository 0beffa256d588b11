package suite

import (
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 7662 §2.1: the introspection request, and (§2.3) its refusal when the caller is not
// authorised.
var _ = Describe("RFC 7662 §2.1: the introspection request", func() {
	labels := func(ids ...string) Labels {
		return append(specLabels("introspection", ids...), "cap:introspection")
	}

	// §2.1 (MUST): the request is a form-encoded POST whose token parameter is required; an
	// authorised caller that leaves it out gets invalid_request (RFC 6749 §5.2) in the §5.2
	// shape.
	It("answers an authorised introspection request without token with 400 invalid_request",
		labels("C-7662-2.1-a"), func(ctx SpecContext) {
			introspector := needIntrospector()
			res := introspect(ctx, introspector, "introspect, no token", url.Values{})
			row("C-7662-2.1-a").Require(res.StatusCode).To(BeNumerically(">=", 400), "a request without the required token must be refused, but it got %s", res.Status)
			row("C-7662-2.1-a").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest))
			code := expectEndpointError(res, "C-7662-2.1-a")
			row("C-7662-2.1-a").Expect(code).To(Equal("invalid_request"), "the error for a missing required parameter")
		}, SpecTimeout(target.specTimeout(1)))

	// §2.1 (MUST): the endpoint requires some form of authorization, against token scanning;
	// §2.3 answers invalid client credentials with 401 as RFC 6749 §5.2 describes (a JSON
	// invalid_client). A request without any credentials is §5.2's invalid_client too ("no
	// client authentication included"), with 400 or 401; or, at an endpoint that takes a bearer
	// token for its authorization (§2.1 allows it), RFC 6750 §3's 401 with a Bearer challenge.
	// An endpoint that answers such a caller fails, unless the target declares it protected
	// outside HTTP (network isolation, an authenticating proxy): then it is not judged.
	It("refuses an introspection request without client credentials with invalid_client (400 or 401) or a Bearer challenge",
		labels("C-7662-2.1-b"), func(ctx SpecContext) {
			needCap(config.CapIntrospection)
			tok := issueToken(ctx, target.Client, askedScope())
			res := send(ctx, request{Method: http.MethodPost, Path: target.IntrospectionPath, Note: "introspect without credentials",
				Form: tokenForm(tok.AccessToken, "")})
			expectIntrospectionRefused(res, "no credentials")
			if _, err := decodeObject(bodyOf(res)); err != nil && res.StatusCode == http.StatusUnauthorized {
				if bearer, _ := HaveChallenge("Bearer").Match(res); bearer {
					row("C-7662-2.1-b").That(true, "")
					return
				}
			}
			row("C-7662-2.1-b").Expect(res.StatusCode).To(BeElementOf(http.StatusBadRequest, http.StatusUnauthorized), "invalid_client's status (RFC 6749 §5.2)")
			code := expectEndpointError(res, "C-7662-2.1-b")
			row("C-7662-2.1-b").Expect(code).To(Equal("invalid_client"), "the error for a request without client authentication (RFC 6749 §5.2)")
		}, SpecTimeout(target.specTimeout(2)))

	It("refuses an introspection request with an unknown client's HTTP Basic credentials with 401 invalid_client",
		labels("C-7662-2.1-b"), func(ctx SpecContext) {
			needCap(config.CapIntrospection)
			tok := issueToken(ctx, target.Client, askedScope())
			res := send(ctx, request{Method: http.MethodPost, Path: target.IntrospectionPath, Note: "introspect as an unknown client",
				Form: tokenForm(tok.AccessToken, ""), Authorization: unregisteredClientBasic()})
			expectIntrospectionRefused(res, "an unknown client's credentials")
			row("C-7662-2.1-b").Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "invalid client credentials (RFC 7662 §2.3)")
			code := expectEndpointError(res, "C-7662-2.1-b")
			row("C-7662-2.1-b").Expect(code).To(Equal("invalid_client"), "the error for invalid client credentials (RFC 6749 §5.2)")
		}, SpecTimeout(target.specTimeout(2)))
})

// expectIntrospectionRefused judges that an unauthorised introspection request got no
// introspection response (C-7662-2.1-b), and stops the spec when it did; a target whose
// introspection is protected outside HTTP is not judged then.
func expectIntrospectionRefused(res *http.Response, what string) {
	GinkgoHelper()
	if res.StatusCode < 300 && target.IntrospectionProtectedOutsideHTTP {
		judge.Skip("the introspection endpoint answered a request with %s (%s), and the target declares it protected outside HTTP (introspection_protected_outside_http), which the suite cannot see", what, res.Status)
	}
	active := ""
	if obj, err := decodeObject(bodyOf(res)); err == nil {
		if a, ok := obj.members["active"].(bool); ok {
			active = map[bool]string{true: " (active: true)", false: " (active: false)"}[a]
		}
	}
	row("C-7662-2.1-b").RequireThat(res.StatusCode >= 400, "the introspection endpoint answered a request with %s: %s%s", what, res.Status, active)
}
