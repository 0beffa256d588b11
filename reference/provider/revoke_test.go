package provider

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (e *caEnv) revoke(token string, basic ...string) *httptest.ResponseRecorder {
	return e.post(PathRevoke, url.Values{"token": {token}}, basic...)
}

// bearerGet reads a protected resource with the token.
func (e *caEnv) bearerGet(path, token string) int {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec.Code
}

func (e *caEnv) active(token string) bool {
	return jsonObject(e.t, e.introspect(token))["active"] == true
}

// C-7009-2-b: a revoked token is refused at once, by the resource servers and by introspection,
// whatever its format; the token_type_hint, even a wrong or bogus one, changes nothing.
func TestRevokedTokensAreRefusedAtOnce(t *testing.T) {
	e := newCAEnv(t)
	demo := []string{DemoClientID, DemoClientSecret}
	cases := []struct {
		name, path string
		token      string
		hint       string
	}{
		{"opaque", PathReadResource, e.secretToken(demo[0], demo[1]), ""},
		{"opaque, hint refresh_token", PathReadResource, e.secretToken(demo[0], demo[1]), "refresh_token"},
		{"opaque, hint bogus", PathReadResource, e.secretToken(demo[0], demo[1]), "bogus"},
		{"JWT for R1", PathResourceOne, e.secretToken(demo[0], demo[1], "resource", ResourceOne(caIssuer)), "access_token"},
	}
	for _, c := range cases {
		if got := e.bearerGet(c.path, c.token); got != http.StatusOK || !e.active(c.token) {
			t.Fatalf("%s: before revocation %d", c.name, got)
		}
		form := url.Values{"token": {c.token}}
		if c.hint != "" {
			form.Set("token_type_hint", c.hint)
		}
		rec := e.post(PathRevoke, form, demo...)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("%s: revocation %d %s", c.name, rec.Code, rec.Body)
		}
		if got := e.bearerGet(c.path, c.token); got != http.StatusUnauthorized {
			t.Errorf("%s: the resource server answers a revoked token %d", c.name, got)
		}
		if e.active(c.token) {
			t.Errorf("%s: introspection says a revoked token is active", c.name)
		}
		if rec := e.revoke(c.token, demo...); rec.Code != http.StatusOK {
			t.Errorf("%s: revoking again: %d", c.name, rec.Code)
		}
	}
	// Another token of the same client is untouched.
	other := e.secretToken(demo[0], demo[1])
	if e.bearerGet(PathReadResource, other) != http.StatusOK {
		t.Error("revoking one token revoked another")
	}
}

// C-7009-2.1-c: a client revokes its own tokens only; another's is answered 200 and stays valid.
func TestRevocationOfAnotherClientsTokenDoesNothing(t *testing.T) {
	e := newCAEnv(t)
	tok := e.secretToken(DemoClientID, DemoClientSecret)
	if rec := e.revoke(tok, FixtureSecond.ID, FixtureSecond.Secret); rec.Code != http.StatusOK {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	if e.bearerGet(PathReadResource, tok) != http.StatusOK || !e.active(tok) {
		t.Error("another client revoked the token")
	}
}

// A private_key_jwt client revokes its token with an assertion.
func TestRevocationWithAnAssertion(t *testing.T) {
	e := newCAEnv(t)
	rec := e.tokenWith(pkjAssertion(t, caClaims(FixturePrivateKeyJWT.ID)))
	tok := jsonObject(t, rec)["access_token"].(string)
	rec = e.post(PathRevoke, url.Values{"token": {tok}, "client_assertion_type": {JWTBearerAssertionType},
		"client_assertion": {pkjAssertion(t, caClaims(FixturePrivateKeyJWT.ID))}})
	if rec.Code != http.StatusOK || e.active(tok) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestRevocationRequests(t *testing.T) {
	e := newCAEnv(t)
	tok := e.secretToken(DemoClientID, DemoClientSecret)
	cases := map[string]struct {
		rec    *httptest.ResponseRecorder
		status int
		code   string
	}{
		"an unknown token":    {e.revoke("not-a-token", DemoClientID, DemoClientSecret), http.StatusOK, ""},
		"an expired token":    {e.revoke(e.expiredOpaqueToken(DemoClientID), DemoClientID, DemoClientSecret), http.StatusOK, ""},
		"a forged JWT":        {e.revoke("eyJhbGciOiJub25lIn0.e30.", DemoClientID, DemoClientSecret), http.StatusOK, ""},
		"no token":            {e.post(PathRevoke, url.Values{}, DemoClientID, DemoClientSecret), http.StatusBadRequest, "invalid_request"},
		"no credentials":      {e.post(PathRevoke, url.Values{"token": {tok}}), http.StatusUnauthorized, "invalid_client"},
		"a wrong secret":      {e.revoke(tok, DemoClientID, "wrong"), http.StatusUnauthorized, "invalid_client"},
		"client_id only":      {e.post(PathRevoke, url.Values{"token": {tok}, "client_id": {DemoClientID}}), http.StatusUnauthorized, "invalid_client"},
		"a public client":     {e.post(PathRevoke, url.Values{"token": {tok}, "client_id": {FixturePublic.ID}}), http.StatusUnauthorized, "invalid_client"},
		"GET":                 {e.get(PathRevoke + "?token=" + tok), http.StatusMethodNotAllowed, "invalid_request"},
		"token in the query":  {e.post(PathRevoke+"?token="+tok, url.Values{}, DemoClientID, DemoClientSecret), http.StatusBadRequest, "invalid_request"},
		"not form-encoded":    {e.postJSON(PathRevoke, `{"token":"x"}`), http.StatusBadRequest, "invalid_request"},
		"two methods at once": {e.post(PathRevoke, url.Values{"token": {tok}, "client_secret": {DemoClientSecret}}, DemoClientID, DemoClientSecret), http.StatusBadRequest, "invalid_request"},
	}
	for name, c := range cases {
		if c.rec.Code != c.status || (c.code != "" && oauthErrorOf(c.rec) != c.code) {
			t.Errorf("%s: %d %s; want %d %s", name, c.rec.Code, c.rec.Body, c.status, c.code)
		}
		if c.status == http.StatusUnauthorized && !strings.HasPrefix(c.rec.Header().Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: 401 without a challenge", name)
		}
	}
	if e.bearerGet(PathReadResource, tok) != http.StatusOK {
		t.Error("a refused revocation revoked the token")
	}
}

func (e *caEnv) postJSON(path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth(DemoClientID, DemoClientSecret)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// The deny-list is bounded, in all and per client: when full, revocation answers 503 with
// Retry-After (RFC 7009 §2.2.1) and the token stays valid, as the client is told.
func TestRevocationListIsBounded(t *testing.T) {
	e := newCAEnv(t)
	e.p.revoked.max = 2
	demo := []string{DemoClientID, DemoClientSecret}
	for i := 0; i < 2; i++ {
		if rec := e.revoke(e.secretToken(demo[0], demo[1]), demo...); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	tok := e.secretToken(FixtureSecond.ID, FixtureSecond.Secret)
	rec := e.revoke(tok, FixtureSecond.ID, FixtureSecond.Secret)
	if rec.Code != http.StatusServiceUnavailable || oauthErrorOf(rec) != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("full: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if !e.active(tok) {
		t.Error("a refused revocation revoked the token")
	}
	// An unknown token needs no room.
	if rec := e.revoke("not-a-token", demo...); rec.Code != http.StatusOK {
		t.Errorf("unknown token while full: %d", rec.Code)
	}
}

func TestExpiringSet(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := newExpiringSet(3)
	s.now = clock.now
	at := func(d time.Duration) time.Time { return clock.t.Add(d) }
	if r, _ := s.add("a", "x", at(time.Minute), 2); r != added {
		t.Fatal(r)
	}
	if r, _ := s.add("a", "x", at(time.Hour), 2); r != alreadyThere {
		t.Errorf("again: %v", r)
	}
	if r, _ := s.add("b", "x", at(2*time.Minute), 2); r != added {
		t.Fatal(r)
	}
	if r, retry := s.add("c", "x", at(3*time.Minute), 2); r != tagFull || retry != time.Minute {
		t.Errorf("tag full: %v %v", r, retry)
	}
	if r, _ := s.add("c", "y", at(3*time.Minute), 2); r != added {
		t.Fatal(r)
	}
	if r, retry := s.add("d", "z", at(3*time.Minute), 2); r != setFull || retry != time.Minute {
		t.Errorf("set full: %v %v", r, retry)
	}
	if r, _ := s.add("e", "z", at(-time.Second), 2); r != added || s.contains("e") {
		t.Errorf("an expired key: %v", r)
	}
	if !s.contains("a") || s.contains("d") {
		t.Error("contains")
	}
	clock.advance(time.Minute)
	if s.contains("a") || !s.contains("b") || s.size() != 2 {
		t.Errorf("after a minute: a %v, b %v, %d keys", s.contains("a"), s.contains("b"), s.size())
	}
	if r, _ := s.add("d", "x", at(time.Minute), 2); r != added {
		t.Errorf("room again: %v", r)
	}
	clock.advance(time.Hour)
	if s.size() != 0 || len(s.perTag) != 0 || len(s.tagOf) != 0 || len(s.byExp) != 0 {
		t.Errorf("after an hour: %d keys, %v, %v, %d", s.size(), s.perTag, s.tagOf, len(s.byExp))
	}
}
