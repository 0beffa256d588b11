package registry

// Grades of checklist 2.J (JWT client authentication) that differ from what a row's level and
// kind give, with the checklist's reasons.
func init() {
	regrades["C-10070-4-a"] = []regrade{
		{Warn, nil, "outside profile:rfc10070 the row grades against RFC 7523 (2015), whose §3 item 3 only asks that aud " +
			"identify the AS: an aud array that names the issuer among others is then a warning (keycloak PR #38830 made a " +
			"single audience the default), and the token endpoint's URL, which RFC 7523 allows, is recorded as information"},
		{Fail, []Profile{RFC10070}, "RFC 10070 §4: the audience of a client assertion is the issuer identifier and nothing " +
			"else; FAPI 2.0 §5.3.2.1 and OpenID Connect Core -36 are equivalent"},
	}
	regrades["C-OIDCC-9-a"] = []regrade{
		{Warn, nil, "RFC 7523 §3 item 7 makes jti and replay protection optional (MAY); only OpenID Connect Core §9 " +
			"requires a single-use jti, so outside profile:oidcc an accepted replay or a missing jti is a warning"},
		{Fail, []Profile{OIDCC}, "OpenID Connect Core §9: jti is required and the assertion is used once"},
	}
	lenient["C-7523-3-f"] = "an assertion signed with an algorithm the provider does not advertise (token_endpoint_auth_signing_alg_values_supported), accepted"
	lenient["C-7521-4.2-b"] = "a valid assertion without client_id refused (RFC 7521 §4.2 makes client_id optional, so the provider demands a parameter the RFC does not)"
}
