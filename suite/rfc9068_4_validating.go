package suite

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9068 §4: what lets a resource server validate a JWT access token (the authorization
// server's algorithm and published keys), and what the resource server must refuse. The
// resource server rows (cap:rs-jwt, declared) show the token at the protected route of the
// resource it was issued for: the read path for a token asked for without resource, R1's route
// for one asked for R1 (F-RES). Forgeries are made from real tokens (jwt.go, the checklist's
// forgery rule); the suite never holds the provider's key.
var _ = Describe("RFC 9068 §4: validating JWT access tokens", func() {
	// §4 ¶1 (SHOULD): an asymmetric signature is recommended, so that resource servers need no
	// shared secret: RS*, PS*, ES* or EdDSA. HS* warns.
	It("signs its JWT access tokens with an asymmetric algorithm",
		append(specLabels("token", "C-9068-4-a"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			row("C-9068-4-a").That(isAsymmetric(a.alg()), "the token's alg is %q, not an asymmetric algorithm (RS*, PS*, ES*, EdDSA)", oneLine(a.alg(), 40))
		}, SpecTimeout(target.specTimeout(2)))

	// §4 ¶2: the authorization server SHOULD publish issuer and jwks_uri (RFC 8414); when it
	// publishes both RFC 8414 metadata and OpenID Connect Discovery, the two MUST agree on them.
	// The token's kid names a key of that JWK set. No jwks_uri is the row's lenient case (WARN).
	It("publishes a jwks_uri holding the token's kid, the same in its RFC 8414 and OpenID Connect discovery documents",
		append(specLabels("token", "C-9068-4-b"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			j := asRow(a.jwtToken, "C-9068-4-b")
			if target.Issuer == "" {
				j.Cannot("no issuer is configured (--issuer), so the discovery documents cannot be found")
			} else {
				By("reading both discovery documents")
				oauth, _ := discoveryDocument(ctx, wellKnownURL(target.Issuer, "oauth-authorization-server"))
				oidc, _ := discoveryDocument(ctx, openIDConfigurationURL(target.Issuer))
				if oauth != nil && oidc != nil {
					for _, member := range []string{"issuer", "jwks_uri"} {
						x, inOAuth := oauth[member]
						y, inOIDC := oidc[member]
						if inOAuth && inOIDC {
							j.That(jsonEqual(x, y), "the RFC 8414 metadata and the OpenID Connect discovery document differ in %s", member)
						}
					}
				}
				published := oauth
				if published == nil {
					published = oidc
				}
				if published != nil {
					uri, _ := published["jwks_uri"].(string)
					row("C-9068-4-b").Lenient().That(uri != "", "the discovery document publishes no jwks_uri")
				}
			}
			if a.kid() == "" {
				return
			}
			keys, why := fetchJWKS(ctx)
			if why != "" {
				j.Cannot("whether the token's kid is in the JWK set cannot be seen: %s", why)
				return
			}
			j.That(slices.ContainsFunc(keys, func(k jwksKey) bool { return k.Key.KeyID == a.kid() }),
				"the JWK set at jwks_uri has no key with the token's kid %q", a.kid())
		}, SpecTimeout(target.specTimeout(5)))

	// §4 bullet 1 (MUST): the resource server accepts only typ at+jwt or application/at+jwt, so
	// a JWT the provider signed for another purpose (F-OTHER-JWT, such as an ID token) is no
	// access token there. §4 ¶6 (C-9068-4-g): the refusal is 401 with invalid_token. A
	// resource server that also checks aud may refuse such a JWT for its audience instead; the
	// row cannot tell the two apart black-box, as the checklist notes.
	It("refuses a validly signed JWT of the provider's that is not an access token (F-OTHER-JWT), with 401 and invalid_token",
		append(specLabels("resource", "C-9068-4-c", "C-9068-4-g"), "rfc9068", "cap:rs-jwt"), func(ctx SpecContext) {
			needCap(config.CapResourceServerJWT)
			if target.OtherJWT == "" {
				judge.Skip("the target declares no F-OTHER-JWT (other_jwt in --target-config): a validly signed JWT of the provider's that is not an access token, such as an ID token")
			}
			redactor.add(target.OtherJWT)
			if t, ok := decodeJWT(target.OtherJWT); ok && t.claims9068() {
				judge.Skip("the declared F-OTHER-JWT has typ %q: it must be a JWT that is not an access token", t.typ())
			}
			path := servedRoute(ctx)
			res := presentToken(ctx, path, "F-OTHER-JWT", target.OtherJWT)
			expectRefusedAsInvalid(res, "C-9068-4-c", "F-OTHER-JWT, a JWT that is not an access token,")
		}, SpecTimeout(target.specTimeout(4)))

	// §4 bullet 1 (MUST), the other way round: a genuine access token, typ at+jwt or
	// application/at+jwt, is accepted (spring-security #9900 and #13185, elasticsearch #119370
	// refused at+jwt). The provider's own JWT access token is shown at the route of the resource
	// it was issued for. Only a refusal as invalid_token counts, and a fresh token is tried once
	// first (a provider may revoke a client's earlier tokens when it issues a new one): a 403,
	// say, is about the token's scope, not its type.
	It("serves a genuine JWT access token (typ at+jwt) at the route of the resource it was issued for",
		append(specLabels("resource", "C-9068-4-c"), "rfc9068", "cap:rs-jwt"), func(ctx SpecContext) {
			needCap(config.CapResourceServerJWT)
			a := jwtAccessToken(ctx)
			if !a.claims9068() {
				judge.Skip("the provider's JWT access tokens have typ %q, not at+jwt, so what the resource server makes of at+jwt cannot be seen", oneLine(a.typ(), 40))
			}
			path := a.route()
			if path == "" {
				judge.Skip("the target declares no protected route of the resource the token was issued for")
			}
			res := presentToken(ctx, path, "a genuine JWT access token", a.Raw)
			if !rsSucceeded(res) && rsSaysInvalidToken(res) {
				By("the genuine token was refused as invalid_token: a fresh one is shown once")
				res = presentToken(ctx, path, "a fresh genuine JWT access token", tokenFor(ctx, a.Client, a.Scope, a.Resource).AccessToken)
			}
			if !rsSucceeded(res) && !rsSaysInvalidToken(res) {
				judge.Skip("the resource server refused the genuine token with %s but not as invalid_token, which says nothing about its type", res.Status)
			}
			row("C-9068-4-c").That(rsSucceeded(res), "the resource server at %s refused a genuine JWT access token of typ %q as invalid_token (%s)",
				redactor.mask(path), oneLine(a.typ(), 40), res.Status)
		}, SpecTimeout(target.specTimeout(5)))

	// §4 bullet 5 (MUST): the resource server verifies the signature with the algorithm the
	// header names, refuses alg none, and uses only keys of the authorization server's. Each
	// forgery of a real token (alg none; the suite's key embedded as jwk under the token's kid;
	// HS256 keyed with the provider's public key; a changed payload byte) is refused with 401
	// and invalid_token (§4 ¶6, C-9068-4-g), where the real token is served.
	It("refuses forgeries of a real JWT access token (alg none, the suite's key as jwk, HS256 keyed with the public key, a changed payload byte), with 401 and invalid_token",
		append(specLabels("resource", "C-9068-4-d", "C-9068-4-g"), "rfc9068", "cap:rs-jwt"), func(ctx SpecContext) {
			needCap(config.CapResourceServerJWT)
			a := jwtAccessToken(ctx)
			path := a.route()
			if path == "" {
				judge.Skip("the target declares no protected route of the resource the token was issued for")
			}
			needServed(ctx, path, a.Raw, "the genuine token")
			keys, _ := fetchJWKS(ctx)
			var asKey *jwksKey
			if len(keys) > 0 {
				asKey, _ = verifyJWT(a.jwtToken, keys)
			}
			forgeries, err := forge(a.jwtToken, asKey)
			Expect(err).NotTo(HaveOccurred(), "forging the tokens")
			for _, f := range forgeries {
				res := presentToken(ctx, path, f.what, f.token)
				expectRefusedAsInvalid(res, "C-9068-4-d", "the token "+f.what+",")
			}
		}, SpecTimeout(target.specTimeout(10)))

	// §4 bullets 3–4 (MUST): the resource server checks that aud holds its own identifier (and
	// that iss is the issuer, which cannot be forged without the provider's key: not checked).
	// A token asked for R2 is refused at R1's route with 401 and invalid_token (C-9068-4-g),
	// where a token for R1 is served.
	It("refuses at resource R1 a token issued for resource R2, with 401 and invalid_token",
		append(specLabels("resource", "C-9068-4-e", "C-9068-4-g"), "rfc9068", "cap:rs-jwt", "cap:resource-indicators"), func(ctx SpecContext) {
			needCap(config.CapResourceServerJWT)
			res := presentForOtherResource(ctx, resourceIndicator(1, false), resourceIndicator(0, true))
			expectRefusedAsInvalid(res, "C-9068-4-e", "a token for R2")
		}, SpecTimeout(target.specTimeout(6)))

	// §4 bullet 6 (MUST): the resource server refuses a token whose exp has passed, allowing a
	// few minutes of leeway at most. The short-lived fixture client's token (asked for R1 when
	// the target declares F-RES) is served while fresh, then shown again once its exp (what the
	// resource server checks; else its expires_in) has passed: a refusal is 401 with
	// invalid_token (C-9068-4-g). Still served after exp is recorded with
	// the leeway seen; still served five minutes after exp fails, when max_expiry_wait lets the
	// spec wait that long. The spec waits, so it is labelled slow.
	It("refuses a short-lived JWT access token once it has expired, with 401 and invalid_token",
		Label("slow"), SpecPriority(100), append(specLabels("resource", "C-9068-4-f", "C-9068-4-g"), "rfc9068", "cap:rs-jwt"), func(ctx SpecContext) {
			needCap(config.CapResourceServerJWT)
			if target.Clients.ShortLived == nil {
				judge.Skip("the target declares no short-lived client (clients.short_lived in --target-config), whose token this spec lets expire")
			}
			resource := ""
			if len(target.ResourceIndicators) > 0 {
				resource = target.ResourceIndicators[0].Resource
			}
			a := jwtAccess{Client: *target.Clients.ShortLived, Scope: rsScopeFor(target.ReadPath), Resource: resource}
			tok := tokenFor(ctx, a.Client, a.Scope, a.Resource)
			received := time.Now()
			t, ok := decodeJWT(tok.AccessToken)
			if !ok {
				judge.Skip("the short-lived client's token is not a JWT")
			}
			a.jwtToken, a.Issued = t, tok
			path := a.route()
			if path == "" {
				judge.Skip("the target declares no protected route of the resource the short-lived token was issued for")
			}
			expiry, known := jwtExpiry(a, received)
			switch {
			case !known:
				judge.Skip("neither exp nor expires_in says when the short-lived token expires")
			case time.Until(expiry) > target.maxExpiryWait():
				judge.Skip("the short-lived client's token expires in %s, later than the expiry wait of %s (max_expiry_wait in --target-config)",
					time.Until(expiry).Round(time.Second), target.maxExpiryWait())
			}
			needServed(ctx, path, a.Raw, "the fresh short-lived token")

			By("waiting until it has expired")
			if !sleepUntil(ctx, expiry.Add(rsExpiryMargin)) {
				return
			}
			res := presentToken(ctx, path, "short-lived token, expired", a.Raw)
			if !rsSucceeded(res) {
				expectRefusedAsInvalid(res, "C-9068-4-f", "the expired token")
				return
			}
			late := time.Since(expiry).Round(time.Second)
			limit := expiry.Add(maxExpiryLeeway + rsExpiryMargin)
			if limit.After(received.Add(target.maxExpiryWait())) {
				row("C-9068-4-f").Inform("the expired token was still served %s after exp; max_expiry_wait (%s) does not let the suite wait the %s after which it must be refused", late, target.maxExpiryWait(), maxExpiryLeeway)
				return
			}
			if !sleepUntil(ctx, limit) {
				return
			}
			res = presentToken(ctx, path, "short-lived token, long expired", a.Raw)
			if rsSucceeded(res) {
				row("C-9068-4-f").That(false, "the expired token was still served %s after exp", time.Since(expiry).Round(time.Second))
				return
			}
			row("C-9068-4-f").Inform("the expired token was still served %s after exp, and refused %s after it: a leeway", late, maxExpiryLeeway)
			expectRefusedAsInvalid(res, "C-9068-4-f", "the expired token")
		}, SpecTimeout(target.specTimeout(6)+target.maxExpiryWait()+rsExpiryMargin))
})

// maxExpiryLeeway is how long after exp the checklist lets a resource server still accept a
// token ("a few minutes"): still served then is a failure of C-9068-4-f.
const maxExpiryLeeway = 5 * time.Minute

// discoveryDocument GETs a discovery document: its members when it answers 200 with a JSON
// object, else nil.
func discoveryDocument(ctx context.Context, u string) (map[string]any, *http.Response) {
	GinkgoHelper()
	res, err := trySend(ctx, request{Path: u, Note: "discovery document", NoRetry: true})
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, res
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		return nil, res
	}
	return obj.members, res
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// presentToken shows a token at a protected route (a GET, as the resource indicators' routes
// are).
func presentToken(ctx context.Context, path, note, token string) *http.Response {
	GinkgoHelper()
	return send(ctx, request{Path: path, Note: note, Authorization: "Bearer " + token})
}

// needServed shows a token that must work at the route, and leaves the spec not judged when it
// is refused: the refusals the spec then looks at would say nothing.
func needServed(ctx context.Context, path, token, what string) {
	GinkgoHelper()
	res := presentToken(ctx, path, what, token)
	if !rsSucceeded(res) {
		judge.Skip("the resource server at %s refused %s (%s), so its refusals of the tokens this spec shows would say nothing", redactor.mask(path), what, res.Status)
	}
}

// servedRoute is a protected route where a valid token of the main client is served: the read
// path, else R1's route with a token for R1.
func servedRoute(ctx context.Context) string {
	GinkgoHelper()
	if target.ReadPath != "" {
		needServed(ctx, target.ReadPath, issueToken(ctx, target.Client, rsScopeFor(target.ReadPath)).AccessToken, "a valid token")
		return target.ReadPath
	}
	r1 := resourceIndicator(0, true)
	needServed(ctx, r1.Path, tokenFor(ctx, target.Client, target.allowedScopes()[0], r1.Resource).AccessToken, "a valid token for R1")
	return r1.Path
}

// expectRefusedAsInvalid judges a token the resource server must refuse: the row id, that it
// was not served; C-9068-4-g (RFC 9068 §4 ¶6, RFC 6750 §3.1), that the refusal is 401 with a
// Bearer challenge whose error is invalid_token.
func expectRefusedAsInvalid(res *http.Response, id, what string) {
	GinkgoHelper()
	if !row(id).That(!rsSucceeded(res), "%s was served: %s", what, res.Status) {
		return
	}
	row("C-9068-4-g").Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "%s was refused", what)
	row("C-9068-4-g").Expect(res).To(HaveBearerAttribute("error", "invalid_token"), "%s was refused", what)
}

// presentForOtherResource shows at resource at's route a token the main client was issued for
// resource holder, and returns the answer. A token for at must be served there first, and the
// holder's token must not name at in aud (else C-9068-5-a blocks the spec: the token is then
// meant for at too). Only providers that honour resource indicators are judged.
func presentForOtherResource(ctx context.Context, holder, at ResourceIndicator) *http.Response {
	GinkgoHelper()
	needResourceIndicators(ctx)
	scope := target.allowedScopes()[0]
	needServed(ctx, at.Path, tokenFor(ctx, target.Client, scope, at.Resource).AccessToken, "a token issued for its own resource")
	tok := tokenFor(ctx, target.Client, scope, holder.Resource)
	if t, ok := decodeJWT(tok.AccessToken); ok {
		if aud, _ := t.audiences(); slices.Contains(aud, at.Resource) {
			judge.Block("C-9068-5-a", "the token asked for one resource names the other in aud too")
		}
	}
	return presentToken(ctx, at.Path, "a token for another resource", tok.AccessToken)
}

// jwtExpiry is when a token expires: its exp claim, which is what a resource server checks
// (RFC 9068 §4 bullet 6), else expires_in after it was received.
func jwtExpiry(a jwtAccess, received time.Time) (time.Time, bool) {
	if exp, ok := a.numericDate("exp"); ok {
		return time.Unix(int64(exp), 0), true
	}
	if a.Issued.HasExpiresIn {
		return received.Add(time.Duration(a.Issued.ExpiresIn) * time.Second), true
	}
	return time.Time{}, false
}

// sleepUntil waits until t; false when the spec's time ran out first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(t)):
		return true
	}
}
