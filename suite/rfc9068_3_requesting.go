package suite

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9068 §3: the audience of a JWT access token, with and without a resource indicator.
var _ = Describe("RFC 9068 §3: requesting a JWT access token", func() {
	// §3 (MUST): a token asked for without resource carries the default resource indicator of
	// the authorization server in aud: present and not empty. An aud that names only the client
	// itself names the caller, not a resource: the checklist's lenient case (WARN; wso2/product-is
	// #19906). Providers that issue JWTs only for a resource (the reference, oidc-provider) are
	// not judged here; the next spec judges the row.
	It("puts a default resource in the aud of a JWT access token asked for without resource",
		append(specLabels("token", "C-9068-3-a"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			tok := issueToken(ctx, target.Client, target.allowedScopes()[0])
			t, ok := decodeJWT(tok.AccessToken)
			if !ok {
				judge.Skip("the token asked for without resource is not a JWT, so its default audience cannot be seen (the spec with resource R1 judges the row)")
			}
			aud, ok := t.audiences()
			asRow(t, "C-9068-3-a").RequireThat(ok && len(aud) > 0, "the token's aud is %s: no default resource", rsClaimKind(t.Claims["aud"]))
			onlyClient := !slices.ContainsFunc(aud, func(s string) bool { return s != target.Client.ID })
			row("C-9068-3-a").Lenient().That(!onlyClient, "the token's aud names only the client itself (its client_id), not a resource")
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (SHOULD): a token asked for resource R1 has aud R1. An aud that holds R1 among others,
	// or maps R1 to another identifier the provider knows it by, is allowed (SHOULD) and
	// recorded. Only providers that honour resource indicators are judged (checklist 2.L).
	It("puts the requested resource R1 in the aud of a JWT access token asked for resource=R1",
		append(specLabels("token", "C-9068-3-a"), "rfc9068", "cap:jwt-at", "cap:resource-indicators"), func(ctx SpecContext) {
			needResourceIndicators(ctx)
			r1 := resourceIndicator(0, false)
			tok := tokenFor(ctx, target.Client, target.allowedScopes()[0], r1.Resource)
			t, ok := decodeJWT(tok.AccessToken)
			if !ok {
				judge.Skip("the token asked for resource R1 is not a JWT, so its audience cannot be seen")
			}
			aud, ok := t.audiences()
			asRow(t, "C-9068-3-a").RequireThat(ok && len(aud) > 0, "the token's aud is %s", rsClaimKind(t.Claims["aud"]))
			switch {
			case len(aud) == 1 && aud[0] == r1.Resource:
				row("C-9068-3-a").That(true, "")
			case slices.Contains(aud, r1.Resource):
				row("C-9068-3-a").Inform("the token asked for R1 has aud %q, R1 among %d audiences", aud, len(aud))
			default:
				row("C-9068-3-a").Inform("the token asked for R1 has aud %q: R1 mapped to another identifier", aud)
			}
		}, SpecTimeout(target.specTimeout(2)))
})
