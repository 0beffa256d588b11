package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// dpopEnv is a provider with the fixture clients, an issuer, and a DPoP clock the test moves.
type dpopEnv struct {
	*caEnv
	tb  testing.TB
	now time.Time
}

func newDPoPEnv(t testing.TB, nonces bool) *dpopEnv {
	t.Helper()
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	cfg.SigningKeys = testKeys()[:1]
	cfg.DPoPNonces = nonces
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tt, _ := t.(*testing.T) // nil in a fuzz target's set-up, where caEnv's own helpers are not used
	e := &dpopEnv{caEnv: &caEnv{t: tt, p: p, h: p.Handler()}, tb: t, now: time.Now()}
	p.dpop.now = func() time.Time { return e.now }
	p.dpop.jtis.now = p.dpop.now
	return e
}

// proofKey is a DPoP key of the tests.
type proofKey struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
}

var (
	testECKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k
	})
)

func newProofKey(t *testing.T) *proofKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &proofKey{priv: k, alg: jose.ES256}
}

func (k *proofKey) jwk() jose.JSONWebKey { return jose.JSONWebKey{Key: k.priv.Public()} }

// jkt is the RFC 7638 thumbprint, computed here by hand for an EC key: the required members in
// lexicographic order, no whitespace, SHA-256, base64url.
func (k *proofKey) jkt(t testing.TB) string {
	t.Helper()
	pub, ok := k.priv.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("jkt of a %T", k.priv)
	}
	var x, y [32]byte
	pub.X.FillBytes(x[:])
	pub.Y.FillBytes(y[:])
	m := `{"crv":"P-256","kty":"EC","x":"` + base64.RawURLEncoding.EncodeToString(x[:]) + `","y":"` +
		base64.RawURLEncoding.EncodeToString(y[:]) + `"}`
	sum := sha256.Sum256([]byte(m))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// claims are a valid proof's claims for method and URL at the env's time.
func (e *dpopEnv) claims(method, u string) map[string]any {
	return map[string]any{"jti": rand.Text(), "htm": method, "htu": u, "iat": e.now.Unix()}
}

// sign makes a proof of claims with the header typ dpop+jwt and the key's jwk, changed by header
// (a nil value leaves a member out).
func (k *proofKey) sign(t testing.TB, header map[string]any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"typ": "dpop+jwt", "jwk": k.jwk()}
	for n, v := range header {
		h[n] = v
	}
	return caSign(t, k.priv, k.alg, h, claims)
}

// tokenProof is a valid proof for the token endpoint.
func (e *dpopEnv) tokenProof(k *proofKey, edit ...any) string {
	return k.sign(e.tb, nil, caWith(e.claims(http.MethodPost, caIssuer+PathToken), edit...))
}

// dpopToken asks for a token as the secret client id with the given DPoP headers.
func (e *dpopEnv) dpopToken(id, secret string, proofs ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func mustToken(t testing.TB, rec *httptest.ResponseRecorder) tokenResponse {
	t.Helper()
	var tok tokenResponse
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("no token: %d %s", rec.Code, rec.Body)
	}
	return tok
}

// boundToken gets a DPoP-bound token for the demo client and key k.
func (e *dpopEnv) boundToken(k *proofKey) string {
	e.tb.Helper()
	tok := mustToken(e.tb, e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k)))
	if tok.TokenType != "DPoP" {
		e.tb.Fatalf("token_type %q", tok.TokenType)
	}
	return tok.AccessToken
}

// resource sends GET path with the Authorization values and DPoP proofs given.
func (e *dpopEnv) resource(path string, authz []string, proofs ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, a := range authz {
		r.Header.Add("Authorization", a)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// rsProof is a valid proof for GET path with token's ath.
func (e *dpopEnv) rsProof(k *proofKey, path, token string, edit ...any) string {
	sum := sha256.Sum256([]byte(token))
	c := e.claims(http.MethodGet, caIssuer+path)
	c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	return k.sign(e.tb, nil, caWith(c, edit...))
}

// jwtClaims reads a JWT's payload without verifying it.
func jwtClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err != nil || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("JWT payload unreadable")
	}
	return m
}

// challenge is the one challenge of scheme in a response, with its parameters.
func challenge(t testing.TB, rec *httptest.ResponseRecorder, scheme string) map[string]string {
	t.Helper()
	values := rec.Header().Values("WWW-Authenticate")
	cs, err := httpauth.ParseChallenges(values)
	if err != nil || len(cs) != 1 {
		t.Fatalf("WWW-Authenticate %q: %v", values, err)
	}
	c, ok := httpauth.Find(cs, scheme)
	if !ok {
		t.Fatalf("WWW-Authenticate %q has no %s challenge", values, scheme)
	}
	m := map[string]string{}
	for _, p := range c.Params {
		m[p.Name] = p.Value
	}
	return m
}

func TestDPoPTokenIsBound(t *testing.T) {
	e := newDPoPEnv(t, false)
	k := newProofKey(t)
	tok := e.boundToken(k)
	claims := jwtClaims(t, tok)
	cnf, _ := claims["cnf"].(map[string]any)
	if len(cnf) != 1 || cnf["jkt"] != k.jkt(t) {
		t.Errorf("cnf %v, want jkt %s", claims["cnf"], k.jkt(t))
	}
	m := jsonObject(t, e.introspect(tok))
	if m["active"] != true || m["token_type"] != "DPoP" || m["cnf"].(map[string]any)["jkt"] != k.jkt(t) {
		t.Errorf("introspection: %v", m)
	}
	// Without a proof: an opaque Bearer token, as before, which introspection says nothing
	// bound about.
	plain := mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret))
	if plain.TokenType != "Bearer" || strings.Count(plain.AccessToken, ".") != 1 {
		t.Errorf("without DPoP: %q, %d dots", plain.TokenType, strings.Count(plain.AccessToken, "."))
	}
	if m := jsonObject(t, e.introspect(plain.AccessToken)); m["token_type"] != "Bearer" || m["cnf"] != nil {
		t.Errorf("introspection of a Bearer token: %v", m)
	}
}

// The proof algorithms the metadata lists all work, and RFC 9449 §4.3's syntax- and
// scheme-based normalisation of htu is applied; iat may be a few seconds off either way.
func TestDPoPProofsAccepted(t *testing.T) {
	e := newDPoPEnv(t, false)
	rsaKey := testKeys()[1]
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, k := range []*proofKey{{testECKey(), jose.ES256}, {p384, jose.ES384}, {rsaKey, jose.RS256}, {rsaKey, jose.PS256}, {ed, jose.EdDSA}} {
		rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k))
		if tok := mustToken(t, rec); tok.TokenType != "DPoP" {
			t.Errorf("%s: token_type %q", k.alg, tok.TokenType)
		}
	}
	k := newProofKey(t)
	for _, edit := range [][]any{
		{"htu", "HTTPS://AS.EXAMPLE/token"},
		{"htu", "https://as.example:443/token"},
		{"htu", "https://as.example/token?x=1#y"},
		{"iat", e.now.Unix() - 5},
		{"iat", e.now.Unix() + 5},
		{"iat", float64(e.now.Unix()) + 0.5},
		{"ath", "ignored at the token endpoint"},
		{"nonce", "ignored without DPoPNonces"},
	} {
		if rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, edit...)); rec.Code != http.StatusOK {
			t.Errorf("%v: %d %s", edit, rec.Code, rec.Body)
		}
	}
	if rec := e.dpopToken(DemoClientID, DemoClientSecret, k.sign(t, map[string]any{"typ": "DPoP+JWT"}, e.claims("POST", caIssuer+PathToken))); rec.Code != http.StatusOK {
		t.Errorf("typ in upper case: %d %s", rec.Code, rec.Body)
	}
}

func TestNormalHTU(t *testing.T) {
	for in, want := range map[string]string{
		"https://as.example/token":         "https://as.example/token",
		"HTTPS://As.Example:443/token":     "https://as.example/token",
		"http://as.example:80":             "http://as.example/",
		"http://as.example:8080/a?b#c":     "http://as.example:8080/a",
		"https://[::1]:443/x":              "https://[::1]/x",
		"https://[::1]:8443/x":             "https://[::1]:8443/x",
		"https://as.example/%74oken":       "https://as.example/token",
		"https://as.example:/token":        "https://as.example/token",
		"https://as.example/Token":         "https://as.example/Token",
		"https://user@as.example/token":    "",
		"ftp://as.example/token":           "",
		"/token":                           "",
		"https:as.example":                 "",
		"https://as.example/%zz":           "",
		"https://as.example/token\x00":     "",
		"https://as.example:99999999/toke": "https://as.example:99999999/toke", // never equal to the issuer's
	} {
		got, ok := normalHTU(in)
		if got != want || ok != (want != "") {
			t.Errorf("normalHTU(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// Every proof fault of RFC 9449 §4.3 is 400 invalid_dpop_proof, and no token.
func TestDPoPProofsRefused(t *testing.T) {
	e := newDPoPEnv(t, false)
	k, other := newProofKey(t), newProofKey(t)
	claims := func(edit ...any) map[string]any { return caWith(e.claims("POST", caIssuer+PathToken), edit...) }
	ecPriv := k.priv.(*ecdsa.PrivateKey)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	header := caSegment(`{"typ":"dpop+jwt","alg":"none","jwk":` + caJSON(k.jwk()) + `}`)
	valid := e.tokenProof(k)
	huge := k.sign(t, map[string]any{"pad": strings.Repeat("x", maxDPoPProofBytes)}, claims())
	cases := map[string][]string{
		"typ JWT":            {k.sign(t, map[string]any{"typ": "JWT"}, claims())},
		"typ missing":        {k.sign(t, map[string]any{"typ": nil}, claims())},
		"typ at+jwt":         {k.sign(t, map[string]any{"typ": "at+jwt"}, claims())},
		"alg none":           {header + "." + caSegment(caJSON(claims())) + "."},
		"HS256":              {caSign(t, []byte(strings.Repeat("k", 32)), jose.HS256, map[string]any{"typ": "dpop+jwt", "jwk": k.jwk()}, claims())},
		"ES512":              {caSign(t, caEC(t, elliptic.P521()), jose.ES512, map[string]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: caEC(t, elliptic.P521()).Public()}}, claims())},
		"jwk missing":        {k.sign(t, map[string]any{"jwk": nil}, claims())},
		"jwk private":        {k.sign(t, map[string]any{"jwk": jose.JSONWebKey{Key: ecPriv}}, claims())},
		"jwk of another key": {k.sign(t, map[string]any{"jwk": other.jwk()}, claims())},
		"jwk not a key":      {k.sign(t, map[string]any{"jwk": "key"}, claims())},
		"RSA 1024":           {(&proofKey{small, jose.RS256}).sign(t, nil, claims())},
		"ES256 on P-384":     {es256OnP384(t, p384, claims())},
		"jti missing":        {k.sign(t, nil, claims("jti", nil))},
		"jti empty":          {k.sign(t, nil, claims("jti", ""))},
		"jti a number":       {k.sign(t, nil, claims("jti", 7))},
		"htm missing":        {k.sign(t, nil, claims("htm", nil))},
		"htu missing":        {k.sign(t, nil, claims("htu", nil))},
		"iat missing":        {k.sign(t, nil, claims("iat", nil))},
		"iat a string":       {k.sign(t, nil, claims("iat", strconv.FormatInt(e.now.Unix(), 10)))},
		"iat negative":       {k.sign(t, nil, claims("iat", -1))},
		"iat huge":           {k.sign(t, nil, claims("iat", 1e300))},
		"htm GET":            {k.sign(t, nil, claims("htm", "GET"))},
		"htm post":           {k.sign(t, nil, claims("htm", "post"))},
		"htu the issuer":     {k.sign(t, nil, claims("htu", caIssuer))},
		"htu another host":   {k.sign(t, nil, claims("htu", "https://other.example/token"))},
		"htu another path":   {k.sign(t, nil, claims("htu", caIssuer+"/token2"))},
		"htu http":           {k.sign(t, nil, claims("htu", "http://as.example/token"))},
		"htu another port":   {k.sign(t, nil, claims("htu", "https://as.example:8443/token"))},
		"htu with user":      {k.sign(t, nil, claims("htu", "https://u@as.example/token"))},
		"htu relative":       {k.sign(t, nil, claims("htu", "/token"))},
		"iat an hour ago":    {k.sign(t, nil, claims("iat", e.now.Add(-time.Hour).Unix()))},
		"iat in an hour":     {k.sign(t, nil, claims("iat", e.now.Add(time.Hour).Unix()))},
		"iat 61 s ago":       {k.sign(t, nil, claims("iat", e.now.Add(-61*time.Second).Unix()))},
		"iat 31 s ahead":     {k.sign(t, nil, claims("iat", e.now.Add(31*time.Second).Unix()))},
		"claims not JSON":    {caSign(t, k.priv, k.alg, map[string]any{"typ": "dpop+jwt", "jwk": k.jwk()}, "a string")},
		"two headers":        {valid, e.tokenProof(k)},
		"two joined":         {valid + "," + e.tokenProof(k)},
		"JSON serialization": {jsonSerialization(t, valid)},
		"empty":              {""},
		"garbage":            {"a.b.c"},
		"too long":           {huge},
		"signature flipped":  {flip(valid, len(valid)-3)},
	}
	for name, proofs := range cases {
		rec := e.dpopToken(DemoClientID, DemoClientSecret, proofs...)
		if rec.Code != http.StatusBadRequest || oauthErrorOf(rec) != "invalid_dpop_proof" || strings.Contains(rec.Body.String(), "access_token") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
		if d := jsonObject(t, rec)["error_description"].(string); !descriptionOK(d) {
			t.Errorf("%s: description %q", name, d)
		}
	}
}

// es256OnP384 is a proof that says ES256 but is signed with a P-384 key, SHA-256 and 48-byte r
// and s, assembled by hand since go-jose will not make it.
func es256OnP384(t *testing.T, k *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	input := caSegment(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+caJSON(jose.JSONWebKey{Key: k.Public()})+`}`) + "." + caSegment(caJSON(claims))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 96)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func jsonSerialization(t *testing.T, compact string) string {
	t.Helper()
	parts := strings.Split(compact, ".")
	return caJSON(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
}

// A proof is good once per key and URL, and the jti cache is bounded: when it is full, 503 (or
// 429 for the client that filled its share), with Retry-After, never a token.
func TestDPoPProofReplay(t *testing.T) {
	e := newDPoPEnv(t, false)
	k := newProofKey(t)
	proof := e.tokenProof(k)
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, proof))
	if rec := e.dpopToken(DemoClientID, DemoClientSecret, proof); rec.Code != http.StatusBadRequest || oauthErrorOf(rec) != "invalid_dpop_proof" {
		t.Errorf("replayed: %d %s", rec.Code, rec.Body)
	}
	// Another client, the same proof: the same key and URL, still a replay.
	if rec := e.dpopToken(FixtureSecond.ID, FixtureSecond.Secret, proof); rec.Code != http.StatusBadRequest {
		t.Errorf("replayed by another client: %d %s", rec.Code, rec.Body)
	}
	// The same jti from another key is another proof.
	c := e.claims("POST", caIssuer+PathToken)
	c1, c2 := caWith(c), caWith(c)
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, k.sign(t, nil, c1)))
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, newProofKey(t).sign(t, nil, c2)))
	// Once the proof's iat is too old, its jti is forgotten.
	n := e.p.dpop.jtis.size()
	e.now = e.now.Add(dpopMaxAge + 2*time.Second)
	if got := e.p.dpop.jtis.size(); n != 3 || got != 0 {
		t.Errorf("cache sizes %d then %d", n, got)
	}

	e.p.dpop.jtis = newExpiringSet(1)
	e.p.dpop.jtis.now = e.p.dpop.now
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k)))
	rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k))
	if rec.Code != http.StatusServiceUnavailable || oauthErrorOf(rec) != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("full: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	e.p.dpop.jtis = newExpiringSet(100)
	e.p.dpop.jtis.now = e.p.dpop.now
	e.p.dpop.perClient = 1
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k)))
	rec = e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("client's share full: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	mustToken(t, e.dpopToken(FixtureSecond.ID, FixtureSecond.Secret, e.tokenProof(k)))
}

// The client is authenticated before its proof is read: a failed authentication is answered as
// always, and the proof it came with is not spent.
func TestDPoPClientAuthenticationComesFirst(t *testing.T) {
	e := newDPoPEnv(t, false)
	k := newProofKey(t)
	proof := e.tokenProof(k)
	for _, proofs := range [][]string{{proof}, {"garbage"}, {proof, proof}} {
		rec := e.dpopToken(DemoClientID, "wrong", proofs...)
		if rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" {
			t.Errorf("wrong secret with %d proofs: %d %s", len(proofs), rec.Code, rec.Body)
		}
	}
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, proof))
	// A client that may not use the grant is told so only once its proof is good.
	rec := e.dpopToken(FixtureNoClientCredentials.ID, FixtureNoClientCredentials.Secret, e.tokenProof(k))
	if oauthErrorOf(rec) != "unauthorized_client" {
		t.Errorf("no client credentials: %d %s", rec.Code, rec.Body)
	}
}

// RFC 9449 §5.2: a client registered with dpop_bound_access_tokens gets no token without a proof.
func TestDPoPBoundClient(t *testing.T) {
	e := newDPoPEnv(t, false)
	rec := e.dpopToken(FixtureDPoPBound.ID, FixtureDPoPBound.Secret)
	if rec.Code != http.StatusBadRequest || oauthErrorOf(rec) != "invalid_request" || strings.Contains(rec.Body.String(), "access_token") {
		t.Errorf("without a proof: %d %s", rec.Code, rec.Body)
	}
	if tok := mustToken(t, e.dpopToken(FixtureDPoPBound.ID, FixtureDPoPBound.Secret, e.tokenProof(newProofKey(t)))); tok.TokenType != "DPoP" {
		t.Errorf("token_type %q", tok.TokenType)
	}
	// Without an issuer there is no DPoP, and so no token for it at all.
	p, err := New(FixtureConfig(DemoClientID, DemoClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	e.caEnv = &caEnv{t: t, p: p, h: p.Handler()}
	for _, proofs := range [][]string{nil, {"a.b.c"}} {
		if rec := e.dpopToken(FixtureDPoPBound.ID, FixtureDPoPBound.Secret, proofs...); oauthErrorOf(rec) != "invalid_request" {
			t.Errorf("no issuer: %d %s", rec.Code, rec.Body)
		}
	}
	// ... and another client's DPoP header is ignored: it gets its Bearer token.
	if tok := mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, "a.b.c")); tok.TokenType != "Bearer" {
		t.Errorf("no issuer: token_type %q", tok.TokenType)
	}
}

func TestDPoPNoncesAtTheTokenEndpoint(t *testing.T) {
	e := newDPoPEnv(t, true)
	k := newProofKey(t)
	rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k))
	nonces := rec.Header().Values("DPoP-Nonce")
	if rec.Code != http.StatusBadRequest || oauthErrorOf(rec) != "use_dpop_nonce" || len(nonces) != 1 || !nqchar(nonces[0]) {
		t.Fatalf("without a nonce: %d %q %s", rec.Code, nonces, rec.Body)
	}
	nonce := nonces[0]
	rec = e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", nonce))
	if tok := mustToken(t, rec); tok.TokenType != "DPoP" || len(rec.Header().Values("DPoP-Nonce")) != 1 {
		t.Errorf("with the nonce: %q %v", tok.TokenType, rec.Header())
	}
	next := rec.Header().Get("DPoP-Nonce")
	seen := map[string]bool{nonce: true, next: true}
	for i := range nonce {
		changed := flip(nonce, i)
		rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", changed))
		if oauthErrorOf(rec) != "use_dpop_nonce" || len(rec.Header().Values("DPoP-Nonce")) != 1 {
			t.Fatalf("nonce changed at %d: %d %s", i, rec.Code, rec.Body)
		}
		seen[rec.Header().Get("DPoP-Nonce")] = true
	}
	if len(seen) != len(nonce)+2 {
		t.Errorf("%d distinct nonces of %d", len(seen), len(nonce)+2)
	}
	for _, bad := range []any{"", e.p.dpop.newNonce(nonceForResource)} {
		if rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", bad)); oauthErrorOf(rec) != "use_dpop_nonce" {
			t.Errorf("nonce %v: %d %s", bad, rec.Code, rec.Body)
		}
	}
	// A nonce is good in its slot and the next, and no longer.
	e.now = e.now.Add(dpopNonceSlot)
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", next)))
	e.now = e.now.Add(dpopNonceSlot)
	if rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", next)); oauthErrorOf(rec) != "use_dpop_nonce" {
		t.Errorf("old nonce: %d %s", rec.Code, rec.Body)
	}
	// A stale proof is a bad proof, whatever its nonce.
	if rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "iat", e.now.Add(-time.Hour).Unix())); oauthErrorOf(rec) != "invalid_dpop_proof" {
		t.Errorf("stale: %d %s", rec.Code, rec.Body)
	}
	// A Bearer token request needs no nonce.
	mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret))
}

// nqchar is RFC 9449 §8.1's nonce syntax: 1*NQCHAR, %x21 / %x23-5B / %x5D-7E.
func nqchar(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// The resource servers (RFC 9449 §7): a DPoP-bound token works with the DPoP scheme and a proof
// of the request, signed by its key, with its ath; everything else is refused with the
// challenge the contract names.
func TestDPoPAtTheResourceServer(t *testing.T) {
	e := newDPoPEnv(t, false)
	k := newProofKey(t)
	tok := e.boundToken(k)
	for _, path := range []string{PathResourceDPoP, PathReadResource, PathResourceOne} {
		rec := e.resource(path, []string{"DPoP " + tok}, e.rsProof(k, path, tok))
		want := http.StatusOK
		if path == PathResourceOne {
			want = http.StatusUnauthorized // its audience is the default resource
		}
		if rec.Code != want {
			t.Errorf("%s: %d %v %s", path, rec.Code, rec.Header(), rec.Body)
		}
	}
	if rec := e.resource(PathResourceDPoP, []string{"dpop  " + tok}, e.rsProof(k, PathResourceDPoP, tok)); rec.Code != http.StatusOK {
		t.Errorf("scheme in lower case: %d %s", rec.Code, rec.Body)
	}
	// No credentials at /rs/dpop: a DPoP challenge with algs and no error.
	rec := e.resource(PathResourceDPoP, nil)
	if c := challenge(t, rec, "DPoP"); rec.Code != http.StatusUnauthorized || c["algs"] != dpopAlgsParam || c["error"] != "" || c["realm"] == "" {
		t.Errorf("no credentials: %d %v", rec.Code, c)
	}
	// ... and the other routes keep their Bearer challenge.
	if c := challenge(t, e.resource(PathReadResource, nil), "Bearer"); c["error"] != "" {
		t.Errorf("no credentials at %s: %v", PathReadResource, c)
	}

	other := newProofKey(t)
	otherTok := e.boundToken(other)
	plain := mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret)).AccessToken
	rp := func(edit ...any) string { return e.rsProof(k, PathResourceDPoP, tok, edit...) }
	stale := rp("iat", e.now.Add(-time.Hour).Unix())
	used := rp()
	if rec := e.resource(PathResourceDPoP, []string{"DPoP " + tok}, used); rec.Code != http.StatusOK {
		t.Fatalf("%d", rec.Code)
	}
	for _, c := range []struct {
		name, path string
		authz      []string
		proofs     []string
		status     int
		scheme     string
		err        string
	}{
		{"no proof", PathResourceDPoP, []string{"DPoP " + tok}, nil, 401, "DPoP", "invalid_dpop_proof"},
		{"two proofs", PathResourceDPoP, []string{"DPoP " + tok}, []string{rp(), rp()}, 401, "DPoP", "invalid_dpop_proof"},
		{"no ath", PathResourceDPoP, []string{"DPoP " + tok}, []string{rp("ath", nil)}, 401, "DPoP", "invalid_dpop_proof"},
		{"ath of another token", PathResourceDPoP, []string{"DPoP " + tok}, []string{e.rsProof(k, PathResourceDPoP, otherTok)}, 401, "DPoP", "invalid_dpop_proof"},
		{"htm POST", PathResourceDPoP, []string{"DPoP " + tok}, []string{rp("htm", "POST")}, 401, "DPoP", "invalid_dpop_proof"},
		{"htu of another route", PathResourceDPoP, []string{"DPoP " + tok}, []string{e.rsProof(k, PathReadResource, tok)}, 401, "DPoP", "invalid_dpop_proof"},
		{"the token endpoint's proof", PathResourceDPoP, []string{"DPoP " + tok}, []string{e.tokenProof(k)}, 401, "DPoP", "invalid_dpop_proof"},
		{"stale", PathResourceDPoP, []string{"DPoP " + tok}, []string{stale}, 401, "DPoP", "invalid_dpop_proof"},
		{"replayed", PathResourceDPoP, []string{"DPoP " + tok}, []string{used}, 401, "DPoP", "invalid_dpop_proof"},
		{"another key", PathResourceDPoP, []string{"DPoP " + tok}, []string{e.rsProof(other, PathResourceDPoP, tok)}, 401, "DPoP", "invalid_token"},
		{"another key at a Bearer route", PathReadResource, []string{"DPoP " + tok}, []string{e.rsProof(other, PathReadResource, tok)}, 401, "DPoP", "invalid_token"},
		{"bound token as Bearer", PathReadResource, []string{"Bearer " + tok}, nil, 401, "Bearer", "invalid_token"},
		{"bound token as Bearer with a proof", PathReadResource, []string{"Bearer " + tok}, []string{e.rsProof(k, PathReadResource, tok)}, 401, "Bearer", "invalid_token"},
		{"bound token as Bearer at /rs/dpop", PathResourceDPoP, []string{"Bearer " + tok}, []string{rp()}, 401, "DPoP", "invalid_token"},
		{"unbound token", PathResourceDPoP, []string{"Bearer " + plain}, nil, 401, "DPoP", "invalid_token"},
		{"unbound token, DPoP scheme", PathReadResource, []string{"DPoP " + plain}, []string{e.rsProof(k, PathReadResource, plain)}, 401, "DPoP", "invalid_token"},
		{"not a token", PathResourceDPoP, []string{"DPoP x" + tok}, []string{rp()}, 401, "DPoP", "invalid_token"},
		{"malformed", PathResourceDPoP, []string{"DPoP " + tok + " x"}, []string{rp()}, 400, "DPoP", "invalid_request"},
		{"Authorization twice", PathResourceDPoP, []string{"DPoP " + tok, "Bearer " + tok}, []string{rp()}, 400, "DPoP", "invalid_request"},
		{"Authorization twice at a Bearer route", PathReadResource, []string{"DPoP " + tok, "Bearer " + tok}, nil, 400, "Bearer", "invalid_request"},
		{"scope", PathScopedResource, []string{"DPoP " + tok}, []string{e.rsProof(k, PathScopedResource, tok)}, 403, "DPoP", "insufficient_scope"},
		{"not certificate-bound", PathResourceMTLS, []string{"DPoP " + tok}, []string{e.rsProof(k, PathResourceMTLS, tok)}, 401, "DPoP", "invalid_token"},
	} {
		rec := e.resource(c.path, c.authz, c.proofs...)
		if rec.Code != c.status {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
			continue
		}
		ch := challenge(t, rec, c.scheme)
		if ch["error"] != c.err || oauthErrorOf(rec) != c.err || (c.scheme == "DPoP") != (ch["algs"] == dpopAlgsParam) {
			t.Errorf("%s: challenge %v, body %s", c.name, ch, rec.Body)
		}
	}
}

func TestDPoPNoncesAtTheResourceServer(t *testing.T) {
	e := newDPoPEnv(t, true)
	k := newProofKey(t)
	rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k))
	asNonce := rec.Header().Get("DPoP-Nonce")
	tok := mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", asNonce))).AccessToken
	for _, n := range []any{nil, asNonce} {
		rec = e.resource(PathResourceDPoP, []string{"DPoP " + tok}, e.rsProof(k, PathResourceDPoP, tok, "nonce", n))
		nonces := rec.Header().Values("DPoP-Nonce")
		if c := challenge(t, rec, "DPoP"); rec.Code != http.StatusUnauthorized || c["error"] != "use_dpop_nonce" || len(nonces) != 1 || !nqchar(nonces[0]) {
			t.Fatalf("nonce %v: %d %v %v", n, rec.Code, c, nonces)
		}
	}
	rsNonce := rec.Header().Get("DPoP-Nonce")
	rec = e.resource(PathResourceDPoP, []string{"DPoP " + tok}, e.rsProof(k, PathResourceDPoP, tok, "nonce", rsNonce))
	if rec.Code != http.StatusOK || len(rec.Header().Values("DPoP-Nonce")) != 1 {
		t.Errorf("with the nonce: %d %v", rec.Code, rec.Header())
	}
	// The resource server's nonce is no good at the token endpoint.
	if rec := e.dpopToken(DemoClientID, DemoClientSecret, e.tokenProof(k, "nonce", rsNonce)); oauthErrorOf(rec) != "use_dpop_nonce" {
		t.Errorf("RS nonce at the token endpoint: %d %s", rec.Code, rec.Body)
	}
}

// A certificate-bound token (RFC 8705 §3) works only over a connection with its certificate, and
// /rs/mtls takes nothing else; DPoP and a certificate together bind to both.
func TestCertificateBoundTokens(t *testing.T) {
	e := newDPoPEnv(t, false)
	certA := parsePEMCert(t, FixtureMTLSCertPEM)
	certB := parsePEMCert(t, FixtureMTLSSelfSignedCertPEM)
	rec := e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID), []*x509.Certificate{certA})
	tok := mustToken(t, rec)
	claims := jwtClaims(t, tok.AccessToken)
	if cnf, _ := claims["cnf"].(map[string]any); tok.TokenType != "Bearer" || len(cnf) != 1 || cnf["x5t#S256"] != thumbprintOf(certA) {
		t.Fatalf("%q, cnf %v", tok.TokenType, claims["cnf"])
	}
	if m := jsonObject(t, e.introspect(tok.AccessToken)); m["token_type"] != "Bearer" || m["cnf"].(map[string]any)["x5t#S256"] != thumbprintOf(certA) {
		t.Errorf("introspection: %v", m)
	}
	get := func(path, token string, certs ...*x509.Certificate) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		if certs != nil {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		return rec
	}
	plain := mustToken(t, e.dpopToken(DemoClientID, DemoClientSecret)).AccessToken
	for _, c := range []struct {
		name, path, token string
		certs             []*x509.Certificate
		status            int
	}{
		{"its certificate", PathResourceMTLS, tok.AccessToken, []*x509.Certificate{certA}, 200},
		{"its certificate, another route", PathReadResource, tok.AccessToken, []*x509.Certificate{certA}, 200},
		{"no TLS", PathResourceMTLS, tok.AccessToken, nil, 401},
		{"no certificate", PathResourceMTLS, tok.AccessToken, []*x509.Certificate{}, 401},
		{"another certificate", PathResourceMTLS, tok.AccessToken, []*x509.Certificate{certB}, 401},
		{"another certificate, another route", PathReadResource, tok.AccessToken, []*x509.Certificate{certB}, 401},
		{"unbound token", PathResourceMTLS, plain, []*x509.Certificate{certA}, 401},
		{"unbound token elsewhere", PathReadResource, plain, []*x509.Certificate{certA}, 200},
	} {
		rec := get(c.path, c.token, c.certs...)
		if rec.Code != c.status {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		} else if c.status == 401 {
			if ch := challenge(t, rec, "Bearer"); ch["error"] != "invalid_token" {
				t.Errorf("%s: %v", c.name, ch)
			}
		}
	}

	// A certificate client that sends a proof gets a token bound to both.
	k := newProofKey(t)
	rec = e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID), []*x509.Certificate{certA}, func(r *http.Request) {
		r.Header.Set("DPoP", e.tokenProof(k))
	})
	both := mustToken(t, rec)
	cnf, _ := jwtClaims(t, both.AccessToken)["cnf"].(map[string]any)
	if both.TokenType != "DPoP" || cnf["jkt"] != k.jkt(t) || cnf["x5t#S256"] != thumbprintOf(certA) {
		t.Fatalf("%q, cnf %v", both.TokenType, cnf)
	}
	r := httptest.NewRequest(http.MethodGet, PathResourceDPoP, nil)
	r.Header.Set("Authorization", "DPoP "+both.AccessToken)
	r.Header.Set("DPoP", e.rsProof(k, PathResourceDPoP, both.AccessToken))
	rec = httptest.NewRecorder()
	if e.h.ServeHTTP(rec, r); rec.Code != http.StatusUnauthorized {
		t.Errorf("both, without the certificate: %d", rec.Code)
	}
	r.Header.Set("DPoP", e.rsProof(k, PathResourceDPoP, both.AccessToken))
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{certA}}
	rec = httptest.NewRecorder()
	if e.h.ServeHTTP(rec, r); rec.Code != http.StatusOK {
		t.Errorf("both, with the certificate: %d %s", rec.Code, rec.Body)
	}
}

func TestMetadataAdvertisesDPoP(t *testing.T) {
	e := newDPoPEnv(t, false)
	got, _ := jsonObject(t, e.get(PathMetadata))["dpop_signing_alg_values_supported"].([]any)
	var names []string
	for _, a := range got {
		names = append(names, a.(string))
	}
	if strings.Join(names, " ") != dpopAlgsParam {
		t.Errorf("dpop_signing_alg_values_supported %v", got)
	}
}
