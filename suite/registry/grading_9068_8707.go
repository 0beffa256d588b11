package registry

// Grades of the JWT access token rows (checklist 2.K, RFC 9068) and the resource indicator rows
// (2.L, RFC 8707) that are not the ones their level and kind give.

// notClaimed is the lenient case of the authorization server rows of RFC 9068. The checklist's
// 2.K preamble: without profile rfc9068, a JWT whose typ is not at+jwt is reported as "not an
// RFC 9068 token" (C-9068-2.1-b, regraded below) and the other AS rows run as WARN. That depends
// on the token as well as on the profile, so it is each row's lenient case here, and the specs
// (asRow in suite/jwt.go) judge a token that does not claim RFC 9068 by it outside the profile.
// A token that claims RFC 9068 (typ at+jwt) is held to the RFC's MUSTs in every profile: never
// graded harder than its own claim, nor softer.
const notClaimed = "a JWT that does not claim RFC 9068 (typ not at+jwt), judged outside --profile=rfc9068 (checklist 2.K: the AS rows run as WARN)"

func init() {
	// The SHOULD rows (C-9068-2.2-b, 2.2.3-a, 4-a) warn already; these are the MUSTs.
	for _, id := range []string{"C-9068-2.1-a", "C-9068-2.2-a", "C-9068-2.2-c", "C-9068-5-a"} {
		lenient[id] = notClaimed
	}
	// §3: "aud = the client's own id only" names the caller, not a resource: the checklist
	// grades it WARN (wso2/product-is #19906).
	lenient["C-9068-3-a"] = notClaimed + "; or, without resource, an aud naming only the client itself (checklist: WARN, wso2/product-is #19906)"
	// §4 ¶2: publishing jwks_uri is a SHOULD; only disagreeing documents break the MUST.
	lenient["C-9068-4-b"] = "no jwks_uri published (RFC 9068 §4: SHOULD); or " + notClaimed

	regrades["C-9068-2.1-b"] = []regrade{
		{Inform, nil, "without profile rfc9068 a JWT need not claim RFC 9068: a typ other than at+jwt is reported as " +
			"\"not an RFC 9068 token\" (checklist 2.K preamble)"},
		{Fail, []Profile{RFC9068}, "profile rfc9068 treats every JWT access token as claiming RFC 9068, whose §2.1 requires the typ"},
	}

	// RFC 8707 §2 (MUST, derived): a token for a relative or fragment resource is the checklist's
	// FAIL; the MUST is about invalid_target, so another error code is the lenient case.
	regrades["C-8707-2-b"] = []regrade{{Fail, nil, "the checklist grades a token issued for a malformed resource as FAIL"}}
	lenient["C-8707-2-b"] = "an error other than invalid_target, such as invalid_request (thunder-id PR #2343 review)"
	// §2, §3 (SHOULD, derived): an unknown resource put into aud is audience injection, FAIL;
	// ignoring it or another error code is WARN.
	regrades["C-8707-2-c"] = []regrade{{Fail, nil, "the checklist grades an unknown resource that reaches aud (audience injection) as FAIL"}}
	lenient["C-8707-2-c"] = "the unknown resource silently ignored (a token with another aud), or an error other than invalid_target"
	// §2 (MAY): the AS may take repeated resource parameters or refuse them with
	// invalid_target; refusing them as a duplicate parameter contradicts §2, which allows the
	// repetition: the checklist's FAIL. The allowed outcomes are observations.
	regrades["C-8707-2-d"] = []regrade{{Fail, nil, "RFC 8707 §2 allows resource to repeat, so invalid_request for the repetition is the checklist's FAIL"}}
}
