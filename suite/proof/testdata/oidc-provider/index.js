// An authorization server for the machine-to-machine stack on panva's oidc-provider, and a small
// resource server beside it in the same process. Everything OAuth at the authorization server
// (metadata, token, introspection, revocation, client authentication, JWT access tokens,
// resource indicators, DPoP, mutual TLS) is oidc-provider's own code; this file only configures
// it, with the hooks oidc-provider leaves to the deployer (how to read the TLS client
// certificate, whether it chains to a trusted CA, whether its subject matches). The resource
// server (protectedResource below) is ours: oidc-provider has none.

import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';

import {
  EmbeddedJWK, SignJWT, calculateJwkThumbprint, createLocalJWKSet, jwtVerify,
} from 'jose';
import Provider, { errors } from 'oidc-provider';

const here = new URL('.', import.meta.url);
const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : process.env[name]);

const port = Number(env('PORT', '8443'));
const clientId = env('CLIENT_ID', 'this-client-id-is-for-demo-only');
const clientSecret = env('CLIENT_SECRET', 'this-secret-id-is-for-demo-only');
// The format of tokens for the default resource (a request without resource): opaque, so that
// oidc-provider can introspect and revoke them, or jwt.
const defaultFormat = env('DEFAULT_RESOURCE_FORMAT', 'opaque');

// The resources. R1 and R2 are the two resource indicators a client may request; a request
// without one gets the default resource, which the documented scenario's routes serve.
const DEFAULT_RESOURCE = 'https://scenario.example/';
const R1 = 'https://rs1.example/';
const R2 = 'https://rs2.example/';
const resourceServers = {
  [DEFAULT_RESOURCE]: { scope: 'read write admin', accessTokenFormat: defaultFormat, accessTokenTTL: 3600 },
  [R1]: { scope: 'read write admin', accessTokenFormat: 'jwt', accessTokenTTL: 3600 },
  [R2]: { scope: 'read write admin', accessTokenFormat: 'jwt', accessTokenTTL: 3600 },
};

const publicJWK = (name) => JSON.parse(readFileSync(new URL(`keys/${name}.public.jwk.json`, here), 'utf8'));
const certificate = (name) => new X509Certificate(readFileSync(new URL(`keys/${name}.pem`, here)));

// Mutual TLS (RFC 8705) fixtures, made by keys/gen-mtls.sh: the test CA that tls_client_auth
// trusts, and certificate B, which the self_signed_tls_client_auth client registers in its JWK
// set (x5c).
const MTLS_CA = certificate('mtls-ca');
const MTLS_SUBJECT_DN = 'CN=conformance-mtls,O=ccconform';
const selfSigned = certificate('mtls-self');
const selfSignedJWK = { ...selfSigned.publicKey.export({ format: 'jwk' }), x5c: [selfSigned.raw.toString('base64')] };

const cc = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
const clients = [
  // The documented scenario's client.
  { ...cc, client_id: clientId, client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic', scope: 'read write' },
  // Fixtures of the suite (target.yaml names them).
  { ...cc, client_id: 'conformance-introspector', client_secret: 'introspector-secret', token_endpoint_auth_method: 'client_secret_basic', scope: 'read' },
  { ...cc, client_id: 'conformance-second', client_secret: 'second-secret', token_endpoint_auth_method: 'client_secret_basic', scope: 'read' },
  { ...cc, client_id: 'conformance-pkj', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', jwks: { keys: [publicJWK('pkj')] }, scope: 'read' },
  { ...cc, client_id: 'conformance-pkj2', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', jwks: { keys: [publicJWK('pkj2')] }, scope: 'read' },
  { ...cc, client_id: 'conformance-csj', client_secret: 'oidcp-csj-secret-0123456789abcdef0123456789', token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS256', scope: 'read' },
  // client_id is *VSCHAR (RFC 6749 Appendix A.1), so the special characters stay in that range.
  { ...cc, client_id: 'special id +%/=&:~', client_secret: 's3cret +%/=&:~', token_endpoint_auth_method: 'client_secret_basic', scope: 'read' },
  { client_id: 'conformance-no-client-credentials', client_secret: 'no-cc-secret', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['https://client.example/cb'], scope: 'read' },
  { ...cc, client_id: 'conformance-short-lived', client_secret: 'short-lived-secret', token_endpoint_auth_method: 'client_secret_basic', scope: 'read' },
  { ...cc, client_id: 'conformance-public', token_endpoint_auth_method: 'none', scope: 'read' },
  { ...cc, client_id: 'conformance-throwaway', client_secret: 'throwaway-secret', token_endpoint_auth_method: 'client_secret_basic', scope: 'read' },
  // F-DPOP-BOUND (RFC 9449 §5.2): every token of this client must be DPoP-bound.
  { ...cc, client_id: 'conformance-dpop', client_secret: 'dpop-secret', token_endpoint_auth_method: 'client_secret_basic', dpop_bound_access_tokens: true, scope: 'read' },
  // F-MTLS (RFC 8705 §2.1, §2.2): certificate A by subject DN, certificate B by itself; both get
  // certificate-bound tokens (§3).
  { ...cc, client_id: 'conformance-mtls', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: MTLS_SUBJECT_DN, tls_client_certificate_bound_access_tokens: true, scope: 'read' },
  { ...cc, client_id: 'conformance-mtls-self', token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [selfSignedJWK] }, tls_client_certificate_bound_access_tokens: true, scope: 'read' },
];
const INTROSPECTOR = 'conformance-introspector';
const SHORT_LIVED = 'conformance-short-lived';

// The provider's signing key: a fresh RSA key each start, made by Node's crypto.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJWK = { ...privateKey.export({ format: 'jwk' }), kid: `rs256-${randomBytes(6).toString('base64url')}`, alg: 'RS256', use: 'sig' };
const { d, p, q, dp, dq, qi, ...publicSigningJWK } = signingJWK;

// --- mutual TLS: the hooks oidc-provider asks the deployer for (ours) ---

// The client certificate of the request's TLS connection (the server asks for one and lets a
// connection without one through), or undefined.
const peerCertificate = (socket) => socket.getPeerX509Certificate?.() || undefined;

// tls_client_auth's PKI check (RFC 8705 §2.1): oidc-provider leaves it to the deployer
// (certificateAuthorized). The certificate must be issued and signed by the test CA, be valid
// now, not be a CA, and allow client authentication if it names its extended key usages. Node's
// X509Certificate does the parsing and the signature check.
function issuedByTestCA(cert) {
  if (!cert || cert.ca || !cert.checkIssued(MTLS_CA) || !cert.verify(MTLS_CA.publicKey)) return false;
  const now = Date.now();
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false;
  const eku = cert.keyUsage;
  return !Array.isArray(eku) || eku.includes('1.3.6.1.5.5.7.3.2');
}

// The certificate's subject DN as RFC 4514 writes it (last RDN first); Node lists the RDNs in
// certificate order, one a line. Enough for the fixtures' plain names.
const subjectDN = (cert) => cert.subject.split('\n').reverse().join(',');

// The certificate's SHA-256 thumbprint, base64url (RFC 8705 §3.1: x5t#S256).
const certThumbprint = (cert) => createHash('sha256').update(cert.raw).digest('base64url');

function configuration() {
  return {
    clients,
    clientAuthMethods: [
      'client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none',
      'tls_client_auth', 'self_signed_tls_client_auth',
    ],
    jwks: { keys: [signingJWK] },
    scopes: ['read', 'write', 'admin'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 9449: a proof's jti is single-use per client. With DPOP_NONCES (the proof's test sets
      // it) a random nonceSecret and requireNonce make it demand nonces; without, oidc-provider's
      // defaults demand none.
      dPoP: process.env.DPOP_NONCES
        ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true }
        : { enabled: true },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx) => peerCertificate(ctx.socket)?.toString(),
        certificateAuthorized: (ctx) => issuedByTestCA(peerCertificate(ctx.socket)),
        certificateSubjectMatches: (ctx, property, expected) => {
          const cert = peerCertificate(ctx.socket);
          return property === 'tls_client_auth_subject_dn' && cert !== undefined && subjectDN(cert) === expected;
        },
      },
      introspection: {
        enabled: true,
        // The introspector may introspect any token; another client only its own.
        allowedPolicy: async (ctx, client, token) => client.clientId === INTROSPECTOR || client.clientId === token.clientId,
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf || DEFAULT_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          const info = resourceServers[resourceIndicator];
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
      },
    },
    ttl: {
      ClientCredentials: (ctx, token, client) => (client?.clientId === SHORT_LIVED ? 2 : token.resourceServer?.accessTokenTTL || 3600),
    },
  };
}

// --- the resource server (ours) ---

const RESOURCE_ROUTES = {
  '/public': { public: true },
  '/read-resource': { method: 'GET', resource: DEFAULT_RESOURCE },
  '/write-resource': { method: 'POST', resource: DEFAULT_RESOURCE },
  '/scoped-resource': { method: 'GET', resource: DEFAULT_RESOURCE, scope: 'write' },
  '/rs/one': { method: 'GET', resource: R1 },
  '/rs/two': { method: 'GET', resource: R2 },
  // F-RS-DPOP: DPoP-bound tokens sent with the DPoP scheme only (RFC 9449 §7).
  '/rs/dpop': { method: 'GET', resource: DEFAULT_RESOURCE, dpop: true },
  // F-MTLS's resource: certificate-bound tokens only, over a connection with that certificate
  // (RFC 8705 §3).
  '/rs/mtls': { method: 'GET', resource: DEFAULT_RESOURCE, mtls: true },
};

// The DPoP proof algorithms the resource server accepts (RFC 9449 §7.1 algs).
const DPOP_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
// How far a proof's iat may be from now, in seconds (RFC 9449 §4.3 item 11, §11.1).
const DPOP_IAT_WINDOW = 60;
// The proofs seen within that window (RFC 9449 §11.1), keyed by key, htu and jti; bounded.
const DPOP_SEEN_LIMIT = 10000;
const dpopSeen = new Map();

let stored = null;

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

// RFC 6750 §3: a challenge, with an error code when the request carried a token.
function challenge(res, status, issuer, error, description, extra = '') {
  let value = `Bearer realm="${issuer}"`;
  if (error) value += `, error="${error}", error_description="${description}"${extra}`;
  const body = error ? { error, error_description: description } : { message: 'a Bearer access token is required' };
  send(res, status, body, { 'www-authenticate': value });
}

// RFC 9449 §7.1: a DPoP challenge with the accepted algorithms, and an error code when the
// request carried a token.
function dpopChallenge(res, status, error, description) {
  const algs = `algs="${DPOP_ALGS.join(' ')}"`;
  const value = error ? `DPoP error="${error}", error_description="${description}", ${algs}` : `DPoP ${algs}`;
  const body = error ? { error, error_description: description } : { message: 'a DPoP-bound access token is required' };
  send(res, status, body, { 'www-authenticate': value });
}

// The access token of the request: the Authorization header's Bearer or DPoP credentials only
// (RFC 6750 §2.1, RFC 9449 §7.1; the query and the body are not read, as OAuth 2.1 §5.1 has
// it). Another scheme counts as no token (RFC 6750 §3.1); credentials that are not a b64token,
// or two Authorization headers, are malformed.
function credentials(req) {
  const headers = req.headersDistinct.authorization;
  if (headers === undefined) return { none: true };
  const [scheme] = headers[0].trimStart().split(' ', 1);
  const lower = scheme.toLowerCase();
  if (headers.length > 1) return { malformed: 'the request carries more than one Authorization header', scheme: lower };
  if (lower !== 'bearer' && lower !== 'dpop') return { none: true };
  const m = /^ *(?:bearer|dpop) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(headers[0]);
  if (!m) return { malformed: `the Authorization header is not ${scheme} credentials`, scheme: lower };
  return { scheme: lower, token: m[1] };
}

async function readBody(req, limit = 64 << 10) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// validate returns the token's audiences, scopes and binding (cnf: jkt, x5t#S256), or undefined
// when it is not a valid access token of this issuer. A JWT is verified with the provider's
// public key (RFC 9068 §4); an opaque token is looked up in oidc-provider's store, so that
// revocation takes effect at once.
async function validate(provider, token, jwks) {
  if (token.split('.').length === 3) {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: provider.issuer, typ: 'at+jwt', algorithms: ['RS256'], requiredClaims: ['exp', 'aud', 'client_id'],
      });
      return {
        aud: [].concat(payload.aud), scope: String(payload.scope || ''), jkt: payload.cnf?.jkt, x5t: payload.cnf?.['x5t#S256'],
      };
    } catch {
      return undefined;
    }
  }
  const found = await provider.ClientCredentials.find(token);
  if (!found || !found.isValid) return undefined;
  return {
    aud: [].concat(found.aud || []), scope: found.scope || '', jkt: found.jkt, x5t: found['x5t#S256'],
  };
}

// The request URL without its query, as a proof's htu names it (RFC 9449 §4.3 item 9): the
// issuer's origin and the route's path.
const requestURL = (issuer, req) => new URL(req.url.split('?')[0], issuer).href;

// rememberProof records a proof's (key, htu, jti) for the iat window: false when it was seen
// already (a replay, RFC 9449 §11.1), or when the bounded store is full of live entries.
function rememberProof(key) {
  const now = Date.now();
  for (const [k, expires] of dpopSeen) {
    if (expires > now) break; // insertion order is expiry order
    dpopSeen.delete(k);
  }
  if (dpopSeen.has(key)) return { replay: true };
  if (dpopSeen.size >= DPOP_SEEN_LIMIT) return { full: true };
  dpopSeen.set(key, now + 2 * DPOP_IAT_WINDOW * 1000);
  return {};
}

// checkProof checks the request's DPoP proof for the access token (RFC 9449 §4.3, §7.1): one
// DPoP header holding one compact JWS, typ dpop+jwt, an accepted asymmetric alg, a public jwk
// that verifies it, jti, htm and htu of this request, a recent iat, ath the hash of the token,
// and a jti not seen before. It returns the key's RFC 7638 thumbprint, or an error.
async function checkProof(req, url, token) {
  const headers = req.headersDistinct.dpop;
  if (headers === undefined) return { error: 'the request carries no DPoP proof' };
  if (headers.length !== 1) return { error: 'the request carries more than one DPoP header' };
  const proof = headers[0];
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof)) return { error: 'the DPoP proof is not one compact JWS' };
  let payload;
  let protectedHeader;
  try {
    ({ payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGS }));
  } catch {
    return { error: 'the DPoP proof is not a valid dpop+jwt signed by its jwk' };
  }
  if (typeof payload.jti !== 'string' || payload.jti === '') return { error: 'the DPoP proof has no jti' };
  if (payload.htm !== req.method) return { error: 'the DPoP proof htm is not the request method' };
  const htu = typeof payload.htu === 'string' ? URL.parse(payload.htu) : null;
  if (htu) {
    htu.search = '';
    htu.hash = '';
  }
  if (!htu || htu.href !== url) return { error: 'the DPoP proof htu is not the request URL' };
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > DPOP_IAT_WINDOW) {
    return { error: 'the DPoP proof iat is not recent' };
  }
  if (payload.ath !== createHash('sha256').update(token).digest('base64url')) {
    return { error: 'the DPoP proof ath is not the hash of the access token' };
  }
  const thumbprint = await calculateJwkThumbprint(protectedHeader.jwk);
  const seen = rememberProof(`${thumbprint} ${url} ${payload.jti}`);
  if (seen.replay) return { error: 'the DPoP proof was used before' };
  if (seen.full) return { unavailable: true };
  return { thumbprint };
}

async function protectedResource(provider, jwks, route, req, res) {
  if (route.public) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { message: 'method not allowed' }, { allow: 'GET, HEAD' });
    return send(res, 200, 'moo');
  }
  if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
    return send(res, 405, { message: 'method not allowed' }, { allow: route.method === 'GET' ? 'GET, HEAD' : route.method });
  }
  const { issuer } = provider;
  const got = credentials(req);
  // The DPoP route answers with DPoP challenges; the others with Bearer ones, or DPoP ones to a
  // request that used the DPoP scheme.
  const dpop = route.dpop || got.scheme === 'dpop';
  const refuse = (status, error, description, extra = '') => (dpop
    ? dpopChallenge(res, status, error, description)
    : challenge(res, status, issuer, error, description, extra));
  if (got.none) return refuse(401);
  if (got.malformed) return refuse(400, 'invalid_request', got.malformed);
  const info = await validate(provider, got.token, jwks);
  if (!info || !info.aud.includes(route.resource)) return refuse(401, 'invalid_token', 'the access token is not valid here');

  // RFC 9449 §7: a DPoP-bound token needs the DPoP scheme and a proof by its key; the DPoP
  // scheme needs a DPoP-bound token.
  if (got.scheme === 'dpop') {
    const proof = await checkProof(req, requestURL(issuer, req), got.token);
    if (proof.unavailable) return send(res, 503, { message: 'too many DPoP proofs to remember; retry later' }, { 'retry-after': String(DPOP_IAT_WINDOW) });
    if (proof.error) return refuse(401, 'invalid_dpop_proof', proof.error);
    if (!info.jkt) return refuse(401, 'invalid_token', 'the access token is not DPoP-bound');
    if (proof.thumbprint !== info.jkt) return refuse(401, 'invalid_token', 'the DPoP proof key is not the key the access token is bound to');
  } else if (info.jkt) {
    return refuse(401, 'invalid_token', 'a DPoP-bound access token must be sent with the DPoP scheme');
  } else if (route.dpop) {
    return refuse(401, 'invalid_token', 'this resource needs a DPoP-bound access token');
  }
  // RFC 8705 §3: a certificate-bound token only over a connection with that certificate.
  if (info.x5t) {
    const cert = peerCertificate(req.socket);
    if (!cert || certThumbprint(cert) !== info.x5t) {
      return refuse(401, 'invalid_token', 'the access token is bound to another client certificate');
    }
  } else if (route.mtls) {
    return refuse(401, 'invalid_token', 'this resource needs a certificate-bound access token');
  }

  if (route.scope && !info.scope.split(' ').includes(route.scope)) {
    return refuse(403, 'insufficient_scope', `the access token needs the ${route.scope} scope`, `, scope="${route.scope}"`);
  }
  if (req.method === 'POST') {
    let value;
    try {
      const text = await readBody(req);
      const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
      value = type === 'application/x-www-form-urlencoded' ? new URLSearchParams(text).get('value') : JSON.parse(text).value;
    } catch {
      value = undefined;
    }
    if (value === undefined) {
      return send(res, 400, { message: 'the body must be one JSON object with a value member, or a form with a value field' });
    }
    stored = value;
    return send(res, 200, { message: 'resource created' });
  }
  if (req.url.split('?')[0] === '/read-resource') return send(res, 200, { resource: stored });
  return send(res, 200, { resource: route.resource, scope: info.scope });
}

// otherJWT is the suite's F-OTHER-JWT fixture (ours, not oidc-provider's): a JWT signed with the
// provider's key that is not an access token, an ID token's claims with typ JWT. It carries
// every resource in aud, a client_id and a scope, so that only its type tells it from an access
// token (RFC 9068 §4: the resource server "MUST verify that the typ header value is at+jwt").
function otherJWT(issuer) {
  return new SignJWT({
    client_id: clientId, scope: 'read write', auth_time: Math.floor(Date.now() / 1000), nonce: 'n-0S6_WzA2Mj',
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signingJWK.kid })
    .setIssuer(issuer)
    .setSubject('oidcp-user-1')
    .setAudience([clientId, DEFAULT_RESOURCE, R1, R2])
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
}

// --- start ---

const tls = { cert: readFileSync(env('TLS_CERT_FILE', '')), key: readFileSync(env('TLS_KEY_FILE', '')) };
let handler = (req, res) => send(res, 503, { message: 'starting' });
// The server asks every client for a certificate and lets one without through (RFC 8705 needs
// the certificate only for mutual TLS clients and certificate-bound tokens). It names no
// acceptable CA (no ca option): a client such as Go's sends only a certificate that chains to a
// named CA, so naming the test CA would keep self-signed certificate B from being sent.
// tls_client_auth checks the chain itself (issuedByTestCA).
const server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => handler(req, res));
server.listen(port, '127.0.0.1', async () => {
  const issuer = env('ISSUER', `https://127.0.0.1:${server.address().port}`);
  const provider = new Provider(issuer, configuration());
  const jwks = createLocalJWKSet({ keys: [publicSigningJWK] });
  const callback = provider.callback();
  handler = (req, res) => {
    const route = RESOURCE_ROUTES[req.url.split('?')[0]];
    if (!route) return callback(req, res);
    return protectedResource(provider, jwks, route, req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) send(res, 500, { message: 'internal error' });
    });
  };
  if (process.env.OTHER_JWT_FILE) writeFileSync(process.env.OTHER_JWT_FILE, await otherJWT(issuer));
  console.log(`listening on ${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
}
