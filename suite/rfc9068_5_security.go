package suite

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9068 §5: security considerations that a token shows.
var _ = Describe("RFC 9068 §5: security considerations", func() {
	// §5 ¶3 (MUST): tokens for distinct resources carry distinct aud values, so that one
	// resource cannot replay another's token. Tokens asked for R1 and for R2 (F-RES): neither
	// aud names the other resource. Only providers that honour resource indicators are judged
	// (checklist 2.L).
	It("gives tokens asked for resources R1 and R2 audiences that do not name the other resource",
		append(specLabels("token", "C-9068-5-a"), "rfc9068", "cap:jwt-at", "cap:resource-indicators"), func(ctx SpecContext) {
			needResourceIndicators(ctx)
			r := []ResourceIndicator{resourceIndicator(0, false), resourceIndicator(1, false)}
			var tokens [2]jwtToken
			for i := range r {
				tok := tokenFor(ctx, target.Client, target.allowedScopes()[0], r[i].Resource)
				t, ok := decodeJWT(tok.AccessToken)
				if !ok {
					judge.Skip("the token asked for R%d is not a JWT, so its audience cannot be seen", i+1)
				}
				tokens[i] = t
			}
			for i, t := range tokens {
				other := r[1-i].Resource
				aud, _ := t.audiences()
				asRow(t, "C-9068-5-a").That(!slices.Contains(aud, other), "the token asked for R%d names R%d in aud too", i+1, 2-i)
			}
		}, SpecTimeout(target.specTimeout(3)))
})
