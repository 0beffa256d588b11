package suite

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 8707 §2: the resource parameter of a token request. Every spec needs F-RES (the resources
// the provider accepts) and a provider that honours resource indicators: declared
// (--capabilities=resource-indicators), or seen in a token's aud. A provider on which resource
// has no visible effect follows RFC 6749 §3.2 (unknown parameters are ignored) and is not
// judged (checklist 2.L preamble; needResourceIndicators).
var _ = Describe("RFC 8707 §2: the resource parameter", func() {
	// §2 and §2.2 (SHOULD): a token asked for resource=R1 is audience-restricted to R1: a JWT
	// names R1 in aud, and introspection (cap:introspection), when it answers aud, names it
	// there. An aud mapped to another identifier is recorded; a token whose aud names only the
	// client (Abblix/Oidc.Server PR #184) or is the one a request without resource gets is not
	// restricted at all (WARN).
	It("issues a token asked for resource=R1 that names R1 in its aud (the JWT's claim, or introspection's member)",
		append(specLabels("token", "C-8707-2-a"), "rfc8707", "cap:resource-indicators"), func(ctx SpecContext) {
			needResourceIndicators(ctx)
			r1 := resourceIndicator(0, false)
			j := row("C-8707-2-a")
			res := requestToken(ctx, "resource=R1", target.Client, url.Values{"resource": {r1.Resource}, "scope": {target.allowedScopes()[0]}})
			j.Require(res).To(HaveHTTPStatus(http.StatusOK), "a token request for the resource R1 the target declares")
			tok, why := parseTokenResponse(res)
			if why != "" {
				judge.Block("C-6749-4.4.3-a", "no usable token in the answer: %s", why)
			}
			judged := false
			if t, ok := decodeJWT(tok.AccessToken); ok {
				aud, _ := t.audiences()
				switch {
				case slices.Contains(aud, r1.Resource):
					j.That(true, "")
				case len(aud) == 0 || !slices.ContainsFunc(aud, func(s string) bool { return s != target.Client.ID }):
					j.That(false, "the token asked for R1 has aud %q, which names no resource: resource did not restrict it", aud)
				case jsonEqual(aud, defaultAudience(ctx)):
					j.That(false, "the token asked for R1 has the aud %q of a token asked for without resource: resource did not restrict it", aud)
				default:
					j.Inform("the token asked for R1 has aud %q: R1 mapped to another identifier", aud)
				}
				judged = true
			}
			if canIntrospect() {
				By("asking introspection for the token's aud")
				members := introspectionOf(introspect(ctx, *target.Clients.Introspector, "the token's audience", tokenForm(tok.AccessToken, "access_token")))
				if v, present := members["aud"]; present && members["active"] == true {
					aud, ok := jwtToken{Claims: map[string]any{"aud": v}}.audiences()
					j.That(ok && slices.Contains(aud, r1.Resource), "introspection answers aud %s for the token asked for R1, without R1", rsClaimKind(v))
					judged = true
				}
			}
			if !judged {
				j.Cannot("the token is not a JWT and introspection does not answer its aud, so its audience cannot be seen")
			}
		}, SpecTimeout(target.specTimeout(4)))

	// §2 (MUST, on the client; the checklist derives the server's side): a resource is an
	// absolute URI without a fragment, and a request that breaks that gets 400 invalid_target in
	// RFC 6749 §5.2's shape. A token is the checklist's FAIL; another error code (invalid_request
	// is common) is the row's lenient case.
	It("answers a relative, a network-path and a fragment resource with 400 invalid_target and no token",
		append(specLabels("token", "C-8707-2-b"), "rfc8707", "cap:resource-indicators"), func(ctx SpecContext) {
			needResourceIndicators(ctx)
			r1 := resourceIndicator(0, false)
			u, _ := url.Parse(r1.Resource)
			for _, bad := range []struct{ what, value string }{
				{"a relative reference", "api/relative"},
				{"a network-path reference", "//" + u.Host + u.EscapedPath()},
				{"R1 with a fragment", r1.Resource + "#f"},
			} {
				res := requestToken(ctx, "resource: "+bad.what, target.Client, url.Values{"resource": {bad.value}, "scope": {target.allowedScopes()[0]}})
				expectInvalidTarget(res, "C-8707-2-b", bad.what)
			}
		}, SpecTimeout(target.specTimeout(4)))

	// §2, §2.2 and §3 (SHOULD): which resources are acceptable is the provider's choice; an
	// unknown one is refused with invalid_target, and must never reach aud (audience injection:
	// the checklist's FAIL). A token whose aud ignores it, or another error code, is the row's
	// lenient case (WARN).
	It("answers an unknown resource with 400 invalid_target, and never puts it in aud",
		append(specLabels("token", "C-8707-2-c"), "rfc8707", "cap:resource-indicators"), func(ctx SpecContext) {
			needResourceIndicators(ctx)
			const unknown = "https://unknown.invalid/ccconform"
			res := requestToken(ctx, "an unknown resource", target.Client, url.Values{"resource": {unknown}, "scope": {target.allowedScopes()[0]}})
			if tok, why := parseTokenResponse(res); why == "" {
				t, isJWT := decodeJWT(tok.AccessToken)
				aud, _ := t.audiences()
				row("C-8707-2-c").That(!slices.Contains(aud, unknown), "the token asked for the unknown resource %s names it in aud: audience injection", unknown)
				row("C-8707-2-c").Lenient().That(false, "a token was issued for the unknown resource %s (%s)", unknown,
					map[bool]string{true: fmt.Sprintf("aud %q", aud), false: "its audience cannot be seen"}[isJWT])
				return
			}
			expectInvalidTarget(res, "C-8707-2-c", "an unknown resource")
		}, SpecTimeout(target.specTimeout(2)))

	// §2 and §3 (MAY): a client may repeat resource to ask for several audiences; the provider
	// may issue a token for all of them, or decline with invalid_target (both recorded).
	// Refusing the repetition itself as invalid_request contradicts §2, which allows it (the
	// checklist's FAIL), as does a server error.
	It("answers resource=R1&resource=R2 with a token for both, or 400 invalid_target, never invalid_request",
		append(specLabels("token", "C-8707-2-d"), "rfc8707", "cap:resource-indicators"), func(ctx SpecContext) {
			needResourceIndicators(ctx)
			r1, r2 := resourceIndicator(0, false), resourceIndicator(1, false)
			res := requestToken(ctx, "resource=R1&resource=R2", target.Client, url.Values{"resource": {r1.Resource, r2.Resource}, "scope": {target.allowedScopes()[0]}})
			j := row("C-8707-2-d")
			if tok, why := parseTokenResponse(res); why == "" {
				t, isJWT := decodeJWT(tok.AccessToken)
				aud, _ := t.audiences()
				switch {
				case !isJWT:
					j.Inform("a token was issued for R1 and R2 together; its audience cannot be seen")
				case slices.Contains(aud, r1.Resource) && slices.Contains(aud, r2.Resource):
					j.Inform("a token was issued with both R1 and R2 in aud")
				default:
					j.Inform("a token was issued for R1 and R2 together, with aud %q", aud)
				}
				return
			}
			code := ""
			if obj, err := decodeObject(bodyOf(res)); err == nil {
				code, _ = obj.members["error"].(string)
			}
			j.That(res.StatusCode < 500, "the request answered %s", res.Status)
			j.That(code != "invalid_request", "the repeated resource parameter was refused as invalid_request, though RFC 8707 §2 allows it to repeat")
			if code != "" && code != "invalid_request" {
				j.Inform("the provider declines several resources in one request (%s, error %q)", res.Status, code)
			}
		}, SpecTimeout(target.specTimeout(2)))
})

// expectInvalidTarget judges, for the row id, the refusal of a resource the provider must not
// issue a token for: no token (the row's grade), and 400 with the error invalid_target in RFC
// 6749 §5.2's shape (the row's lenient case when it is another code).
func expectInvalidTarget(res *http.Response, id, what string) {
	GinkgoHelper()
	expectNoToken(res, id)
	code := expectErrorShape(res)
	row(id).Lenient().Expect(code).To(Equal("invalid_target"), "the error code for %s", what)
	row(id).Lenient().Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "the status for %s", what)
}

// defaultAudience is the aud of a token the main client gets without resource: nil when that
// token is not a JWT.
func defaultAudience(ctx SpecContext) []string {
	GinkgoHelper()
	t, ok := decodeJWT(issueToken(ctx, target.Client, target.allowedScopes()[0]).AccessToken)
	if !ok {
		return nil
	}
	aud, _ := t.audiences()
	return aud
}
