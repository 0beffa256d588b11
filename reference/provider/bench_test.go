package provider

// Benchmarks of the reference provider's hot paths. Run them with
//
//	go test -run='^$' -bench=. -benchmem ./reference/provider
//
// The handler benchmarks go through Provider.Handler() with httptest, so they include the
// ServeMux and the recorder; BenchmarkHarness measures that harness around a handler that does
// nothing, so that the provider's own cost is the difference.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"
)

const benchTokenBody = "grant_type=client_credentials&scope=read"

func benchProvider(b testing.TB) *Provider {
	b.Helper()
	p, err := New(DefaultConfig(DemoClientID, DemoClientSecret))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchBasic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(DemoClientID)+":"+url.QueryEscape(DemoClientSecret)))
}

func benchTokenRequest(authz string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(benchTokenBody))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", authz)
	return r
}

// benchIssue gets a token through the handler, as a client would.
func benchIssue(b testing.TB, h http.Handler, scope string) string {
	b.Helper()
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials&scope="+url.QueryEscape(scope)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", benchBasic())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != http.StatusOK || err != nil || tok.AccessToken == "" {
		b.Fatalf("no token: %d %s", rec.Code, rec.Body)
	}
	return tok.AccessToken
}

// BenchmarkHarness is the cost of httptest.NewRequest, the recorder and a ServeMux around a
// handler that drains the body and writes a constant body: the floor under the handler
// benchmarks below ("post" for the token endpoint's, "get" for the resource's).
func BenchmarkHarness(b *testing.B) {
	mux := http.NewServeMux()
	constant := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"resource":null}`+"\n")
	}
	mux.HandleFunc(PathToken, constant)
	mux.HandleFunc("GET "+PathReadResource, constant)
	authz := benchBasic()
	b.Run("post", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, benchTokenRequest(authz))
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodGet, PathReadResource, nil)
			r.Header.Set("Authorization", "Bearer AAAA.BBBB")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}

// Client authentication.

func BenchmarkParseBasic(b *testing.B) {
	authz := benchBasic()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := parseBasic(authz); !ok {
			b.Fatal("not parsed")
		}
	}
}

// BenchmarkAuthenticateClient is parseBasic plus the client store's secret check, through the
// ClientInfoHandler the library calls (its signature is go-oauth2's, so it does not move when
// clientStore.authenticate does).
func BenchmarkAuthenticateClient(b *testing.B) {
	p := benchProvider(b)
	r := benchTokenRequest(benchBasic())
	r.Form = url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	b.ReportAllocs()
	for b.Loop() {
		if id, _, err := p.authenticateClient(r); err != nil || id != DemoClientID {
			b.Fatal(id, err)
		}
	}
}

// BenchmarkAuthenticateUnknownClient is the decoy path: an unknown id costs a digest too.
func BenchmarkAuthenticateUnknownClient(b *testing.B) {
	p := benchProvider(b)
	r := benchTokenRequest("Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:"+DemoClientSecret)))
	r.Form = url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.authenticateClient(r); err == nil {
			b.Fatal("an unknown client authenticated")
		}
	}
}

// Token issue.

// benchCodec is a token codec and what it is asked to sign: the demo client's read token.
func benchCodec(b *testing.B) (*tokenCodec, *oauth2.GenerateBasic) {
	codec, err := newTokenCodec(nil)
	if err != nil {
		b.Fatal(err)
	}
	ti := models.NewToken()
	ti.SetScope("read")
	ti.SetAccessCreateAt(time.Now())
	ti.SetAccessExpiresIn(time.Hour)
	return codec, &oauth2.GenerateBasic{Client: &registeredClient{Client: Client{ID: DemoClientID}}, TokenInfo: ti}
}

func BenchmarkTokenCodecToken(b *testing.B) {
	codec, gb := benchCodec(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := codec.Token(ctx, gb, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenEndpoint is a whole POST /token with Basic credentials through Handler().
func BenchmarkTokenEndpoint(b *testing.B) {
	h := benchProvider(b).Handler()
	authz := benchBasic()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, benchTokenRequest(authz))
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkTokenEndpointParallel(b *testing.B) {
	h := benchProvider(b).Handler()
	authz := benchBasic()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, benchTokenRequest(authz))
			if rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// Token validation.

func BenchmarkTokenCodecDecode(b *testing.B) {
	c, gb := benchCodec(b)
	token, _, err := c.Token(context.Background(), gb, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.decode(token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBearerCredential(b *testing.B) {
	p := benchProvider(b)
	token := benchIssue(b, p.Handler(), "read")
	r := httptest.NewRequest(http.MethodGet, PathReadResource, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	b.ReportAllocs()
	for b.Loop() {
		if got, berr := bearerCredential(r); berr != nil || got != token {
			b.Fatal(berr)
		}
	}
}

// BenchmarkReadResource is a whole GET /read-resource with a valid Bearer token through Handler().
func BenchmarkReadResource(b *testing.B) {
	h := benchProvider(b).Handler()
	authz := "Bearer " + benchIssue(b, h, "read")
	b.ReportAllocs()
	for b.Loop() {
		if rec := benchRead(h, authz); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// benchRead is one GET /read-resource with the Authorization value.
func benchRead(h http.Handler, authz string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, PathReadResource, nil)
	r.Header.Set("Authorization", authz)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func BenchmarkReadResourceParallel(b *testing.B) {
	h := benchProvider(b).Handler()
	authz := "Bearer " + benchIssue(b, h, "read")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := benchRead(h, authz); rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkReadResourceInvalidToken is the refusal path: a well-formed token with a bad MAC,
// answered with 401 and a challenge.
func BenchmarkReadResourceInvalidToken(b *testing.B) {
	h := benchProvider(b).Handler()
	token := benchIssue(b, h, "read")
	authz := "Bearer " + benchTamper(token, len(token)-3)
	b.ReportAllocs()
	for b.Loop() {
		if rec := benchRead(h, authz); rec.Code != http.StatusUnauthorized {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// Challenges.

func BenchmarkBearerChallenge(b *testing.B) {
	b.Run("no-error", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = bearerChallenge("ccconform", "", "", "")
		}
	})
	b.Run("invalid_token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = bearerChallenge("ccconform", errUnknownToken.code, errUnknownToken.description, "")
		}
	})
	b.Run("insufficient_scope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = bearerChallenge("ccconform", "insufficient_scope", "the access token does not carry the scope write", ScopeWrite)
		}
	})
}

// benchTamper changes the byte at i to another base64url character.
func benchTamper(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// What the read path would cost with the changes the benchmark report proposes: the b64token
// syntax check as a byte loop instead of a regular expression, and quote with one Replacer made
// once. These are test-only sketches; TestProposedHelpersAgree checks that they agree with the
// provider's own.

// b64tokenRegexp is RFC 6750 §2.1's b64token as a regexp, to check isB64token against.
var b64tokenRegexp = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)

func TestIsB64tokenAgreesWithTheGrammar(t *testing.T) {
	for _, s := range []string{"", "a", "A.b-c_d~e+f/g", "abc=", "abc==", "=", "==", "a=b", "a b", "a\x00", "é", "a.b=", "a==.", "-", "abc=\n"} {
		if got, want := isB64token(s), b64tokenRegexp.MatchString(s); got != want {
			t.Errorf("isB64token(%q) = %v, the grammar says %v", s, got, want)
		}
	}
}

func BenchmarkB64tokenSyntax(b *testing.B) {
	h := benchProvider(b).Handler()
	token := benchIssue(b, h, "read")
	b.Run("regexp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !b64tokenRegexp.MatchString(token) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("loop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !isB64token(token) {
				b.Fatal("no match")
			}
		}
	})
}

func BenchmarkQuote(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = quote(errUnknownToken.description)
	}
}
