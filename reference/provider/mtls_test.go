package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixtureCert is a fixture certificate with its key, as a TLS client presents it.
func fixtureCert(t *testing.T, certPEM, keyPEM []byte) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testCA is a certificate authority made for one test, so that it can issue certificates the
// committed fixtures do not have (expired, for the wrong usage, for another subject).
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue makes a leaf for subject with the given usage and validity; a nil ca makes it
// self-signed.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, usage x509.ExtKeyUsage, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: notAfter.Add(-2 * time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func parsePEMCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	c, err := parseRegisteredCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mtlsPost sends form to path as if over a TLS connection whose client presented chain (none
// when chain is nil; no TLS at all when plain).
func (e *caEnv) mtlsPost(path string, form url.Values, chain []*x509.Certificate, edit ...func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13, PeerCertificates: chain}
	for _, f := range edit {
		f(r)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

func ccForm(clientID string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}}
}

func thumbprintOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Every case of RFC 8705 §2 the token endpoint decides: the right certificate with client_id
// gets a token; anything else is 401 invalid_client with the body-auth challenge, and two
// methods at once (Basic and client_id) stay invalid_request.
func TestTokenWithClientCertificate(t *testing.T) {
	e := newCAEnv(t)
	certA := parsePEMCert(t, FixtureMTLSCertPEM)
	certB := parsePEMCert(t, FixtureMTLSSelfSignedCertPEM)
	ok := func(name string, rec *httptest.ResponseRecorder) {
		t.Helper()
		m := jsonObject(t, rec)
		if rec.Code != http.StatusOK || m["access_token"] == nil || m["token_type"] != "Bearer" || m["scope"] != ScopeRead {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	ok("A for tls_client_auth", e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID), []*x509.Certificate{certA}))
	ok("A with its CA for tls_client_auth", e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID),
		[]*x509.Certificate{certA, parsePEMCert(t, FixtureMTLSCAPEM)}))
	ok("B for self_signed_tls_client_auth", e.mtlsPost(PathToken, ccForm(FixtureMTLSSelfSigned.ID), []*x509.Certificate{certB}))

	withSecret := ccForm(FixtureMTLS.ID)
	withSecret.Set("client_secret", "anything")
	withEmptySecret := ccForm(FixtureMTLS.ID)
	withEmptySecret.Set("client_secret", "")
	withAssertion := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {JWTBearerAssertionType},
		"client_assertion": {pkjAssertion(t, caClaims(FixtureMTLS.ID))}}
	basic := func(r *http.Request) { r.SetBasicAuth(FixtureMTLS.ID, "anything") }
	pass := func(r *http.Request) { r.SetBasicAuth(FixtureMTLS.ID, e.p.clients.byID[FixtureMTLS.ID].pass) }
	plain := func(r *http.Request) { r.TLS = nil }
	refused := []struct {
		name  string
		form  url.Values
		chain []*x509.Certificate
		edit  []func(*http.Request)
	}{
		{"no certificate", ccForm(FixtureMTLS.ID), nil, nil},
		{"no TLS", ccForm(FixtureMTLS.ID), []*x509.Certificate{certA}, []func(*http.Request){plain}},
		{"B for tls_client_auth", ccForm(FixtureMTLS.ID), []*x509.Certificate{certB}, nil},
		{"A for self_signed_tls_client_auth", ccForm(FixtureMTLSSelfSigned.ID), []*x509.Certificate{certA}, nil},
		{"no certificate, self-signed client", ccForm(FixtureMTLSSelfSigned.ID), nil, nil},
		{"A and a secret in the body", withSecret, []*x509.Certificate{certA}, nil},
		{"A and an empty secret in the body", withEmptySecret, []*x509.Certificate{certA}, nil},
		{"A and HTTP Basic", url.Values{"grant_type": {"client_credentials"}}, []*x509.Certificate{certA}, []func(*http.Request){basic}},
		{"A and the internal pass with HTTP Basic", url.Values{"grant_type": {"client_credentials"}}, []*x509.Certificate{certA}, []func(*http.Request){pass}},
		{"A and an assertion", withAssertion, []*x509.Certificate{certA}, nil},
		{"A for a secret client", ccForm(DemoClientID), []*x509.Certificate{certA}, nil},
	}
	for _, c := range refused {
		rec := e.mtlsPost(PathToken, c.form, c.chain, c.edit...)
		if rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" ||
			!strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic realm=") {
			t.Errorf("%s: %d %v %s", c.name, rec.Code, rec.Header(), rec.Body)
		}
	}
	rec := e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID), []*x509.Certificate{certA}, basic)
	if rec.Code != http.StatusBadRequest || oauthErrorOf(rec) != "invalid_request" {
		t.Errorf("HTTP Basic and client_id: %d %s", rec.Code, rec.Body)
	}
}

// A tls_client_auth chain must be valid now, for client authentication, from a configured CA,
// and name the registered subject.
func TestClientCertificateChainChecks(t *testing.T) {
	ca := newTestCA(t)
	subject := pkix.Name{CommonName: "pki-client", Organization: []string{"example"}}
	const dn = "CN=pki-client,O=example"
	cfg := DefaultConfig(DemoClientID, DemoClientSecret)
	cfg.Clients = append(cfg.Clients, Client{ID: "pki", AuthMethod: AuthMethodTLSClientAuth, TLSSubjectDN: dn,
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}})
	cfg.MTLSClientCAs = ca.pool()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &caEnv{t: t, p: p, h: p.Handler()}
	later := time.Now().Add(time.Hour)
	good := ca.issue(t, subject, x509.ExtKeyUsageClientAuth, later)
	if good.Subject.String() != dn {
		t.Fatalf("the subject renders as %q", good.Subject.String())
	}
	if rec := e.mtlsPost(PathToken, ccForm("pki"), []*x509.Certificate{good}); rec.Code != http.StatusOK {
		t.Fatalf("valid chain: %d %s", rec.Code, rec.Body)
	}
	for name, c := range map[string]struct {
		cert *x509.Certificate
		want string
	}{
		"expired":           {ca.issue(t, subject, x509.ExtKeyUsageClientAuth, time.Now().Add(-time.Minute)), "expired"},
		"server usage only": {ca.issue(t, subject, x509.ExtKeyUsageServerAuth, later), "key usage"},
		"another subject":   {ca.issue(t, pkix.Name{CommonName: "pki-client"}, x509.ExtKeyUsageClientAuth, later), "subject"},
		"other CA":          {newTestCA(t).issue(t, subject, x509.ExtKeyUsageClientAuth, later), "certificate authority"},
		"self-signed":       {(*testCA)(nil).issue(t, subject, x509.ExtKeyUsageClientAuth, later), "certificate authority"},
		"fixture CA":        {parsePEMCert(t, FixtureMTLSCertPEM), "certificate authority"},
	} {
		rec := e.mtlsPost(PathToken, ccForm("pki"), []*x509.Certificate{c.cert})
		if rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" ||
			!strings.Contains(jsonObject(t, rec)["error_description"].(string), c.want) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// Failed certificate authentications count for the guessing throttle: once a pair has used up
// its free failures it gets 429 with Retry-After, its right certificate included; the same
// wrong certificate again counts once.
func TestClientCertificateThrottle(t *testing.T) {
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.MaxFailedAuthentications = 2
	cfg.GuessDelay = time.Minute
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &caEnv{t: t, p: p, h: p.Handler()}
	certA := parsePEMCert(t, FixtureMTLSCertPEM)
	certB := parsePEMCert(t, FixtureMTLSSelfSignedCertPEM)
	other := (*testCA)(nil).issue(t, pkix.Name{CommonName: "x"}, x509.ExtKeyUsageClientAuth, time.Now().Add(time.Hour))
	for i, chain := range [][]*x509.Certificate{nil, nil, {certB}, {certB}, {other}} {
		if rec := e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID), chain); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := e.mtlsPost(PathToken, ccForm(FixtureMTLS.ID), []*x509.Certificate{certA})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || oauthErrorOf(rec) != "invalid_client" {
		t.Errorf("after three distinct failures: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = e.mtlsPost(PathToken, ccForm(FixtureMTLSSelfSigned.ID), []*x509.Certificate{certB})
	if rec.Code != http.StatusOK {
		t.Errorf("another client from the same address: %d %s", rec.Code, rec.Body)
	}
}

// validate refuses certificate registrations that cannot work.
func TestCertificateClientRegistration(t *testing.T) {
	base := func(c Client) Config {
		cfg := DefaultConfig(DemoClientID, DemoClientSecret)
		c.ID, c.Scopes = "c", []string{ScopeRead}
		cfg.Clients = append(cfg.Clients, c)
		cfg.MTLSClientCAs = FixtureMTLSClientCAs()
		return cfg
	}
	certB := FixtureMTLSSelfSignedCertPEM
	bad := map[string]Config{
		"tls_client_auth without a DN":       base(Client{AuthMethod: AuthMethodTLSClientAuth}),
		"tls_client_auth with a secret":      base(Client{AuthMethod: AuthMethodTLSClientAuth, TLSSubjectDN: "CN=c", Secret: "s"}),
		"tls_client_auth with certificates":  base(Client{AuthMethod: AuthMethodTLSClientAuth, TLSSubjectDN: "CN=c", TLSCertificates: [][]byte{certB}}),
		"self-signed without certificates":   base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth}),
		"self-signed with a DN":              base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSSubjectDN: "CN=c", TLSCertificates: [][]byte{certB}}),
		"self-signed with a key, not a cert": base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSCertificates: [][]byte{FixtureMTLSSelfSignedKeyPEM}}),
		"self-signed with garbage":           base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSCertificates: [][]byte{[]byte("garbage")}}),
		"self-signed with a secret":          base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSCertificates: [][]byte{certB}, Secret: "s"}),
		"secret client with a DN":            base(Client{Secret: "s", TLSSubjectDN: "CN=c"}),
		"private_key_jwt client with a cert": base(Client{AuthMethod: AuthMethodPrivateKeyJWT, Keys: FixturePrivateKeyJWT.Keys, TLSCertificates: [][]byte{certB}}),
		"tls_client_auth without a CA in conf": func() Config {
			c := base(Client{AuthMethod: AuthMethodTLSClientAuth, TLSSubjectDN: "CN=c"})
			c.MTLSClientCAs = nil
			return c
		}(),
	}
	for name, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	der := parsePEMCert(t, certB).Raw
	for name, cfg := range map[string]Config{
		"tls_client_auth":  base(Client{AuthMethod: AuthMethodTLSClientAuth, TLSSubjectDN: "CN=c"}),
		"self-signed, PEM": base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSCertificates: [][]byte{certB}}),
		"self-signed, DER": base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSCertificates: [][]byte{der}}),
		"self-signed without CA": func() Config {
			c := base(Client{AuthMethod: AuthMethodSelfSignedTLSClientAuth, TLSCertificates: [][]byte{der}})
			c.MTLSClientCAs = nil
			return c
		}(),
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A certificate client is bound to the certificate it authenticated with; any other client's
// token is not, whatever certificate it presents.
func TestCertificateBinding(t *testing.T) {
	e := newCAEnv(t)
	certA := parsePEMCert(t, FixtureMTLSCertPEM)
	r := httptest.NewRequest(http.MethodPost, PathToken, nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{certA}}
	if got, want := e.p.certificateBinding(r, FixtureMTLS.ID), thumbprintOf(certA); got != want || len(got) != 43 {
		t.Errorf("certificate client: %q, want %q", got, want)
	}
	for _, id := range []string{DemoClientID, FixturePrivateKeyJWT.ID, "unknown"} {
		if got := e.p.certificateBinding(r, id); got != "" {
			t.Errorf("%s: bound to %q", id, got)
		}
	}
}

// The metadata lists the certificate methods and tls_client_certificate_bound_access_tokens
// when certificate clients are registered and the issuer is https, and neither otherwise.
func TestMetadataAdvertisesMutualTLS(t *testing.T) {
	m := jsonObject(t, newCAEnv(t).get(PathMetadata))
	if m["tls_client_certificate_bound_access_tokens"] != true {
		t.Errorf("with the fixtures: %v", m["tls_client_certificate_bound_access_tokens"])
	}
	without := DefaultConfig(DemoClientID, DemoClientSecret)
	without.Issuer = caIssuer
	overHTTP := FixtureConfig(DemoClientID, DemoClientSecret)
	overHTTP.Issuer = "http://localhost:8080"
	for name, cfg := range map[string]Config{"without certificate clients": without, "with an http issuer": overHTTP} {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m = jsonObject(t, (&caEnv{t: t, p: p, h: p.Handler()}).get(PathMetadata))
		if _, ok := m["tls_client_certificate_bound_access_tokens"]; ok {
			t.Errorf("%s: %v", name, m)
		}
		if methods := m["token_endpoint_auth_methods_supported"].([]any); slices.Contains(methods, any(AuthMethodTLSClientAuth)) {
			t.Errorf("%s: %v", name, methods)
		}
	}
}

// A certificate client revokes its tokens authenticating as at the token endpoint.
func TestRevocationWithClientCertificate(t *testing.T) {
	e := newCAEnv(t)
	chain := []*x509.Certificate{parsePEMCert(t, FixtureMTLSSelfSignedCertPEM)}
	tok, _ := jsonObject(t, e.mtlsPost(PathToken, ccForm(FixtureMTLSSelfSigned.ID), chain))["access_token"].(string)
	if tok == "" || !e.active(tok) {
		t.Fatal("no active token")
	}
	form := ccForm(FixtureMTLSSelfSigned.ID)
	form.Del("grant_type")
	form.Set("token", tok)
	if rec := e.mtlsPost(PathRevoke, form, nil); rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" {
		t.Errorf("without the certificate: %d %s", rec.Code, rec.Body)
	}
	if rec := e.mtlsPost(PathRevoke, form, chain); rec.Code != http.StatusOK {
		t.Errorf("with it: %d %s", rec.Code, rec.Body)
	}
	if e.active(tok) {
		t.Error("still active after revocation")
	}
}

func TestRequestClientCertificates(t *testing.T) {
	if c := RequestClientCertificates(nil); c == nil {
		t.Error("nil: nil")
	} else if c.ClientAuth != tls.RequestClientCert {
		t.Errorf("nil: %v", c.ClientAuth)
	}
	in := &tls.Config{MinVersion: tls.VersionTLS13}
	if c := RequestClientCertificates(in); c != in || c.ClientAuth != tls.RequestClientCert || c.MinVersion != tls.VersionTLS13 {
		t.Errorf("given: %v", c.ClientAuth)
	}
}

// fixtureMTLSServer serves the fixture provider (with an issuer) as mtlsServer does, and gives
// the provider and certificates A and B with their keys.
func fixtureMTLSServer(t *testing.T) (p *Provider, base string, client func(certs ...tls.Certificate) *http.Client, certA, certB tls.Certificate) {
	t.Helper()
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base, client = mtlsServer(t, p)
	return p, base, client, fixtureCert(t, FixtureMTLSCertPEM, FixtureMTLSKeyPEM),
		fixtureCert(t, FixtureMTLSSelfSignedCertPEM, FixtureMTLSSelfSignedKeyPEM)
}

// mtlsServer serves p over TLS, asking for client certificates, and returns its URL and a client
// factory: a client presenting certs (none when empty) that trusts the server.
func mtlsServer(t *testing.T, p *Provider) (string, func(certs ...tls.Certificate) *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(p.Handler())
	srv.TLS = RequestClientCertificates(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, func(certs ...tls.Certificate) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = certs
		return &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}
}

// Over a real TLS connection: certificate A with client_id gets a certificate-bound token (its
// JWT's cnf holds A's x5t#S256 once the token handler binds it), no certificate or B is 401.
func TestMutualTLSEndToEnd(t *testing.T) {
	_, base, client, certA, certB := fixtureMTLSServer(t)
	post := func(c *http.Client, form url.Values) (int, map[string]any) {
		t.Helper()
		res, err := c.PostForm(base+PathToken, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
		return res.StatusCode, m
	}
	status, m := post(client(certA), ccForm(FixtureMTLS.ID))
	if status != http.StatusOK || m["token_type"] != "Bearer" {
		t.Fatalf("A: %d %v", status, m)
	}
	if status, m := post(client(certB), ccForm(FixtureMTLSSelfSigned.ID)); status != http.StatusOK {
		t.Errorf("B for the self-signed client: %d %v", status, m)
	}
	for name, c := range map[string]*http.Client{"no certificate": client(), "B": client(certB)} {
		if status, m := post(c, ccForm(FixtureMTLS.ID)); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
			t.Errorf("%s: %d %v", name, status, m)
		}
	}
	if status, m := post(client(certA), ccForm(FixtureMTLSSelfSigned.ID)); status != http.StatusUnauthorized {
		t.Errorf("A for the self-signed client: %d %v", status, m)
	}
}

// A token issued to a client that authenticated with certificate A is a JWT bound to A (cnf
// x5t#S256, also in introspection), and a resource server takes it only over a connection
// with A (RFC 8705 §3): none or B is 401 invalid_token with a Bearer challenge. /rs/mtls takes
// certificate-bound tokens only.
func TestCertificateBoundTokenAtTheResource(t *testing.T) {
	p, base, client, certA, certB := fixtureMTLSServer(t)
	res, err := client(certA).PostForm(base+PathToken, ccForm(FixtureMTLS.ID))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || tok.TokenType != "Bearer" {
		t.Fatalf("token: %d %+v %v", res.StatusCode, tok, err)
	}
	want := thumbprintOf(parsePEMCert(t, FixtureMTLSCertPEM))
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok.AccessToken)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || len(claims.Cnf) != 1 || claims.Cnf["x5t#S256"] != want {
		t.Errorf("cnf %v, want x5t#S256 %s (%v)", claims.Cnf, want, err)
	}
	e := &caEnv{t: t, p: p, h: p.Handler()}
	if cnf, _ := jsonObject(t, e.introspect(tok.AccessToken))["cnf"].(map[string]any); cnf["x5t#S256"] != want {
		t.Errorf("introspection cnf %v", cnf)
	}

	get := func(c *http.Client, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("WWW-Authenticate")
	}
	for _, path := range []string{PathResourceMTLS, PathReadResource} {
		if status, _ := get(client(certA), path, tok.AccessToken); status != http.StatusOK {
			t.Errorf("%s with A: %d", path, status)
		}
		for name, c := range map[string]*http.Client{"no certificate": client(), "B": client(certB)} {
			status, challenge := get(c, path, tok.AccessToken)
			if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, `error="invalid_token"`) {
				t.Errorf("%s with %s: %d %q", path, name, status, challenge)
			}
		}
	}
	unbound := e.secretToken(DemoClientID, DemoClientSecret)
	if status, challenge := get(client(certA), PathResourceMTLS, unbound); status != http.StatusUnauthorized || !strings.Contains(challenge, "invalid_token") {
		t.Errorf("an unbound token at %s: %d %q", PathResourceMTLS, status, challenge)
	}
}
