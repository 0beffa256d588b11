package suite

import (
	"net/url"
	"slices"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// RFC 9700 §2.3: privilege restriction. Both rows belong to the security BCP's rules (checklist
// 2.F), which only --profile=bcp judges; under any other profile the specs are skipped before
// they send anything, as rfc9700_2_4_password_grant.go explains.
var _ = Describe("RFC 9700 §2.3: access token privilege restriction", func() {
	// §2.3 and §4.10.2 (SHOULD): tokens are restricted to the minimum, in particular to their
	// audience. A JWT shows its audience: a token asked for resource R1 whose aud is R1 alone
	// is narrowed (pass). A JWT whose aud names a resource, but which resource does not narrow,
	// is recorded; one with no aud, or naming only the client itself, warns. Opaque tokens
	// cannot be judged.
	It("restricts the audience of its JWT access tokens, narrowed to R1 when resource=R1 is asked for",
		append(specLabels("token", "C-9700-2.3-a"), "rfc9700", "profile:bcp", "cap:jwt-at"), func(ctx SpecContext) {
			skipUnlessBCP("C-9700-2.3-a")
			j := row("C-9700-2.3-a")
			var seen []jwtToken
			if len(target.ResourceIndicators) > 0 {
				r1 := target.ResourceIndicators[0].Resource
				res := requestToken(ctx, "resource=R1", target.Client, url.Values{"resource": {r1}, "scope": {target.allowedScopes()[0]}})
				if tok, why := parseTokenResponse(res); why == "" {
					if t, ok := decodeJWT(tok.AccessToken); ok {
						if aud, _ := t.audiences(); len(aud) > 0 && !slices.ContainsFunc(aud, func(s string) bool { return s != r1 }) {
							j.That(true, "")
							return
						}
						seen = append(seen, t)
					}
				}
			}
			if t, ok := decodeJWT(issueToken(ctx, target.Client, target.allowedScopes()[0]).AccessToken); ok {
				seen = append(seen, t)
			}
			if len(seen) == 0 {
				j.Cannot("the access tokens are not JWTs, so their audience cannot be seen")
				return
			}
			for _, t := range seen {
				aud, _ := t.audiences()
				specific := slices.ContainsFunc(aud, func(s string) bool { return s != "" && s != target.Client.ID })
				if !j.That(specific, "a JWT access token's aud (%s) names no resource: it is not audience-restricted", rsClaimKind(t.Claims["aud"])) {
					return
				}
			}
			j.Inform("the JWT access tokens name their audience, but resource=R1 does not narrow it to R1%s",
				map[bool]string{true: "", false: " (the target declares no F-RES R1 to try)"}[len(target.ResourceIndicators) > 0])
		}, SpecTimeout(target.specTimeout(2)))

	// §2.3 and §4.10.2 (MUST): a resource server refuses tokens not meant for it. Two resource
	// servers (F-RES): the token asked for R1 is refused at R2's route with 401 and
	// invalid_token, where a token for R2 is served (C-8707-3-a judges the same exchange by
	// RFC 8707 in every profile).
	It("refuses at resource R2 a token issued for resource R1, with 401 and invalid_token",
		append(specLabels("resource", "C-9700-2.3-b"), "rfc9700", "profile:bcp", "cap:resource-indicators"), func(ctx SpecContext) {
			skipUnlessBCP("C-9700-2.3-b")
			res := presentForOtherResource(ctx, resourceIndicator(0, false), resourceIndicator(1, true))
			expectRefusedWrongAudience(res, "C-9700-2.3-b", "a token for R1 at R2")
		}, SpecTimeout(target.specTimeout(6)))
})

// skipUnlessBCP skips a spec of the security BCP's rows outside --profile=bcp.
func skipUnlessBCP(id string) {
	GinkgoHelper()
	if p := judge.Current().Profile; !p.Has(registry.BCP) {
		judge.Skip("%s is a rule of the security BCP (RFC 9700), judged only under --profile=bcp, not %s", id, p)
	}
}
