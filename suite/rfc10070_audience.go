package suite

import (
	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// RFC 10070 §4 and §2: the audience of a client assertion is the issuer identifier, and the
// assertion is typed. RFC 7523 (2015) also allowed the token endpoint's URL, so what the
// provider does with other audiences is judged under profile:rfc10070 only, and recorded
// otherwise (registry grading_7523.go).
var _ = Describe("RFC 10070 §4: the audience and type of a client assertion", func() {
	// §4 (MUST): the issuer identifier, as a string, is the audience. Outside profile:rfc10070 a
	// refusal is information: RFC 7523 §3 item 3 lets the AS identify itself by its token
	// endpoint's URL instead (Okta insists on the URL of the endpoint invoked).
	It("answers an F-PKJ assertion whose aud is the issuer, as a string, with a token (under profile:rfc10070; recorded otherwise)",
		jwtAuthLabels("C-10070-4-a"), func(ctx SpecContext) {
			c := needPKJ()
			issuer := needIssuer()
			acceptedAudience(ctx, atToken)
			res := postAssertion(ctx, assertionRequest{Note: "aud = the issuer", JWT: signed(c.newAssertion(issuer))})
			if !judge.Current().Profile.Has(registry.RFC10070) {
				informAcceptance(res, "C-10070-4-a", "an assertion whose aud is the issuer identifier")
				return
			}
			expectAssertionAccepted(res, "C-10070-4-a", "an assertion whose aud is the issuer identifier")
		}, jwtSpecTimeout(1))

	// §4 (MUST): an endpoint's URL is not the issuer, so under profile:rfc10070 an assertion
	// whose sole audience is the token, revocation or introspection endpoint's URL is refused.
	// RFC 7523 §3 item 3 allowed the token endpoint's URL: outside the profile an acceptance is
	// information.
	for _, kind := range []string{atToken, atRevocation, atIntrospection} {
		It("answers an F-PKJ assertion whose aud is the "+kind+" endpoint's URL with no token and invalid_client (under profile:rfc10070; recorded otherwise)",
			jwtAuthLabels("C-10070-4-a", "C-7523-3.2-a"), func(ctx SpecContext) {
				c := needPKJ()
				needIssuer()
				endpoint := endpointURL(kind)
				if endpoint == "" {
					judge.Skip("the provider has no %s endpoint", kind)
				}
				if endpoint == publishedIssuer() {
					judge.Skip("the %s endpoint's URL is the issuer identifier itself", kind)
				}
				acceptedAudience(ctx, atToken)
				res := postAssertion(ctx, assertionRequest{Note: "aud = the " + kind + " endpoint's URL", JWT: signed(c.newAssertion(endpoint))})
				if !judge.Current().Profile.Has(registry.RFC10070) && tokenGranted(res) {
					row("C-10070-4-a").Inform("an assertion whose aud is the %s endpoint's URL was accepted, as RFC 7523 §3 allows (RFC 10070 does not)", kind)
					return
				}
				expectAssertionRefused(res, "C-10070-4-a", false)
			}, jwtSpecTimeout(1))
	}

	// §4 (MUST): the AS rejects a JWT whose audience is not its issuer alone, so an aud array
	// that names a stranger besides the issuer is refused. Outside profile:rfc10070 an
	// acceptance is a warning (RFC 7523 only asks that aud identify the AS; keycloak PR #38830
	// made a single audience its default).
	It("answers an F-PKJ assertion whose aud is [issuer, https://other.example/] with no token and invalid_client",
		jwtAuthLabels("C-10070-4-a", "C-7523-3.2-a"), func(ctx SpecContext) {
			c := needPKJ()
			issuer := needIssuer()
			acceptedAudience(ctx, atToken)
			res := postAssertion(ctx, assertionRequest{Note: "aud = [issuer, another]", JWT: signed(c.newAssertion([]string{issuer, "https://other.example/"}))})
			expectAssertionRefused(res, "C-10070-4-a", false)
		}, jwtSpecTimeout(1))

	// §4: a one-element array [issuer] is the issuer, which RFC 10070 allows; FAPI 2.0 and
	// OpenID Connect Core -36 want a string, so a refusal is information too.
	It("records whether an F-PKJ assertion whose aud is [issuer] is accepted",
		jwtAuthLabels("C-10070-4-a"), func(ctx SpecContext) {
			c := needPKJ()
			issuer := needIssuer()
			acceptedAudience(ctx, atToken)
			res := postAssertion(ctx, assertionRequest{Note: "aud = [issuer]", JWT: signed(c.newAssertion([]string{issuer}))})
			informAcceptance(res, "C-10070-4-a", "an assertion whose aud is the one-element array [issuer]")
		}, jwtSpecTimeout(1))

	// §4 (SHOULD, on the client; NOT RECOMMENDED for the server to insist): clients type
	// assertions client-authentication+jwt, and servers take untyped ones and typ JWT as well. A
	// refusal of any of them breaks clients: a warning.
	types := []struct{ what, typ string }{
		{"typ client-authentication+jwt", "client-authentication+jwt"},
		{"no typ", ""},
		{"typ JWT", "JWT"},
	}
	for _, k := range types {
		It("answers a valid F-PKJ assertion with "+k.what+" with a token",
			jwtAuthLabels("C-10070-4-b"), func(ctx SpecContext) {
				c := needPKJ()
				a := c.newAssertion(acceptedAudience(ctx, atToken))
				if k.typ != "" {
					a.Header[jose.HeaderType] = k.typ
				}
				res := postAssertion(ctx, assertionRequest{Note: "an assertion with " + k.what, JWT: signed(a)})
				expectAssertionAccepted(res, "C-10070-4-b", "a valid assertion with "+k.what)
			}, jwtSpecTimeout(1))
	}
})

// needIssuer is the issuer identifier as published, or a skip.
func needIssuer() string {
	GinkgoHelper()
	issuer := publishedIssuer()
	if issuer == "" {
		judge.Skip("the provider's issuer identifier is not known: give --issuer")
	}
	return issuer
}
