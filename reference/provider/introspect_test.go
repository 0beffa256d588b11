package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"
)

// introspect asks the introspection endpoint about a token, as the introspecting fixture client
// unless basic says otherwise.
func (e *caEnv) introspect(token string, basic ...string) *httptest.ResponseRecorder {
	if basic == nil {
		basic = []string{FixtureIntrospector.ID, FixtureIntrospector.Secret}
	}
	return e.post(PathIntrospect, url.Values{"token": {token}}, basic...)
}

func jsonObject(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("not a JSON object: %d %s", rec.Code, rec.Body)
	}
	return m
}

// expiredOpaqueToken is a token the provider issued two hours ago, for an hour.
func (e *caEnv) expiredOpaqueToken(clientID string) string {
	ti := models.NewToken()
	ti.SetScope(ScopeRead)
	ti.SetAccessCreateAt(time.Now().Add(-2 * time.Hour))
	ti.SetAccessExpiresIn(time.Hour)
	tok, _, err := e.p.codec.Token(context.Background(), &oauth2.GenerateBasic{Client: e.p.clients.byID[clientID], TokenInfo: ti}, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func TestIntrospectionDescribesActiveTokens(t *testing.T) {
	e := newCAEnv(t)
	opaque := e.secretToken(DemoClientID, DemoClientSecret)
	rec := e.introspect(opaque)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	m := jsonObject(t, rec)
	f, _ := e.p.inspectToken(opaque)
	want := map[string]any{"active": true, "scope": "read", "client_id": DemoClientID, "token_type": "Bearer",
		"exp": float64(f.ExpiresAt.Unix()), "iat": float64(f.IssuedAt.Unix()), "sub": DemoClientID,
		"aud": DefaultResource(caIssuer), "iss": caIssuer, "jti": f.ID}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("opaque token:\n got %v\nwant %v", m, want)
	}
	if exp := m["exp"].(float64); exp < float64(time.Now().Add(59*time.Minute).Unix()) {
		t.Errorf("exp %v", exp)
	}

	// A JWT access token for two resources; the caller authenticates in the body this time, and
	// a hint of the wrong type changes nothing.
	jwt := e.secretToken(FixtureSecond.ID, FixtureSecond.Secret, "resource", ResourceOne(caIssuer))
	rec = e.post(PathIntrospect, url.Values{"token": {jwt}, "token_type_hint": {"refresh_token"},
		"client_id": {FixtureIntrospector.ID}, "client_secret": {FixtureIntrospector.Secret}})
	m = jsonObject(t, rec)
	if m["active"] != true || m["client_id"] != FixtureSecond.ID || m["aud"] != ResourceOne(caIssuer) || m["jti"] == "" {
		t.Errorf("JWT: %v", m)
	}
}

func TestIntrospectionOfInactiveTokensSaysOnlyThat(t *testing.T) {
	e := newCAEnv(t)
	revoked := e.secretToken(DemoClientID, DemoClientSecret)
	if rec := e.post(PathRevoke, url.Values{"token": {revoked}}, DemoClientID, DemoClientSecret); rec.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	good := e.secretToken(DemoClientID, DemoClientSecret)
	for name, token := range map[string]string{
		"unknown":  "not-a-token",
		"forged":   flip(good, 4),
		"expired":  e.expiredOpaqueToken(DemoClientID),
		"revoked":  revoked,
		"JWT-like": "a.b.c",
	} {
		rec := e.introspect(token)
		if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"active":false}` ||
			rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

func TestIntrospectionIsForAuthorizedCallersOnly(t *testing.T) {
	e := newCAEnv(t)
	tok := e.secretToken(DemoClientID, DemoClientSecret)
	cases := map[string]struct {
		rec    *httptest.ResponseRecorder
		status int
		code   string
	}{
		"an ordinary client":   {e.introspect(tok, DemoClientID, DemoClientSecret), http.StatusForbidden, "unauthorized_client"},
		"the token's client":   {e.introspect(tok, FixtureSecond.ID, FixtureSecond.Secret), http.StatusForbidden, "unauthorized_client"},
		"no credentials":       {e.post(PathIntrospect, url.Values{"token": {tok}}), http.StatusUnauthorized, "invalid_client"},
		"a wrong secret":       {e.introspect(tok, FixtureIntrospector.ID, "wrong"), http.StatusUnauthorized, "invalid_client"},
		"an unknown client":    {e.introspect(tok, "nobody", "x"), http.StatusUnauthorized, "invalid_client"},
		"the token as Bearer":  {e.postBearer(PathIntrospect, url.Values{"token": {tok}}, tok), http.StatusUnauthorized, "invalid_client"},
		"no token":             {e.post(PathIntrospect, url.Values{}, FixtureIntrospector.ID, FixtureIntrospector.Secret), http.StatusBadRequest, "invalid_request"},
		"an empty token":       {e.introspect("", FixtureIntrospector.ID, FixtureIntrospector.Secret), http.StatusBadRequest, "invalid_request"},
		"two methods":          {e.post(PathIntrospect, url.Values{"token": {tok}, "client_id": {FixtureIntrospector.ID}}, FixtureIntrospector.ID, FixtureIntrospector.Secret), http.StatusBadRequest, "invalid_request"},
		"the token twice":      {e.post(PathIntrospect, url.Values{"token": {tok, tok}}, FixtureIntrospector.ID, FixtureIntrospector.Secret), http.StatusBadRequest, "invalid_request"},
		"no credentials, GET":  {e.get(PathIntrospect + "?token=" + tok), http.StatusMethodNotAllowed, "invalid_request"},
		"no token, no callers": {e.post(PathIntrospect, url.Values{}), http.StatusUnauthorized, "invalid_client"},
	}
	for name, c := range cases {
		if c.rec.Code != c.status || oauthErrorOf(c.rec) != c.code {
			t.Errorf("%s: %d %s; want %d %s", name, c.rec.Code, c.rec.Body, c.status, c.code)
		}
		if c.status == http.StatusUnauthorized && !strings.HasPrefix(c.rec.Header().Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: 401 without a challenge", name)
		}
		if strings.Contains(c.rec.Body.String(), "active") {
			t.Errorf("%s: says something about the token: %s", name, c.rec.Body)
		}
	}
	if got := cases["no credentials, GET"].rec.Header().Get("Allow"); got != http.MethodPost {
		t.Errorf("GET: Allow %q", got)
	}
}

// A client that authenticates with an assertion may introspect too, when it is allowed to.
func TestIntrospectionWithAnAssertion(t *testing.T) {
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	for i, c := range cfg.Clients {
		if c.ID == FixturePrivateKeyJWT.ID {
			cfg.Clients[i].MayIntrospect = true
		}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &caEnv{t: t, p: p, h: p.Handler()}
	tok := e.secretToken(DemoClientID, DemoClientSecret)
	rec := e.post(PathIntrospect, url.Values{"token": {tok}, "client_assertion_type": {JWTBearerAssertionType},
		"client_assertion": {pkjAssertion(t, caClaims(FixturePrivateKeyJWT.ID))}})
	if m := jsonObject(t, rec); m["active"] != true {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	rec = e.post(PathIntrospect, url.Values{"token": {tok}, "client_assertion_type": {JWTBearerAssertionType},
		"client_assertion": {pkjAssertion(t, caWith(caClaims(FixturePrivateKeyJWT.ID), "aud", caIssuer+PathIntrospect))}})
	if rec.Code != http.StatusUnauthorized || oauthErrorOf(rec) != "invalid_client" {
		t.Errorf("aud the introspection endpoint: %d %s", rec.Code, rec.Body)
	}
}

func (e *caEnv) get(target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func (e *caEnv) postBearer(path string, form url.Values, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// The metadata document advertises the endpoints, the methods and exactly the algorithms the
// registered clients' assertions may use (every algorithm the provider verifies when no client
// uses assertions).
func TestMetadataAdvertisesClientAuthentication(t *testing.T) {
	e := newCAEnv(t)
	m := jsonObject(t, e.get(PathMetadata))
	if m["introspection_endpoint"] != caIssuer+PathIntrospect || m["revocation_endpoint"] != caIssuer+PathRevoke {
		t.Errorf("endpoints: %v", m)
	}
	wantMethods := []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt",
		"tls_client_auth", "self_signed_tls_client_auth"} // the fixtures have certificate clients
	wantAlgs := []any{"RS256", "ES256", "HS256"}
	for _, prefix := range []string{"token_endpoint", "introspection_endpoint", "revocation_endpoint"} {
		if got := m[prefix+"_auth_methods_supported"]; !reflect.DeepEqual(got, wantMethods) {
			t.Errorf("%s_auth_methods_supported %v", prefix, got)
		}
		if got := m[prefix+"_auth_signing_alg_values_supported"]; !reflect.DeepEqual(got, wantAlgs) {
			t.Errorf("%s_auth_signing_alg_values_supported %v", prefix, got)
		}
	}

	cfg := DefaultConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e = &caEnv{t: t, p: p, h: p.Handler()}
	m = jsonObject(t, e.get(PathMetadata))
	if got := m["token_endpoint_auth_signing_alg_values_supported"]; len(got.([]any)) != len(assertionAlgs) {
		t.Errorf("without JWT clients, algorithms: %v", got)
	}
}

// Neither an assertion, nor a secret, nor a token sent to introspection or revocation reaches
// the log.
func TestLogsCarryNoAssertionOrIntrospectedToken(t *testing.T) {
	var logs bytes.Buffer
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &caEnv{t: t, p: p, h: p.Handler()}
	good := pkjAssertion(t, caClaims(FixturePrivateKeyJWT.ID))
	bad := csjAssertion(t, caWith(caClaims(FixtureClientSecretJWT.ID), "aud", "https://elsewhere.example"))
	tok := jsonObject(t, e.tokenWith(good))["access_token"].(string)
	e.tokenWith(good) // replayed
	e.tokenWith(bad)
	e.introspect(tok)
	e.introspect(tok, FixtureIntrospector.ID, "wrong-introspector-secret")
	e.post(PathRevoke, url.Values{"token": {tok}, "client_assertion_type": {JWTBearerAssertionType}, "client_assertion": {bad}})
	e.revoke(tok, FixtureSecond.ID, FixtureSecond.Secret)
	for _, secret := range []string{good, bad, strings.Split(good, ".")[2], tok, FixtureIntrospector.Secret,
		"wrong-introspector-secret", FixtureSecond.Secret, FixtureClientSecretJWT.Secret} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log carries %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"path":"/introspect"`) || !strings.Contains(logs.String(), `"path":"/revoke"`) {
		t.Errorf("the log has no request lines:\n%s", logs.String())
	}
}
