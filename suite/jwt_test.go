package suite

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// The JWT helpers' own tests (jwt.go), on tokens signed here: they judge no provider.

// signedAccessToken is an RS256 JWT access token signed by key under kid, and the JWK set entry
// that publishes the key.
func signedAccessToken(t *testing.T, key *rsa.PrivateKey, kid string) (string, jwksKey) {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign([]byte(`{"iss":"https://as.example","aud":"https://rs.example/","sub":"c","client_id":"c","iat":1700000000,"exp":1700003600,"jti":"abcdef"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
	raw, err := pub.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return tok, jwksKey{Key: pub, Raw: raw}
}

// testKey is the RSA key of these tests, made once.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func TestForgeriesNeverVerifyWithTheProvidersKey(t *testing.T) {
	key := testKey()
	tok, published := signedAccessToken(t, key, "as-1")
	real, ok := decodeJWT(tok)
	if !ok || !real.claims9068() || real.kid() != "as-1" {
		t.Fatalf("the real token does not decode as an at+jwt with its kid: %+v", real.Header)
	}
	keys := []jwksKey{published}
	if k, why := verifyJWT(real, keys); k == nil {
		t.Fatalf("the real token does not verify: %s", why)
	}
	forgeries, err := forge(real, &keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(forgeries) != 5 {
		t.Fatalf("%d forgeries, want 5 (alg none, re-signed, HS256 with the JWK and with PEM, a changed payload byte)", len(forgeries))
	}
	for _, f := range forgeries {
		ft, ok := decodeJWT(f.token)
		if !ok {
			t.Errorf("%s: not a decodable JWT", f.what)
			continue
		}
		if k, _ := verifyJWT(ft, keys); k != nil {
			t.Errorf("%s: verifies with the provider's key", f.what)
		}
		if ft.kid() != "as-1" && ft.alg() != "none" {
			t.Errorf("%s: kid %q, want the real token's", f.what, ft.kid())
		}
		if same := jsonEqual(ft.Claims, real.Claims); same == strings.Contains(f.what, "payload") {
			t.Errorf("%s: the claims are the real token's: %t", f.what, same)
		}
	}
	if h := forgeriesNamed(forgeries, "alg none"); !strings.HasSuffix(h, ".") {
		t.Errorf("the alg none forgery has a signature: %q", h)
	}
	if ft, _ := decodeJWT(forgeriesNamed(forgeries, "embedded as jwk")); ft.Header["jwk"] == nil {
		t.Errorf("the re-signed forgery does not embed its key as jwk")
	}
}

func forgeriesNamed(fs []forgery, part string) string {
	for _, f := range fs {
		if strings.Contains(f.what, part) {
			return f.token
		}
	}
	return ""
}

func TestChangeOnePayloadByteKeepsJSON(t *testing.T) {
	for _, payload := range []string{`{"jti":"abc","sub":"x"}`, `{"jti":"Abc"}`, `{"sub":"x"}`, `{"jti":""}`} {
		changed := changeOnePayloadByte([]byte(payload))
		var m map[string]any
		if err := json.Unmarshal(changed, &m); err != nil || string(changed) == payload {
			t.Errorf("%s became %s (%v)", payload, changed, err)
		}
	}
}

func TestDecodeJWTTakesOnlyCompactJWSOfAJSONObject(t *testing.T) {
	tok, _ := signedAccessToken(t, testKey(), "k")
	for name, s := range map[string]string{
		"opaque":        "2YotnFZFEjr1zCsicMWpAA",
		"two parts":     "eyJhbGciOiJub25lIn0.e30",
		"a JWE":         "a.b.c.d.e",
		"too large":     tok + strings.Repeat("A", maxAccessTokenBytes),
		"no alg":        "e30.e30.",
		"payload array": "eyJhbGciOiJub25lIn0.W10.",
	} {
		if _, ok := decodeJWT(s); ok {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, ok := decodeJWT(tok); !ok {
		t.Errorf("a signed JWT did not decode")
	}
}
