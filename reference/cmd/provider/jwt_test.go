package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
)

// startCommand runs the command with args and returns the URL it prints and the stdout lines
// after it; the command stops when the test ends.
func startCommand(t *testing.T, args ...string) (string, *bufio.Reader) {
	t.Helper()
	out := runCommand(t, args...)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("%v (stdout %q)", err, line)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "[Provider]: listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	return url, out
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); res.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
}

// The default issuer is the URL the command prints; --signing-key's first key signs and every
// key of the file is published; --jwt-access-tokens gives the scenario's client JWTs.
func TestIssuerSigningKeyAndJWTFlags(t *testing.T) {
	var keys []*rsa.PrivateKey
	var pemData []byte
	for range 2 {
		k, err := provider.GenerateSigningKey()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	keyFile := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(keyFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	url, _ := startCommand(t, "--signing-key", keyFile, "--jwt-access-tokens")
	var md struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, url+provider.PathMetadata, &md)
	if md.Issuer != url || md.JWKSURI != url+provider.PathJWKS {
		t.Fatalf("metadata: issuer %q jwks_uri %q; the command listens on %s", md.Issuer, md.JWKSURI, url)
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			N   string `json:"n"`
		} `json:"keys"`
	}
	getJSON(t, md.JWKSURI, &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("%d keys published, want 2", len(jwks.Keys))
	}

	req, _ := http.NewRequest(http.MethodPost, url+provider.PathToken, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(provider.DemoClientID, provider.DemoClientSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("not a JWT: %q %v", tok.AccessToken, err)
	}
	header, _, _ := strings.Cut(tok.AccessToken, ".")
	if !strings.Contains(decodeSegment(t, header), `"kid":"`+jwks.Keys[0].Kid+`"`) {
		t.Errorf("the token's header %s does not name the first key %s", decodeSegment(t, header), jwks.Keys[0].Kid)
	}
	for _, path := range []string{provider.PathReadResource, provider.PathResourceOne} {
		r, _ := http.NewRequest(http.MethodGet, url+path, nil)
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[string]int{provider.PathReadResource: 200, provider.PathResourceOne: 401}[path]; res.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
}

func decodeSegment(t *testing.T, s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// --issuer names another issuer (a provider behind a proxy): the command says so, and the
// metadata carries it.
func TestIssuerFlag(t *testing.T) {
	url, out := startCommand(t, "--issuer", "https://as.example")
	line, _ := out.ReadString('\n')
	if strings.TrimSpace(line) != "[Provider]: issuer https://as.example" {
		t.Errorf("second line %q", line)
	}
	var md map[string]any
	getJSON(t, url+provider.PathMetadata, &md)
	if md["issuer"] != "https://as.example" || md["token_endpoint"] != "https://as.example/token" {
		t.Errorf("metadata %v", md)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, bad := range [][]string{{"--issuer", "https://as.example/"}, {"--signing-key", filepath.Join(t.TempDir(), "none")}} {
		args := append([]string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")}, bad...)
		if err := run(ctx, args, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}
