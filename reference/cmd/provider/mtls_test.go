package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
)

// Over --dev-tls and over --tls-cert, the command asks for a client certificate and the one a
// client presents reaches the provider: the mutual TLS fixture client gets a token with its
// certificate (RFC 8705 §2) and 401 without it.
func TestClientCertificatesReachTheProvider(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := writeDevCertificate(t, filepath.Join(dir, "own"))
	devDir := filepath.Join(dir, "dev")
	for name, c := range map[string]struct {
		args   []string
		caFile string
	}{
		"--tls-cert": {[]string{"--fixtures", "--tls-cert", certFile, "--tls-key", keyFile}, caFile},
		"--dev-tls":  {[]string{"--fixtures", "--dev-tls", "--dev-tls-dir", devDir}, filepath.Join(devDir, "ca.pem")},
	} {
		t.Run(name, func(t *testing.T) {
			lines := startProvider(t, 1, c.args...)
			base, _ := strings.CutPrefix(lines[0], "[Provider]: listening on ")
			caPEM, err := os.ReadFile(c.caFile)
			if err != nil {
				t.Fatal(err)
			}
			clientCert, err := tls.X509KeyPair(provider.FixtureMTLSCertPEM, provider.FixtureMTLSKeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			for _, certs := range [][]tls.Certificate{{clientCert}, nil} {
				status, body := mtlsToken(t, base, caPEM, certs)
				want := http.StatusOK
				if certs == nil {
					want = http.StatusUnauthorized
				}
				if status != want {
					t.Errorf("%d certificates: %d %s", len(certs), status, body)
				}
			}
		})
	}
}

// mtlsToken asks base's token endpoint for a token for the mutual TLS fixture client,
// presenting certs, trusting the CA in caPEM.
func mtlsToken(t *testing.T, base string, caPEM []byte, certs []tls.Certificate) (int, string) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no certificate in the CA file")
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
	res, err := c.PostForm(base+provider.PathToken,
		url.Values{"grant_type": {"client_credentials"}, "client_id": {provider.FixtureMTLS.ID}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}
