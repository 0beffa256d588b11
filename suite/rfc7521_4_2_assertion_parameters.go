package suite

import (
	. "github.com/onsi/ginkgo/v2"
)

// RFC 7521 §4.2: the parameters of client authentication by assertion, which RFC 7523 §2.2
// profiles for JWTs.
var _ = Describe("RFC 7521 §4.2: client_assertion_type and client_id", func() {
	// §4.2 and §4.2.1 (MUST): client_assertion_type is required and says what format the
	// assertion is in; a valid JWT sent with no type, or with a type that is not the JWT bearer
	// URN, does not authenticate. Either invalid_client or invalid_request (a missing or wrong
	// parameter) is right.
	types := []struct{ what, typ string }{
		{"without client_assertion_type", "-"},
		{"with the SAML 2.0 bearer client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"},
		{"with a misspelled client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-barer"},
	}
	for _, k := range types {
		It("answers a valid assertion "+k.what+" with no token and invalid_client or invalid_request",
			jwtAuthLabels("C-7521-4.2-a", "C-7523-3.2-a"), func(ctx SpecContext) {
				c := needPKJ()
				jwt := signed(c.newAssertion(acceptedAudience(ctx, atToken)))
				res := postAssertion(ctx, assertionRequest{Note: "a valid assertion " + k.what, JWT: jwt, Type: k.typ})
				expectAssertionRefused(res, "C-7521-4.2-a", true)
			}, jwtSpecTimeout(1))
	}

	// §4.2 (MUST): client_id is optional, since the assertion's subject names the client. A
	// provider that refuses a valid assertion without it demands what the RFC leaves out: the
	// checklist's lenient case (a warning; --strict fails it).
	It("answers a valid F-PKJ assertion without client_id with a token",
		jwtAuthLabels("C-7521-4.2-b"), func(ctx SpecContext) {
			c := needPKJ()
			res := postAssertion(ctx, assertionRequest{Note: "a valid assertion, no client_id", JWT: signed(c.newAssertion(acceptedAudience(ctx, atToken)))})
			_, why := parseTokenResponse(res)
			row("C-7521-4.2-b").Lenient().That(why == "", "a valid assertion without client_id was not accepted: %s", refusalText(res, why))
		}, jwtSpecTimeout(1))

	// §4.2 (MUST): when client_id is sent, it names the client the assertion authenticates. F-PKJ's
	// valid assertion with another client's id gets no token: invalid_client, or invalid_request.
	It("answers a valid F-PKJ assertion with another client's client_id with no token and invalid_client or invalid_request",
		jwtAuthLabels("C-7521-4.2-b", "C-7523-3.2-a"), func(ctx SpecContext) {
			c := needPKJ()
			other := otherClientID(c)
			res := postAssertion(ctx, assertionRequest{Note: "a valid assertion, another client's client_id",
				JWT: signed(c.newAssertion(acceptedAudience(ctx, atToken))), Pairs: []string{"client_id", other}})
			expectAssertionRefused(res, "C-7521-4.2-b", true)
		}, jwtSpecTimeout(1))
})
