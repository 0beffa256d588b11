package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9449 §4.3 and §11.1: how the authorization server checks the DPoP proof of a token
// request. Each negative sends the main client's credentials with a proof of a fresh key, with
// a fresh jti, that is wrong in one way, after a valid proof of another fresh key showed that
// the provider binds tokens (needDPoPBinding): a provider that declines binding (token_type
// Bearer, which §5 allows) is not judged on the proofs it refuses. A refusal is no token for
// the case's row, and, under C-9449-5-b, 400 invalid_dpop_proof in RFC 6749 §5.2's shape.
var _ = Describe("RFC 9449 §4.3: the token endpoint checks the DPoP proof", func() {
	// §4.2, §4.3 items 4-7, §11.5-11.6 (MUST): typ is dpop+jwt; alg is asymmetric (never none,
	// never a MAC); jwk is a public key, and the one that verifies the signature.
	refuseProofs("C-9449-4.3-a", false, []proofCase{
		{"a proof typed JWT instead of dpop+jwt", func(p *dpopProof) { p.header("typ", "JWT") }},
		{"an unsigned proof (alg none)", func(p *dpopProof) { p.unsignedAlgNone() }},
		{"a proof MACed with HS256", func(p *dpopProof) { p.macHS256() }},
		{"a proof without jwk", func(p *dpopProof) { p.dropHeader("jwk") }},
		{"a proof whose jwk includes the private key (d)", func(p *dpopProof) { p.withPrivateJWK() }},
		{"a proof whose jwk is one fresh key and whose signature another's", func(p *dpopProof) { p.by(newDPoPKey()) }},
	})

	// §4.3 item 5 (MUST): the alg is one the server supports. An asymmetric algorithm that
	// dpop_signing_alg_values_supported does not list, yet accepted, is the checklist's lenient
	// case (a warning; --strict fails it).
	It("answers a proof signed with an asymmetric algorithm the provider does not advertise with no token and invalid_dpop_proof",
		dpopASLabels("token", "C-9449-4.3-a", "C-9449-5-b"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			advertised := dpopAlgs()
			if len(advertised) == 0 {
				judge.Skip("the provider advertises no dpop_signing_alg_values_supported, so no algorithm is known to be unsupported")
			}
			i := slices.IndexFunc(dpopUnadvertisedCandidates, func(a jose.SignatureAlgorithm) bool { return !slices.Contains(advertised, string(a)) })
			if i < 0 {
				judge.Skip("the provider advertises every asymmetric algorithm the suite can sign with (%s)", strings.Join(advertised, " "))
			}
			alg := dpopUnadvertisedCandidates[i]
			key, err := newDPoPKeyFor(alg)
			Expect(err).NotTo(HaveOccurred(), "making a %s key", alg)
			what := fmt.Sprintf("a proof signed with %s (dpop_signing_alg_values_supported: %s)", alg, strings.Join(advertised, " "))
			res := dpopTokenRequest(ctx, target.Client, key, nil)
			if !row("C-9449-4.3-a").Lenient().That(!proofGotToken(res), "%s got a token", what) {
				return
			}
			expectProofRefused(res, "C-9449-4.3-a", what, false)
		}, SpecTimeout(target.specTimeout(4)))

	// §4.2, §4.3 items 3, 8, 9 (MUST): jti, htm, htu and iat are required; htm is the request's
	// method and htu its URL (the token endpoint the metadata names, exactly): the issuer's URL,
	// another host or another path are other URLs.
	refuseProofs("C-9449-4.3-b", false, []proofCase{
		{"a proof without jti", func(p *dpopProof) { p.drop("jti") }},
		{"a proof without htm", func(p *dpopProof) { p.drop("htm") }},
		{"a proof without htu", func(p *dpopProof) { p.drop("htu") }},
		{"a proof without iat", func(p *dpopProof) { p.drop("iat") }},
		{"a proof whose htm is GET", func(p *dpopProof) { p.claim("htm", http.MethodGet) }},
		{"a proof whose htu is the issuer's URL", func(p *dpopProof) {
			issuer := htuOf(publishedIssuer())
			if issuer == "" || issuer == p.claims["htu"] {
				judge.Skip("the issuer's URL (%q) is the token endpoint's, so it is no other URL", issuer)
			}
			p.claim("htu", issuer)
		}},
		{"a proof whose htu names another host (dpop.invalid)", func(p *dpopProof) {
			p.claim("htu", withURL(p.claims["htu"].(string), func(u *url.URL) { u.Host = "dpop.invalid" }))
		}},
		{"a proof whose htu has another path", func(p *dpopProof) {
			p.claim("htu", withURL(p.claims["htu"].(string), func(u *url.URL) { u.Path = strings.TrimRight(u.Path, "/") + "/ccconform-elsewhere" }))
		}},
	})

	// §4.1, §4.3 items 1-2 (MUST): exactly one DPoP header, holding one JWT in compact
	// serialization: two header fields (each a valid proof), the JWS JSON serialization of a
	// valid proof, and two valid proofs in one field joined by a comma are each refused.
	refuseHeaders("C-9449-4.3-c", []headerCase{
		{"two DPoP header fields, each a valid proof of its own fresh key", func(nonce string) []string {
			return []string{validProof(nonce), validProof(nonce)}
		}},
		{"a DPoP header holding a valid proof in the JWS JSON serialization", func(nonce string) []string {
			return []string{flattenedJSON(validProof(nonce))}
		}},
		{`a DPoP header holding two valid proofs joined by ", "`, func(nonce string) []string {
			return []string{validProof(nonce) + ", " + validProof(nonce)}
		}},
	})

	// §4.3 (SHOULD): htu is compared after RFC 3986 syntax- and scheme-based normalization
	// (§6.2.2, §6.2.3), so a valid proof whose htu differs only by the letter case of the scheme
	// or host, or by an explicit default port, is accepted. A refusal warns.
	It("accepts valid proofs whose htu differs from the token endpoint's URL only by the scheme's or host's letter case or an explicit default port",
		dpopASLabels("token", "C-9449-4.3-d"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			u := dpopTokenURL(target.Client)
			for _, v := range htuVariants(u) {
				By("htu " + v.what)
				res := dpopTokenRequest(ctx, target.Client, newDPoPKey(), func(p *dpopProof) { p.claim("htu", v.htu) })
				_, why := parseTokenResponse(res)
				row("C-9449-4.3-d").That(why == "", "a valid proof whose htu is %s (%s) got no token: %s\n%s",
					v.htu, v.what, refusalText(res, why), htuSideBySide(v.htu))
			}
		}, SpecTimeout(target.specTimeout(8)))

	// §4.3 item 11, §11.1 (MUST): a proof is accepted only within a short window around its
	// creation: an hour old or an hour ahead is refused, with invalid_dpop_proof, or with
	// use_dpop_nonce where the server bounds freshness with nonces (§8). The creation time is
	// "determined by either the iat claim or a server managed timestamp via the nonce claim": a
	// proof that carries a nonce the server has just provided may be taken whatever its iat, so
	// that answer is not judged (oidc-provider with nonces does so).
	refuseProofs("C-9449-11.1-a", true, []proofCase{
		{"a proof issued an hour ago (iat now-3600)", func(p *dpopProof) { p.claim("iat", time.Now().Add(-time.Hour).Unix()) }},
		{"a proof issued an hour ahead (iat now+3600)", func(p *dpopProof) { p.claim("iat", time.Now().Add(time.Hour).Unix()) }},
	})

	// §4.3 item 11, §11.1 (MUST): ... while proofs from a few seconds ago, or a few seconds ahead
	// (clock skew, which §11.1 lets servers tolerate), are accepted.
	It("accepts valid proofs issued 5 s ago and 5 s ahead",
		dpopASLabels("token", "C-9449-11.1-a"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			for _, skew := range []time.Duration{-5 * time.Second, 5 * time.Second} {
				By(fmt.Sprintf("iat now%+d s", int(skew.Seconds())))
				res := dpopTokenRequest(ctx, target.Client, newDPoPKey(), func(p *dpopProof) { p.claim("iat", time.Now().Add(skew).Unix()) })
				_, why := parseTokenResponse(res)
				row("C-9449-11.1-a").That(why == "", "a valid proof whose iat is now%+d s got no token: %s", int(skew.Seconds()), refusalText(res, why))
			}
		}, SpecTimeout(target.specTimeout(6)))

	// §11.1 (MAY): a server may refuse a proof whose jti it has seen at the same URI. The same
	// request, proof and all, is sent twice; whether the second gets a token is recorded. Serial:
	// no other spec's request may come between the two.
	It("records whether a token request sent again with the very same proof is refused",
		dpopASLabels("token", "C-9449-11.1-b"), Serial, func(ctx SpecContext) {
			needDPoPBinding(ctx)
			key, u := newDPoPKey(), dpopTokenURL(target.Client)
			var proof string
			first := sendProofs(ctx, "a valid proof, the first time", target.Client, func(nonce string) []string {
				proof = key.proof(http.MethodPost, u).nonce(nonce).sign()
				return []string{proof}
			})
			if _, why := parseTokenResponse(first); why != "" {
				judge.Block("C-9449-5-a", "a token request with a valid DPoP proof got no token: %s", refusalText(first, why))
			}
			second := postTokenWithDPoP(ctx, "the same request with the same proof again", target.Client, proof)
			if proofGotToken(second) {
				row("C-9449-11.1-b").Inform("a token request resent with the same proof (same jti, same URI) got a token: the provider does not refuse a replayed proof")
				return
			}
			row("C-9449-11.1-b").Inform("a token request resent with the same proof was refused: %s", refusalText(second, second.Status))
		}, SpecTimeout(target.specTimeout(5)))
})

// dpopASLabels labels a spec of the DPoP authorization server rows: the rows, their sections,
// the document and the capability.
func dpopASLabels(endpoint string, ids ...string) Labels {
	return append(specLabels(endpoint, ids...), "rfc9449", "cap:dpop")
}

// needDPoPBinding leaves the spec not judged unless the provider binds tokens to DPoP keys: a
// valid proof of a fresh key must get a token of type DPoP. No token at all is C-9449-5-a's to
// report; a Bearer token is the provider declining binding, which §5 allows, and then the proofs
// it refuses or lets through say nothing.
func needDPoPBinding(ctx context.Context) {
	GinkgoHelper()
	needCap(config.CapDPoP)
	needTokenPath()
	By("comparison: a valid proof of a fresh key")
	res := dpopTokenRequest(ctx, target.Client, newDPoPKey(), nil)
	tok, why := parseTokenResponse(res)
	if why != "" {
		judge.Block("C-9449-5-a", "a token request with a valid DPoP proof got no token: %s\n%s", refusalText(res, why),
			htuSideBySide(dpopTokenURL(target.Client)))
	}
	if !strings.EqualFold(tok.TokenType, "DPoP") {
		judge.Skip("the provider declines DPoP binding (token_type %q for a valid proof, which RFC 9449 §5 allows), so the proofs it refuses are not judged", tok.TokenType)
	}
}

// proofCase is one broken proof: what it is, for the It text, and the edit that breaks a valid
// proof of a fresh key for the token endpoint.
type proofCase struct {
	what string
	edit func(p *dpopProof)
}

// refuseProofs registers a spec per case: the main client's token request with the broken proof
// gets no token (row id) and 400 invalid_dpop_proof (C-9449-5-b). With nonceOK (the freshness
// cases) use_dpop_nonce is a refusal too, and a token for a proof that carried the server's own
// nonce is not judged: the nonce may stand for the creation time (§4.3 item 11).
func refuseProofs(id string, nonceOK bool, cases []proofCase) {
	codes := "invalid_dpop_proof"
	if nonceOK {
		codes += " (or use_dpop_nonce)"
	}
	for _, k := range cases {
		It("answers "+k.what+" with no token and "+codes, dpopASLabels("token", id, "C-9449-5-b"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			res := dpopTokenRequest(ctx, target.Client, newDPoPKey(), k.edit)
			if nonce := dpopNonceFor("as", dpopTokenURL(target.Client)); nonceOK && nonce != "" && proofGotToken(res) {
				row(id).Cannot("%s carried the nonce the provider had just provided, and got a token: RFC 9449 §4.3 item 11 lets the creation time be "+
					"\"a server managed timestamp via the nonce claim\", so a provider that keeps proofs fresh with its nonces may take it", k.what)
				return
			}
			expectProofRefused(res, id, k.what, nonceOK)
		}, SpecTimeout(target.specTimeout(4)))
	}
}

// headerCase is a DPoP header that is wrong as a whole: its field values, for the nonce the
// provider demands ("" for none).
type headerCase struct {
	what   string
	values func(nonce string) []string
}

// refuseHeaders is refuseProofs for whole headers.
func refuseHeaders(id string, cases []headerCase) {
	for _, k := range cases {
		It("answers "+k.what+" with no token and invalid_dpop_proof", dpopASLabels("token", id, "C-9449-5-b"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			res := sendProofs(ctx, k.what, target.Client, k.values)
			expectProofRefused(res, id, k.what, false)
		}, SpecTimeout(target.specTimeout(4)))
	}
}

// validProof is a valid proof of a fresh key for the main client's token request.
func validProof(nonce string) string {
	GinkgoHelper()
	return newDPoPKey().proof(http.MethodPost, dpopTokenURL(target.Client)).nonce(nonce).sign()
}

// flattenedJSON is a compact JWS in the flattened JWS JSON serialization (RFC 7515 §7.2.2).
func flattenedJSON(compact string) string {
	parts := strings.SplitN(compact, ".", 3)
	b, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	return string(b)
}

// proofGotToken reports whether a token request got a token: a success status or an
// access_token member.
func proofGotToken(res *http.Response) bool {
	if res.StatusCode < 300 {
		return true
	}
	obj, err := decodeObject(bodyOf(res))
	_, issued := obj.members["access_token"]
	return err == nil && issued
}

// expectProofRefused judges a token request whose proof is broken: no token, for the row id;
// then, for C-9449-5-b when the spec carries it (RFC 9449 §5 with RFC 6749 §5.2), a 400 JSON
// error object whose error is invalid_dpop_proof (use_dpop_nonce too when nonceOK).
// invalid_request is the row's lenient case (keycloak #39332); a 5xx or another code fails.
func expectProofRefused(res *http.Response, id, what string, nonceOK bool) {
	GinkgoHelper()
	row(id).RequireThat(!proofGotToken(res), "%s got %s and a token", what, res.Status)
	if !labelled("C-9449-5-b") {
		return
	}
	j := row("C-9449-5-b")
	j.Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "the refusal of "+what+" (RFC 6749 §5.2)")
	j.Expect(res).To(HaveJSONMediaType(), "the refusal of "+what+" (RFC 6749 §5.2)")
	obj, err := decodeObject(bodyOf(res))
	code, _ := obj.members["error"].(string)
	j.RequireThat(err == nil && code != "", "the refusal of %s is not an RFC 6749 §5.2 error object with an error code: %s", what, quoteBody(bodyOf(res)))
	switch {
	case code == "invalid_dpop_proof", nonceOK && code == "use_dpop_nonce":
		j.That(true, "")
	case code == "invalid_request":
		j.Lenient().That(false, "%s was refused with invalid_request, not invalid_dpop_proof", what)
	default:
		j.That(false, "%s was refused with error %q, not invalid_dpop_proof", what, code)
	}
}

// postTokenWithDPoP sends c's token request (scope askedScope) with these DPoP header fields.
func postTokenWithDPoP(ctx context.Context, note string, c Credentials, proofs ...string) *http.Response {
	GinkgoHelper()
	authorization, body := c.authenticateAt(dpopTokenURL(c), form("scope", askedScope()))
	h := http.Header{}
	for _, p := range proofs {
		h.Add("DPoP", p)
	}
	return send(ctx, request{Method: http.MethodPost, Path: c.tokenEndpoint(), Note: note, Form: body,
		Authorization: authorization, Header: h, Certificate: c.Certificate})
}

// sendProofs is postTokenWithDPoP with header fields that values makes for the newest nonce of
// the authorization server; a nonce the answer demands (§8) is remembered and the request sent
// once more, as dpopSend does for a single proof.
func sendProofs(ctx context.Context, note string, c Credentials, values func(nonce string) []string) *http.Response {
	GinkgoHelper()
	u := dpopTokenURL(c)
	res := postTokenWithDPoP(ctx, note, c, values(dpopNonceFor("as", u))...)
	rememberDPoPNonce("as", u, res)
	if demandsDPoPNonce(res) {
		By("the server demands a DPoP nonce; sending the request again with fresh proofs carrying it")
		res = postTokenWithDPoP(ctx, note+" (with the nonce)", c, values(dpopNonceFor("as", u))...)
		rememberDPoPNonce("as", u, res)
	}
	return res
}

// dpopUnadvertisedCandidates are the asymmetric algorithms the suite tries, in order, for a
// proof of an algorithm the provider does not advertise.
var dpopUnadvertisedCandidates = []jose.SignatureAlgorithm{jose.ES512, jose.ES384, jose.PS384, jose.RS384,
	jose.PS512, jose.RS512, jose.ES256, jose.PS256, jose.RS256, jose.EdDSA}

// htuVariant is a URL equal to another after RFC 3986 normalization.
type htuVariant struct{ what, htu string }

// htuVariants are the token endpoint's URL u with the scheme in upper case, the host in upper
// case (when it has letters), and the default port written out (when u names none).
func htuVariants(u string) []htuVariant {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return nil
	}
	rest := strings.TrimPrefix(u, p.Scheme)
	out := []htuVariant{{"with the scheme in upper case", strings.ToUpper(p.Scheme) + rest}}
	if host := p.Hostname(); strings.ToUpper(host) != host {
		out = append(out, htuVariant{"with the host in upper case", withURL(u, func(v *url.URL) {
			v.Host = strings.Replace(v.Host, host, strings.ToUpper(host), 1)
		})})
	}
	if p.Port() == "" {
		port := map[string]string{"https": "443", "http": "80"}[strings.ToLower(p.Scheme)]
		if port != "" {
			out = append(out, htuVariant{"with the default port " + port + " written out", withURL(u, func(v *url.URL) { v.Host += ":" + port })})
		}
	}
	return out
}

// withURL is u changed by edit.
func withURL(u string, edit func(*url.URL)) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	edit(p)
	return p.String()
}

// htuSideBySide shows an htu beside the token endpoint the metadata names (checklist 2.O item
// 8: a server behind a proxy may compare with a URL of its own).
func htuSideBySide(htu string) string {
	published, _ := discovered.Doc["token_endpoint"].(string)
	if published == "" {
		published = "(no metadata; the token endpoint used is " + target.url(target.TokenPath) + ")"
	}
	return fmt.Sprintf("  the proof's htu:                 %s\n  the metadata's token_endpoint:   %s", htu, published)
}
