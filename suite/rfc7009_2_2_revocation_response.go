package suite

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
)

// RFC 7009 §2.2: the revocation response. The errors of §2.2.1 are judged where the specs of
// §2 and §2.1 provoke them (C-7009-2.2.1-a).
//
// The checklist counts both rows of §2.2 as MUST, marked (*): §2.2 describes the answer ("the
// authorization server responds with HTTP status code 200 if …"; "an invalid token type hint
// value is ignored … and does not influence the revocation response") rather than using a
// keyword. They are graded as the checklist counts them.
var _ = Describe("RFC 7009 §2.2: the revocation response", func() {
	labels := func(ids ...string) Labels { return append(specLabels("revocation", ids...), "cap:revocation") }

	// §2.2 (MUST*): 200 when the token was revoked and when the client sent an invalid token:
	// the client can do nothing with such an error, and what it wanted is true already
	// (doorkeeper #1362 answered 403).
	It("answers the revocation of a made-up token with 200", labels("C-7009-2.2-a"), func(ctx SpecContext) {
		needCap(config.CapRevocation)
		res := revoke(ctx, target.Client, "revoke a made-up token", tokenForm(rsBogusToken(), ""))
		row("C-7009-2.2-a").Expect(res).To(HaveHTTPStatus(http.StatusOK), "an invalid token is no error (RFC 7009 §2.2)")
	}, SpecTimeout(target.specTimeout(1)))

	// §2.2 (MUST*): a token_type_hint value the server does not know is ignored and does not
	// change the answer: the access token is revoked with 200. A provider that revokes no
	// access token at all is C-7009-2-b's finding, and this spec is then blocked by it.
	It("revokes an access token sent with an unknown token_type_hint with 200, and the token stops working",
		labels("C-7009-2.2-b"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			expectRevokedWithHint(ctx, "C-7009-2.2-b", "ccconform_unknown_hint")
		}, SpecTimeout(revocationSpecTimeout(2)))
})
