package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// caIssuer is the issuer of the providers these tests build.
const caIssuer = "https://as.example"

// caEnv is a provider with the fixture clients and an issuer, for the client authentication,
// introspection and revocation tests.
type caEnv struct {
	t *testing.T
	p *Provider
	h http.Handler
}

func newCAEnv(t *testing.T) *caEnv {
	t.Helper()
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &caEnv{t: t, p: p, h: p.Handler()}
}

// post sends a form to path, with Basic credentials when basic has two elements.
func (e *caEnv) post(path string, form url.Values, basic ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		r.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// token asks for a token with the assertion (and the extra parameters kv).
func (e *caEnv) tokenWith(assertion string, kv ...string) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {JWTBearerAssertionType},
		"client_assertion": {assertion}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return e.post(PathToken, form)
}

// secretToken gets a token for a secret client.
func (e *caEnv) secretToken(id, secret string, kv ...string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	rec := e.post(PathToken, form, id, secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || tok.AccessToken == "" {
		e.t.Fatalf("no token for %s: %d %s", id, rec.Code, rec.Body)
	}
	return tok.AccessToken
}

// oauthErrorOf is the error member of a JSON response body.
func oauthErrorOf(rec *httptest.ResponseRecorder) string {
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return body.Error
}

// claims for an assertion of the client: valid, fresh jti.
func caClaims(clientID string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": clientID, "sub": clientID, "aud": caIssuer, "exp": now.Add(time.Minute).Unix(),
		"iat": now.Unix(), "jti": rand.Text()}
}

// sign makes a compact JWS of the claims with the key, algorithm and extra header parameters
// (kid among them; a nil value leaves the parameter out).
func caSign(t testing.TB, key any, alg jose.SignatureAlgorithm, header map[string]any, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range header {
		if v != nil {
			opts = opts.WithHeader(jose.HeaderKey(k), v)
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixtureSigner(t *testing.T, pemBytes []byte) crypto.Signer {
	t.Helper()
	s, err := FixtureSigner(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The three fixture clients' own assertions, one per client.
func pkjAssertion(t *testing.T, claims map[string]any) string {
	return caSign(t, fixtureSigner(t, FixturePrivateKeyJWTKeyPEM), jose.ES256, map[string]any{"kid": FixturePrivateKeyJWTKeyID}, claims)
}

func pkj2Assertion(t *testing.T, claims map[string]any) string {
	return caSign(t, fixtureSigner(t, FixturePrivateKeyJWT2KeyPEM), jose.RS256, map[string]any{"kid": FixturePrivateKeyJWT2KeyID}, claims)
}

func csjAssertion(t *testing.T, claims map[string]any) string {
	return caSign(t, []byte(FixtureClientSecretJWT.Secret), jose.HS256, nil, claims)
}

// segment is base64url without padding, for hand-assembled JWTs.
func caSegment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func caWith(claims map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestAssertionsAuthenticate(t *testing.T) {
	e := newCAEnv(t)
	pkj, csj := FixturePrivateKeyJWT.ID, FixtureClientSecretJWT.ID
	pkjKey := fixtureSigner(t, FixturePrivateKeyJWTKeyPEM)
	cases := map[string]*httptest.ResponseRecorder{
		"private_key_jwt ES256":             e.tokenWith(pkjAssertion(t, caClaims(pkj))),
		"private_key_jwt RS256":             e.tokenWith(pkj2Assertion(t, caClaims(FixturePrivateKeyJWT2.ID))),
		"client_secret_jwt HS256":           e.tokenWith(csjAssertion(t, caClaims(csj))),
		"with the matching client_id":       e.tokenWith(pkjAssertion(t, caClaims(pkj)), "client_id", pkj),
		"aud a one-element array":           e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", []string{caIssuer}))),
		"typ JWT":                           e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"kid": "pkj-1", "typ": "JWT"}, caClaims(pkj))),
		"typ client-authentication+jwt":     e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"kid": "pkj-1", "typ": "client-authentication+jwt"}, caClaims(pkj))),
		"typ application/...+jwt":           e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"kid": "pkj-1", "typ": "application/client-authentication+jwt"}, caClaims(pkj))),
		"no kid":                            e.tokenWith(caSign(t, pkjKey, jose.ES256, nil, caClaims(pkj))),
		"unknown claims":                    e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "urn:example:x", 1, "nonce", "x"))),
		"nbf in the past, fractional dates": e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "nbf", float64(time.Now().Unix())-0.5, "exp", float64(time.Now().Unix())+59.5))),
		"exp within the leeway":             e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", time.Now().Add(-10*time.Second).Unix()))),
		"iat a day old":                     e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "iat", time.Now().Add(-24*time.Hour).Unix()))),
		"no iat":                            e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "iat", nil))),
		"scope asked for":                   e.tokenWith(csjAssertion(t, caClaims(csj)), "scope", "read"),
	}
	for name, rec := range cases {
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"access_token"`) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// Every rule of the assertion, broken once: no token, and the error the rule calls for.
func TestAssertionsRefused(t *testing.T) {
	e := newCAEnv(t)
	pkj, pkj2, csj := FixturePrivateKeyJWT.ID, FixturePrivateKeyJWT2.ID, FixtureClientSecretJWT.ID
	pkjKey := fixtureSigner(t, FixturePrivateKeyJWTKeyPEM)
	pkj2Key := fixtureSigner(t, FixturePrivateKeyJWT2KeyPEM)
	good := pkjAssertion(t, caClaims(pkj))
	parts := strings.Split(good, ".")
	pubDER, err := x509.MarshalPKIXPublicKey(pkjKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWith := func(key []byte, kid string) string {
		return caSign(t, key, jose.HS256, map[string]any{"kid": kid}, caClaims(pkj))
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	form := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	type result struct {
		rec    *httptest.ResponseRecorder
		status int
		code   string
	}
	invalidClient := func(rec *httptest.ResponseRecorder) result { return result{rec, 401, "invalid_client"} }
	invalidRequest := func(rec *httptest.ResponseRecorder) result { return result{rec, 400, "invalid_request"} }
	cases := map[string]result{
		// C-7521-4.2-a: the assertion type.
		"no client_assertion_type": invalidRequest(e.post(PathToken, form("client_assertion", pkjAssertion(t, caClaims(pkj))))),
		"saml2-bearer type": invalidRequest(e.tokenWith(pkjAssertion(t, caClaims(pkj)),
			"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")),
		"misspelled type": invalidRequest(e.tokenWith(pkjAssertion(t, caClaims(pkj)),
			"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer ")),
		"no client_assertion": invalidRequest(e.post(PathToken, form("client_assertion_type", JWTBearerAssertionType))),
		// C-7523-2.2-b: exactly one JWT.
		"two JWTs, comma": invalidClient(e.tokenWith(pkjAssertion(t, caClaims(pkj)) + "," + pkjAssertion(t, caClaims(pkj)))),
		"two JWTs, space": invalidClient(e.tokenWith(pkjAssertion(t, caClaims(pkj)) + " " + pkjAssertion(t, caClaims(pkj)))),
		"JSON serialization": invalidClient(e.tokenWith(fmt.Sprintf(`{"protected":%q,"payload":%q,"signature":%q}`,
			parts[0], parts[1], parts[2]))),
		// C-7521-4.2-b: client_id names the same client.
		"client_id of another client": invalidClient(e.tokenWith(pkjAssertion(t, caClaims(pkj)), "client_id", pkj2)),
		// C-7523-3-a: iss and sub.
		"sub another client":  invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "sub", pkj2)))),
		"iss another client":  invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "iss", pkj2)))),
		"no sub":              invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "sub", nil)))),
		"no iss":              invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "iss", nil)))),
		"iss=sub another one": invalidClient(e.tokenWith(pkjAssertion(t, caClaims(pkj2)))),
		"iss a number":        invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "iss", 7)))),
		"unknown client":      invalidClient(e.tokenWith(pkjAssertion(t, caClaims("nobody")))),
		"a secret client":     invalidClient(e.tokenWith(pkjAssertion(t, caClaims(DemoClientID)))),
		// C-7523-3-b and C-10070-4-a: the audience is the issuer, exactly.
		"no aud":               invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", nil)))),
		"aud another server":   invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", "https://attacker.example/")))),
		"aud with a slash":     invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", caIssuer+"/")))),
		"aud host in capitals": invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", "https://AS.example")))),
		"aud token endpoint":   invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", caIssuer+PathToken)))),
		"aud introspection":    invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", caIssuer+PathIntrospect)))),
		"aud two values":       invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", []string{caIssuer, "https://other.example/"})))),
		"aud empty array":      invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", []string{})))),
		"aud a number":         invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", 1)))),
		// C-10070-4-b: a typ of another kind of JWT.
		"typ at+jwt": invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"kid": "pkj-1", "typ": "at+jwt"}, caClaims(pkj)))),
		"typ number": invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"kid": "pkj-1", "typ": 1}, caClaims(pkj)))),
		// C-7523-3-c and 3-d: exp and nbf.
		"no exp":        invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", nil)))),
		"expired":       invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", time.Now().Add(-300*time.Second).Unix())))),
		"exp in a year": invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", time.Now().AddDate(1, 0, 0).Unix())))),
		"exp a string":  invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", fmt.Sprint(time.Now().Add(time.Minute).Unix()))))),
		"exp huge":      invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", 1e300)))),
		"exp negative":  invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", -1)))),
		"nbf ahead":     invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "nbf", time.Now().Add(600*time.Second).Unix())))),
		"iat a string":  invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "iat", "yesterday")))),
		// C-OIDCC-9-a: jti.
		"no jti":    invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "jti", nil)))),
		"empty jti": invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "jti", "")))),
		// C-7523-3-e: signature and MAC.
		"signature flipped":             invalidClient(e.tokenWith(parts[0] + "." + parts[1] + "." + flip(parts[2], 3))),
		"pkj2's key, its kid":           invalidClient(e.tokenWith(caSign(t, pkj2Key, jose.RS256, map[string]any{"kid": "pkj2-1"}, caClaims(pkj)))),
		"pkj2's key, no kid":            invalidClient(e.tokenWith(caSign(t, pkj2Key, jose.RS256, nil, caClaims(pkj)))),
		"another EC key, pkj's kid":     invalidClient(e.tokenWith(caSign(t, otherEC, jose.ES256, map[string]any{"kid": "pkj-1"}, caClaims(pkj)))),
		"another EC key, no kid":        invalidClient(e.tokenWith(caSign(t, otherEC, jose.ES256, nil, caClaims(pkj)))),
		"an unknown kid":                invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"kid": "nope"}, caClaims(pkj)))),
		"csj, wrong secret":             invalidClient(e.tokenWith(caSign(t, []byte("a-wrong-secret-of-enough-bytes-0123456789"), jose.HS256, nil, caClaims(csj)))),
		"payload swapped after signing": invalidClient(e.tokenWith(parts[0] + "." + caSegment(caJSON(caClaims(pkj))) + "." + parts[2])),
		// C-7523-3-f: unsecured and confused algorithms.
		"alg none":                             invalidClient(e.tokenWith(caSegment(`{"alg":"none"}`) + "." + caSegment(caJSON(caClaims(pkj))) + ".")),
		"HS256 with the PEM key":               invalidClient(e.tokenWith(hmacWith(pubPEM, "pkj-1"))),
		"HS256 with the DER key":               invalidClient(e.tokenWith(hmacWith(pubDER, "pkj-1"))),
		"ES384, not registered":                invalidClient(e.tokenWith(caSign(t, caEC(t, elliptic.P384()), jose.ES384, nil, caClaims(pkj)))),
		"csj, HS512 (secret too short for it)": invalidClient(e.tokenWith(caSign(t, []byte(strings.Repeat(FixtureClientSecretJWT.Secret, 2)), jose.HS512, nil, caClaims(csj)))),
		"csj, RS256":                           invalidClient(e.tokenWith(caSign(t, pkj2Key, jose.RS256, nil, caClaims(csj)))),
		// C-7523-3-g: malformed.
		"two segments":        invalidClient(e.tokenWith(parts[0] + "." + parts[1])),
		"four segments":       invalidClient(e.tokenWith(good + ".x")),
		"bad base64url":       invalidClient(e.tokenWith(parts[0] + ".%%%." + parts[2])),
		"claims not JSON":     invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, nil, "just a string"))),
		"claims an array":     invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, nil, []int{1}))),
		"claims null":         invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, nil, nil))),
		"crit unknown":        invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"crit": []string{"urn:example:ext"}, "urn:example:ext": 1}, caClaims(pkj)))),
		"crit b64":            invalidClient(e.tokenWith(caSign(t, pkjKey, jose.ES256, map[string]any{"crit": []string{"b64"}, "b64": true}, caClaims(pkj)))),
		"not a JWT":           invalidClient(e.tokenWith("hello")),
		"long garbage header": invalidClient(e.tokenWith(strings.Repeat("a", 7000) + "." + parts[1] + "." + parts[2])),
		"claims in capitals":  invalidClient(e.tokenWith(pkjAssertion(t, map[string]any{"ISS": pkj, "SUB": pkj, "AUD": caIssuer, "EXP": time.Now().Add(time.Minute).Unix(), "JTI": "x"}))),
		// C-7523-2.2-c: one method only.
		"assertion and Basic": invalidRequest(e.post(PathToken, form("client_assertion_type", JWTBearerAssertionType,
			"client_assertion", pkjAssertion(t, caClaims(csj))), csj, FixtureClientSecretJWT.Secret)),
		"assertion and client_secret":       invalidRequest(e.tokenWith(csjAssertion(t, caClaims(csj)), "client_secret", FixtureClientSecretJWT.Secret)),
		"assertion and empty client_secret": invalidRequest(e.tokenWith(csjAssertion(t, caClaims(csj)), "client_secret", "")),
		// C-OIDCC-9-c: the registered method only.
		"csj's secret with Basic":    invalidClient(e.post(PathToken, form(), csj, FixtureClientSecretJWT.Secret)),
		"csj's secret in the body":   invalidClient(e.post(PathToken, form("client_id", csj, "client_secret", FixtureClientSecretJWT.Secret))),
		"pkj with an empty secret":   invalidClient(e.post(PathToken, form(), pkj, "")),
		"pkj in the body, no secret": invalidClient(e.post(PathToken, form("client_id", pkj))),
		"pkj with its internal pass": invalidClient(e.post(PathToken, form(), pkj, e.p.clients.byID[pkj].pass)),
		"no issuer-less aud either":  invalidClient(e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "aud", "")))),
	}
	for name, c := range cases {
		if testing.Verbose() {
			t.Logf("%s: %d %s", name, c.rec.Code, strings.TrimSpace(c.rec.Body.String()))
		}
		if c.rec.Code != c.status || oauthErrorOf(c.rec) != c.code {
			t.Errorf("%s: %d %s; want %d %s", name, c.rec.Code, c.rec.Body, c.status, c.code)
		}
		if c.status == http.StatusUnauthorized && !strings.HasPrefix(c.rec.Header().Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: a 401 without a challenge", name)
		}
		if strings.Contains(c.rec.Body.String(), "access_token") {
			t.Errorf("%s: a token", name)
		}
		var body struct {
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(c.rec.Body.Bytes(), &body)
		if !descriptionOK(body.Description) {
			t.Errorf("%s: error_description %q breaks RFC 6749 5.2", name, body.Description)
		}
	}
}

func caJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func caEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// C-OIDCC-9-a: an assertion is good once; the same jti in a new assertion is refused too, and a
// jti is the client's own (another client may use the same value).
func TestAssertionJTIIsSingleUse(t *testing.T) {
	e := newCAEnv(t)
	pkj := FixturePrivateKeyJWT.ID
	a := pkjAssertion(t, caClaims(pkj))
	if rec := e.tokenWith(a); rec.Code != http.StatusOK {
		t.Fatalf("first use: %d %s", rec.Code, rec.Body)
	}
	if rec := e.tokenWith(a); rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" {
		t.Errorf("replay: %d %s", rec.Code, rec.Body)
	}
	claims := caClaims(pkj)
	if rec := e.tokenWith(pkjAssertion(t, claims)); rec.Code != http.StatusOK {
		t.Fatalf("a fresh jti: %d %s", rec.Code, rec.Body)
	}
	if rec := e.tokenWith(pkjAssertion(t, caWith(claims, "exp", time.Now().Add(2*time.Minute).Unix()))); rec.Code != http.StatusUnauthorized {
		t.Errorf("the same jti in a new assertion: %d %s", rec.Code, rec.Body)
	}
	if rec := e.tokenWith(pkj2Assertion(t, caWith(claims, "iss", FixturePrivateKeyJWT2.ID, "sub", FixturePrivateKeyJWT2.ID))); rec.Code != http.StatusOK {
		t.Errorf("another client with the same jti: %d %s", rec.Code, rec.Body)
	}
	// A refused assertion does not use up its jti.
	claims = caClaims(pkj)
	if rec := e.tokenWith(pkjAssertion(t, caWith(claims, "aud", "https://elsewhere.example"))); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong aud: %d", rec.Code)
	}
	if rec := e.tokenWith(pkjAssertion(t, claims)); rec.Code != http.StatusOK {
		t.Errorf("a jti of a refused assertion: %d %s", rec.Code, rec.Body)
	}
}

// The replay cache is bounded: when full it refuses, retryably, and never forgets a live jti;
// expired ones are swept.
func TestReplayCacheBounds(t *testing.T) {
	e := newCAEnv(t)
	clock := &fakeClock{t: time.Now()}
	e.p.replay.set.now = clock.now
	e.p.replay.set.max, e.p.replay.perClient = 3, 2
	pkj, pkj2, csj := FixturePrivateKeyJWT.ID, FixturePrivateKeyJWT2.ID, FixtureClientSecretJWT.ID
	for _, a := range []string{pkjAssertion(t, caClaims(pkj)), pkjAssertion(t, caClaims(pkj))} {
		if rec := e.tokenWith(a); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	rec := e.tokenWith(pkjAssertion(t, caClaims(pkj)))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a client over its share: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if rec := e.tokenWith(pkj2Assertion(t, caClaims(pkj2))); rec.Code != http.StatusOK {
		t.Fatalf("another client: %d %s", rec.Code, rec.Body)
	}
	rec = e.tokenWith(csjAssertion(t, caClaims(csj)))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || oauthErrorOf(rec) != "temporarily_unavailable" {
		t.Errorf("a full cache: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// The assertions expire in a minute (and the leeway): then there is room again.
	clock.advance(time.Minute + assertionLeeway + time.Second)
	if n := e.p.replay.set.size(); n != 0 {
		t.Errorf("%d entries after they all expired", n)
	}
	// (The provider's own clock is real; the cache's is ahead, so this assertion's exp is
	// checked by the real one and remembered by the fake one until it is past.)
	if rec := e.tokenWith(pkjAssertion(t, caWith(caClaims(pkj), "exp", time.Now().Add(5*time.Minute).Unix()))); rec.Code != http.StatusOK {
		t.Errorf("after the sweep: %d %s", rec.Code, rec.Body)
	}
}

// Failed assertions count as failed authentications where they are guesses: a wrong MAC (the
// secret of a client_secret_jwt client) and an unknown client id. A wrong signature of a
// private_key_jwt client is not a guess at anything and is not counted.
func TestFailedAssertionsAreThrottled(t *testing.T) {
	csj, pkj := FixtureClientSecretJWT.ID, FixturePrivateKeyJWT.ID
	wrong := func(i int) string {
		return caSign(t, []byte(fmt.Sprintf("guess-%02d-of-the-secret-0123456789abcdef", i)), jose.HS256, nil, caClaims(csj))
	}
	// By default a pair has assertionGuessBudget times the secrets' free failures: a suite that
	// sends a wrong MAC or two per run can run many times in a row.
	e := newCAEnv(t)
	for i := 0; i < 30; i++ {
		if rec := e.tokenWith(wrong(i)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong MAC %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	if rec := e.tokenWith(csjAssertion(t, caClaims(csj))); rec.Code != http.StatusOK {
		t.Errorf("then the right MAC: %d %s", rec.Code, rec.Body)
	}

	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer, cfg.MaxFailedAuthentications = caIssuer, 1
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e = &caEnv{t: t, p: p, h: p.Handler()}
	var last *httptest.ResponseRecorder
	for i := 0; i < assertionGuessBudget+2; i++ {
		last = e.tokenWith(wrong(i))
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" || oauthErrorOf(last) != "invalid_client" {
		t.Errorf("wrong MAC %d: %d %s", assertionGuessBudget+2, last.Code, last.Body)
	}
	if rec := e.tokenWith(csjAssertion(t, caClaims(csj))); rec.Code != http.StatusTooManyRequests {
		t.Errorf("while refused, even the right MAC: %d", rec.Code)
	}
	for i := 0; i < assertionGuessBudget+2; i++ {
		last = e.tokenWith(pkjAssertion(t, caClaims("unknown-client")))
	}
	if last.Code != http.StatusTooManyRequests {
		t.Errorf("assertion %d of an unknown client: %d %s", assertionGuessBudget+2, last.Code, last.Body)
	}
	other := caEC(t, elliptic.P256())
	for i := 0; i < 30; i++ {
		last = e.tokenWith(caSign(t, other, jose.ES256, map[string]any{"kid": "pkj-1"}, caClaims(pkj)))
	}
	if last.Code != http.StatusUnauthorized {
		t.Errorf("the 30th wrong signature of a private_key_jwt client: %d %s", last.Code, last.Body)
	}
	if rec := e.tokenWith(pkjAssertion(t, caClaims(pkj))); rec.Code != http.StatusOK {
		t.Errorf("then the right one: %d %s", rec.Code, rec.Body)
	}
	// The secrets' throttle is apart: the client_secret_jwt guesses slowed no secret client.
	e.secretToken(FixtureSecond.ID, FixtureSecond.Secret)
}

// Without an issuer there is no audience an assertion could name: JWT clients cannot
// authenticate, and nothing else changes.
func TestAssertionsNeedAnIssuer(t *testing.T) {
	p, err := New(FixtureConfig(DemoClientID, DemoClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	e := &caEnv{t: t, p: p, h: p.Handler()}
	if rec := e.tokenWith(pkjAssertion(t, caClaims(FixturePrivateKeyJWT.ID))); rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	e.secretToken(DemoClientID, DemoClientSecret)
}

func TestClientRegistrationValidation(t *testing.T) {
	ec := caEC(t, elliptic.P256())
	pub := func(alg jose.SignatureAlgorithm, kid string) jose.JSONWebKey {
		return jose.JSONWebKey{Key: ec.Public(), KeyID: kid, Algorithm: string(alg)}
	}
	long := strings.Repeat("s", 32)
	bad := map[string]Client{
		"unknown method":          {ID: "a", AuthMethod: "tls_client_auth"},
		"csj, short secret":       {ID: "a", AuthMethod: AuthMethodClientSecretJWT, Secret: "short"},
		"csj with keys":           {ID: "a", AuthMethod: AuthMethodClientSecretJWT, Secret: long, Keys: []jose.JSONWebKey{pub(jose.ES256, "k")}},
		"pkj without keys":        {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT},
		"pkj with a secret":       {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Secret: long, Keys: []jose.JSONWebKey{pub(jose.ES256, "k")}},
		"pkj, key without kid":    {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Keys: []jose.JSONWebKey{pub(jose.ES256, "")}},
		"pkj, alg not of the key": {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Keys: []jose.JSONWebKey{pub(jose.RS256, "k")}},
		"pkj, alg none":           {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Keys: []jose.JSONWebKey{pub("none", "k")}},
		"pkj, private key":        {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Keys: []jose.JSONWebKey{{Key: ec, KeyID: "k", Algorithm: "ES256"}}},
		"pkj, two keys one kid":   {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Keys: []jose.JSONWebKey{pub(jose.ES256, "k"), pub(jose.ES256, "k")}},
		"pkj, encryption key":     {ID: "a", AuthMethod: AuthMethodPrivateKeyJWT, Keys: []jose.JSONWebKey{{Key: ec.Public(), KeyID: "k", Algorithm: "ES256", Use: "enc"}}},
		"secret client with keys": {ID: "a", Secret: "s", Keys: []jose.JSONWebKey{pub(jose.ES256, "k")}},
	}
	for name, c := range bad {
		if _, err := New(Config{Clients: []Client{c}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(FixtureConfig(DemoClientID, DemoClientSecret)); err != nil {
		t.Errorf("the fixture configuration: %v", err)
	}
	if got := FixtureClientSecretJWT.assertionAlgs(); len(got) != 1 || got[0] != jose.HS256 {
		t.Errorf("a 43-byte secret allows %v", got)
	}
	c := Client{AuthMethod: AuthMethodClientSecretJWT, Secret: strings.Repeat("s", 64)}
	if got := c.assertionAlgs(); len(got) != 3 {
		t.Errorf("a 64-byte secret allows %v", got)
	}
}

// The same assertion sent many times at once gets exactly one token.
func TestAssertionReplayedConcurrentlyGetsOneToken(t *testing.T) {
	e := newCAEnv(t)
	a := csjAssertion(t, caClaims(FixtureClientSecretJWT.ID))
	codes := make(chan int, 32)
	for range cap(codes) {
		go func() { codes <- e.tokenWith(a).Code }()
	}
	ok := 0
	for range cap(codes) {
		if <-codes == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d tokens for one assertion", ok)
	}
}
