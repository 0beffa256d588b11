// An authorization server for the machine-to-machine stack on panva's oidc-provider, and a small
// resource server beside it in the same process. Everything OAuth at the authorization server
// (metadata, token, introspection, revocation, client authentication, JWT access tokens,
// resource indicators) is oidc-provider's own code; this file only configures it. The resource
// server (protectedResource below) is ours: oidc-provider has none.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';

import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
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
];
const INTROSPECTOR = 'conformance-introspector';
const SHORT_LIVED = 'conformance-short-lived';

// The provider's signing key: a fresh RSA key each start, made by Node's crypto.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJWK = { ...privateKey.export({ format: 'jwk' }), kid: `rs256-${randomBytes(6).toString('base64url')}`, alg: 'RS256', use: 'sig' };
const { d, p, q, dp, dq, qi, ...publicSigningJWK } = signingJWK;

function configuration() {
  return {
    clients,
    jwks: { keys: [signingJWK] },
    scopes: ['read', 'write', 'admin'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
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
};

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

// The access token of the request: the Authorization header's Bearer credentials only (RFC 6750
// §2.1; the query and the body are not read, as OAuth 2.1 §5.1 has it). Another scheme counts
// as no token (RFC 6750 §3.1); Bearer credentials that are not a b64token are malformed.
function bearerToken(req) {
  const header = req.headers.authorization;
  if (header === undefined) return { none: true };
  const [scheme] = header.trimStart().split(' ', 1);
  if (scheme.toLowerCase() !== 'bearer') return { none: true };
  const m = /^ *bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) return { malformed: true };
  return { token: m[1] };
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

// validate returns the token's audiences and scopes, or undefined when it is not a valid access
// token of this issuer. A JWT is verified with the provider's public key (RFC 9068 §4); an
// opaque token is looked up in oidc-provider's store, so that revocation takes effect at once.
async function validate(provider, token, jwks) {
  if (token.split('.').length === 3) {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: provider.issuer, typ: 'at+jwt', algorithms: ['RS256'], requiredClaims: ['exp', 'aud', 'client_id'],
      });
      return { aud: [].concat(payload.aud), scope: String(payload.scope || '') };
    } catch {
      return undefined;
    }
  }
  const found = await provider.ClientCredentials.find(token);
  if (!found || !found.isValid) return undefined;
  return { aud: [].concat(found.aud || []), scope: found.scope || '' };
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
  const got = bearerToken(req);
  if (got.none) return challenge(res, 401, issuer);
  if (got.malformed) return challenge(res, 400, issuer, 'invalid_request', 'the Authorization header is not Bearer credentials');
  const info = await validate(provider, got.token, jwks);
  if (!info || !info.aud.includes(route.resource)) {
    return challenge(res, 401, issuer, 'invalid_token', 'the access token is not valid here');
  }
  if (route.scope && !info.scope.split(' ').includes(route.scope)) {
    return challenge(res, 403, issuer, 'insufficient_scope', `the access token needs the ${route.scope} scope`, `, scope="${route.scope}"`);
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
const server = createServer(tls, (req, res) => handler(req, res));
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
