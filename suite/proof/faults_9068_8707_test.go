package proof

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults of RFC 9068 (JWT access tokens) and RFC 8707 (resource indicators), and of RFC 9700
// §2.3's audience rows. The reference issues JWTs only for a resource, so these runs need F-RES
// (R1 and R2, which the harness's copy of reference/target.yaml names at the served URL, with
// the capabilities rs-jwt and resource-indicators); serveWithOtherJWT adds F-OTHER-JWT. A fault
// changes the tokens the reference issues (re-encoded, or re-signed by the proof's own key,
// which it then publishes at /jwks in place of the reference's), or the answers of its resource
// servers.

// The proof's signing key, which stands in for the reference's when a fault or a control
// re-signs a token, and signs F-OTHER-JWT.
var (
	proofKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	proofKeyID = "ccconform-proof-1"
)

// proofJWKS is the JWK set that publishes the proof's key.
func proofJWKS() []byte {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &proofKey().PublicKey, KeyID: proofKeyID, Algorithm: "RS256", Use: "sig"}}})
	return b
}

// serveWithOtherJWT serves h as serveTLS does (the reference's F-RES, R1 and R2 at this URL,
// and the capabilities it cannot advertise come with the copy of reference/target.yaml) and adds
// F-OTHER-JWT: a JWT signed by the proof's key, typ JWT. The harness builds the reference, so the
// proof cannot have it sign one; the reference refuses this one for its signature, and the
// faults of C-9068-4-c serve it.
func serveWithOtherJWT(t *testing.T, h http.Handler) []string {
	t.Helper()
	flags := serveTLS(t, h)
	issuer := ""
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "-issuer="); ok {
			issuer = v
		}
	}
	other := signProof(map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": issuer, "sub": "conformance-user",
		"aud": provider.DemoClientID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}, jose.RS256)
	return append(flags, "-other-jwt="+other)
}

// splitJWT decodes a compact JWS: its header and claims, and its signature segment.
func splitJWT(tok string) (header, claims map[string]any, signature string, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, "", false
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) != nil {
			return nil
		}
		return m
	}
	header, claims = decode(parts[0]), decode(parts[1])
	return header, claims, parts[2], header != nil && claims != nil
}

// joinJWT encodes a header and claims with the signature segment given (a stale or empty one).
func joinJWT(header, claims map[string]any, signature string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + signature
}

// signProof signs the claims with the proof's key (RS256 or PS256, kid proofKeyID) or, for
// HS256, with a random secret, keeping the header's other members.
func signProof(header, claims map[string]any, alg jose.SignatureAlgorithm) string {
	extra := map[jose.HeaderKey]any{}
	for k, v := range header {
		if k != "alg" && k != "kid" {
			extra[jose.HeaderKey(k)] = v
		}
	}
	var key any = proofKey()
	if alg == jose.HS256 {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		key = secret
	} else {
		extra["kid"] = proofKeyID
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, &jose.SignerOptions{ExtraHeaders: extra})
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

// How reissueJWTs encodes an edited token.
type reencoding int

const (
	// keepSignature keeps the reference's signature, now stale: for faults whose specs read the
	// claims without verifying them.
	keepSignature reencoding = iota
	// noSignature sends the token with an empty signature (alg none).
	noSignature
	// proofRS256 and proofPS256 sign with the proof's key and publish it at /jwks instead of the
	// reference's; proofHS256 MACs with a random secret; foreignRS256 signs with the proof's key
	// and publishes nothing.
	proofRS256
	proofPS256
	proofHS256
	foreignRS256
)

// reissueJWTs edits the JWT access tokens of the token responses to matching requests and
// re-encodes them. The resource servers still see the reference's own token when one of these
// is shown (so a re-signed token works where the original did), and, for the proof's own
// signatures, /jwks publishes the proof's key.
func reissueJWTs(match func(*http.Request) bool, how reencoding, edit func(r *http.Request, header, claims map[string]any)) func(http.Handler) http.Handler {
	var issued sync.Map // re-encoded token → the reference's
	return func(next http.Handler) http.Handler {
		tokens := editResponses(and(tokenPOST, match), func(r *http.Request, res *response) {
			if res.status != http.StatusOK {
				return
			}
			m := res.object()
			original, _ := m["access_token"].(string)
			header, claims, signature, ok := splitJWT(original)
			if !ok {
				return
			}
			edit(r, header, claims)
			var tok string
			switch how {
			case keepSignature:
				tok = joinJWT(header, claims, signature)
			case noSignature:
				header["alg"] = "none"
				tok = joinJWT(header, claims, "")
			case proofRS256, foreignRS256:
				tok = signProof(header, claims, jose.RS256)
			case proofPS256:
				tok = signProof(header, claims, jose.PS256)
			case proofHS256:
				tok = signProof(header, claims, jose.HS256)
			}
			issued.Store(tok, original)
			m["access_token"] = tok
			res.setObject(m)
		})(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (how == proofRS256 || how == proofPS256) && r.Method == http.MethodGet && r.URL.Path == provider.PathJWKS {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(proofJWKS())
				return
			}
			if original, ok := issued.Load(bearerTokenOf(r)); ok {
				r.Header.Set("Authorization", "Bearer "+original.(string))
			}
			tokens.ServeHTTP(w, r)
		})
	}
}

// everyRequest matches every request.
func everyRequest(*http.Request) bool { return true }

// bearerTokenOf is the token of a request's Bearer Authorization header.
func bearerTokenOf(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// presentedJWT matches requests whose Bearer token is a JWT for which pred holds.
func presentedJWT(pred func(header, claims map[string]any) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		header, claims, _, ok := splitJWT(bearerTokenOf(r))
		return ok && pred(header, claims)
	}
}

// askedResource matches token requests whose resource parameters satisfy pred.
func askedResource(pred func(r *http.Request, resources []string) bool) func(*http.Request) bool {
	return func(r *http.Request) bool { return tokenPOST(r) && pred(r, formOf(r)["resource"]) }
}

// resourceIssuer is the reference's issuer as the proof serves it: the URL the request reached.
func resourceIssuer(r *http.Request) string { return "https://" + r.Host }

// askedR1 matches token requests for R1 alone.
var askedR1 = askedResource(func(r *http.Request, rs []string) bool {
	return len(rs) == 1 && rs[0] == provider.ResourceOne(resourceIssuer(r))
})

// audNames reports whether a decoded aud claim names s.
func audNames(aud any, s string) bool {
	switch v := aud.(type) {
	case string:
		return v == s
	case []any:
		return slices.Contains(v, any(s))
	}
	return false
}

// servedByFault answers a resource request as served.
func servedByFault(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return answer(match, http.StatusOK, "application/json", `{"resource":"served by the fault"}`)
}

func routeGET(path string) func(*http.Request) bool { return at(http.MethodGet, path) }

// rowFilter is the label filter that runs the specs of one row.
func rowFilter(id string, more ...string) []string {
	return append([]string{"-ginkgo.label-filter=" + id}, more...)
}

var _ = register([]fault{
	// RFC 9068 §2.1: signed, typed.
	{name: "JWT access tokens with alg none and no signature", breaks: "C-9068-2.1-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.1-a"),
		wrap: reissueJWTs(everyRequest, noSignature, func(*http.Request, map[string]any, map[string]any) {})},
	{name: "JWT access tokens signed by a key jwks_uri does not publish", breaks: "C-9068-2.1-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.1-a"),
		wrap: reissueJWTs(everyRequest, foreignRS256, func(_ *http.Request, h, _ map[string]any) { h["kid"] = "" })},
	{name: "JWT access tokens typed JWT, under profile rfc9068", breaks: "C-9068-2.1-b", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.1-b", "-profile=rfc9068"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, h, _ map[string]any) { h["typ"] = "JWT" })},

	// §2.2: the claims.
	{name: "JWT access tokens without jti", breaks: "C-9068-2.2-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.2-a"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { delete(c, "jti") })},
	// Outside profile rfc9068 a JWT that does not claim RFC 9068 is held to it only as a warning.
	{name: "JWT access tokens typed JWT and without jti, in the default profile", breaks: "C-9068-2.2-a", soft: true, serve: serveWithOtherJWT,
		args: rowFilter("C-9068-2.2-a"), wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, h, c map[string]any) {
			h["typ"] = "JWT"
			delete(c, "jti")
		})},
	{name: "JWT access tokens whose iss has a trailing slash", breaks: "C-9068-2.2-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.2-a"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { c["iss"] = c["iss"].(string) + "/" })},
	// RFC 6750 §5.3 (SHOULD): the token a provider issues for resource R1, when its default
	// tokens are opaque, names no audience.
	{name: "JWT access tokens for a resource without aud", breaks: "C-6750-5.3-b", soft: true, serve: serveWithOtherJWT,
		args: rowFilter("C-6750-5.3-b"),
		wrap: reissueJWTs(askedResource(func(_ *http.Request, rs []string) bool { return len(rs) > 0 }), proofRS256,
			func(_ *http.Request, _, c map[string]any) { delete(c, "aud") })},
	{name: "JWT access tokens that all have the same jti", breaks: "C-9068-2.2-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.2-a"),
		// Distinct tokens (a claim of their own each) with one jti: the same token handed out
		// twice would be no finding.
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) {
			c["jti"], c["urn:example:n"] = "always-the-same", rand.Text()
		})},
	{name: "JWT access tokens with a new sub each time", breaks: "C-9068-2.2-b", soft: true, serve: serveWithOtherJWT, args: rowFilter("C-9068-2.2-b"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { c["sub"] = rand.Text() })},
	{name: "JWT access tokens naming another client in client_id", breaks: "C-9068-2.2-c", serve: serveWithOtherJWT, args: rowFilter("C-9068-2.2-c"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { c["client_id"] = "conformance-second" })},
	{name: "JWT access tokens with the scope claim as an array", breaks: "C-9068-2.2.3-a", soft: true, serve: serveWithOtherJWT, args: rowFilter("C-9068-2.2.3-a"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { c["scope"] = strings.Fields(c["scope"].(string)) })},

	// §3, §4 ¶1–2, §5: audience, algorithm, keys.
	{name: "JWT access tokens without aud", breaks: "C-9068-3-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-3-a"),
		wrap: reissueJWTs(everyRequest, proofRS256, func(_ *http.Request, _, c map[string]any) { delete(c, "aud") })},
	{name: "JWT access tokens MACed with HS256", breaks: "C-9068-4-a", soft: true, serve: serveWithOtherJWT, args: rowFilter("C-9068-4-a"),
		wrap: reissueJWTs(everyRequest, proofHS256, func(*http.Request, map[string]any, map[string]any) {})},
	{name: "the JWK set lacks the access token's kid", breaks: "C-9068-4-b", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-b"),
		wrap: editResponses(at(http.MethodGet, provider.PathJWKS), func(_ *http.Request, r *response) {
			r.body = bytes.ReplaceAll(r.body, []byte(`"kid":"`), []byte(`"kid":"renamed-`))
		})},
	{name: "OpenID Connect discovery names another jwks_uri than the RFC 8414 metadata", breaks: "C-9068-4-b", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-b"),
		wrap: atOpenIDConfiguration(func(r *http.Request, res *response) {
			setMember("jwks_uri", resourceIssuer(r)+"/other-jwks")(r, res)
		})},
	{name: "a token for R1 names R2 in aud too", breaks: "C-9068-5-a", serve: serveWithOtherJWT, args: rowFilter("C-9068-5-a"),
		wrap: reissueJWTs(askedR1, proofRS256, func(r *http.Request, _, c map[string]any) {
			c["aud"] = []string{provider.ResourceOne(resourceIssuer(r)), provider.ResourceTwo(resourceIssuer(r))}
		})},

	// §4: the resource server.
	{name: "the read route serves a JWT that is not an access token", breaks: "C-9068-4-c", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-c"),
		wrap: servedByFault(and(readGET, presentedJWT(func(h, _ map[string]any) bool {
			typ, _ := h["typ"].(string)
			return !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt")
		})))},
	{name: "R1's resource server refuses typ at+jwt", breaks: "C-9068-4-c", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-c"),
		wrap: editResponses(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["typ"] == "at+jwt" })),
			func(_ *http.Request, r *response) {
				r.status, r.body = http.StatusUnauthorized, []byte(`{"error":"invalid_token"}`)
				r.header.Set("WWW-Authenticate", `Bearer realm="x", error="invalid_token"`)
				r.header.Set("Content-Type", "application/json")
			})},
	{name: "R1's resource server serves alg none", breaks: "C-9068-4-d", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-d"),
		wrap: servedByFault(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["alg"] == "none" })))},
	{name: "R1's resource server trusts a key embedded as jwk", breaks: "C-9068-4-d", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-d"),
		wrap: servedByFault(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["jwk"] != nil })))},
	{name: "R1's resource server takes HS256 keyed with the public key", breaks: "C-9068-4-d", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-d"),
		wrap: servedByFault(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["alg"] == "HS256" })))},
	{name: "R1's resource server does not check the signature", breaks: "C-9068-4-d", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-d"),
		wrap: servedByFault(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["alg"] == "RS256" && h["jwk"] == nil })))},
	{name: "R1's resource server takes a token for R2", breaks: "C-9068-4-e", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-e"),
		wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				servedByFault(and(routeGET(provider.PathResourceOne), presentedJWT(func(_, c map[string]any) bool {
					return audNames(c["aud"], provider.ResourceTwo(resourceIssuer(r)))
				})))(next).ServeHTTP(w, r)
			})
		}},
	// The short-lived client's token comes with an exp six minutes past, which only a resource
	// server that ignores exp (or allows more than the checklist's five minutes) serves.
	{name: "R1's resource server serves a token six minutes after its exp", breaks: "C-9068-4-f", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-f"),
		wrap: func(next http.Handler) http.Handler {
			shortLived := func(r *http.Request) bool { id, _ := basicClientID(r); return id == provider.FixtureShortLived.ID }
			expired := reissueJWTs(shortLived, keepSignature, func(_ *http.Request, _, c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-8*time.Minute).Unix(), time.Now().Add(-6*time.Minute).Unix()
			})
			return servedByFault(and(routeGET(provider.PathResourceOne), presentedJWT(func(_, c map[string]any) bool {
				return c["client_id"] == provider.FixtureShortLived.ID
			})))(expired(next))
		}},
	{name: "R1's resource server refuses a forged token with 403", breaks: "C-9068-4-g", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-g"),
		wrap: editResponses(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["alg"] == "none" })),
			when(http.StatusUnauthorized, setStatus(http.StatusForbidden)))},
	{name: "R1's resource server refuses a forged token without an error code", breaks: "C-9068-4-g", serve: serveWithOtherJWT, args: rowFilter("C-9068-4-g"),
		wrap: editResponses(and(routeGET(provider.PathResourceOne), presentedJWT(func(h, _ map[string]any) bool { return h["jwk"] != nil })),
			setHeader("WWW-Authenticate", `Bearer realm="x"`))},

	// RFC 8707 §2: the resource parameter.
	{name: "a token for R1 names only the client in aud", breaks: "C-8707-2-a", soft: true, serve: serveWithOtherJWT, args: rowFilter("C-8707-2-a"),
		wrap: reissueJWTs(askedR1, keepSignature, func(_ *http.Request, _, c map[string]any) { c["aud"] = provider.DemoClientID })},
	{name: "a relative or fragment resource is ignored", breaks: "C-8707-2-b", serve: serveWithOtherJWT, args: rowFilter("C-8707-2-b"),
		wrap: editRequests(tokenPOST, func(r *http.Request) {
			f := formOf(r)
			for _, v := range f["resource"] {
				if u, err := url.Parse(v); err != nil || u.Scheme == "" || strings.Contains(v, "#") {
					f.Del("resource")
					setForm(r, f)
					return
				}
			}
		})},
	{name: "a malformed resource is invalid_request, not invalid_target", breaks: "C-8707-2-b", soft: true, serve: serveWithOtherJWT, args: rowFilter("C-8707-2-b"),
		wrap: editResponses(tokenPOST, when(http.StatusBadRequest, func(r *http.Request, res *response) {
			if res.object()["error"] == "invalid_target" {
				setMember("error", "invalid_request")(r, res)
			}
		}))},
	{name: "an unknown resource reaches aud", breaks: "C-8707-2-c", serve: serveWithOtherJWT, args: rowFilter("C-8707-2-c"),
		wrap: func(next http.Handler) http.Handler {
			unknown := askedResource(func(_ *http.Request, rs []string) bool {
				return slices.ContainsFunc(rs, func(s string) bool { return strings.Contains(s, ".invalid/") })
			})
			inject := reissueJWTs(everyRequest, keepSignature, func(r *http.Request, _, c map[string]any) {
				if asked := r.Header.Get("X-Proof-Asked"); asked != "" {
					c["aud"] = asked
				}
			})
			return inject(editRequests(unknown, func(r *http.Request) {
				f := formOf(r)
				r.Header.Set("X-Proof-Asked", f.Get("resource"))
				f.Set("resource", provider.ResourceOne(resourceIssuer(r)))
				setForm(r, f)
			})(next))
		}},
	{name: "a repeated resource is refused as invalid_request", breaks: "C-8707-2-d", serve: serveWithOtherJWT, args: rowFilter("C-8707-2-d"),
		wrap: answer(askedResource(func(_ *http.Request, rs []string) bool { return len(rs) > 1 }), http.StatusBadRequest, "application/json",
			`{"error":"invalid_request","error_description":"duplicate parameter: resource"}`)},

	// RFC 8707 §3 and RFC 9700 §2.3: audience restriction.
	{name: "R2's resource server takes a token for R1", breaks: "C-8707-3-a", serve: serveWithOtherJWT, args: rowFilter("C-8707-3-a"),
		wrap: takesR1AtR2},
	{name: "R2's resource server takes a token for R1, under profile bcp", breaks: "C-9700-2.3-b", serve: serveWithOtherJWT, args: rowFilter("C-9700-2.3-b", "-profile=bcp"),
		wrap: takesR1AtR2},
	{name: "tokens asked for R1 name only the client, under profile bcp", breaks: "C-9700-2.3-a", soft: true, serve: serveWithOtherJWT, args: rowFilter("C-9700-2.3-a", "-profile=bcp"),
		wrap: reissueJWTs(askedR1, keepSignature, func(_ *http.Request, _, c map[string]any) { c["aud"] = provider.DemoClientID })},
})

// takesR1AtR2 is a resource server R2 that serves tokens whose aud names R1.
func takesR1AtR2(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		servedByFault(and(routeGET(provider.PathResourceTwo), presentedJWT(func(_, c map[string]any) bool {
			return audNames(c["aud"], provider.ResourceOne(resourceIssuer(r)))
		})))(next).ServeHTTP(w, r)
	})
}
