package registry

// Grades of the RFC 8414 rows (checklist 2.E) that differ from their level and kind, and the
// lenient case of C-8414-3-a. The RFC 9700 (2.F) and OAuth 2.1 (2.G) rows keep the grades
// their level and kind give; registry.Row.InProfile leaves them out of other profiles.
func init() {
	// MAY rows whose checklist check judges more than the member's presence: what the metadata
	// says must be true. The MAY is about publishing the member; a document that advertises
	// something that does not work misleads every client that reads it.
	regrades["C-8414-2-e"] = []regrade{{Warn, nil, "grant_types_supported is optional, but its default (authorization_code, implicit) " +
		"excludes client_credentials, so an absent member or one without client_credentials misdescribes a client " +
		"credentials server; the checklist grades it as a warning (OIDF's FAPI client credentials tests fail it)"}}
	regrades["C-8414-2-f"] = []regrade{{Warn, nil, "token_endpoint_auth_methods_supported is optional, but what it lists must work; " +
		"a method a client is not registered for may be refused for that client (RFC 7591 token_endpoint_auth_method " +
		"is per client), so a refusal is a warning, not a failure"}}
	regrades["C-8414-2-h"] = []regrade{{Fail, nil, "revocation_endpoint and introspection_endpoint are optional, but an advertised " +
		"endpoint that is not there (404) breaks every client that follows the metadata; the checklist fails it"}}

	// RFC 8414 §3 puts the metadata at the inserted well-known URL (MUST), yet §3 also lets an
	// application define its own suffix and §5 names openid-configuration for compatibility with
	// OpenID Connect. The checklist grades metadata found only there INFO, WARN under --strict.
	// The engine has no grade that warns under --strict without failing, since --strict turns
	// every warning into a failure: so the spec records an observation (Inform) without --strict,
	// and judges this lenient case under --strict, where the warning it carries fails the run as
	// every warning does there. Any other miss of the URL (nothing there, or the suffix appended
	// to the issuer's path) fails.
	lenient["C-8414-3-a"] = "metadata found only at /.well-known/openid-configuration, which RFC 8414 §5 recognizes for " +
		"compatibility (an observation without --strict)"
}
