package suite

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ccconform/ccconform/suite/config"
)

// The DPoP proof builder's and the client certificates' own tests (dpop.go, mtls.go): they
// judge no provider.

func TestDPoPProofVerifiesWithItsEmbeddedKey(t *testing.T) {
	k, err := newDPoPKeyFor(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	s := k.proof("POST", "https://as.example/token?x=1").ath("tok").nonce("n1").sign()
	jws, err := jose.ParseSignedCompact(s, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		t.Fatalf("the jwk header is %+v, want the public key", h.JSONWebKey)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatalf("the proof does not verify with its own jwk: %v", err)
	}
	if typ := h.ExtraHeaders["typ"]; typ != "dpop+jwt" {
		t.Errorf("typ is %v", typ)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["htu"] != "https://as.example/token" || claims["htm"] != "POST" || claims["nonce"] != "n1" || claims["jti"] == "" {
		t.Errorf("claims %v", claims)
	}
	if claims["ath"] != athOf("tok") || len(athOf("tok")) != 43 {
		t.Errorf("ath %v", claims["ath"])
	}
	if tp, _ := h.JSONWebKey.Thumbprint(crypto.SHA256); base64.RawURLEncoding.EncodeToString(tp) != k.thumbprint() {
		t.Error("thumbprint differs from the jwk's RFC 7638 thumbprint")
	}
}

func TestDPoPBrokenProofs(t *testing.T) {
	a, _ := newDPoPKeyFor(jose.ES256)
	b, _ := newDPoPKeyFor(jose.ES256)
	header := func(s string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	none := a.proof("POST", "https://as.example/token").unsigned()
	if h := header(none); h["alg"] != "none" || !strings.HasSuffix(none, ".") {
		t.Errorf("alg none proof %q", none)
	}
	if h := header(a.proof("POST", "u").hs256()); h["alg"] != "HS256" || h["jwk"] == nil {
		t.Errorf("HS256 proof header %v", h)
	}
	if h := header(a.proof("POST", "u").withPrivateJWK().sign()); h["jwk"].(map[string]any)["d"] == nil {
		t.Errorf("private jwk header %v", h)
	}
	if h := header(a.proof("POST", "u").dropHeader("jwk").sign()); h["jwk"] != nil {
		t.Errorf("jwk not dropped: %v", h)
	}
	if h := header(a.proof("POST", "u").header("typ", "JWT").sign()); h["typ"] != "JWT" {
		t.Errorf("typ %v", h["typ"])
	}
	other := a.proof("POST", "u").signedBy(b)
	jws, err := jose.ParseSignedCompact(other, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(jws.Signatures[0].Protected.JSONWebKey); err == nil {
		t.Error("a proof signed by key B verified with key A's jwk")
	}
}

func TestClientCertificate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	cred, err := credentials(config.Client{ID: "m", AuthMethod: config.AuthTLSClientAuth, Certificate: certPEM, PrivateKey: keyPEM})
	if err != nil || cred.Certificate == nil {
		t.Fatalf("credentials: %v", err)
	}
	if tp := certThumbprint(cred.Certificate); len(tp) != 43 || strings.ContainsAny(tp, "+/=") {
		t.Errorf("thumbprint %q is not 43 base64url characters", tp)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ = x509.MarshalPKCS8PrivateKey(other)
	wrongKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	if _, err := credentials(config.Client{ID: "m", AuthMethod: config.AuthTLSClientAuth, Certificate: certPEM, PrivateKey: wrongKey}); err == nil {
		t.Error("a key that is not the certificate's was taken")
	}
}
