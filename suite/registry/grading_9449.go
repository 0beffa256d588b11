package registry

// Grades of the authorization server rows of DPoP (checklist 2.M, RFC 9449) that are not the
// ones their level and kind give, and their lenient cases. The resource server rows have theirs
// in grading_9449_rs.go.
//
// What needs no entry here: C-9449-5-a's Bearer answer (the AS may decline binding, §5) and
// C-9449-8-a's "no nonce ever demanded" and nonce predictability are observations the specs
// record as information; C-9449-11.1-b is a MAY (information by default); C-9449-4.3-d is a
// SHOULD (a warning by default); C-9449-5.2-a accepts invalid_dpop_proof and invalid_request
// alike (FAPI 2.0 expects the latter, keycloak #34842), so neither is a deviation.
func init() {
	// §5.1 makes the member optional (MAY), but what it lists are the JWS algorithms for proofs,
	// which §4.2 requires to be asymmetric: none or a MAC listed there is the checklist's FAIL.
	regrades["C-9449-5.1-a"] = []regrade{{Fail, nil, "the member is optional (MAY), but when present it lists the algorithms " +
		"of DPoP proofs, which RFC 9449 §4.2 requires to be asymmetric (never none, never a MAC): the checklist's FAIL"}}
	// §4.3 item 5 asks for an alg the server supports (and finds acceptable): one it does not
	// advertise, yet accepts, contradicts its own metadata rather than the proof rules.
	lenient["C-9449-4.3-a"] = "a proof signed with an asymmetric algorithm the provider does not list in dpop_signing_alg_values_supported, accepted"
	// §5 names invalid_dpop_proof; keycloak #39332 answered an htu mismatch with invalid_request.
	lenient["C-9449-5-b"] = "invalid_request instead of invalid_dpop_proof for a refused proof (keycloak #39332 answered an htu mismatch so)"
	// §5.2 requires the refusal ("MUST reject token requests from the client that do not
	// contain the DPoP header") and names no error code; the checklist accepts invalid_dpop_proof
	// and invalid_request. Another code (oidc-provider 9 answers invalid_grant) still refuses, as
	// the MUST asks, with a code RFC 6749 §5.2 defines for something else: a warning.
	lenient["C-9449-5.2-a"] = "the refusal without a DPoP header names another error than invalid_dpop_proof or invalid_request (RFC 9449 §5.2 names none)"
}
