package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/models"
)

func TestParseBasicFormDecodes(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		header, id, secret string
		ok                 bool
	}{
		{"Basic " + enc("id:secret"), "id", "secret", true},
		{"basic " + enc("id:secret"), "id", "secret", true},
		{"Basic " + enc("a+b%2Fc:s%3Ae%25t+x"), "a b/c", "s:e%t x", true},
		{"Basic " + enc("id:sec:ret"), "id", "sec:ret", true}, // split at the first colon
		{"Basic " + enc("no-colon"), "", "", false},
		{"Basic " + enc(":secret"), "", "", false},
		{"Basic " + enc("id:%zz"), "", "", false},
		{"Basic !!!", "", "", false},
		{"Bearer " + enc("id:secret"), "", "", false},
		{"Basic", "", "", false},
	}
	for _, c := range cases {
		id, secret, ok := parseBasic(c.header)
		if id != c.id || secret != c.secret || ok != c.ok {
			t.Errorf("parseBasic(%q) = %q, %q, %v; want %q, %q, %v", c.header, id, secret, ok, c.id, c.secret, c.ok)
		}
	}
}

func TestTokensAreSignedAndSelfContained(t *testing.T) {
	codec, err := newTokenCodec(nil)
	if err != nil {
		t.Fatal(err)
	}
	ti := models.NewToken()
	ti.SetScope("read write")
	ti.SetAccessCreateAt(time.UnixMilli(1_700_000_000_123))
	ti.SetAccessExpiresIn(time.Hour)
	gb := &oauth2.GenerateBasic{Client: &registeredClient{Client: Client{ID: "c1"}}, TokenInfo: ti}
	a, refresh, err := codec.Token(context.Background(), gb, true)
	if err != nil || refresh != "" {
		t.Fatalf("Token: %q, %v", refresh, err)
	}
	b, _, _ := codec.Token(context.Background(), gb, false)
	if a == b {
		t.Error("two tokens for the same grant are equal")
	}
	if !b64tokenSyntax(a) {
		t.Errorf("%q is not a b64token", a)
	}
	got, err := codec.GetByAccess(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetClientID() != "c1" || got.GetScope() != "read write" || got.GetAccessExpiresIn() != time.Hour ||
		!got.GetAccessCreateAt().Equal(ti.GetAccessCreateAt()) || got.GetAccess() != a {
		t.Errorf("decoded %+v", got)
	}
	// Any change to a token, and a token signed with another key, is refused.
	other, _ := newTokenCodec(nil)
	for _, tampered := range []string{flip(a, 5), flip(a, len(a)-3), a + "A", a[:len(a)-1], strings.Replace(a, ".", "", 1), "", "x.y"} {
		if _, err := codec.GetByAccess(context.Background(), tampered); err != oauth2errors.ErrInvalidAccessToken {
			t.Errorf("tampered token %q: %v", tampered, err)
		}
	}
	if _, err := other.GetByAccess(context.Background(), a); err == nil {
		t.Error("a token verified under another key")
	}
	// Each token has one spelling: the last character of each part carries unused bits, which
	// a lax base64 decoder ignores (found by FuzzBearerRequest).
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	dot := strings.Index(a, ".")
	for _, i := range []int{dot - 1, len(a) - 1} {
		for _, c := range alphabet {
			variant := a[:i] + string(c) + a[i+1:]
			if variant == a {
				continue
			}
			if _, err := codec.GetByAccess(context.Background(), variant); err == nil {
				t.Errorf("a variant of the token verified: position %d, %q", i, c)
			}
		}
	}
}

func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func b64tokenSyntax(s string) bool { return isB64token(s) }

func TestBearerChallenge(t *testing.T) {
	got := bearerChallenge(`a "b" \c`, "insufficient_scope", "needs write", "write")
	want := `Bearer realm="a \"b\" \\c", error="insufficient_scope", error_description="needs write", scope="write"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := bearerChallenge("r", "", "", ""); got != `Bearer realm="r"` {
		t.Errorf("no error: %s", got)
	}
}

func TestValidScopeToken(t *testing.T) {
	for s, want := range map[string]bool{"read": true, "a:b/c": true, "": false, "a b": false, `a"b`: false, `a\b`: false, "é": false} {
		if validScopeToken(s) != want {
			t.Errorf("validScopeToken(%q) = %v", s, !want)
		}
	}
}

// Nothing a client sends as a credential, and no token, reaches the log.
func TestLogsCarryNoSecretOrToken(t *testing.T) {
	var logs bytes.Buffer
	cfg := DefaultConfig("log-client", "log-secret-value")
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler()
	do := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	form := func(v url.Values) *http.Request {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	ok := form(url.Values{"grant_type": {"client_credentials"}, "client_id": {"log-client"}, "client_secret": {"log-secret-value"}})
	rec := do(ok)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("no token: %d %s", rec.Code, rec.Body)
	}
	do(form(url.Values{"grant_type": {"client_credentials"}, "client_id": {"log-client"}, "client_secret": {"wrong-secret-value"}}))
	bad := httptest.NewRequest(http.MethodPost, PathToken+"?client_secret=query-secret-value", nil)
	do(bad)
	read := httptest.NewRequest(http.MethodGet, PathReadResource+"?access_token="+tok.AccessToken, nil)
	read.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	do(read)
	for _, secret := range []string{"log-secret-value", "wrong-secret-value", "query-secret-value", tok.AccessToken, tok.AccessToken[:20]} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log carries %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"path":"/token"`) {
		t.Errorf("the log has no request lines:\n%s", logs.String())
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{},
		{Clients: []Client{{ID: ""}}},
		{Clients: []Client{{ID: "a"}, {ID: "a"}}},
		{Clients: []Client{{ID: "a", Scopes: []string{"bad scope"}}}},
		{Clients: []Client{{ID: "a"}}, TokenKey: []byte("short")},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}
