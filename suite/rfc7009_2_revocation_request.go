package suite

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 7009 §2 and §2.1: the revocation endpoint and the revocation request. Every spec that
// revokes a token revokes a fresh one of its own (revocableToken), and tells whether it still
// works through introspection and the resource server (tokenChecks), never by validating a
// JWT itself: a revoked self-contained token still verifies against the provider's keys.
var _ = Describe("RFC 7009 §2: token revocation", func() {
	labels := func(ids ...string) Labels { return append(specLabels("revocation", ids...), "cap:revocation") }

	// §2 (MUST, on the client): revocation requests carry client credentials, so the
	// endpoint's URL must be an https URL. The checklist derives the provider's side (kind R):
	// the URL it publishes or the target names is https. A plain http:// target is not judged.
	It("names an https:// revocation endpoint", labels("C-7009-2-a"), func() {
		needCap(config.CapRevocation)
		expectHTTPSEndpoint("C-7009-2-a", target.RevocationPath, "revocation")
	})

	// §2 (SHOULD) and §2.1: a server should support revoking access tokens, and a revocation
	// takes effect at once (give or take propagation, --revocation-window). A server that does
	// not revoke access tokens answers unsupported_token_type (§2.2.1, MUST), in the §5.2 shape.
	It("revokes a fresh access token with 200, after which introspection and the resource server refuse it within the revocation window",
		labels("C-7009-2-b", "C-7009-2.2.1-a"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			tok := revocableToken(ctx, target.Client)
			expectAccessTokenRevoked(ctx, tok, needTokenChecks(tok))
		}, SpecTimeout(revocationSpecTimeout(1)))

	// The same for a token asked for resource R1 (RFC 8707): the JWT access token of providers
	// that issue JWTs only for a resource, as the reference and oidc-provider do. It is judged
	// through introspection, and through R1's route unless that validates JWTs locally.
	It("revokes a fresh access token asked for resource R1 with 200, after which introspection and R1's route refuse it within the revocation window",
		append(labels("C-7009-2-b", "C-7009-2.2.1-a"), "cap:resource-indicators"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			r := resourceIndicator(0, false)
			tok := revocableTokenFor(ctx, target.Client, r.Resource)
			expectAccessTokenRevoked(ctx, tok, needTokenChecksAt(tok, r.Path))
		}, SpecTimeout(revocationSpecTimeout(1)))

	// §2 (MUST): a server must support revoking refresh tokens. A client credentials response
	// should carry none (RFC 6749 §4.4.3), so the spec runs only when the provider issued one:
	// its revocation gets 200, and the refresh token gets no access token afterwards.
	It("revokes a refresh token issued with a client credentials token with 200, after which the refresh grant refuses it",
		labels("C-7009-2-c"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			tok := revocableToken(ctx, target.Client)
			refresh, _ := tok.Members["refresh_token"].(string)
			if refresh == "" {
				judge.Skip("the provider issued no refresh token with a client credentials access token (RFC 6749 §4.4.3: it should not), so there is none to revoke")
			}
			res := revoke(ctx, target.Client, "revoke the refresh token", tokenForm(refresh, "refresh_token"))
			row("C-7009-2-c").Require(res).To(HaveHTTPStatus(http.StatusOK), "the revocation of a refresh token")
			By(fmt.Sprintf("waiting up to %s for the revoked refresh token to stop working", target.RevocationWindow))
			deadline := time.Now().Add(target.RevocationWindow)
			for {
				authorization, body := target.Client.authenticate(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
				res = postToken(ctx, "refresh grant with the revoked refresh token", authorization, body)
				if !tokenGranted(res) || time.Now().After(deadline) {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
			}
			row("C-7009-2-c").That(!tokenGranted(res), "the revoked refresh token still got an access token %s after its revocation", target.RevocationWindow)
		}, SpecTimeout(revocationSpecTimeout(1)))

	// §2.1 (MUST): the request is a form-encoded POST whose token parameter is required; a
	// request without it is invalid_request (RFC 6749 §5.2), in the §5.2 shape (§2.2.1).
	It("answers a revocation request without token with 400 invalid_request",
		labels("C-7009-2.1-a", "C-7009-2.2.1-a"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			res := revoke(ctx, target.Client, "revoke, no token", url.Values{})
			row("C-7009-2.1-a").Require(res.StatusCode).To(BeNumerically(">=", 400), "a request without the required token must be refused, but it got %s", res.Status)
			row("C-7009-2.1-a").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest))
			code := expectEndpointError(res, "C-7009-2.2.1-a")
			row("C-7009-2.1-a").Expect(code).To(Equal("invalid_request"), "the error for a missing required parameter")
		}, SpecTimeout(target.specTimeout(2)))

	// §2.1 (MUST): the server validates the client's credentials first, and refuses a request
	// whose validation fails with an error (§2.2.1: RFC 6749 §5.2's invalid_client, 400 or
	// 401); the token stays valid. ts-oauth2-server and authlib answered 200 here once.
	for _, c := range []struct {
		what          string
		authorization func() string
	}{
		{"no client credentials", func() string { return "" }},
		{"an unknown client's HTTP Basic credentials", unregisteredClientBasic},
	} {
		It("refuses to revoke a valid token for a request with "+c.what+" with invalid_client, and the token still works",
			labels("C-7009-2.1-b", "C-7009-2.2.1-a"), func(ctx SpecContext) {
				needCap(config.CapRevocation)
				res, fates := survivesRevocationAttempt(ctx, false, func(tok issuedToken) *http.Response {
					return revokeWith(ctx, c.authorization(), "revoke with "+c.what, tokenForm(tok.AccessToken, ""))
				})
				row("C-7009-2.1-b").Require(res.StatusCode).To(BeElementOf(http.StatusBadRequest, http.StatusUnauthorized),
					"a request with %s must be refused with 400 or 401, but it got %s", c.what, res.Status)
				code := expectEndpointError(res, "C-7009-2.2.1-a")
				row("C-7009-2.1-b").Expect(code).To(Equal("invalid_client"), "the error for a failed client authentication")
				expectStillWorks("C-7009-2.1-b", "a revocation request with "+c.what, fates)
			}, SpecTimeout(target.specTimeout(6)))
	}

	// §2.1 (MUST): the server revokes only tokens it issued to the requesting client. When a
	// second client asks to revoke the first one's token, the token must still work; §2.2 is
	// ambiguous about the answer (200 for an invalid token, or the refusal of §2.1), so both
	// are accepted.
	It("leaves a client's access token working when another client asks to revoke it (answered 200 or an error)",
		labels("C-7009-2.1-c"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			if target.Clients.Second == nil {
				judge.Skip("this spec needs a second client (clients.second in the target description), and none is declared")
			}
			res, fates := survivesRevocationAttempt(ctx, true, func(tok issuedToken) *http.Response {
				return revoke(ctx, *target.Clients.Second, "the second client revokes the first client's token", tokenForm(tok.AccessToken, ""))
			})
			By(fmt.Sprintf("the second client's revocation got %s (RFC 7009 §2.2 allows 200 or an error)", res.Status))
			expectStillWorks("C-7009-2.1-c", "another client asked to revoke it", fates)
		}, SpecTimeout(target.specTimeout(6)))

	// §2.1 (MUST): token_type_hint is optional and may be ignored; a server that does not find
	// the token under the hint searches all its token types. An access token sent with
	// token_type_hint=refresh_token is revoked all the same. A provider that revokes no access
	// token at all is C-7009-2-b's finding, and this spec is then blocked by it.
	It("revokes an access token sent with token_type_hint=refresh_token with 200, and the token stops working",
		labels("C-7009-2.1-d"), func(ctx SpecContext) {
			needCap(config.CapRevocation)
			expectRevokedWithHint(ctx, "C-7009-2.1-d", "refresh_token")
		}, SpecTimeout(revocationSpecTimeout(2)))
})

// expectRevokedWithHint revokes a fresh access token with the token_type_hint and judges, for
// the row id, that the answer is 200 and the token stops working; a provider that revokes no
// access token at all blocks the spec by C-7009-2-b.
func expectRevokedWithHint(ctx SpecContext, id, hint string) {
	GinkgoHelper()
	tok := revocableToken(ctx, target.Client)
	checks := workingChecks(ctx, tok, needTokenChecks(tok))
	res := revoke(ctx, target.Client, "revoke an access token, token_type_hint="+hint, tokenForm(tok.AccessToken, hint))
	var fates []tokenFate
	if res.StatusCode == http.StatusOK {
		fates = awaitRevoked(ctx, tok, checks)
	}
	if res.StatusCode != http.StatusOK || !revokedEverywhere(fates) {
		blockUnlessAccessTokensRevoke(ctx)
	}
	row(id).Require(res).To(HaveHTTPStatus(http.StatusOK), "the revocation of an access token with token_type_hint="+hint)
	expectRevoked(id, fates)
}

// expectAccessTokenRevoked revokes the access token as the default client and judges that the
// answer is 200 and the token stops working within the revocation window (C-7009-2-b), and that
// a refusal is in RFC 6749 §5.2's shape with unsupported_token_type (C-7009-2.2.1-a); a refusal
// that names the client (invalid_client, unauthorized_client) is judged only for its shape.
func expectAccessTokenRevoked(ctx SpecContext, tok issuedToken, checks []tokenCheck) {
	GinkgoHelper()
	checks = workingChecks(ctx, tok, checks)
	res := revoke(ctx, target.Client, "revoke an access token", tokenForm(tok.AccessToken, ""))
	if res.StatusCode >= 400 && res.StatusCode < 500 {
		code := expectEndpointError(res, "C-7009-2.2.1-a")
		if res.StatusCode == http.StatusBadRequest && code != "invalid_client" && code != "unauthorized_client" {
			row("C-7009-2.2.1-a").Expect(code).To(Equal("unsupported_token_type"),
				"the error for a valid request to revoke a token type the server does not revoke (RFC 7009 §2.2.1)")
		}
	}
	// Expect, not Require: a warning that stops the spec would hide a failure above.
	if !row("C-7009-2-b").Expect(res).To(HaveHTTPStatus(http.StatusOK), "the revocation of an access token") {
		return
	}
	expectRevoked("C-7009-2-b", awaitRevoked(ctx, tok, checks))
}
