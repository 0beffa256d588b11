package proof

import (
	"encoding/hex"
	"net/http"
	"sync"
)

// Controls of RFC 9449's authorization server rows: providers that differ from the reference
// only in ways RFC 9449 allows. Each runs the authorization server specs of DPoP (cap:dpop
// without the resource server's cap:rs-dpop) with F-DPOP-BOUND, and must pass strict with no
// warning.

// asDPoPSpecs selects the authorization server specs of RFC 9449.
const asDPoPSpecs = "-ginkgo.label-filter=cap:dpop && !cap:rs-dpop"

func init() {
	controls = append(controls,
		control{name: "DPoP at the token endpoint, as the reference has it", args: []string{asDPoPSpecs}},
		// §8: the authorization server may demand nonces.
		control{name: "DPoP nonces demanded at the token endpoint", args: []string{asDPoPSpecs},
			config: withDPoPNonces},
		// §8.2: a fresh nonce may come on a 200 too; the reference's latest nonce is added to
		// every token response that has none.
		control{name: "DPoP nonces demanded, and the latest one sent on 200 token responses too",
			args: []string{asDPoPSpecs}, config: withDPoPNonces, wrap: nonceOnSuccess()},
		// §6: a bound token need not be a JWT (its binding is then seen through introspection,
		// §6.2).
		control{name: "DPoP-bound access tokens are opaque", args: []string{asDPoPSpecs},
			wrap: respAliasTokens(func(int) string { return hex.EncodeToString(ctlRandom(32)) })},
		// §5: the authorization server may decline binding and issue Bearer tokens; the binding
		// rows are then not judged.
		control{name: "DPoP binding declined: Bearer tokens for requests with a proof", args: []string{asDPoPSpecs},
			wrap: editRequests(withDPoP, func(r *http.Request) { r.Header.Del("DPoP") })},
		// §5.2 with FAPI 2.0: invalid_dpop_proof for a DPoP-bound client without a proof is as
		// good as invalid_request.
		control{name: "a DPoP-bound client without a proof is answered invalid_dpop_proof", args: []string{asDPoPSpecs},
			wrap: editResponses(and(tokenPOST, func(r *http.Request) bool { return len(r.Header.Values("DPoP")) == 0 }),
				when(http.StatusBadRequest, func(_ *http.Request, r *response) {
					if m := r.object(); m["error"] == "invalid_request" {
						m["error"] = "invalid_dpop_proof"
						r.setObject(m)
					}
				}))},
	)
}

// nonceOnSuccess adds the newest DPoP-Nonce the reference handed out to the token responses
// that carry none.
func nonceOnSuccess() func(http.Handler) http.Handler {
	var mu sync.Mutex
	latest := ""
	return editResponses(tokenPOST, func(_ *http.Request, r *response) {
		mu.Lock()
		defer mu.Unlock()
		if n := r.header.Get("DPoP-Nonce"); n != "" {
			latest = n
			return
		}
		if r.status == http.StatusOK && latest != "" {
			r.header.Set("DPoP-Nonce", latest)
		}
	})
}
