package provider

// Fuzz targets. Each runs its seeds under plain `go test`; to fuzz one:
//
//	go test -run='^$' -fuzz='^FuzzTokenRequest$' -fuzztime=20s ./reference/provider
//
// Invariants, for every input: no panic, never a 5xx, every 401 carries a WWW-Authenticate
// field that the suite's parser (suite/httpauth) accepts, and nothing succeeds without
// the right credential. Each input gets a fresh Provider, so that a failure reproduces from the
// input alone (the failed-authentication limiter keeps state across requests).

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ccconform/ccconform/suite/httpauth"
)

func fuzzProvider(t *testing.T) (*Provider, http.Handler) {
	p, err := New(DefaultConfig(DemoClientID, DemoClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	return p, p.Handler()
}

func fuzzServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// fuzzRequest builds a request without httptest.NewRequest's panics on odd targets: the query is
// set raw, as a server would receive it.
func fuzzRequest(method, path, query, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.URL.RawQuery = query
	if query != "" {
		r.RequestURI = path + "?" + query
	}
	return r
}

// checkCommon is what every response of the provider must satisfy.
func checkCommon(t *testing.T, rec *httptest.ResponseRecorder, wantScheme string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if rec.Code != http.StatusUnauthorized {
		return
	}
	values := rec.Header().Values("WWW-Authenticate")
	if len(values) == 0 {
		t.Fatalf("401 without WWW-Authenticate: %s", rec.Body)
	}
	cs, err := httpauth.ParseChallenges(values)
	if err != nil {
		t.Fatalf("401 with a WWW-Authenticate the suite cannot parse: %v", err)
	}
	c, ok := httpauth.Find(cs, wantScheme)
	if !ok {
		t.Fatalf("401 without a %s challenge: %q", wantScheme, values)
	}
	if _, ok := c.Param("realm"); !ok {
		t.Fatalf("%s challenge without realm: %q", wantScheme, values)
	}
}

// descriptionOK is the error_description character set of RFC 6749 §5.2.
func descriptionOK(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

func demoBasicCredentials() string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(DemoClientID) + ":" + url.QueryEscape(DemoClientSecret)))
}

// carriesDemoSecret says, independently of parseBasic, whether a token request holds the demo
// client's secret somewhere a client may put it.
func carriesDemoSecret(authz []string, body string) bool {
	if form, err := url.ParseQuery(body); err == nil && form.Get("client_secret") == DemoClientSecret {
		return true
	}
	for _, a := range authz {
		_, cred, _ := strings.Cut(a, " ")
		raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(cred, " "))
		if err == nil && strings.Contains(string(raw), url.QueryEscape(DemoClientSecret)) {
			return true
		}
	}
	return false
}

// FuzzTokenRequest sends POST /token (GET when flags&4) with a fuzzed body, Authorization,
// Content-Type and query. In the Authorization value "{basic}" becomes the demo client's valid
// Basic credentials, and in the body "{id}" and "{secret}" its form-encoded id and secret, so
// the fuzzer also explores requests that get past authentication. flags&1 adds a second
// Authorization field, flags&2 drops the Authorization field.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range []struct {
		body, authz, ctype, query string
		flags                     uint8
	}{
		{"grant_type=client_credentials&scope=read", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded; charset=UTF-8", "", 0},
		{"grant_type=client_credentials&scope=read%20write", "basic   {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&scope=read+read", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&scope=delete", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&scope=read%20%20write", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&scope=%22", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&client_id={id}&client_secret={secret}", "", "application/x-www-form-urlencoded", "", 2},
		{"grant_type=client_credentials&client_id={id}&client_secret=wrong", "", "application/x-www-form-urlencoded", "", 2},
		{"grant_type=client_credentials&client_id={id}&client_secret={secret}", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=password&username=a&password=b", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=authorization_code&code=x&redirect_uri=http://a", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=refresh_token&refresh_token=x", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded", "client_secret=x", 0},
		{"grant_type=client_credentials", "Basic {basic}", "application/json", "", 0},
		{`{"grant_type":"client_credentials"}`, "Basic {basic}", "application/json", "", 0},
		{"grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded; charset=latin1", "", 0},
		{"grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded;;", "", 0},
		{"grant_type=client_credentials&%zz", "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded", "", 1},
		{"grant_type=client_credentials", "Basic {basic}", "application/x-www-form-urlencoded", "", 4},
		{"grant_type=client_credentials", "Basic !!!", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:x")), "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte(":x")), "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Bearer abc", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "Basic", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials", "", "", "", 2},
		{strings.Repeat("a", maxTokenRequestBytes+1), "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&scope=" + strings.Repeat("r", 300), "Basic {basic}", "application/x-www-form-urlencoded", "", 0},
		{"grant_type=client_credentials&\x00=\xff", "Basic {basic}\r\n", "\x00", "%", 0},
	} {
		f.Add(s.body, s.authz, s.ctype, s.query, s.flags)
	}
	basic := demoBasicCredentials()
	f.Fuzz(func(t *testing.T, body, authz, ctype, query string, flags uint8) {
		_, h := fuzzProvider(t)
		body = strings.NewReplacer("{id}", url.QueryEscape(DemoClientID), "{secret}", url.QueryEscape(DemoClientSecret)).Replace(body)
		authz = strings.ReplaceAll(authz, "{basic}", basic)
		method := http.MethodPost
		if flags&4 != 0 {
			method = http.MethodGet
		}
		r := fuzzRequest(method, PathToken, query, body)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if flags&2 == 0 {
			r.Header.Add("Authorization", authz)
			if flags&1 != 0 {
				r.Header.Add("Authorization", authz)
			}
		}
		authzSent := r.Header.Values("Authorization")
		rec := fuzzServe(h, r)
		checkCommon(t, rec, "Basic")

		// Every token endpoint response is JSON that must not be cached (RFC 6749 §5.1, §5.2).
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d without Cache-Control: no-store", rec.Code)
		}
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK {
			tok, _ := resp["access_token"].(string)
			typ, _ := resp["token_type"].(string)
			if tok == "" || !strings.EqualFold(typ, "bearer") {
				t.Fatalf("200 without a Bearer access token: %s", rec.Body)
			}
			if method != http.MethodPost || !carriesDemoSecret(authzSent, body) {
				t.Fatalf("a token was issued to a %s request without the client's secret: %s", method, rec.Body)
			}
			return
		}
		code, _ := resp["error"].(string)
		desc, _ := resp["error_description"].(string)
		if code == "" {
			t.Fatalf("status %d without an error code: %s", rec.Code, rec.Body)
		}
		if !descriptionOK(desc) || !descriptionOK(code) {
			t.Fatalf("error or error_description outside the RFC 6749 §5.2 character set: %q %q", code, desc)
		}
	})
}

// FuzzParseBasic decodes fuzzed Authorization values, and checks that any id and secret survive
// the encoding the suite sends (form-urlencoding, then Base64).
func FuzzParseBasic(f *testing.F) {
	enc := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, s := range []struct{ header, id, secret string }{
		{enc("id:secret"), "id", "secret"},
		{"basic " + base64.StdEncoding.EncodeToString([]byte("a+b%2Fc:s%3Ae%25t+x")), "a b/c", "s:e%t x"},
		{enc("id:sec:ret"), "id:x", "sec:ret"},
		{enc("no-colon"), "special id +%/=&:é", "s3cret +%/=&:é"},
		{enc(":secret"), "", ""},
		{enc("id:%zz"), "%", "%zz"},
		{"Basic !!!", "\x00", "\xff"},
		{"Basic", "x", ""},
		{"Basic  " + base64.StdEncoding.EncodeToString([]byte("id:s")), "id", "s"},
		{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("id:s")), "id", "s"},
		{"Bearer " + base64.StdEncoding.EncodeToString([]byte("id:secret")), "i d", "s e"},
		{"", "", ""},
	} {
		f.Add(s.header, s.id, s.secret)
	}
	f.Fuzz(func(t *testing.T, header, id, secret string) {
		if gotID, _, ok := parseBasic(header); ok {
			scheme, _, _ := strings.Cut(header, " ")
			if gotID == "" || !strings.EqualFold(scheme, "basic") {
				t.Fatalf("parseBasic(%q) accepted an empty id or another scheme", header)
			}
		}
		if id == "" {
			return
		}
		for _, h := range []string{httpauth.BasicAuthorization(id, secret), "basic " + strings.TrimPrefix(httpauth.BasicAuthorization(id, secret), "Basic ")} {
			gotID, gotSecret, ok := parseBasic(h)
			if !ok || gotID != id || gotSecret != secret {
				t.Fatalf("parseBasic(%q) = %q, %q, %v; want %q, %q", h, gotID, gotSecret, ok, id, secret)
			}
		}
	})
}

// FuzzBearerRequest sends a protected-resource request with a fuzzed Authorization value, query,
// Content-Type and body. "{read}" and "{write}" anywhere in them become valid tokens granted
// "read" and "read write". flags&3 picks the route (GET /read-resource, POST /write-resource,
// GET /scoped-resource), flags&4 adds a second Authorization field, flags&8 drops it. When
// editByte is not zero, the tokens put in place of the placeholders have one byte replaced with
// it: a client's tampered token. The byte is at int16(editPos) from the token's ".", so that the
// ends of both base64url parts, where an encoding has slack, are a small step from the seeds.
func FuzzBearerRequest(f *testing.F) {
	for _, s := range []struct {
		authz, query, ctype, body string
		flags                     uint8
		editPos                   uint16
		editByte                  byte
	}{
		{"Bearer {read}", "", "", "", 0, 0, 0},
		{"bearer {read}", "", "", "", 0, 0, 0},
		{"BEARER   {read}", "", "", "", 0, 0, 0},
		{"Bearer {read}x", "", "", "", 0, 0, 0},
		{"Bearer {read}=", "", "", "", 0, 0, 0},
		{"Bearer {read}==", "", "", "", 0, 0, 0},
		{"Bearer x{read}", "", "", "", 0, 0, 0},
		{"Bearer {read} ", "", "", "", 0, 0, 0},
		{"Bearer {read}", "access_token={read}", "", "", 0, 0, 0},
		{"Bearer {read}", "", "application/x-www-form-urlencoded", "access_token={read}", 1, 0, 0},
		{"Bearer {read}", "", "application/x-www-form-urlencoded", "value=1", 1, 0, 0},
		{"Bearer {read}", "", "application/json", `{"value":1}`, 1, 0, 0},
		{"Bearer {read}", "", "application/json", `{"value":`, 1, 0, 0},
		{"Bearer {read}", "", "application/x-www-form-urlencoded", strings.Repeat("v", maxResourceBodyBytes+1), 1, 0, 0},
		{"", "access_token={read}", "", "", 0, 0, 0},
		{"", "", "", "", 8, 0, 0},
		{"Bearer {read}", "", "", "", 2, 0, 0},
		{"Bearer {write}", "", "", "", 2, 0, 0},
		{"Bearer {read}", "", "", "", 4, 0, 0},
		{"Bearer", "", "", "", 0, 0, 0},
		{"Bearer ", "", "", "", 0, 0, 0},
		{"Bearer a.b", "", "", "", 0, 0, 0},
		{"Bearer !!!", "", "", "", 0, 0, 0},
		{"Bearer \x00", "%", "\x00", "\xff", 0, 0, 0},
		{"Basic {read}", "", "", "", 0, 0, 0},
		{"Bearer " + strings.Repeat("A", 2000) + "." + strings.Repeat("B", 43), "", "", "", 0, 0, 0},
		{"Bearer {read}", "", "", "", 0, 0, '.'},           // the same token
		{"Bearer {write}", "", "", "", 2, 0xffff, 'Q'},     // the same token: its payload ends in Q
		{"Bearer {read}", "", "", "", 0, 0xffff - 40, '.'}, // two dots
		{"Bearer {read}", "", "", "", 0, 0, '~'},           // no dot
		{"Bearer {write}", "", "", "", 2, 3, 0xff},         // not a b64token
	} {
		f.Add(s.authz, s.query, s.ctype, s.body, s.flags, s.editPos, s.editByte)
	}
	f.Fuzz(func(t *testing.T, authz, query, ctype, body string, flags uint8, editPos uint16, editByte byte) {
		_, h := fuzzProvider(t)
		read, write := fuzzIssue(t, h, "read"), fuzzIssue(t, h, "read write")
		edit := func(tok string) string {
			if editByte == 0 {
				return tok
			}
			i := (strings.IndexByte(tok, '.') + int(int16(editPos))) % len(tok)
			if i < 0 {
				i += len(tok)
			}
			return tok[:i] + string([]byte{editByte}) + tok[i+1:]
		}
		sub := strings.NewReplacer("{read}", edit(read), "{write}", edit(write))
		authz, query, body = sub.Replace(authz), sub.Replace(query), sub.Replace(body)
		method, path := http.MethodGet, PathReadResource
		switch flags & 3 {
		case 1:
			method, path = http.MethodPost, PathWriteResource
		case 2:
			path = PathScopedResource
		}
		r := fuzzRequest(method, path, query, body)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if flags&8 == 0 {
			r.Header.Add("Authorization", authz)
			if flags&4 != 0 {
				r.Header.Add("Authorization", authz)
			}
		}
		authzSent := r.Header.Values("Authorization")
		rec := fuzzServe(h, r)
		checkCommon(t, rec, "Bearer")
		if rec.Code == http.StatusForbidden {
			cs, err := httpauth.ParseChallenges(rec.Header().Values("WWW-Authenticate"))
			c, ok := httpauth.Find(cs, "Bearer")
			if e, _ := c.Param("error"); err != nil || !ok || e != "insufficient_scope" {
				t.Fatalf("403 without an insufficient_scope challenge: %q", rec.Header().Values("WWW-Authenticate"))
			}
		}
		if rec.Code/100 == 2 {
			// Success needs exactly one Authorization field holding a token this provider issued
			// with the scope the route needs.
			if len(authzSent) != 1 {
				t.Fatalf("%d with %d Authorization fields", rec.Code, len(authzSent))
			}
			scheme, rest, _ := strings.Cut(authzSent[0], " ")
			tok := strings.TrimLeft(rest, " ")
			if !strings.EqualFold(scheme, "bearer") || (tok != read && tok != write) {
				t.Fatalf("%d for Authorization %q", rec.Code, authzSent[0])
			}
			if path == PathScopedResource && tok != write {
				t.Fatalf("%d on %s for a token without the write scope", rec.Code, path)
			}
		}
	})
}

func fuzzIssue(t *testing.T, h http.Handler, scope string) string {
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials&scope="+url.QueryEscape(scope)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+demoBasicCredentials())
	rec := fuzzServe(h, r)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("no token: %d %s", rec.Code, rec.Body)
	}
	return tok.AccessToken
}

// FuzzBearerChallenge builds challenges from fuzzed attributes: every one must parse as a single
// Bearer challenge whose attributes read back exactly as given, each once, the empty ones absent.
func FuzzBearerChallenge(f *testing.F) {
	f.Add("ccconform", "", "", "")
	f.Add("ccconform", "invalid_token", "the access token is invalid", "")
	f.Add("ccconform", "insufficient_scope", "the access token does not carry the scope write", "write")
	f.Add(`a "b" \c`, "invalid_request", `"quoted"`, `\`)
	f.Add("", "", "", "read write")
	f.Add(`\`, `"`, `\"`, `""`)
	f.Add("r, error=\"x\"", "e\", scope=\"y", "d", "s")
	f.Add("é\xff", "\x7f", "\t tab", " ")
	f.Fuzz(func(t *testing.T, realm, code, description, scope string) {
		v := bearerChallenge(realm, code, description, scope)
		cs, err := httpauth.ParseChallenges([]string{v})
		if err != nil {
			t.Fatalf("bearerChallenge(%q, %q, %q, %q) = %q does not parse: %v", realm, code, description, scope, v, err)
		}
		if len(cs) != 1 || !cs[0].Is("Bearer") {
			t.Fatalf("%q parses as %+v, not one Bearer challenge", v, cs)
		}
		c := cs[0]
		for _, kv := range [][2]string{{"realm", realm}, {"error", code}, {"error_description", description}, {"scope", scope}} {
			got, ok := c.Param(kv[0])
			switch {
			case kv[0] != "realm" && kv[1] == "":
				if ok {
					t.Fatalf("%q has %s although it was empty", v, kv[0])
				}
			case !ok || got != kv[1] || c.Count(kv[0]) != 1:
				t.Fatalf("%q: %s reads back as %q (present %v, %d times), want %q", v, kv[0], got, ok, c.Count(kv[0]), kv[1])
			}
		}
		if len(c.Params) != 1+nonEmpty(code, description, scope) {
			t.Fatalf("%q has %d parameters", v, len(c.Params))
		}
	})
}

func nonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}
