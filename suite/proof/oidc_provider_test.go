package proof

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The suite against a second provider it did not write, for the machine-to-machine stack:
// panva's oidc-provider (testdata/oidc-provider), configured for the client credentials grant
// with JWT access tokens through resource indicators, JWT client authentication, introspection,
// revocation, DPoP and mutual TLS, with a small resource server of ours beside it. The suite
// finds it by its issuer alone (metadata discovery) and the fixtures of its target.yaml (the
// mutual TLS clients' certificates among them). With the expected-failures file that names each
// rule it breaks, the run passes; without any one entry, it fails. Like TestExpressProvider, it
// needs Node.js and npm.
func TestOIDCProvider(t *testing.T) {
	t.Parallel() // it mostly waits for node and npm (TestMain)
	target, err := filepath.Abs(filepath.Join("testdata", "oidc-provider", "target.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := filepath.Abs(filepath.Join("testdata", "oidc-provider", "expected-failures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	baseline{
		list:     list,
		start:    func(t *testing.T) []string { return startOIDCProvider(t, target) },
		kept:     "S2S-1",
		parallel: true,
	}.check(t)
}

// startOIDCProvider starts testdata/oidc-provider with a certificate of its own and returns the
// suite flags that point at it: its issuer alone (the suite discovers the rest), its certificate
// authority, the target description and the F-OTHER-JWT it wrote.
func startOIDCProvider(t *testing.T, target string) []string {
	t.Helper()
	dir := t.TempDir()
	cert, key := writeLoopbackCertificate(t, dir)
	otherJWT := filepath.Join(dir, "other.jwt")
	// DPOP_NONCES: oidc-provider demands DPoP nonces (its nonceSecret and requireNonce), so the
	// suite's nonce handling meets a server nobody here wrote; the reference's faults run without.
	url := startNodeProvider(t, "oidc-provider", "TLS_CERT_FILE="+cert, "TLS_KEY_FILE="+key, "OTHER_JWT_FILE="+otherJWT, "DPOP_NONCES=1")
	other, err := os.ReadFile(otherJWT)
	if err != nil {
		t.Fatalf("the provider wrote no F-OTHER-JWT: %v", err)
	}
	return []string{"-issuer=" + url, "-ca-file=" + cert, "-target-config=" + target,
		"-other-jwt=" + strings.TrimSpace(string(other)), "-ginkgo.label-filter=!slow"}
}

// writeLoopbackCertificate writes a self-signed certificate for 127.0.0.1 and its key to dir,
// as PEM files, and returns their names.
func writeLoopbackCertificate(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
