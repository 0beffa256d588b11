package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startProvider runs the command with args until the test ends and returns the first n lines it
// prints on stdout (the URL first).
func startProvider(t *testing.T, n int, args ...string) []string {
	t.Helper()
	br := runCommand(t, args...)
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stdout ended after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimSpace(line))
		if len(lines) == n {
			break
		}
	}
	go io.Copy(io.Discard, br)
	return lines
}

// runCommand runs the command with args, on a free loopback port and with no environment file,
// until the test ends (it must stop within 15 s), and returns its stdout.
func runCommand(t *testing.T, args ...string) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	args = append([]string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")}, args...)
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, outW, io.Discard)
		outW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		go io.Copy(io.Discard, outR)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not stop")
		}
	})
	return bufio.NewReader(outR)
}

// getPublic fetches /public over HTTPS trusting only the CA in caPEM.
func getPublic(t *testing.T, url string, caPEM []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no certificate in the CA file")
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Get(url + "/public")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if string(body) != "moo" {
		t.Errorf("GET /public: %d %q", res.StatusCode, body)
	}
}

// --dev-tls serves HTTPS with a certificate authority of its own and says which file to trust.
func TestDevTLS(t *testing.T) {
	dir := t.TempDir()
	lines := startProvider(t, 2, "--dev-tls-dir", dir, "--dev-tls")
	url, ok := strings.CutPrefix(lines[0], "[Provider]: listening on ")
	if !ok || !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("first line %q", lines[0])
	}
	caFile := filepath.Join(dir, "ca.pem")
	if !strings.Contains(lines[1], "--ca-file="+caFile) {
		t.Fatalf("second line %q", lines[1])
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	getPublic(t, url, caPEM)
	getPublic(t, strings.Replace(url, "127.0.0.1", "localhost", 1), caPEM)
}

// --tls-cert and --tls-key serve HTTPS with the given certificate.
func TestTLSCertAndKey(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := writeDevCertificate(t, dir)
	lines := startProvider(t, 1, "--tls-cert", certFile, "--tls-key", keyFile)
	url, _ := strings.CutPrefix(lines[0], "[Provider]: listening on ")
	caPEM, _ := os.ReadFile(caFile)
	getPublic(t, url, caPEM)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{{"--tls-cert", certFile}, {"--dev-tls", "--tls-key", keyFile}, {"--tls-cert", keyFile, "--tls-key", certFile}} {
		if err := run(ctx, append([]string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(dir, "none")}, args...),
			func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// writeDevCertificate makes a certificate for 127.0.0.1 as --dev-tls does, in dir, and writes it
// (with its chain) and its key as PEM files for --tls-cert and --tls-key.
func writeDevCertificate(t *testing.T, dir string) (certFile, keyFile, caFile string) {
	t.Helper()
	cert, caFile, err := devCertificate(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, caFile
}
