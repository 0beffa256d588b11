package suite

import (
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// OAuth 2.1 §5.1: resource requests (checklist 2.G).
var _ = Describe("OAuth 2.1: resource requests (§5.1)", func() {
	// §5.1 (MUST): clients do not send access tokens in the URI query, and resource servers
	// ignore them there. A valid token only in the query is then no token at all: 401 with a
	// Bearer challenge and no error code (RFC 6750 §3.1, OAuth 2.1 §5.3). A valid token refused
	// as invalid_token was perhaps revoked by another process's request: a fresh one is tried
	// once (rsServedWithFreshTokenRetry); a refusal that still names an error shows the query
	// was read.
	It("treats a valid token sent only as access_token in the query as no token: 401, a Bearer challenge, no error",
		oauth21Labels("resource", "C-21-5.1-a"), func(ctx SpecContext) {
			needProfile("C-21-5.1-a")
			issue := func() issuedToken { return rsReadToken(ctx) }
			res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return send(ctx, request{Path: target.ReadPath, Note: "token in the query only",
					Query: url.Values{"access_token": {t.AccessToken}}})
			})
			r := row("C-21-5.1-a")
			if rsSucceeded(res) {
				rsNeedProtectedReadPath(ctx)
			}
			r.RequireThat(!rsSucceeded(res), "a token in the URI query was accepted (%s)", res.Status)
			rsBearerChallenges(res)
			r.Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "a request whose only token is in the query has no token")
			r.Expect(res).To(HaveBearerChallengeWithout("error"), "a request whose only token is in the query has no token, so no error")
		}, SpecTimeout(target.specTimeout(5)))

	// §5.1 (MUST), the same rule with a token in the header too: the query's is ignored, so the
	// header's valid token is served even with a made-up one in the query; and a valid token
	// in the query does not stand in for a made-up one in the header. A 400 invalid_request
	// (RFC 6750 §3.1's answer to a token sent two ways) reads the query, which §5.1 forbids.
	// A header token refused even alone is C-6750-2.1-a's failure, not this one.
	It("serves a valid header token sent with a made-up access_token in the query, and ignores a valid one in the query",
		oauth21Labels("resource", "C-21-5.1-a"), func(ctx SpecContext) {
			needProfile("C-21-5.1-a")
			issue := func() issuedToken { return rsReadToken(ctx) }
			bogus := rsBogusToken()
			res, tok := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return send(ctx, request{Path: target.ReadPath, Note: "valid token in the header, made-up token in the query",
					Query: url.Values{"access_token": {bogus}}, Authorization: t.bearer()})
			})
			r := row("C-21-5.1-a")
			if !rsSucceeded(res) {
				alone, _ := rsServedWithFreshTokenRetry(tok, issue, func(t issuedToken) *http.Response {
					return getResource(ctx, "the header's token alone", t.bearer())
				})
				if !rsSucceeded(alone) {
					judge.Block("C-6750-2.1-a", "the header's valid token is not served even alone (%s)", alone.Status)
				}
				code, _ := rsErrorIndication(res)
				r.That(false, "with a valid token in the header and a made-up one in the query the request was refused (%s, error %q), though the header's token alone is served: "+
					"the resource server must ignore the query's access_token", res.Status, code)
				return
			}
			By("checking that a valid token in the query does not stand in for a made-up one in the header")
			swapped := send(ctx, request{Path: target.ReadPath, Note: "made-up token in the header, valid token in the query",
				Query: url.Values{"access_token": {tok.AccessToken}}, Authorization: "Bearer " + rsBogusToken()})
			r.That(!rsSucceeded(swapped), "with a made-up token in the header and a valid one in the query the request was served (%s): the query's token is used, not ignored", swapped.Status)
		}, SpecTimeout(target.specTimeout(6)))
})
