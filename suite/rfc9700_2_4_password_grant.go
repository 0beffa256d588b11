package suite

import (
	"net/url"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// RFC 9700 §2.4: the resource owner password credentials grant.
var _ = Describe("RFC 9700 §2.4: the resource owner password credentials grant", func() {
	// §2.4 (MUST NOT, on the client): the password grant must not be used. The checklist
	// derives the server's side (kind R): it does not offer the grant, so a client asking for it
	// gets no token. RFC 6749 §5.2 has two codes for that: unsupported_grant_type (the server
	// does not support the grant type) and unauthorized_client (this client may not use it).
	// invalid_grant is not one of them: §5.2 gives it for resource owner credentials that are
	// invalid, so it says the server evaluated the dummy user's password, that is, offers the
	// grant to this client. The client's own valid Basic credentials go with the request, so
	// that nothing else is wrong with it.
	//
	// The row belongs to the security BCP's rules (checklist 2.F), which only --profile=bcp
	// judges; under any other profile the spec is skipped before it sends anything, since the
	// row is not in that profile's results and a password grant request should not be sent to a
	// provider that is not being judged by the BCP.
	It("answers grant_type=password with dummy resource owner credentials (valid HTTP Basic client credentials) with no token and unsupported_grant_type or unauthorized_client",
		specLabels("token", "C-9700-2.4-a"), func(ctx SpecContext) {
			if p := judge.Current().Profile; !p.Has(registry.BCP) {
				judge.Skip("C-9700-2.4-a is a rule of the security BCP (RFC 9700), judged only under --profile=bcp, not %s", p)
			}
			needTokenPath()
			res := postToken(ctx, "password grant, dummy resource owner", target.Client.basic(), url.Values{
				"grant_type": {"password"},
				"username":   {"ccconform-dummy-user"},
				"password":   {"ccconform-dummy-password"},
				"scope":      {askedScope()},
			})
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectTokenError(res, "C-9700-2.4-a", "unsupported_grant_type", "unauthorized_client")
		}, SpecTimeout(target.specTimeout(2)))
})
