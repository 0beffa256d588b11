package wire

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// token is a token with characters that every encoding changes.
const token = "ab+cd/ef=gh~ij kl%mn:op?qr&st<uv>wxyz0123456789"

// leaks reports which of the forms of secret are still in s.
func leaks(s string, secrets ...string) []string {
	var found []string
	for _, secret := range secrets {
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret),
			base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))} {
			if strings.Contains(s, form) {
				found = append(found, form)
			}
		}
	}
	// Nor may the token's tail, however its start was escaped.
	if strings.Contains(s, "wxyz0123456789") {
		found = append(found, "wxyz0123456789")
	}
	return found
}

// A token learned from a response is masked however the provider escapes it inside JSON.
func TestJSONEscapedTokenIsMasked(t *testing.T) {
	r := NewRedactor()
	escaped := `ab\u002Bcd\/ef\u003dgh~ij kl%mn:op?qr&st\u003cuv\u003Ewxyz0123456789`
	r.Learn([]byte(`{"access_token":"` + escaped + `","token_type":"Bearer"}`))
	bodies := []string{
		`{"access_token":"` + escaped + `","token_type":"Bearer"}`,
		`{"message":"your token is ` + escaped + `, keep it"}`,
		`{"echo":"` + strings.ReplaceAll(escaped, `\/`, "/") + `"}`,
		`["\u0061b+cd\/ef=gh~ij kl%mn:op?qr&st<uv>wxyz0123456789"]`,
	}
	for _, body := range bodies {
		for _, got := range []string{r.Body([]byte(body), "application/json"), r.String(body)} {
			if found := leaks(got, token); found != nil || !strings.Contains(got, "[redacted, ") {
				t.Errorf("%s\n→ %s\nleaks %q", body, got, found)
			}
		}
	}
	if got := r.String(`{"a":"` + escaped + `"}`); got != `{"a":"[redacted, 47 chars]"}` {
		t.Errorf("a literal that is all secret: %s", got)
	}
	if got := r.String(`{"a":"token: ` + escaped + `"}`); got != `{"a":"token: [redacted, 47 chars]"}` {
		t.Errorf("a literal holding a secret: %s", got)
	}
}

// Secret members are masked in any body, learned or not; other members are left alone.
func TestSecretMembersAreMasked(t *testing.T) {
	r := NewRedactor()
	body := `{"access_token" : "never-learned-1", "refresh_token":"never-learned-2", "scope":"read", "id_token": "x.y.z", "token_type":"access_token"}`
	got := r.Body([]byte(body), "application/json")
	want := `{"access_token" : "[redacted, 15 chars]", "refresh_token":"[redacted, 15 chars]", "scope":"read", "id_token": "[redacted, 5 chars]", "token_type":"access_token"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The HTTP Basic credentials of a client are masked when the provider echoes them anywhere.
func TestEchoedCredentialsAreMasked(t *testing.T) {
	r := NewRedactor()
	id, secret := "my client:1", "s3cr3t+/=&x"
	r.AddCredentials(id, secret)
	formEncoded := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	raw := base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
	rawURL := base64.RawURLEncoding.EncodeToString([]byte(id + ":" + secret))
	for _, v := range []string{"Basic " + formEncoded, "Basic " + raw, "basic " + rawURL} {
		got := r.Header("X-Echo", v)
		if strings.Contains(got, v[6:]) || !strings.Contains(got, "[redacted, ") {
			t.Errorf("X-Echo: %s → %s", v, got)
		}
	}
	if got, want := r.Header("Authorization", "Basic "+formEncoded), fmt.Sprintf("Basic [redacted, %d chars]", len(formEncoded)); got != want {
		t.Errorf("Authorization: %s", got)
	}
	if got := r.String("client " + id); got != "client "+id {
		t.Errorf("the client ID alone was masked: %s", got)
	}
}

// Form bodies and queries: secret parameters masked whole, and a secret in any parameter
// however it is percent-encoded.
func TestFormAndQueryAreMasked(t *testing.T) {
	r := NewRedactor()
	secret := "s3cr3t+/=&x"
	r.AddSecret(secret)
	lower := strings.ToLower(url.QueryEscape(secret))
	form := "grant_type=client_credentials&client_secret=anything&client_assertion=a.b.c&echo=" + url.QueryEscape(secret) + "&low=" + lower
	got := r.Body([]byte(form), "application/x-www-form-urlencoded; charset=utf-8")
	want := "grant_type=client_credentials&client_secret=[redacted, 8 chars]&client_assertion=[redacted, 5 chars]&echo=[redacted, 11 chars]&low=[redacted, 11 chars]"
	if got != want {
		t.Errorf("form:\ngot  %s\nwant %s", got, want)
	}
	u, _ := url.Parse("https://provider.example/resource/" + url.PathEscape(secret) + "?access_token=abc&x=" + url.QueryEscape(secret))
	got = r.URL(u)
	want = "/resource/[redacted, 13 chars]?access_token=[redacted, 3 chars]&x=[redacted, 11 chars]"
	if got != want {
		t.Errorf("URL:\ngot  %s\nwant %s", got, want)
	}
}

func TestShortSecretsAreIgnored(t *testing.T) {
	r := NewRedactor()
	r.AddSecret("abc")
	r.AddCredentials("id", "xy")
	r.Learn([]byte(`{"access_token":"a"}`))
	if got := r.String("abc a xy id"); got != "abc a xy id" {
		t.Errorf("got %q", got)
	}
	r.AddSecret("abcd")
	if got := r.String("abcd"); got != "[redacted, 4 chars]" {
		t.Errorf("got %q", got)
	}
}

func TestHeader(t *testing.T) {
	r := NewRedactor()
	r.AddSecret("the-secret")
	cases := []struct{ name, value, want string }{
		{"Authorization", "Bearer abcdefgh", "Bearer [redacted, 8 chars]"},
		{"proxy-authorization", "Basic Zm9vOmJhcg==", "Basic [redacted, 12 chars]"},
		{"Authorization", "the-secret", "[redacted, 10 chars]"},
		{"Cookie", "session=1", "[redacted]"},
		{"Set-Cookie", "session=1; HttpOnly", "[redacted]"},
		{"WWW-Authenticate", `Bearer error="invalid_token", error_description="the-secret"`, `Bearer error="invalid_token", error_description="[redacted, 10 chars]"`},
		{"X-Forge", "\x1b[32mSUCCESS\x1b[0m\r", `\x1b[32mSUCCESS\x1b[0m\x0d`},
		{"Authorization", "\x1b[31mBearer x", `\x1b[31mBearer [redacted, 1 chars]`},
	}
	for _, tc := range cases {
		if got := r.Header(tc.name, tc.value); got != tc.want {
			t.Errorf("%s: %q → %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text\nwith\ttabs", "plain text\nwith\ttabs"},
		{"\x1b[32mSUCCESS\x1b[0m", `\x1b[32mSUCCESS\x1b[0m`},
		{"line\r\nforged", "line\\x0d\nforged"},
		{"nul\x00 del\x7f", `nul\x00 del\x7f`},
		{"c1 \u0085 \u009b", `c1 \u0085 \u009b`},
		{"bidi \u202eevil\u202c \u2066x\u2069 \u200f", `bidi \u202eevil\u202c \u2066x\u2069 \u200f`},
		{"bad \xff\xc3 utf-8", `bad \xff\xc3 utf-8`},
		{"ünïcödé ✓ 日本", "ünïcödé ✓ 日本"},
	}
	for _, tc := range cases {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Whatever the Redactor returns is escaped.
func TestRedactorOutputIsEscaped(t *testing.T) {
	r := NewRedactor()
	forged := "ok\r\n\x1b[32mSUCCESS\x1b[0m \u202e"
	want := `ok\x0d` + "\n" + `\x1b[32mSUCCESS\x1b[0m \u202e`
	u := &url.URL{Path: "/a", RawQuery: "x=\x1b"}
	for _, got := range []string{r.String(forged), r.Body([]byte(forged), "text/plain"),
		r.Body([]byte(forged), "application/x-www-form-urlencoded"), r.Header("X-A", forged)} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got := r.URL(u); got != `/a?x=\x1b` {
		t.Errorf("URL: %q", got)
	}
}

func TestClipAndOneLine(t *testing.T) {
	if got := Clip("héllo", 2); got != "h… [5 more bytes]" {
		t.Errorf("Clip cut a character: %q", got)
	}
	if got := Clip("hello", 5); got != "hello" {
		t.Errorf("Clip: %q", got)
	}
	if got := OneLine("a\n  b\tc  ", 10); got != "a b c" {
		t.Errorf("OneLine: %q", got)
	}
	if got := OneLine("ab é", 4); got != "ab …" {
		t.Errorf("OneLine cut a character: %q", got)
	}
}

func TestRedactorIsSafeForConcurrentUse(t *testing.T) {
	r := NewRedactor()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			secret := strings.Repeat(string(rune('a'+i)), 8)
			r.AddSecret(secret)
			r.Learn([]byte(`{"access_token":"tok-` + secret + `"}`))
			if got := r.String(secret); got != "[redacted, 8 chars]" {
				t.Errorf("%s → %s", secret, got)
			}
		})
	}
	wg.Wait()
}
