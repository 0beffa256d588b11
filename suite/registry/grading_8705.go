package registry

// Grades of the RFC 8705 rows (checklist 2.N, mutual TLS) that are not the ones their level
// and kind give.
func init() {
	// §3.1: a JWT SHOULD carry the binding as cnf x5t#S256, and §3.2 conveys it in
	// introspection; the value's encoding is a MUST. A token shown with no x5t#S256 at all is
	// the lenient case: a warning, as the SHOULD is.
	lenient["C-8705-3.1-a"] = "no cnf x5t#S256 in the JWT or in introspection (RFC 8705 §3.1: the JWT SHOULD carry it; " +
		"a TLS-terminating edge that does not pass the certificate on issues unbound tokens, marcjazz/authkestra #224)"

	// §3.3 and §5 (MAY): the members are optional, so their absence is only recorded; but a
	// member that is there with another type than the RFC defines (a boolean; an object of
	// https URLs without fragments, RFC 8414 §2), cannot be used by a client that reads it, as
	// with the advertised endpoints of C-8414-2-h. A working mTLS method that
	// token_endpoint_auth_methods_supported leaves out misdescribes the server (RFC 8414 §2),
	// the same kind of finding as C-8414-2-f's: the lenient case, a warning.
	regrades["C-8705-5-a"] = []regrade{{Fail, nil, "the metadata members are optional, but one that is present must have the type " +
		"RFC 8705 §3.3 and §5 define (a boolean; an object of https URLs without fragments), or no client can use it"}}
	lenient["C-8705-5-a"] = "an mTLS method that works (C-8705-2-a) but token_endpoint_auth_methods_supported does not list (RFC 8414 §2)"
}
