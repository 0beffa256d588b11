package suite

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
)

// RFC 9449 §9: the nonces a resource server may demand of its own.
var _ = Describe("RFC 9449 §9: resource server-provided nonces", func() {
	// §9 (MAY): a resource server may demand a nonce of its own: 401, a DPoP challenge with
	// error="use_dpop_nonce", and one DPoP-Nonce header (§8, §8.1: 1*NQCHAR). Whether it does is
	// recorded; when it does, a retry with a fresh proof carrying that nonce is served, or the
	// nonce it asked for leads nowhere (a warning: the checklist's "a retry with the nonce →
	// 2xx").
	It("records whether it demands a nonce of its own, and serves a retry whose proof carries it",
		rsDPoPLabels("C-9449-9-a"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			u := target.url(target.DPoPResourcePath)
			first := send(ctx, request{Path: target.DPoPResourcePath, Note: "proof without a nonce", Authorization: "DPoP " + tok.AccessToken,
				Header: http.Header{"DPoP": {key.proof(http.MethodGet, u).ath(tok.AccessToken).sign()}}})
			r := row("C-9449-9-a")
			if rsSucceeded(first) {
				r.Inform("the resource server served a proof without a nonce: it demands no nonce of its own")
				return
			}
			if code, _ := rsDPoPErrorCode(first); code != "use_dpop_nonce" {
				r.Inform("the resource server refused a proof without a nonce (%s) but did not ask for one (DPoP challenge error %q)", first.Status, code)
				return
			}
			nonces := first.Header.Values("DPoP-Nonce")
			r.RequireThat(len(nonces) == 1, "the resource server asked for a nonce (use_dpop_nonce) with %d DPoP-Nonce headers, where there is exactly one", len(nonces))
			r.RequireThat(nqchars.MatchString(nonces[0]), "the DPoP-Nonce %q is not 1*NQCHAR (RFC 9449 §8.1)", nonces[0])
			rememberDPoPNonce("rs", u, first)
			retry := send(ctx, request{Path: target.DPoPResourcePath, Note: "proof with the resource server's nonce", Authorization: "DPoP " + tok.AccessToken,
				Header: http.Header{"DPoP": {key.proof(http.MethodGet, u).ath(tok.AccessToken).nonce(nonces[0]).sign()}}})
			rememberDPoPNonce("rs", u, retry)
			r.That(rsSucceeded(retry), "a fresh proof carrying the nonce the resource server had just supplied was not served: %s", retry.Status)
			r.Inform("the resource server demands nonces of its own (use_dpop_nonce with DPoP-Nonce), and serves a proof that carries one")
		}, SpecTimeout(target.specTimeout(6)))

	// §9 and §8: nonces are only accepted by the server that issued them, so one the
	// authorization server supplied need not work at the resource server: recorded.
	It("records what it does with a proof carrying the authorization server's nonce",
		rsDPoPLabels("C-9449-9-a"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			asNonce := dpopNonceFor("as", dpopTokenURL(target.Client))
			if asNonce == "" {
				row("C-9449-9-a").Inform("the authorization server demanded no nonce, so none could be presented to the resource server")
				return
			}
			u := target.url(target.DPoPResourcePath)
			res := send(ctx, request{Path: target.DPoPResourcePath, Note: "proof with the authorization server's nonce", Authorization: "DPoP " + tok.AccessToken,
				Header: http.Header{"DPoP": {key.proof(http.MethodGet, u).ath(tok.AccessToken).nonce(asNonce).sign()}}})
			rememberDPoPNonce("rs", u, res)
			code, _ := rsDPoPErrorCode(res)
			row("C-9449-9-a").Inform("a proof carrying the authorization server's nonce got %s at the resource server (DPoP challenge error %q); RFC 9449 does not require it to work", res.Status, code)
		}, SpecTimeout(target.specTimeout(6)))
})
