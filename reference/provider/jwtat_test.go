package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ccconform/ccconform/suite/httpauth"
)

const testIssuer = "https://as.example:8443"

// testKeys are RSA keys made once for the package's tests: a 2048-bit key takes a while.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	for range 3 {
		k, err := GenerateSigningKey()
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
})

// jwtProvider is a provider with an issuer and the first test key, changed by edit.
func jwtProvider(t testing.TB, edit func(*Config)) (*Provider, http.Handler) {
	t.Helper()
	cfg := DefaultConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = testIssuer
	cfg.SigningKeys = testKeys()[:1]
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, p.Handler()
}

// tokenRequest posts a client credentials request with the demo client's Basic credentials and
// the given extra body.
func jatTokenRequest(h http.Handler, extra string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"+extra))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+demoBasicCredentials())
	return fuzzServe(h, r)
}

func jatIssue(t testing.TB, h http.Handler, extra string) string {
	t.Helper()
	rec := jatTokenRequest(h, extra)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("no token for %q: %d %s", extra, rec.Code, rec.Body)
	}
	return tok.AccessToken
}

func jatGet(h http.Handler, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return fuzzServe(h, r)
}

// verifyWithJWKS checks a JWT as a resource server elsewhere would: with the published key
// whose kid the header names, RS256 only.
func verifyWithJWKS(t *testing.T, h http.Handler, token string) (jose.Header, map[string]any) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jatGet(h, PathJWKS, "").Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("not a JWS: %v", err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not published once: %d", tok.Headers[0].KeyID, len(keys))
	}
	claims := map[string]any{}
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("the signature does not verify with the published key: %v", err)
	}
	return tok.Headers[0], claims
}

func TestMetadataDocument(t *testing.T) {
	_, h := jwtProvider(t, nil)
	rec := jatGet(h, PathMetadata, "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "max-age=") {
		t.Fatalf("metadata: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	}
	var md map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &md); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                   testIssuer,
		"token_endpoint":           testIssuer + PathToken,
		"jwks_uri":                 testIssuer + PathJWKS,
		"grant_types_supported":    []any{"client_credentials"},
		"response_types_supported": []any{"none"},
		"scopes_supported":         []any{"read", "write"},
		"introspection_endpoint":   testIssuer + PathIntrospect,
		"revocation_endpoint":      testIssuer + PathRevoke,
	}
	for k, v := range want {
		if got, _ := json.Marshal(md[k]); string(got) != asJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, asJSON(v))
		}
	}
	for _, endpoint := range []string{"token_endpoint", "introspection_endpoint", "revocation_endpoint"} {
		methods, _ := md[endpoint+"_auth_methods_supported"].([]any)
		for _, m := range []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt"} {
			if !slices.Contains(methods, m) {
				t.Errorf("%s_auth_methods_supported %v lacks %v", endpoint, methods, m)
			}
		}
		// RFC 8414 §2: the *_jwt methods need the algorithm list.
		if algs, _ := md[endpoint+"_auth_signing_alg_values_supported"].([]any); !slices.Contains(algs, "RS256") || !slices.Contains(algs, "HS256") {
			t.Errorf("%s_auth_signing_alg_values_supported = %v", endpoint, algs)
		}
	}
	for k, v := range md {
		if a, ok := v.([]any); ok && len(a) == 0 {
			t.Errorf("%s is an empty array (RFC 8414 §3.2 omits it)", k)
		}
		if strings.HasSuffix(k, "_auth_signing_alg_values_supported") && slices.Contains(v.([]any), "none") {
			t.Errorf("%s lists none", k)
		}
		if strings.HasSuffix(k, "_endpoint") || k == "jwks_uri" {
			s, _ := v.(string)
			if !strings.HasPrefix(s, testIssuer+"/") {
				t.Errorf("%s = %q is not on the issuer", k, s)
			}
			if path := strings.TrimPrefix(s, testIssuer); jatGet(h, path, "").Code == http.StatusNotFound {
				t.Errorf("%s = %q is not routed", k, s)
			}
		}
	}
	// Caches may revalidate; HEAD has no body; other methods get 405 with Allow.
	r := httptest.NewRequest(http.MethodGet, PathMetadata, nil)
	r.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	if c := fuzzServe(h, r).Code; c != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d", c)
	}
	if head := fuzzServe(h, httptest.NewRequest(http.MethodHead, PathMetadata, nil)); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", head.Code, head.Body.Len())
	}
	for _, path := range []string{PathMetadata, PathJWKS} {
		post := fuzzServe(h, httptest.NewRequest(http.MethodPost, path, nil))
		if post.Code != http.StatusMethodNotAllowed || !strings.Contains(post.Header().Get("Allow"), "GET") {
			t.Errorf("POST %s: %d, Allow %q", path, post.Code, post.Header().Get("Allow"))
		}
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNoIssuerNoJWTFeatures(t *testing.T) {
	_, h := fuzzProvider(t)
	for _, path := range []string{PathMetadata, PathJWKS, PathResourceOne, PathResourceTwo} {
		if c := jatGet(h, path, "").Code; c != http.StatusNotFound {
			t.Errorf("%s without an issuer: %d", path, c)
		}
	}
	// resource is an unknown parameter then: ignored (RFC 6749 §3.2), even repeated.
	tok := jatIssue(t, h, "&resource=https://unknown.example/&resource=x")
	if strings.Count(tok, ".") != 1 {
		t.Errorf("a token without an issuer is not opaque: %q", tok)
	}
	if c := jatGet(h, PathReadResource, tok).Code; c != http.StatusOK {
		t.Errorf("its token at %s: %d", PathReadResource, c)
	}
	for _, edit := range []func(*Config){
		func(c *Config) { c.JWTAccessTokens = true },
		func(c *Config) { c.Clients[0].JWTAccessTokens = true },
		func(c *Config) { c.SigningKeys = testKeys()[:1] },
	} {
		cfg := DefaultConfig(DemoClientID, DemoClientSecret)
		edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("a JWT feature without an issuer was accepted: %+v", cfg)
		}
	}
}

func TestIssuerValidation(t *testing.T) {
	for issuer, ok := range map[string]bool{
		"https://as.example": true, "http://127.0.0.1:8080": true, "https://[::1]:8443": true,
		"https://as.example/": false, "https://as.example/tenant": false, "https://as.example?x=1": false,
		"https://as.example#f": false, "https://as.example?": false, "as.example": false, "ftp://as.example": false,
		"https://": false, "https://u@as.example": false, "/relative": false,
	} {
		cfg := DefaultConfig(DemoClientID, DemoClientSecret)
		cfg.Issuer, cfg.SigningKeys = issuer, testKeys()[:1]
		if _, err := New(cfg); (err == nil) != ok {
			t.Errorf("issuer %q: %v", issuer, err)
		}
	}
}

func TestJWKSHasOnlyPublicKeys(t *testing.T) {
	_, h := jwtProvider(t, func(c *Config) { c.SigningKeys = testKeys()[:2] })
	rec := jatGet(h, PathJWKS, "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("jwks: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || len(raw.Keys) != 2 {
		t.Fatalf("keys: %v %s", err, rec.Body)
	}
	for i, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %d publishes %s", i, private)
			}
		}
		if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" {
			t.Errorf("key %d: %v", i, k)
		}
		tp, _ := (&jose.JSONWebKey{Key: &testKeys()[i].PublicKey}).Thumbprint(crypto.SHA256)
		if k["kid"] != base64.RawURLEncoding.EncodeToString(tp) {
			t.Errorf("key %d: kid %v is not its RFC 7638 thumbprint", i, k["kid"])
		}
	}
}

func TestJWTAccessTokenClaims(t *testing.T) {
	p, h := jwtProvider(t, nil)
	before := time.Now().Truncate(time.Second)
	tok := jatIssue(t, h, "&scope=read+write&resource="+url.QueryEscape(p.resourceOne))
	header, claims := verifyWithJWKS(t, h, tok)
	if header.Algorithm != "RS256" || header.ExtraHeaders[jose.HeaderType] != "at+jwt" || header.KeyID != p.SigningKeyIDs()[0] {
		t.Errorf("header: alg %q typ %v kid %q", header.Algorithm, header.ExtraHeaders[jose.HeaderType], header.KeyID)
	}
	for k, want := range map[string]any{"iss": testIssuer, "sub": DemoClientID, "client_id": DemoClientID,
		"scope": "read write", "aud": ResourceOne(testIssuer)} {
		if claims[k] != want {
			t.Errorf("%s = %v, want %v", k, claims[k], want)
		}
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if time.Unix(int64(iat), 0).Before(before) || time.Unix(int64(iat), 0).After(time.Now()) || exp-iat != DefaultTokenLifetime.Seconds() {
		t.Errorf("iat %v exp %v", iat, exp)
	}
	jti, _ := claims["jti"].(string)
	if len(jti) < 16 {
		t.Errorf("jti %q", jti)
	}
	if _, jti2 := verifyWithJWKS(t, h, jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne))); jti2["jti"] == jti {
		t.Error("two tokens share a jti")
	}
	if f, ok := p.inspectToken(tok); !ok || !f.JWT || f.ClientID != DemoClientID || f.Scope != "read write" ||
		f.ID != jti || !slices.Equal(f.Audience, []string{p.resourceOne}) || f.ExpiresAt.Unix() != int64(exp) {
		t.Errorf("inspectToken: %+v %v", f, ok)
	}
}

func TestWhenTokensAreJWTs(t *testing.T) {
	// The scenario's client, without resource and without the flags, keeps its opaque tokens.
	p, h := jwtProvider(t, nil)
	tok := jatIssue(t, h, "")
	if strings.Count(tok, ".") != 1 {
		t.Fatalf("opaque token expected: %q", tok)
	}
	f, ok := p.inspectToken(tok)
	if !ok || f.JWT || f.ClientID != DemoClientID || f.Scope != "read" || f.ID == "" ||
		!slices.Equal(f.Audience, []string{DefaultResource(testIssuer)}) {
		t.Errorf("inspectToken(opaque): %+v %v", f, ok)
	}
	if f2, _ := p.inspectToken(jatIssue(t, h, "")); f2.ID == f.ID || strings.Contains(f.ID, ".") || len(f.ID) >= len(tok)/2 {
		t.Errorf("opaque ids %q and %q: not distinct, or most of the token", f.ID, f2.ID)
	}
	for name, edit := range map[string]func(*Config){
		"Config.JWTAccessTokens": func(c *Config) { c.JWTAccessTokens = true },
		"Client.JWTAccessTokens": func(c *Config) { c.Clients[0].JWTAccessTokens = true },
	} {
		_, h := jwtProvider(t, edit)
		_, claims := verifyWithJWKS(t, h, jatIssue(t, h, ""))
		if claims["aud"] != DefaultResource(testIssuer) || claims["scope"] != "read" {
			t.Errorf("%s: %v", name, claims)
		}
	}
}

func TestResourceIndicators(t *testing.T) {
	p, h := jwtProvider(t, nil)
	r1, r2 := url.QueryEscape(p.resourceOne), url.QueryEscape(p.resourceTwo)
	// Repeated, with a repeat of a value and an empty one (treated as omitted).
	_, claims := verifyWithJWKS(t, h, jatIssue(t, h, "&resource="+r1+"&resource="+r2+"&resource="+r1+"&resource="))
	if got := asJSON(claims["aud"]); got != asJSON([]string{p.resourceOne, p.resourceTwo}) {
		t.Errorf("aud %s", got)
	}
	for _, bad := range []string{"api/relative", "//rs.example/", "https://rs.example/#f", p.resourceOne + "#",
		"https://unknown.invalid/", p.resourceOne + "/", strings.ToUpper(p.resourceOne), "urn:example:rs", "%zz", p.issuer} {
		rec := jatTokenRequest(h, "&resource="+url.QueryEscape(bad))
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		desc, _ := body["error_description"].(string)
		if rec.Code != http.StatusBadRequest || body["error"] != "invalid_target" || rec.Header().Get("Cache-Control") != "no-store" ||
			!descriptionOK(desc) || body["access_token"] != nil {
			t.Errorf("resource %q: %d %s", bad, rec.Code, rec.Body)
		}
		// One bad value spoils a request that names a good one too.
		if rec := jatTokenRequest(h, "&resource="+r1+"&resource="+url.QueryEscape(bad)); rec.Code != http.StatusBadRequest {
			t.Errorf("R1 and %q: %d", bad, rec.Code)
		}
	}
	// The other parameters still may not repeat (RFC 6749 §3.2).
	if rec := jatTokenRequest(h, "&scope=read&scope=read&resource="+r1); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_request") {
		t.Errorf("repeated scope: %d %s", rec.Code, rec.Body)
	}
	// Client authentication comes first: a wrong secret with a bad resource is invalid_client.
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials&resource=x"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(DemoClientID, "wrong")
	if rec := fuzzServe(h, r); rec.Code != http.StatusUnauthorized {
		t.Errorf("wrong secret and a bad resource: %d %s", rec.Code, rec.Body)
	}
}

func TestResourceServerAudienceRule(t *testing.T) {
	p, h := jwtProvider(t, nil)
	one := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne))
	two := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceTwo))
	both := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne)+"&resource="+url.QueryEscape(p.resourceTwo))
	opaque := jatIssue(t, h, "")
	_, hj := jwtProvider(t, func(c *Config) { c.JWTAccessTokens = true })
	defaultJWT := jatIssue(t, hj, "")
	cases := []struct {
		h     http.Handler
		path  string
		token string
		ok    bool
	}{
		{h, PathResourceOne, one, true}, {h, PathResourceTwo, one, false}, {h, PathReadResource, one, false},
		{h, PathResourceTwo, two, true}, {h, PathResourceOne, two, false},
		{h, PathResourceOne, both, true}, {h, PathResourceTwo, both, true}, {h, PathReadResource, both, false},
		{h, PathReadResource, opaque, true}, {h, PathResourceOne, opaque, false}, {h, PathResourceTwo, opaque, false},
		{hj, PathReadResource, defaultJWT, true}, {hj, PathScopedResource, defaultJWT, false},
		{hj, PathResourceOne, defaultJWT, false},
	}
	for i, c := range cases {
		rec := jatGet(c.h, c.path, c.token)
		if c.ok {
			if rec.Code != http.StatusOK || rec.Body.String() != string(nullResponse) {
				t.Errorf("case %d: %s: %d %s", i, c.path, rec.Code, rec.Body)
			}
			continue
		}
		want := "invalid_token"
		if c.path == PathScopedResource {
			want = "insufficient_scope"
		}
		checkBearerRefusal(t, rec, want)
	}
}

// checkBearerRefusal: 401 (403 for insufficient_scope) with a Bearer challenge carrying the
// error (RFC 6750 §3.1).
func checkBearerRefusal(t *testing.T, rec *httptest.ResponseRecorder, code string) {
	t.Helper()
	status := http.StatusUnauthorized
	if code == "insufficient_scope" {
		status = http.StatusForbidden
	}
	cs, err := httpauth.ParseChallenges(rec.Header().Values("WWW-Authenticate"))
	c, ok := httpauth.Find(cs, "Bearer")
	if e, _ := c.Param("error"); rec.Code != status || err != nil || !ok || e != code {
		t.Errorf("want %d %s, got %d %q", status, code, rec.Code, rec.Header().Values("WWW-Authenticate"))
	}
}

// Forged and altered tokens, built from a real one as the suite builds them.
func TestResourceServerRefusesForgedJWTs(t *testing.T) {
	p, h := jwtProvider(t, nil)
	tok := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne))
	if rec := jatGet(h, PathResourceOne, tok); rec.Code != http.StatusOK {
		t.Fatalf("the real token: %d", rec.Code)
	}
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var header map[string]any
	_ = json.Unmarshal(dec(parts[0]), &header)
	withHeader := func(edit func(map[string]any)) string {
		h := map[string]any{}
		for k, v := range header {
			h[k] = v
		}
		edit(h)
		return enc([]byte(asJSON(h)))
	}
	var claims map[string]any
	_ = json.Unmarshal(dec(parts[1]), &claims)
	// resign signs claims with key under the given algorithm and header values.
	resign := func(alg jose.SignatureAlgorithm, key any, typ string, embed bool, claims any) string {
		opts := (&jose.SignerOptions{EmbedJWK: embed}).WithType(jose.ContentType(typ)).WithHeader("kid", header["kid"])
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jwt.Signed(s).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	suiteKey := testKeys()[2]
	publicJWK, _ := json.Marshal(jose.JSONWebKey{Key: &testKeys()[0].PublicKey})
	edited := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		edit(c)
		return c
	}
	own := p.keys.current.Load().keys[0].private
	forged := map[string]string{
		"alg none":                   withHeader(func(h map[string]any) { h["alg"] = "none" }) + "." + parts[1] + ".",
		"alg none, no signature":     withHeader(func(h map[string]any) { h["alg"] = "none" }) + "." + parts[1],
		"re-signed by another key":   resign(jose.RS256, suiteKey, "at+jwt", false, claims),
		"re-signed, key embedded":    resign(jose.RS256, suiteKey, "at+jwt", true, claims),
		"HS256 keyed with the JWK":   resign(jose.HS256, publicJWK, "at+jwt", false, claims),
		"HS256 keyed with the DER":   resign(jose.HS256, x509.MarshalPKCS1PublicKey(&testKeys()[0].PublicKey), "at+jwt", false, claims),
		"payload byte flipped":       parts[0] + "." + flip(parts[1], 10) + "." + parts[2],
		"signature byte flipped":     parts[0] + "." + parts[1] + "." + flip(parts[2], 10),
		"signature of another token": parts[0] + "." + parts[1] + "." + strings.Split(jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne)), ".")[2],
		"typ JWT":                    resign(jose.RS256, own, "JWT", false, claims),
		"no typ":                     resign(jose.RS256, own, "", false, claims),
		"typ at+jwt+x":               resign(jose.RS256, own, "at+jwt+x", false, claims),
		"another issuer":             resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { c["iss"] = testIssuer + "/" })),
		"expired":                    resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Second).Unix() })),
		"no exp":                     resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { delete(c, "exp") })),
		"exp a string":               resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { c["exp"] = "tomorrow" })),
		"iat in the future":          resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { c["iat"] = time.Now().Add(time.Minute).Unix() })),
		"nbf in the future":          resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Minute).Unix() })),
		"no client_id":               resign(jose.RS256, own, "at+jwt", false, edited(func(c map[string]any) { delete(c, "client_id") })),
		"unknown kid":                withHeader(func(h map[string]any) { h["kid"] = "other" }) + "." + parts[1] + "." + parts[2],
		"four segments":              tok + "." + parts[2],
		"too long":                   parts[0] + "." + parts[1] + strings.Repeat("A", maxJWTBytes) + "." + parts[2],
	}
	other, err := p.OtherJWT("user-1")
	if err != nil {
		t.Fatal(err)
	}
	forged["F-OTHER-JWT"] = other
	for name, f := range forged {
		rec := jatGet(h, PathResourceOne, f)
		if rec.Code == http.StatusBadRequest && !isB64token(f) {
			continue // not even a Bearer credential (RFC 6750 §2.1)
		}
		checkBearerRefusal(t, rec, "invalid_token")
		if t.Failed() {
			t.Fatalf("%s was not refused: %s", name, f)
		}
		if _, ok := p.inspectToken(f); ok {
			t.Errorf("inspectToken accepts %s", name)
		}
	}
	// Control: the same re-signing with the provider's own key and the untouched claims passes,
	// so each refusal above is about what was changed; typ is compared case-insensitively, in
	// either spelling (RFC 9068 §4).
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"} {
		if rec := jatGet(h, PathResourceOne, resign(jose.RS256, own, typ, false, claims)); rec.Code != http.StatusOK {
			t.Errorf("typ %q: %d", typ, rec.Code)
		}
	}
	// OtherJWT is a real JWT of the issuer, typ JWT, signed with the access-token key.
	hdr, c := verifyWithJWKS(t, h, other)
	if hdr.ExtraHeaders[jose.HeaderType] != "JWT" || c["iss"] != testIssuer || c["sub"] != "user-1" || c["aud"] != DemoClientID {
		t.Errorf("OtherJWT: %v %v", hdr.ExtraHeaders, c)
	}
}

func TestExpiredJWTIsRefusedAsExpired(t *testing.T) {
	p, h := jwtProvider(t, func(c *Config) { c.TokenLifetime = time.Second })
	tok := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne))
	f, ok := p.inspectToken(tok)
	if !ok {
		t.Fatal("fresh token refused")
	}
	if _, berr := p.checkToken(tok, f.ExpiresAt.Add(time.Millisecond)); berr == nil || *berr != errExpiredToken {
		t.Errorf("just after exp: %v", berr)
	}
	if _, berr := p.checkToken(tok, f.ExpiresAt); berr != nil {
		t.Errorf("at exp: %v", berr)
	}
}

func TestSigningKeyRotation(t *testing.T) {
	keys := testKeys()
	p, h := jwtProvider(t, func(c *Config) { c.TokenLifetime = 10 * time.Minute })
	old := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne))
	oldKid := p.SigningKeyIDs()[0]
	kid, err := p.RotateSigningKey(keys[1])
	if err != nil {
		t.Fatal(err)
	}
	if ids := p.SigningKeyIDs(); !slices.Equal(ids, []string{kid, oldKid}) {
		t.Fatalf("after rotation the published kids are %v", ids)
	}
	fresh := jatIssue(t, h, "&resource="+url.QueryEscape(p.resourceOne))
	if hdr, _ := verifyWithJWKS(t, h, fresh); hdr.KeyID != kid {
		t.Errorf("a new token is signed with %q, not the new key %q", hdr.KeyID, kid)
	}
	verifyWithJWKS(t, h, old)
	for _, tok := range []string{old, fresh} {
		if rec := jatGet(h, PathResourceOne, tok); rec.Code != http.StatusOK {
			t.Errorf("after rotation: %d", rec.Code)
		}
	}
	// The old key retires once every token it signed has expired (10 minutes here).
	ring := p.keys.current.Load()
	later := time.Now().Add(10*time.Minute + time.Second)
	if ring.verificationKey(oldKid, later) != nil || len(ring.publicSet(later).Keys) != 1 || ring.verificationKey(kid, later) == nil {
		t.Error("the old key outlives the longest token lifetime")
	}
	// A second rotation drops nothing still needed, and a nil key means a fresh one.
	if _, err := p.RotateSigningKey(nil); err != nil || len(p.SigningKeyIDs()) != 3 {
		t.Errorf("second rotation: %v %v", err, p.SigningKeyIDs())
	}

	// Replicas: one that still signs with the first key and one that has moved on to the
	// second but still lists the first accept each other's tokens.
	_, a := jwtProvider(t, func(c *Config) { c.SigningKeys = keys[:2] })
	_, b := jwtProvider(t, func(c *Config) { c.SigningKeys = []*rsa.PrivateKey{keys[1], keys[0]} })
	ta, tb := jatIssue(t, a, "&resource="+url.QueryEscape(p.resourceOne)), jatIssue(t, b, "&resource="+url.QueryEscape(p.resourceOne))
	if jatGet(a, PathResourceOne, tb).Code != http.StatusOK || jatGet(b, PathResourceOne, ta).Code != http.StatusOK {
		t.Error("replicas sharing keys refuse each other's tokens")
	}
	// Without the key that signed it, a token is refused.
	_, c := jwtProvider(t, func(c *Config) { c.SigningKeys = keys[1:2] })
	checkBearerRefusal(t, jatGet(c, PathResourceOne, ta), "invalid_token")
}

func TestParseSigningKeysPEM(t *testing.T) {
	k := testKeys()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k[0])
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k[1])})...)
	keys, err := ParseSigningKeysPEM(data)
	if err != nil || len(keys) != 2 || !keys[0].Equal(k[0]) || !keys[1].Equal(k[1]) {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, bad := range map[string][]byte{
		"empty":   nil,
		"garbage": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}),
		"EC":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
	} {
		if _, err := ParseSigningKeysPEM(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	cfg := DefaultConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer, cfg.SigningKeys = testIssuer, []*rsa.PrivateKey{small}
	if _, err := New(cfg); err == nil {
		t.Error("a 1024-bit key was accepted")
	}
	cfg.SigningKeys = []*rsa.PrivateKey{k[0], k[0]}
	if _, err := New(cfg); err == nil {
		t.Error("a key listed twice was accepted")
	}
}
