package suite

import (
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9449 §5, §5.1, §5.2 and §6: DPoP at the token endpoint: the metadata that advertises it,
// a token request with a valid proof, the binding a bound token carries (cnf.jkt in a JWT and
// in introspection), and a client registered for bound tokens only. Every proof is of a fresh
// key (checklist 2.M).
var _ = Describe("RFC 9449 §5–6: DPoP token requests and bound tokens", func() {
	// §5.1 (MAY): the metadata may list the JWS algorithms the server accepts for proofs. When
	// it does, the list is a non-empty array of registered asymmetric algorithms: §4.2 forbids
	// none and MACs for proofs, so listing them is the checklist's FAIL.
	It("advertises dpop_signing_alg_values_supported, if at all, as a non-empty array of asymmetric JWS algorithms, without none or a MAC",
		dpopASLabels("metadata", "C-9449-5.1-a"), func(ctx SpecContext) {
			needCap(config.CapDPoP)
			j := row("C-9449-5.1-a")
			raw, present := discovered.Doc["dpop_signing_alg_values_supported"]
			if !present {
				j.Inform("the metadata does not advertise dpop_signing_alg_values_supported; DPoP is declared (--capabilities=dpop)")
				return
			}
			list, isArray := raw.([]any)
			j.RequireThat(isArray && len(list) > 0, "dpop_signing_alg_values_supported is %s, not a non-empty JSON array", jsonText(raw))
			for _, v := range list {
				alg, isString := v.(string)
				j.That(isString && dpopRegisteredAsymmetric(alg), "dpop_signing_alg_values_supported lists %s, which is not a registered asymmetric JWS algorithm (RFC 9449 §4.2 forbids none and MACs)", jsonText(v))
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §5 (MUST): a client credentials request with a valid proof gets a token bound to the
	// proof's key, token_type DPoP (compared case-insensitively, RFC 6749 §5.1). The server may
	// instead issue a Bearer token: recorded, and the binding rows are then not judged.
	It("answers a client credentials request with a valid DPoP proof with a token of token_type DPoP (Bearer: binding declined)",
		dpopASLabels("token", "C-9449-5-a"), func(ctx SpecContext) {
			needCap(config.CapDPoP)
			needTokenPath()
			res := dpopTokenRequest(ctx, target.Client, newDPoPKey(), nil)
			tok, why := parseTokenResponse(res)
			j := row("C-9449-5-a")
			j.RequireThat(why == "", "a client credentials request with a valid DPoP proof got no token: %s\n%s",
				refusalText(res, why), htuSideBySide(dpopTokenURL(target.Client)))
			switch {
			case strings.EqualFold(tok.TokenType, "DPoP"):
				j.That(true, "")
			case strings.EqualFold(tok.TokenType, "Bearer"):
				j.Inform("the provider declines DPoP binding: a valid proof got a Bearer token (RFC 9449 §5 allows it); the binding rows are not judged")
			default:
				j.That(false, "a valid proof got token_type %q, neither DPoP nor Bearer", tok.TokenType)
			}
		}, SpecTimeout(target.specTimeout(2)))

	// §6, §6.1 (MUST): a bound JWT access token carries cnf.jkt, the base64url SHA-256 JWK
	// thumbprint (RFC 7638) of the proof's key. A certificate-style hash or a hash of every JWK
	// member (spring-security #17079) is not it. When the bound token is opaque and the target
	// names resource R1 (F-RES), a bound token for R1 is asked for, which may be a JWT (as
	// C-6750-5.3-b does); a bound token that is still not a JWT is not judged here:
	// C-9449-6.2-a looks at it through introspection.
	It("issues, for a valid proof, a bound JWT whose cnf.jkt is the RFC 7638 thumbprint of the proof's key",
		dpopASLabels("token", "C-9449-6.1-a"), func(ctx SpecContext) {
			needCap(config.CapDPoP)
			key := newDPoPKey()
			tok := dpopBoundToken(ctx, target.Client, key)
			t, isJWT := decodeJWT(tok.AccessToken)
			if !isJWT && len(target.ResourceIndicators) > 0 {
				By("the bound token is opaque: a bound token for resource R1 (RFC 8707) may be a JWT")
				key = newDPoPKey()
				tok = dpopBoundTokenWith(ctx, target.Client, key, url.Values{"resource": {target.ResourceIndicators[0].Resource}})
				t, isJWT = decodeJWT(tok.AccessToken)
			}
			if !isJWT {
				judge.Skip("the bound token is not a JWT (JWS in compact serialization), so its cnf cannot be read; C-9449-6.2-a looks at introspection")
			}
			row("C-9449-6.1-a").That(cnfJKT(t.Claims["cnf"]) == key.thumbprint(),
				"the bound token's cnf is %s; the RFC 7638 SHA-256 thumbprint of the proof's key is %q", jsonText(t.Claims["cnf"]), key.thumbprint())
		}, SpecTimeout(target.specTimeout(2)))

	// §6.2 (MUST): introspection of a bound token answers a top-level cnf whose jkt is the
	// thumbprint of the proof's key, and token_type, if present, DPoP.
	It("introspects a bound token as active, with a top-level cnf.jkt equal to the proof key's thumbprint and token_type, if any, DPoP",
		append(dpopASLabels("introspection", "C-9449-6.2-a"), "cap:introspection"), func(ctx SpecContext) {
			needCap(config.CapDPoP)
			introspector := needIntrospector()
			key := newDPoPKey()
			tok := dpopBoundToken(ctx, target.Client, key)
			members := introspectionOf(introspect(ctx, introspector, "introspect the bound token", tokenForm(tok.AccessToken, "access_token")))
			if members["active"] != true {
				judge.Block("C-7662-2.2-b", "introspection answers active %s for a bound token just issued", jsonText(members["active"]))
			}
			j := row("C-9449-6.2-a")
			j.That(cnfJKT(members["cnf"]) == key.thumbprint(), "introspection answers cnf %s; the RFC 7638 SHA-256 thumbprint of the proof's key is %q",
				jsonText(members["cnf"]), key.thumbprint())
			if tt, present := members["token_type"]; present {
				s, _ := tt.(string)
				j.That(strings.EqualFold(s, "DPoP"), "introspection answers token_type %s for a DPoP-bound token", jsonText(tt))
			}
		}, SpecTimeout(target.specTimeout(3)))

	// §5.2 (MUST): a client registered with dpop_bound_access_tokens=true gets no token without
	// a DPoP header. invalid_dpop_proof and invalid_request are both accepted (FAPI 2.0 expects
	// the latter; keycloak #34842). The same client first gets a token with a valid proof, so
	// that the refusal can only come from the missing proof.
	It("answers an F-DPOP-BOUND client's token request without a DPoP header with no token and 400 invalid_dpop_proof or invalid_request",
		dpopASLabels("token", "C-9449-5.2-a"), func(ctx SpecContext) {
			needCap(config.CapDPoP)
			needTokenPath()
			c := target.Clients.DPoPBound
			if c == nil {
				judge.Skip("the target declares no client registered with dpop_bound_access_tokens=true (F-DPOP-BOUND: clients.dpop_bound in --target-config)")
			}
			By("comparison: the F-DPOP-BOUND client with a valid proof")
			if res := dpopTokenRequest(ctx, *c, newDPoPKey(), nil); !tokenGranted(res) {
				judge.Skip("the F-DPOP-BOUND client gets no token even with a valid DPoP proof (%s), so a refusal without one would say nothing; check clients.dpop_bound",
					refusalText(res, res.Status))
			}
			res := requestToken(ctx, "F-DPOP-BOUND without a DPoP header", *c, nil)
			j := row("C-9449-5.2-a")
			j.RequireThat(!proofGotToken(res), "the F-DPOP-BOUND client got %s and a token without a DPoP header", res.Status)
			obj, err := decodeObject(bodyOf(res))
			code, _ := obj.members["error"].(string)
			j.Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "the refusal of a token request without a DPoP header (RFC 6749 §5.2)")
			// §5.2 names no code: another one than these two is the row's lenient case.
			j.Lenient().That(err == nil && (code == "invalid_dpop_proof" || code == "invalid_request"),
				"the refusal without a DPoP header has error %q, neither invalid_dpop_proof nor invalid_request: %s", code, quoteBody(bodyOf(res)))
		}, SpecTimeout(target.specTimeout(4)))
})

// dpopRegisteredAsymmetric reports whether alg is a registered asymmetric JWS algorithm (RFC
// 7518 §3.1, RFC 8037, RFC 8812's ES256K, RFC 9864's Ed25519 and Ed448).
func dpopRegisteredAsymmetric(alg string) bool {
	switch alg {
	case "ES256K", "Ed25519", "Ed448":
		return true
	}
	return isAsymmetric(alg)
}

// cnfJKT is the jkt member of a cnf value, "" when there is none.
func cnfJKT(cnf any) string {
	m, _ := cnf.(map[string]any)
	s, _ := m["jkt"].(string)
	return s
}
