package provider

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fuzzSigningKey is one RSA key for every fuzzed provider: generating one per input would be
// most of the fuzzer's time.
var fuzzSigningKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := GenerateSigningKey()
	if err != nil {
		panic(err)
	}
	return k
})

// FuzzClientAssertion sends token requests that authenticate with a fuzzed client assertion:
//
//   - mode 0: the text as the assertion;
//   - mode 1: header, payload and signature assembled by hand (base64url of the first two);
//   - mode 2: the payload signed by the private_key_jwt fixture's key, ES256 with its kid;
//   - mode 3: the payload MACed with the client_secret_jwt fixture's secret.
//
// In the payload "{exp}" becomes a minute from now and "{iss}" the issuer, so that the fuzzer
// reaches assertions that pass most checks. In the extra parameters (a query string added to
// the body) "{a}" becomes the assertion. Invariants: no panic, never a 5xx, every 401 with a
// Basic challenge, error descriptions in the RFC 6749 §5.2 character set, and a token only for
// an assertion the fixture's own key signed (modes 2 and 3): nothing assembled by hand
// authenticates.
func FuzzClientAssertion(f *testing.F) {
	claims := `{"iss":"conformance-pkj","sub":"conformance-pkj","aud":"{iss}","exp":{exp},"jti":"j1"}`
	csj := `{"iss":"conformance-csj","sub":"conformance-csj","aud":["{iss}"],"exp":{exp},"jti":"j2","x":{"y":[1,2]}}`
	for _, s := range []struct {
		text, header, sig, extra string
		mode                     uint8
	}{
		{"", "", "", "", 0},
		{"a.b.c", "", "", "", 0},
		{"eyJhbGciOiJub25lIn0.e30.", "", "", "", 0},
		{claims, `{"alg":"none"}`, "", "", 1},
		{claims, `{"alg":"ES256","kid":"pkj-1"}`, "AAAA", "", 1},
		{claims, `{"alg":"HS256"}`, "c2ln", "client_id=conformance-pkj", 1},
		{claims, `{"alg":"ES256","crit":["exp"],"exp":1}`, "", "", 1},
		{claims, "", "", "", 2},
		{claims, "", "", "client_id=conformance-pkj", 2},
		{claims, "", "", "client_id=conformance-pkj2", 2},
		{claims, "", "", "client_secret=x", 2},
		{strings.Replace(claims, `"jti":"j1"`, `"jti":1`, 1), "", "", "", 2},
		{strings.Replace(claims, `{exp}`, `"{exp}"`, 1), "", "", "", 2},
		{strings.Replace(claims, `{exp}`, `1e999`, 1), "", "", "", 2},
		{`{"iss":"conformance-pkj","iss":"x"}`, "", "", "", 2},
		{"null", "", "", "", 2},
		{csj, "", "", "", 3},
		{csj, "", "", "client_assertion=x", 3},
		{csj, "", "", "client_assertion_type=urn:x", 3},
	} {
		f.Add(s.text, s.header, s.sig, s.extra, s.mode)
	}
	pkjKey, err := FixtureSigner(FixturePrivateKeyJWTKeyPEM)
	if err != nil {
		f.Fatal(err)
	}
	pkjSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: pkjKey}, (&jose.SignerOptions{}).WithHeader("kid", FixturePrivateKeyJWTKeyID))
	if err != nil {
		f.Fatal(err)
	}
	csjSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(FixtureClientSecretJWT.Secret)}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, header, sig, extra string, mode uint8) {
		cfg := FixtureConfig(DemoClientID, DemoClientSecret)
		cfg.Issuer = caIssuer
		cfg.SigningKeys = []*rsa.PrivateKey{fuzzSigningKey()}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		payload := strings.NewReplacer("{exp}", fmt.Sprint(time.Now().Unix()+60), "{iss}", caIssuer).Replace(text)
		var assertion string
		signed := false
		switch mode % 4 {
		case 0:
			assertion = text
		case 1:
			assertion = caSegment(header) + "." + caSegment(payload) + "." + sig
		case 2, 3:
			signer := pkjSigner
			if mode%4 == 3 {
				signer = csjSigner
			}
			obj, err := signer.Sign([]byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			if assertion, err = obj.CompactSerialize(); err != nil {
				t.Fatal(err)
			}
			signed = true
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {JWTBearerAssertionType},
			"client_assertion": {assertion}}
		if more, err := url.ParseQuery(strings.ReplaceAll(extra, "{a}", url.QueryEscape(assertion))); err == nil {
			for k, v := range more {
				form[k] = v
			}
		}
		r := fuzzRequest(http.MethodPost, PathToken, "", form.Encode())
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := fuzzServe(p.Handler(), r)
		checkCommon(t, rec, "Basic")
		if rec.Code == http.StatusOK && !signed {
			t.Fatalf("an assertion nobody signed authenticated: %q", assertion)
		}
		if rec.Code != http.StatusOK && !descriptionOK(jsonObjectOf(rec.Body.Bytes())["error_description"]) {
			t.Fatalf("error_description outside RFC 6749 5.2: %s", rec.Body)
		}
	})
}

// jsonObjectOf reads the string members of a JSON object, ignoring everything else.
func jsonObjectOf(b []byte) map[string]string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// FuzzIntrospectionAndRevocation sends fuzzed requests to the introspection endpoint (flags&1)
// or the revocation endpoint. "{basic}" in the Authorization value becomes the introspecting
// fixture client's valid Basic credentials, and "{token}" in the body a valid access token of
// the scenario's client; flags&2 makes the request a GET. Invariants: no panic, never a 5xx,
// every 401 with a Basic challenge, and "active":true only for a caller with the introspecting
// client's credentials.
func FuzzIntrospectionAndRevocation(f *testing.F) {
	for _, s := range []struct {
		body, authz, ctype string
		flags              uint8
	}{
		{"token={token}", "Basic {basic}", "application/x-www-form-urlencoded", 1},
		{"token={token}&token_type_hint=refresh_token", "Basic {basic}", "application/x-www-form-urlencoded", 1},
		{"token={token}&token_type_hint=bogus", "Basic {basic}", "application/x-www-form-urlencoded", 0},
		{"token=x", "", "application/x-www-form-urlencoded", 0},
		{"token={token}&client_id=conformance-introspector&client_secret=introspector-secret", "", "application/x-www-form-urlencoded; charset=utf-8", 1},
		{"token={token}&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=a.b.c", "", "application/x-www-form-urlencoded", 1},
		{"", "Basic {basic}", "", 3},
		{"token=%zz", "Basic {basic}", "application/x-www-form-urlencoded", 1},
		{`{"token":"x"}`, "Basic {basic}", "application/json", 0},
	} {
		f.Add(s.body, s.authz, s.ctype, s.flags)
	}
	cfg := FixtureConfig(DemoClientID, DemoClientSecret)
	cfg.Issuer = caIssuer
	cfg.SigningKeys = []*rsa.PrivateKey{fuzzSigningKey()}
	basic := "Basic " + base64Std(url.QueryEscape(FixtureIntrospector.ID)+":"+url.QueryEscape(FixtureIntrospector.Secret))
	f.Fuzz(func(t *testing.T, body, authz, ctype string, flags uint8) {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := p.Handler()
		e := &caEnv{t: t, p: p, h: h}
		tok := e.secretToken(DemoClientID, DemoClientSecret)
		body = strings.ReplaceAll(body, "{token}", tok)
		authz = strings.ReplaceAll(authz, "{basic}", basic)
		path, method := PathRevoke, http.MethodPost
		if flags&1 != 0 {
			path = PathIntrospect
		}
		if flags&2 != 0 {
			method = http.MethodGet
		}
		r := fuzzRequest(method, path, "", body)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		rec := fuzzServe(h, r)
		checkCommon(t, rec, "Basic")
		if strings.Contains(rec.Body.String(), `"active":true`) && authz != basic &&
			!strings.Contains(body, "client_secret="+FixtureIntrospector.Secret) {
			t.Fatalf("an active answer without the introspector's credentials: %s", rec.Body)
		}
	})
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
