package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
)

// OpenID Connect Core 1.0 §9: client authentication. Its rules for JWT assertions go further
// than RFC 7523: jti is required and single use; claims the AS does not understand are ignored;
// a client authenticates with the method it registered.
var _ = Describe("OpenID Connect Core §9: JWT client authentication", func() {
	// §9 (MUST; RFC 7523 §3 item 7 and §6 make it optional): jti is required, and an assertion
	// is used once. Outside profile:oidcc a replay or a missing jti that is accepted is a
	// warning (registry grading_7523.go). Serial: the replay must not meet another process's
	// use of the same assertion, and ordering the two requests is the point.
	It("answers a valid F-PKJ assertion sent a second time with no token and invalid_client",
		jwtAuthLabels("C-OIDCC-9-a", "C-7523-3.2-a"), func(ctx SpecContext) {
			c := needPKJ()
			jwt := signed(c.newAssertion(acceptedAudience(ctx, atToken)))
			first := postAssertion(ctx, assertionRequest{Note: "an assertion, first use", JWT: jwt})
			if _, why := parseTokenResponse(first); why != "" {
				judge.Block("C-7523-2.2-a", "a valid assertion's first use was refused (%s), so its replay says nothing", refusalText(first, why))
			}
			res := postAssertion(ctx, assertionRequest{Note: "the same assertion again", JWT: jwt})
			expectAssertionRefused(res, "C-OIDCC-9-a", false)
		}, Serial, jwtSpecTimeout(2))

	It("answers an F-PKJ assertion without jti with no token and invalid_client",
		jwtAuthLabels("C-OIDCC-9-a", "C-7523-3.2-a"), func(ctx SpecContext) {
			c := needPKJ()
			a := c.newAssertion(acceptedAudience(ctx, atToken))
			a.Claims["jti"] = nil
			res := postAssertion(ctx, assertionRequest{Note: "no jti", JWT: signed(a)})
			expectAssertionRefused(res, "C-OIDCC-9-a", false)
		}, Serial, jwtSpecTimeout(1))

	// §9 (MUST): claims the AS does not understand are ignored: a valid assertion with an
	// extension claim and a nonce gets its token.
	It(`answers a valid F-PKJ assertion with the extra claims "urn:example:x": 1 and "nonce": "x" with a token`,
		jwtAuthLabels("C-OIDCC-9-b"), func(ctx SpecContext) {
			c := needPKJ()
			a := c.newAssertion(acceptedAudience(ctx, atToken))
			a.Claims["urn:example:x"], a.Claims["nonce"] = 1, "x"
			res := postAssertion(ctx, assertionRequest{Note: "extra claims", JWT: signed(a)})
			expectAssertionAccepted(res, "C-OIDCC-9-b", "a valid assertion with claims the provider need not understand")
		}, jwtSpecTimeout(1))

	// §9 with RFC 7591 §2 token_endpoint_auth_method (SHOULD; kind R): a client authenticates
	// with the method it registered, so a JWT client's secret alone, in HTTP Basic, is no
	// authentication: F-CSJ's secret, and F-PKJ's if the provider let it have one. An acceptance
	// is a warning. (keycloak #50997 shows what a fallback to the secret does to a "signed JWT
	// required" policy.)
	It("answers F-CSJ's secret sent with HTTP Basic (client_secret_basic) with no token",
		jwtAuthLabels("C-OIDCC-9-c"), func(ctx SpecContext) {
			c := needCSJ()
			acceptedAudience(ctx, atToken)
			res := postToken(ctx, "F-CSJ's secret in HTTP Basic", c.basic(), form())
			expectNoToken(res, "C-OIDCC-9-c")
		}, jwtSpecTimeout(1))

	It("answers F-PKJ's secret, if it has one, sent with HTTP Basic with no token",
		jwtAuthLabels("C-OIDCC-9-c"), func(ctx SpecContext) {
			c := needPKJ()
			if c.Secret == "" {
				judge.Skip("F-PKJ has no secret (the provider may not allow one for a private_key_jwt client, or the target declares none)")
			}
			acceptedAudience(ctx, atToken)
			res := postToken(ctx, "F-PKJ's secret in HTTP Basic", c.basic(), form())
			expectNoToken(res, "C-OIDCC-9-c")
		}, jwtSpecTimeout(1))
})
