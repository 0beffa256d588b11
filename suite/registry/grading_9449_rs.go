package registry

// Grades of the resource server rows of DPoP (checklist 2.M, RFC 9449 §7 and §9) that are not
// the ones their level and kind give, and their lenient cases.
//
// What needs no entry here: C-9449-7.1-b is a SHOULD, so a DPoP challenge without algs (or
// without error after a failed token, or with error information when no token came) is a
// warning by default; the 400 invalid_request for two Authorization fields follows the RFC's
// Figure 19, an example, and is recorded as information, as is whether a resource server
// demands nonces (§9, MAY) and what a nonce of the authorization server does there (§8 and §9
// make nonces the issuing server's, so it need not work).
func init() {
	// §7.1: "invalid_dpop_proof is used to indicate that the DPoP proof itself was deemed
	// invalid" (§4.3), and a key that does not match the token's binding is the RFC's
	// invalid_token example (Figure 16). §7.1 also calls RFC 6750 §3.1's codes "suitable", so
	// the checklist passes the other of the two leniently.
	lenient["C-9449-7.1-a"] = "the refusal's DPoP challenge names another error than the one RFC 9449 §7.1 gives for the fault: " +
		"invalid_token for a proof §4.3 rejects, invalid_dpop_proof for a key that does not match the binding, or another " +
		"RFC 6750 §3.1 code (§7.1 calls those suitable)"
	// §9 (MAY): demanding a nonce is optional; once the resource server demands one, §9 provides
	// it "in the same way" as §8, where the nonce is the one "to be used when sending the
	// subsequent request". A retry carrying it that is still refused, or a demand without exactly
	// one well-formed DPoP-Nonce, leaves the client no way in: no MUST says so, hence a warning.
	regrades["C-9449-9-a"] = []regrade{{Warn, nil, "demanding a nonce is optional (MAY), but a resource server that demands one " +
		"must supply exactly one well-formed DPoP-Nonce and serve a retry that carries it (§9 by way of §8): the checklist's " +
		"\"a retry with the nonce → 2xx\"; no MUST says so, hence a warning"}}
}
