// Package provider is the bundled reference provider: an OAuth 2.0 authorization server that
// issues access tokens with the client credentials grant (RFC 6749 §4.4) and protects the
// documented server-to-server resources with Bearer tokens (RFC 6750).
//
// It is built on github.com/go-oauth2/oauth2/v4 and keeps the library doing what it does well
// (the grant flow, the manager, token issue and lookup). Where the library's defaults break the
// RFCs, the fix is a hook or a thin wrapper, never a rewrite:
//
//   - token endpoint requests are checked before the library sees them (POST only, a form body,
//     no parameters in the URI, no repeated parameters, grant_type present and supported:
//     RFC 6749 §3.2, §4.4.2);
//   - clients authenticate with HTTP Basic, whose user and password are form-url-decoded
//     (§2.3.1), or with client_id/client_secret in the body, never both (§2.3); secrets are
//     compared in constant time, and an unknown client is invalid_client, not a 500;
//   - errors follow §5.2: 400 for everything but invalid_client, which is 401 with a Basic
//     challenge, and every response carries Cache-Control: no-store and Pragma: no-cache;
//   - the requested scope is validated after the client is authenticated (§3.3);
//   - access tokens are self-contained and signed (see tokens.go), so the provider keeps no
//     memory per issued token;
//   - protected routes go through a Bearer middleware that answers a missing, malformed,
//     unknown, expired or under-scoped token with the status, challenge and error code of
//     RFC 6750 §3 and §3.1;
//   - secret guessing is slowed per client id and source address, never for the client that
//     holds its secret, and unknown ids are answered like registered ones (§2.3.1; throttle.go);
//   - Serve limits connections in all and per source, closing idle ones first (connlimit.go),
//     and writes the access log through a buffer, with clipped paths (accesslog.go).
package provider
