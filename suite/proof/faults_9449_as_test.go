package proof

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults of RFC 9449's authorization server rows (checklist 2.M, §4.3, §5, §6, §8, §11): the
// reference's token endpoint made to skip one check. The fault reads the proof without
// verifying it (the suite's proof keys are its own, so nothing can be re-signed); where the
// skipped check would have refused the proof, it takes the DPoP header away, and the reference
// issues the unbound token a provider that ignores the broken proof would: the suite sees a
// token where 400 invalid_dpop_proof is due. Each runs its row's specs only.

// asProof is a token request's DPoP proof, read without verifying it.
type asProof struct {
	header, claims map[string]any
}

// asProofOf reads the DPoP proof of a token request: one header field holding a compact JWS
// whose header and claims are JSON objects.
func asProofOf(r *http.Request) (asProof, bool) {
	values := r.Header.Values("DPoP")
	if len(values) != 1 {
		return asProof{}, false
	}
	header, claims, _, ok := splitJWT(values[0])
	return asProof{header, claims}, ok
}

// str is a string member ("" when absent or not a string).
func str(m map[string]any, name string) string { s, _ := m[name].(string); return s }

// iat is the proof's iat as seconds since the epoch; ok is false when it is not a number.
func (p asProof) iat() (float64, bool) {
	n, ok := p.claims["iat"].(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// tokenProof matches token requests whose (single, readable) DPoP proof is as pred says.
func tokenProof(pred func(r *http.Request, p asProof) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !tokenPOST(r) {
			return false
		}
		p, ok := asProofOf(r)
		return ok && pred(r, p)
	}
}

// withDPoP matches token requests that carry a DPoP header.
func withDPoP(r *http.Request) bool { return tokenPOST(r) && len(r.Header.Values("DPoP")) > 0 }

// ignoreProof is the provider skipping a check: the proof it would have refused is taken away,
// and the reference issues an unbound token.
func ignoreProof(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return editRequests(match, func(r *http.Request) { r.Header.Del("DPoP") })
}

// asRowFilter runs the specs of one authorization server row of RFC 9449.
func asRowFilter(id string) []string { return []string{"-ginkgo.label-filter=" + id} }

// withDPoPNonces is the reference demanding DPoP nonces (RFC 9449 §8).
func withDPoPNonces(c *provider.Config) { c.DPoPNonces = true }

var _ = register([]fault{
	// §5.1: the proof algorithms advertised include a MAC and none.
	{name: "2.M: dpop_signing_alg_values_supported lists HS256 and none", breaks: "C-9449-5.1-a", args: asRowFilter("C-9449-5.1-a"),
		wrap: editResponses(at(http.MethodGet, provider.PathMetadata), when(http.StatusOK, func(_ *http.Request, r *response) {
			m := r.object()
			algs, _ := m["dpop_signing_alg_values_supported"].([]any)
			m["dpop_signing_alg_values_supported"] = append(algs, "HS256", "none")
			r.setObject(m)
		}))},
	// §5: a valid proof refused, as a provider behind a proxy refuses an htu it compares with a
	// URL of its own (keycloak #39332; bluesky-social/pds #163).
	{name: "2.M: a valid proof is refused as naming another URL", breaks: "C-9449-5-a", args: asRowFilter("C-9449-5-a"),
		wrap: answer(withDPoP, http.StatusBadRequest, "application/json",
			`{"error":"invalid_dpop_proof","error_description":"htu does not match http://internal:8080/token"}`)},
	// §6.1: cnf.jkt in hex rather than base64url (a thumbprint of the wrong encoding, as
	// spring-security #17079 computed one of the wrong kind).
	{name: "2.M: the bound JWT's cnf.jkt is the thumbprint in hex", breaks: "C-9449-6.1-a", args: asRowFilter("C-9449-6.1-a"),
		wrap: reissueJWTs(withDPoP, proofRS256, func(_ *http.Request, _, c map[string]any) {
			cnf, _ := c["cnf"].(map[string]any)
			if raw, err := base64.RawURLEncoding.DecodeString(str(cnf, "jkt")); err == nil && cnf != nil {
				cnf["jkt"] = hex.EncodeToString(raw)
			}
		})},
	// §6.2: introspection leaves the binding out.
	{name: "2.M: introspection of a bound token has no cnf", breaks: "C-9449-6.2-a", args: asRowFilter("C-9449-6.2-a"),
		wrap: editResponses(at(http.MethodPost, provider.PathIntrospect), when(http.StatusOK, delMember("cnf")))},
	// §4.3 items 4-7: typ not checked.
	{name: "2.M: a proof's typ is not checked", breaks: "C-9449-4.3-a", args: asRowFilter("C-9449-4.3-a"),
		wrap: ignoreProof(tokenProof(func(_ *http.Request, p asProof) bool { return !strings.EqualFold(str(p.header, "typ"), "dpop+jwt") }))},
	// §4.3 item 5: an algorithm the provider does not advertise, taken (the lenient case: a
	// warning).
	{name: "2.M: a proof signed with an algorithm not advertised (ES512) is taken", breaks: "C-9449-4.3-a", soft: true,
		args: asRowFilter("C-9449-4.3-a"),
		wrap: ignoreProof(tokenProof(func(_ *http.Request, p asProof) bool { return str(p.header, "alg") == "ES512" }))},
	// §4.3 items 8-9: htu compared by its path's end only.
	{name: "2.M: a proof's htu is not compared with the token endpoint's URL", breaks: "C-9449-4.3-b", args: asRowFilter("C-9449-4.3-b"),
		wrap: ignoreProof(tokenProof(func(r *http.Request, p asProof) bool {
			htu := str(p.claims, "htu")
			return htu != "" && !strings.EqualFold(htu, issuerOf(r)+provider.PathToken)
		}))},
	// §4.1, §4.3 items 1-2: the first of several proofs taken, and the JSON serialization too.
	{name: "2.M: the first of several DPoP proofs is taken, and a JSON-serialized one", breaks: "C-9449-4.3-c", args: asRowFilter("C-9449-4.3-c"),
		wrap: editRequests(withDPoP, func(r *http.Request) {
			first, _, _ := strings.Cut(r.Header.Values("DPoP")[0], ",")
			first = strings.TrimSpace(first)
			var flat struct{ Protected, Payload, Signature string }
			if json.Unmarshal([]byte(r.Header.Values("DPoP")[0]), &flat) == nil && flat.Protected != "" {
				first = flat.Protected + "." + flat.Payload + "." + flat.Signature
			}
			r.Header.Set("DPoP", first)
		})},
	// §4.3 (SHOULD): htu compared byte for byte, without normalization: a warning.
	{name: "2.M: a proof's htu is compared byte for byte", breaks: "C-9449-4.3-d", soft: true, args: asRowFilter("C-9449-4.3-d"),
		wrap: answer(tokenProof(func(r *http.Request, p asProof) bool {
			htu := str(p.claims, "htu")
			return htu != "" && htu != issuerOf(r)+provider.PathToken
		}), http.StatusBadRequest, "application/json", `{"error":"invalid_dpop_proof","error_description":"htu mismatch"}`)},
	// §4.3 item 11, §11.1: iat not checked.
	{name: "2.M: a proof's iat is not checked", breaks: "C-9449-11.1-a", args: asRowFilter("C-9449-11.1-a"),
		wrap: ignoreProof(tokenProof(func(_ *http.Request, p asProof) bool {
			iat, ok := p.iat()
			return ok && math.Abs(float64(time.Now().Unix())-iat) > 60
		}))},
	// §5: a refused proof answered invalid_request (keycloak #39332): the lenient case, a warning.
	{name: "2.M: a refused proof is answered invalid_request", breaks: "C-9449-5-b", soft: true, args: asRowFilter("C-9449-5-b"),
		wrap: editResponses(withDPoP, when(http.StatusBadRequest, func(_ *http.Request, r *response) {
			if m := r.object(); m["error"] == "invalid_dpop_proof" {
				m["error"] = "invalid_request"
				r.setObject(m)
			}
		}))},
	{name: "2.M: a refused proof is answered 401 invalid_client", breaks: "C-9449-5-b", args: asRowFilter("C-9449-5-b"),
		wrap: editResponses(withDPoP, when(http.StatusBadRequest, func(_ *http.Request, r *response) {
			if m := r.object(); m["error"] == "invalid_dpop_proof" {
				r.status = http.StatusUnauthorized
				r.header.Set("WWW-Authenticate", `Basic realm="token"`)
				r.setObject(map[string]any{"error": "invalid_client"})
			}
		}))},
	// §8.1: the nonce demand carries two DPoP-Nonce fields.
	{name: "2.M: use_dpop_nonce comes with two DPoP-Nonce fields", breaks: "C-9449-8-a", args: asRowFilter("C-9449-8-a"),
		config: withDPoPNonces,
		wrap: editResponses(tokenPOST, when(http.StatusBadRequest, func(_ *http.Request, r *response) {
			if n := r.header.Get("DPoP-Nonce"); n != "" {
				r.header["Dpop-Nonce"] = []string{n, "another-nonce"}
			}
		}))},
	// §11.3: a nonce demanded once, then proofs without one taken (the reference issues the
	// unbound token a provider that forgets the demand would).
	{name: "2.M: after its first nonce the provider takes proofs without one", breaks: "C-9449-11.3-a", args: asRowFilter("C-9449-11.3-a"),
		config: withDPoPNonces, wrap: forgetNonceDemand()},
	// §5.2: dpop_bound_access_tokens not enforced: the F-DPOP-BOUND client's request without a
	// proof gets a token (the demo client's, here).
	{name: "2.M: a client registered for DPoP-bound tokens gets a token without a proof", breaks: "C-9449-5.2-a",
		args: asRowFilter("C-9449-5.2-a"),
		wrap: editRequests(func(r *http.Request) bool {
			id, _ := basicClientID(r)
			return tokenPOST(r) && id == provider.FixtureDPoPBound.ID && len(r.Header.Values("DPoP")) == 0
		}, func(r *http.Request) { r.Header.Set("Authorization", goodBasic) })},
	// §5.2 names no code, so another than invalid_dpop_proof or invalid_request is the row's
	// lenient case (oidc-provider 9 answers invalid_grant).
	{name: "2.M: a client registered for DPoP-bound tokens is refused with invalid_grant without a proof", breaks: "C-9449-5.2-a",
		soft: true, args: asRowFilter("C-9449-5.2-a"),
		wrap: answer(func(r *http.Request) bool {
			id, _ := basicClientID(r)
			return tokenPOST(r) && id == provider.FixtureDPoPBound.ID && len(r.Header.Values("DPoP")) == 0
		}, http.StatusBadRequest, "application/json", `{"error":"invalid_grant","error_description":"DPoP proof JWT not provided"}`)},
})

// forgetNonceDemand takes the DPoP header away from proofs without a nonce once the reference
// has demanded a nonce.
func forgetNonceDemand() func(http.Handler) http.Handler {
	var demanded atomic.Bool
	return func(next http.Handler) http.Handler {
		noted := editResponses(tokenPOST, func(_ *http.Request, r *response) {
			if r.header.Get("DPoP-Nonce") != "" {
				demanded.Store(true)
			}
		})(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p, ok := asProofOf(r); ok && tokenPOST(r) && demanded.Load() {
				if _, has := p.claims["nonce"]; !has {
					r.Header.Del("DPoP")
				}
			}
			noted.ServeHTTP(w, r)
		})
	}
}
