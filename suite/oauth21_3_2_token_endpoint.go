package suite

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// OAuth 2.1 §3.2: the token endpoint (checklist 2.G).
var _ = Describe("OAuth 2.1: the token endpoint (§3.2, §3.2.3)", func() {
	// §3.2 (MUST): a parameter is not sent twice, extensions' parameters included unless the
	// extension says otherwise (RFC 8707 lets resource repeat); the server calls such a request
	// invalid_request (§3.2.4). Some extensions' parameters are multi-valued by design (an
	// audience parameter), so only those the target declares single-valued are tried: each sent
	// once, then twice. When the provider refuses it even once, the value the suite makes up
	// is what it refuses, and the repeat says nothing.
	It("answers a repeated extension parameter that the target declares single-valued with invalid_request",
		oauth21Labels("token", "C-21-3.2-a"), func(ctx SpecContext) {
			needProfile("C-21-3.2-a")
			needTokenPath()
			r := row("C-21-3.2-a")
			if len(target.SingleValuedParameters) == 0 {
				r.Inform("no extension parameter is declared single-valued (--single-valued-parameters), so none is repeated: extensions may define multi-valued ones")
				return
			}
			for _, name := range target.SingleValuedParameters {
				value := "ccconform-" + name
				authorization, once := target.Client.authenticate(validForm(name, value))
				By("sending " + name + " once")
				first := postToken(ctx, name+" once", authorization, once)
				if _, why := parseTokenResponse(first); why != "" {
					r.Cannot("%s=%s sent once is refused already (%s), so a refusal of the repeat would say nothing", name, value, why)
					continue
				}
				By("sending " + name + " twice")
				authorization, twice := target.Client.authenticate(validForm(name, value))
				twice[name] = []string{value, value}
				res := postToken(ctx, name+" twice", authorization, twice)
				expectNoToken(res, "C-21-3.2-a")
				code := expectErrorShape(res)
				r.Expect(code).To(Equal("invalid_request"), fmt.Sprintf("the error code for %s sent twice", name))
			}
		}, SpecTimeout(target.specTimeout(6)))

	// §3.2.3 (MUST): a response with a token carries Cache-Control: no-store (RFC 9111 §5.2);
	// Pragma is no longer asked for (C-6749-5.1-h is information under this profile).
	It("answers a token request with Cache-Control: no-store",
		oauth21Labels("token", "C-21-3.2.3-a"), func(ctx SpecContext) {
			needProfile("C-21-3.2.3-a")
			needTokenPath()
			authorization, body := target.Client.authenticate(validForm())
			res := postToken(ctx, "get a token", authorization, body)
			if _, why := parseTokenResponse(res); why != "" {
				judge.Block("C-6749-4.4.3-a", "no token could be obtained: %s", why)
			}
			row("C-21-3.2.3-a").Expect(res).To(HaveCacheDirective("no-store"))
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2.3 (RECOMMENDED when the scope granted is the one asked for, REQUIRED otherwise):
	// scope is in the token response; RFC 6749 §5.1 left it optional in the first case.
	It("names the scope in a token response that grants the scope asked for",
		oauth21Labels("token", "C-21-3.2.3-b"), func(ctx SpecContext) {
			needProfile("C-21-3.2.3-b")
			tok := issueToken(ctx, target.Client, askedScope())
			row("C-21-3.2.3-b").That(tok.HasScope, "the token response for scope=%s has no scope member", askedScope())
		}, SpecTimeout(target.specTimeout(1)))

	// §4.2 and §3.2.3 (MAY): the client credentials grant no longer says a refresh token should
	// not be issued; that is left to the server's policy (C-6749-4.4.3-b is information under
	// this profile). The suite records what the provider does.
	It("records whether a client credentials token response carries a refresh token",
		oauth21Labels("token", "C-21-4.2-a"), func(ctx SpecContext) {
			needProfile("C-21-4.2-a")
			tok := issueToken(ctx, target.Client, askedScope())
			if _, ok := tok.Members["refresh_token"]; ok {
				row("C-21-4.2-a").Inform("the provider issues a refresh token with client credentials")
				return
			}
			row("C-21-4.2-a").Inform("the provider issues no refresh token with client credentials")
		}, SpecTimeout(target.specTimeout(1)))
})
