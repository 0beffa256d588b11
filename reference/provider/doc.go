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
//
// With an issuer (Config.Issuer) come the machine-to-machine features, on
// github.com/go-jose/go-jose/v4 for every signature, key and thumbprint:
//   - the RFC 8414 metadata document at /.well-known/oauth-authorization-server, built once,
//     cacheable, with an ETag (metadata.go);
//   - RS256 signing keys whose kid is the RFC 7638 thumbprint, public halves at /jwks; several
//     may be configured (the first signs), and RotateSigningKey keeps a replaced key published
//     and accepted for the longest token lifetime (keys.go);
//   - RFC 9068 JWT access tokens (typ at+jwt; iss, exp, aud, sub = client_id, client_id, iat,
//     jti, scope) for requests with resource, for clients with JWTAccessTokens, or for all with
//     Config.JWTAccessTokens; the scenario's client otherwise keeps its opaque tokens (jwtat.go);
//   - resource indicators (RFC 8707): resource may repeat, names R1 or R2 (Issuer+"/rs/one",
//     Issuer+"/rs/two") and becomes aud; anything else is 400 invalid_target; without it aud is
//     the default resource, Issuer+"/resource", which owns the scenario's routes (resources.go);
//   - the resource servers /rs/one and /rs/two, and the scenario's routes, accept a token only
//     if its aud names them; a JWT is checked against the published keys with an RS256-only
//     allow-list, typ at+jwt or application/at+jwt, the exact issuer and exp, after a size cap;
//     every refusal is 401 invalid_token with a Bearer challenge (bearer.go, jwtat.go);
//   - tokenFacts, one view of either kind of token, for the resource servers, introspection and
//     revocation (facts.go); OtherJWT signs a JWT that is not an access token, for the suite's
//     F-OTHER-JWT;
//   - client authentication by JWT assertion, private_key_jwt and client_secret_jwt (RFC 7523
//     §2.2 and §3, RFC 7521 §4.2, OpenID Connect Core §9), at every endpoint that authenticates
//     clients, one method per request: aud exactly the issuer (RFC 10070), exp required and at
//     most 10 minutes ahead, nbf honoured, jti single-use in a bounded cache, crit refused,
//     per-client algorithm allow-lists, the registered key only; a JWT client's secret never
//     works as a password (clientauth.go, assertion.go, replay.go);
//   - introspection (RFC 7662) at /introspect for clients registered with MayIntrospect, 403
//     for the others; {"active":false} alone for a token that is not active (introspect.go);
//   - revocation (RFC 7009) at /revoke of the client's own tokens, through a bounded deny-list
//     of token ids until their expiry that the resource servers and introspection consult at
//     once; 503 with Retry-After when it is full (revoke.go, expiring.go);
//   - the fixture clients of those features, with committed public test keys (fixtures.go,
//     fixturekeys/).
//
// Mutual TLS (RFC 8705; mtls.go), on crypto/tls and crypto/x509, with or without an issuer: a
// listener configured with RequestClientCertificates asks every client for a certificate;
// clients registered for tls_client_auth (a chain to Config.MTLSClientCAs, for client
// authentication, with the registered subject DN) or self_signed_tls_client_auth (a registered
// certificate's key) authenticate with client_id and that certificate alone, at every endpoint
// that authenticates clients, and their tokens are bound to it (cnf x5t#S256); the fixture
// clients conformance-mtls and conformance-mtls-self come with a committed CA and certificates.
package provider
