package suite

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9449 §7: a DPoP-bound access token at the resource server that requires DPoP (F-RS-DPOP,
// --dpop-resource-path). The bound token comes from the authorization server (dpopBoundToken);
// one that declines binding leaves these specs not judged. Every proof is made for the exact URL
// the suite requests (htm GET, htu without query, ath of the token); a nonce the resource server
// demands (§9) is supplied as a client would, except where a spec says otherwise.
var _ = Describe("RFC 9449 §7: access to a DPoP-protected resource", func() {
	// §7, §7.1 (MUST): a bound token goes in Authorization with the scheme DPoP, with a proof
	// in the DPoP header whose ath is the token's hash; the resource server serves it.
	It("serves a DPoP-bound token sent as Authorization: DPoP with a proof carrying htm, htu and ath",
		rsDPoPLabels("C-9449-7-a"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			res := dpopResourceRequest(ctx, target.DPoPResourcePath, tok.AccessToken, key, nil)
			row("C-9449-7-a").That(rsSucceeded(res), "the bound token with its proof was not served: %s", res.Status)
		}, SpecTimeout(target.specTimeout(6)))

	// RFC 9110 §11.1: an authentication scheme is case-insensitive, DPoP's as Bearer's.
	It("serves a DPoP-bound token sent with the scheme in lower case, Authorization: dpop",
		rsDPoPLabels("C-9449-7-a"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			res := rsDPoPSend(ctx, "dpop "+tok.AccessToken, tok.AccessToken, key, nil)
			row("C-9449-7-a").That(rsSucceeded(res), "the bound token sent with the scheme dpop was not served: %s", res.Status)
		}, SpecTimeout(target.specTimeout(6)))

	// §7.1 (MUST): the resource server checks that a proof came in the DPoP header, checks it
	// by §4.3 (htm, htu, iat, and ath against the token presented), and checks that its key is
	// the one the token is bound to (cnf.jkt, §6); it grants nothing unless every check passes.
	// The refusal is a 401 with a DPoP challenge. Its error is invalid_dpop_proof for a proof
	// §4.3 rejects and invalid_token for a key that does not match the binding; the other of
	// the two is the checklist's lenient case. A challenge without error is C-9449-7.1-b's.
	for _, c := range []struct {
		what string
		// code is the error §7.1 names for the fault.
		code string
		// send makes the faulty request with the bound token and the key it is bound to.
		send func(ctx context.Context, token string, key *dpopKey) *http.Response
		// stale says the fault is the proof's age, which the server's own nonce may vouch for.
		stale bool
	}{
		{"without a DPoP header", "invalid_dpop_proof", func(ctx context.Context, token string, _ *dpopKey) *http.Response {
			return send(ctx, request{Path: target.DPoPResourcePath, Note: "DPoP scheme without a proof", Authorization: "DPoP " + token})
		}, false},
		{"with a proof without ath", "invalid_dpop_proof", func(ctx context.Context, token string, key *dpopKey) *http.Response {
			return dpopResourceRequest(ctx, target.DPoPResourcePath, token, key, func(p *dpopProof) { p.drop("ath") })
		}, false},
		{"with a proof whose ath is the hash of another token", "invalid_dpop_proof", func(ctx context.Context, token string, key *dpopKey) *http.Response {
			return dpopResourceRequest(ctx, target.DPoPResourcePath, token, key, func(p *dpopProof) { p.ath(token + "-another") })
		}, false},
		{"with a proof made for the token endpoint (htm POST, htu the token endpoint)", "invalid_dpop_proof", func(ctx context.Context, token string, key *dpopKey) *http.Response {
			return dpopResourceRequest(ctx, target.DPoPResourcePath, token, key, func(p *dpopProof) {
				p.claim("htm", http.MethodPost).claim("htu", htuOf(dpopTokenURL(target.Client)))
			})
		}, false},
		// A server that keeps proofs fresh with its nonces (§4.3 item 11: "the iat claim or a
		// server managed timestamp via the nonce claim") may take an old iat that comes with
		// the nonce it has just provided: that answer is not judged (see the loop below).
		{"with a proof whose iat is an hour old", "invalid_dpop_proof", func(ctx context.Context, token string, key *dpopKey) *http.Response {
			return dpopResourceRequest(ctx, target.DPoPResourcePath, token, key, func(p *dpopProof) { p.claim("iat", time.Now().Add(-time.Hour).Unix()) })
		}, true},
		{"with a valid proof of a fresh key that does not match cnf.jkt", "invalid_token", func(ctx context.Context, token string, _ *dpopKey) *http.Response {
			return dpopResourceRequest(ctx, target.DPoPResourcePath, token, newDPoPKey(), nil)
		}, false},
	} {
		It("refuses a DPoP-bound token "+c.what+" with 401 and a DPoP challenge saying "+c.code,
			rsDPoPLabels("C-9449-7.1-a"), func(ctx SpecContext) {
				key, tok := rsDPoPSetUp(ctx)
				res := c.send(ctx, tok.AccessToken, key)
				if nonce := dpopNonceFor("rs", target.url(target.DPoPResourcePath)); c.stale && nonce != "" && rsSucceeded(res) {
					row("C-9449-7.1-a").Cannot("a bound token %s, carrying the nonce the resource server had just provided, was served: RFC 9449 §4.3 item 11 lets "+
						"the creation time be \"a server managed timestamp via the nonce claim\", so a server that keeps proofs fresh with its nonces may serve it", c.what)
					return
				}
				rsExpectDPoPRefusal(res, "a bound token "+c.what, c.code)
			}, SpecTimeout(target.specTimeout(6)))
	}

	// §7.2 (MUST): a resource server that takes both schemes rejects a DPoP-bound token sent as
	// a bearer token, with or without a proof alongside (the downgrade of giantswarm/mcp-oauth
	// #383, draft-dpop #58). F-RS-DPOP requires DPoP, so it must refuse the Bearer scheme
	// anyway; the read resource is checked too when it takes the DPoP scheme.
	It("refuses a DPoP-bound token sent as Authorization: Bearer without a proof with 401",
		rsDPoPLabels("C-9449-7.2-a"), func(ctx SpecContext) {
			_, tok := rsDPoPSetUp(ctx)
			res := send(ctx, request{Path: target.DPoPResourcePath, Note: "bound token as a bearer token", Authorization: tok.bearer()})
			rsExpectBearerDowngradeRefused(res, "the bound token sent as a bearer token")
		}, SpecTimeout(target.specTimeout(6)))

	It("refuses a DPoP-bound token sent as Authorization: Bearer with a valid proof with 401",
		rsDPoPLabels("C-9449-7.2-a"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			res := rsDPoPSend(ctx, tok.bearer(), tok.AccessToken, key, nil)
			rsExpectBearerDowngradeRefused(res, "the bound token sent as a bearer token with a valid proof")
		}, SpecTimeout(target.specTimeout(6)))

	It("refuses a DPoP-bound token sent as Authorization: Bearer to the read resource, when that resource takes the DPoP scheme",
		rsDPoPLabels("C-9449-7.2-a"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			needReadPath()
			served := dpopResourceRequest(ctx, target.ReadPath, tok.AccessToken, key, nil)
			if !rsSucceeded(served) {
				judge.Skip("the read resource does not serve the bound token with the DPoP scheme (%s), so it is not a resource that takes both schemes, which §7.2 is about", served.Status)
			}
			res := send(ctx, request{Path: target.ReadPath, Note: "bound token as a bearer token", Authorization: tok.bearer()})
			rsExpectBearerDowngradeRefused(res, "the bound token sent as a bearer token to the read resource")
		}, SpecTimeout(target.specTimeout(8)))

	// §7.1 (SHOULD): the challenge to a request without credentials uses the scheme DPoP with
	// an algs parameter (the JWS algorithms the server takes for proofs) and, as RFC 6750 §3.1
	// has it, no error information. A missing algs is the checklist's warning.
	It("challenges a request without credentials with 401, a DPoP challenge with algs, and no error",
		rsDPoPLabels("C-9449-7.1-b"), func(ctx SpecContext) {
			needCap(config.CapResourceServerDPoP)
			rsNeedDPoPPath()
			res := send(ctx, request{Path: target.DPoPResourcePath, Note: "no credentials"})
			rsExpectRefused(res, "a request without credentials")
			r := row("C-9449-7.1-b")
			r.Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized))
			c := rsRequireDPoPChallenge(res, "C-9449-7.1-b")
			rsExpectAlgs(c)
			for _, name := range []string{"error", "error_description", "error_uri"} {
				r.That(c.Count(name) == 0, "the DPoP challenge to a request without credentials carries %s: WWW-Authenticate is %q", name, rsChallengeText(res))
			}
		}, SpecTimeout(target.specTimeout(2)))

	// §7.1 (SHOULD): when a token was presented and failed, the DPoP challenge says why with an
	// error parameter, and carries algs. A made-up token in the DPoP scheme with a proof bound
	// to it needs nothing from the authorization server.
	It("challenges a made-up token sent in the DPoP scheme with a proof with 401 and a DPoP challenge with error and algs",
		rsDPoPLabels("C-9449-7.1-b"), func(ctx SpecContext) {
			needCap(config.CapResourceServerDPoP)
			rsNeedDPoPPath()
			token := rsBogusToken()
			res := dpopResourceRequest(ctx, target.DPoPResourcePath, token, newDPoPKey(), nil)
			rsExpectRefused(res, "a made-up token")
			c := rsRequireDPoPChallenge(res, "C-9449-7.1-b")
			row("C-9449-7.1-b").That(c.Count("error") > 0, "the DPoP challenge that refuses a made-up token has no error: WWW-Authenticate is %q", rsChallengeText(res))
			rsExpectAlgs(c)
		}, SpecTimeout(target.specTimeout(2)))

	// §7.2, Figure 19: a request whose token comes twice, in a Bearer and in a DPoP Authorization
	// field, gets 400 invalid_request in the RFC's example. The example is no requirement:
	// recorded.
	It("records how it answers a DPoP-bound token sent in two Authorization fields, Bearer and DPoP",
		rsDPoPLabels("C-9449-7.1-b"), func(ctx SpecContext) {
			key, tok := rsDPoPSetUp(ctx)
			u := target.url(target.DPoPResourcePath)
			res, _ := dpopSend(ctx, "rs", request{Path: target.DPoPResourcePath, Note: "Authorization twice, Bearer and DPoP",
				Header: http.Header{"Authorization": {tok.bearer(), "DPoP " + tok.AccessToken}}},
				func(nonce string) string {
					return key.proof(http.MethodGet, u).ath(tok.AccessToken).nonce(nonce).sign()
				})
			code, ok := rsDPoPErrorCode(res)
			if !ok {
				code, _ = rsErrorIndication(res) // a Bearer challenge's, or the JSON body's
			}
			switch {
			case res.StatusCode == http.StatusBadRequest && code == "invalid_request":
				row("C-9449-7.1-b").Inform("two Authorization fields (Bearer and DPoP) get 400 invalid_request, as in RFC 9449's Figure 19")
			default:
				row("C-9449-7.1-b").Inform("two Authorization fields (Bearer and DPoP) get %s with error %q; RFC 9449's Figure 19 shows 400 invalid_request", res.Status, code)
			}
		}, SpecTimeout(target.specTimeout(6)))
})

// rsDPoPLabels labels a spec of RFC 9449's resource server rows.
func rsDPoPLabels(ids ...string) Labels {
	return append(specLabels("resource", ids...), "rfc9449", "cap:rs-dpop", "cap:dpop")
}

// rsNeedDPoPPath leaves the spec not judged when the target names no F-RS-DPOP route.
func rsNeedDPoPPath() {
	if target.DPoPResourcePath == "" {
		judge.Skip("the target is declared to have a DPoP resource server but names no route that requires DPoP (F-RS-DPOP: give --dpop-resource-path)")
	}
}

// rsDPoPSetUp checks the capabilities (the resource server's, and the authorization server's
// DPoP, which gives the bound token) and returns a fresh key and a token bound to it.
func rsDPoPSetUp(ctx context.Context) (*dpopKey, issuedToken) {
	GinkgoHelper()
	needCap(config.CapResourceServerDPoP)
	needCap(config.CapDPoP)
	rsNeedDPoPPath()
	key := newDPoPKey()
	tok := dpopBoundToken(ctx, target.Client, key)
	redactor.add(tok.AccessToken)
	return key, tok
}

// rsDPoPSend GETs F-RS-DPOP with this Authorization value and a proof of key bound to token,
// which edit may change; an RS nonce is handled as dpopSend does.
func rsDPoPSend(ctx context.Context, authorization, token string, key *dpopKey, edit func(*dpopProof)) *http.Response {
	GinkgoHelper()
	return dpopResourceSend(ctx, target.DPoPResourcePath, authorization, token, key, edit)
}

// rsChallengeText is a response's WWW-Authenticate fields, joined.
func rsChallengeText(res *http.Response) string {
	return strings.Join(res.Header.Values("WWW-Authenticate"), ", ")
}

// rsDPoPChallenge returns the DPoP challenge of a response, if it has a well-formed one.
func rsDPoPChallenge(res *http.Response) (httpauth.Challenge, bool) {
	cs, err := challengesOf(res)
	if err != nil {
		return httpauth.Challenge{}, false
	}
	return httpauth.Find(cs, "DPoP")
}

// rsDPoPErrorCode is the error parameter of a response's DPoP challenge.
func rsDPoPErrorCode(res *http.Response) (string, bool) {
	c, ok := rsDPoPChallenge(res)
	if !ok {
		return "", false
	}
	return c.Param("error")
}

// rsRequireDPoPChallenge judges for the row that a refusal carries a well-formed DPoP
// challenge (§7.1: "the scheme name is DPoP"), and stops the spec when it does not.
func rsRequireDPoPChallenge(res *http.Response, id string) httpauth.Challenge {
	GinkgoHelper()
	c, ok := rsDPoPChallenge(res)
	why := "there is no DPoP challenge in it"
	if _, err := challengesOf(res); err != nil {
		why = "it is malformed: " + err.Error()
	}
	row(id).RequireThat(ok, "the refusal (%s) has no well-formed DPoP challenge: WWW-Authenticate is %q, and %s", res.Status, rsChallengeText(res), why)
	return c
}

// rsAlgsSyntax is an algs parameter: JWS alg names separated by single spaces (RFC 9449 §7.1).
var rsAlgsSyntax = regexp.MustCompile(`^[\x21-\x7E]+( [\x21-\x7E]+)*$`)

// rsExpectAlgs judges that a DPoP challenge carries algs, a space-delimited list of JWS alg
// names (§7.1, SHOULD: C-9449-7.1-b).
func rsExpectAlgs(c httpauth.Challenge) {
	GinkgoHelper()
	algs, ok := c.Param("algs")
	if !row("C-9449-7.1-b").That(ok, "the DPoP challenge has no algs parameter naming the JWS algorithms taken for proofs") {
		return
	}
	row("C-9449-7.1-b").Expect(algs).To(MatchRegexp(rsAlgsSyntax.String()), "algs is not a space-delimited list of JWS alg names")
}

// rsExpectDPoPRefusal judges a request that broke one of §7.1's checks (C-9449-7.1-a): it is
// not served, the refusal is 401 with a DPoP challenge, and the challenge's error, if it has
// one, is code; invalid_token and invalid_dpop_proof swapped, or another code, is the row's
// lenient case. A stale proof may also be refused with use_dpop_nonce: a server that keeps
// proofs fresh with its nonces (§4.3 item 11) asks for one.
func rsExpectDPoPRefusal(res *http.Response, what, code string) {
	GinkgoHelper()
	r := row("C-9449-7.1-a")
	r.RequireThat(!rsSucceeded(res), "%s was served: %s", what, res.Status)
	r.Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "%s must be refused with 401 and a DPoP challenge", what)
	c := rsRequireDPoPChallenge(res, "C-9449-7.1-a")
	got, ok := c.Param("error")
	if !ok {
		return // a challenge without error is C-9449-7.1-b's to report
	}
	if got == code || got == "use_dpop_nonce" && code == "invalid_dpop_proof" {
		// A proof the server asks a (new) nonce for is refused as a proof.
		r.That(true, "")
		return
	}
	r.Lenient().That(false, "%s was refused with error=%q in the DPoP challenge, where RFC 9449 §7.1 gives %s", what, got, code)
}

// rsExpectBearerDowngradeRefused judges a DPoP-bound token presented as a bearer token
// (C-9449-7.2-a): not served, 401.
func rsExpectBearerDowngradeRefused(res *http.Response, what string) {
	GinkgoHelper()
	r := row("C-9449-7.2-a")
	r.RequireThat(!rsSucceeded(res), "%s was served: %s", what, res.Status)
	r.Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "%s must be refused with 401", what)
}
