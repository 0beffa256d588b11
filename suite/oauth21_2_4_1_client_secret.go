package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// OAuth 2.1 §2.4.1: client secrets (checklist 2.G; see oauth21_1_5_communication_security.go).
var _ = Describe("OAuth 2.1: client authentication (§2.4.1)", func() {
	// §2.4.1 (MUST): the authorization server supports client_id and client_secret in the
	// request body (client_secret_post) for clients that were issued a secret; RFC 6749 §2.3.1
	// only allowed it. The main client, if it has a secret, sends them there, and no
	// Authorization header.
	It("issues a token to client_id and client_secret sent in the form body, with no Authorization header",
		oauth21Labels("token", "C-21-2.4.1-a"), func(ctx SpecContext) {
			needProfile("C-21-2.4.1-a")
			needTokenPath()
			c := oauth21SecretClient()
			res := postToken(ctx, "client_secret_post", "", form("scope", askedScope(), "client_id", c.ID, "client_secret", c.Secret))
			_, why := parseTokenResponse(res)
			row("C-21-2.4.1-a").That(why == "", "client credentials in the request body were not accepted: %s", why)
		}, SpecTimeout(target.specTimeout(1)))

	// §2.4.1 (MAY): HTTP Basic becomes optional (oauth-wg/oauth-v2-1 #128). The suite records
	// whether it works; RFC 6749's encoding rules for it (C-6749-2.3.1-b) still apply where it
	// does.
	It("records whether client_id and client_secret in HTTP Basic are accepted",
		oauth21Labels("token", "C-21-2.4.1-b"), func(ctx SpecContext) {
			needProfile("C-21-2.4.1-b")
			needTokenPath()
			c := oauth21SecretClient()
			res := postToken(ctx, "client_secret_basic", c.basic(), form("scope", askedScope()))
			if _, why := parseTokenResponse(res); why != "" {
				row("C-21-2.4.1-b").Inform("the provider does not take client credentials in HTTP Basic: %s", why)
				return
			}
			row("C-21-2.4.1-b").Inform("the provider takes client credentials in HTTP Basic")
		}, SpecTimeout(target.specTimeout(1)))
})

// oauth21SecretClient is a client that was issued a secret: the main client, or else the
// second fixture client; the spec is not judged without one.
func oauth21SecretClient() Credentials {
	GinkgoHelper()
	c := target.Client
	if c.Secret != "" && !c.usesAssertion() && c.AuthMethod != config.AuthNone {
		return c
	}
	if s := target.Clients.Second; s != nil && s.Secret != "" && !s.usesAssertion() {
		return *s
	}
	judge.Skip("neither the main client nor the second fixture client authenticates with a client secret")
	return Credentials{}
}
