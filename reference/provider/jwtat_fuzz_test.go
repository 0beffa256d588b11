package provider

// Fuzz targets of the JWT features (see fuzz_test.go for how to run one). Same invariants: no
// panic, never a 5xx, every 401 with a challenge the suite's parser accepts, and nothing
// succeeds that should not.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzJWTBearer presents JWT access tokens, real or edited at one byte, at the three kinds of
// resource. Success needs the untouched token at a resource its audience names. {one} is a token
// for R1, {both} for R1 and R2, {default} one for the default resource.
func FuzzJWTBearer(f *testing.F) {
	for _, s := range []struct {
		authz    string
		route    uint8
		editPos  uint16
		editByte byte
	}{
		{"Bearer {one}", 0, 0, 0},
		{"Bearer {one}", 1, 0, 0},
		{"Bearer {both}", 1, 0, 0},
		{"Bearer {default}", 2, 0, 0},
		{"Bearer {default}", 0, 0, 0},
		{"Bearer {one}", 0, 5, 'A'},
		{"Bearer {one}", 0, 0xffff, 'A'},
		{"Bearer {one}", 0, 200, '.'},
		{"Bearer {one}.{one}", 0, 0, 0},
		{"Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.e30.", 0, 0, 0},
		{"Bearer eyJhbGciOiJub25lIn0.e30", 0, 0, 0},
		{"Bearer ...", 0, 0, 0},
		{"Bearer a.b.c", 2, 0, 0},
		{"Bearer " + strings.Repeat("A", maxJWTBytes) + ".e30.AA", 0, 0, 0},
		{"Bearer eyJ9.eyJ9.eyJ9", 1, 0, 0},
	} {
		f.Add(s.authz, s.route, s.editPos, s.editByte)
	}
	f.Fuzz(func(t *testing.T, authz string, route uint8, editPos uint16, editByte byte) {
		p, h := jwtProvider(t, nil)
		r1, r2 := url.QueryEscape(p.resourceOne), url.QueryEscape(p.resourceTwo)
		tokens := map[string]string{
			"one":  jatIssue(t, h, "&resource="+r1),
			"both": jatIssue(t, h, "&resource="+r1+"&resource="+r2),
		}
		_, hj := jwtProvider(t, func(c *Config) { c.JWTAccessTokens = true })
		tokens["default"] = jatIssue(t, hj, "")
		edit := func(tok string) string {
			if editByte == 0 {
				return tok
			}
			i := int(editPos) % len(tok)
			return tok[:i] + string([]byte{editByte}) + tok[i+1:]
		}
		authz = strings.NewReplacer("{one}", edit(tokens["one"]), "{both}", edit(tokens["both"]),
			"{default}", edit(tokens["default"])).Replace(authz)
		path := []string{PathResourceOne, PathResourceTwo, PathReadResource}[route%3]
		r := fuzzRequest(http.MethodGet, path, "", "")
		r.Header.Set("Authorization", authz)
		rec := fuzzServe(hj, r) // hj and h share the key and issuer: both accept all three
		checkCommon(t, rec, "Bearer")
		if rec.Code/100 != 2 {
			return
		}
		scheme, tok, _ := strings.Cut(authz, " ")
		tok = strings.TrimLeft(tok, " ")
		ok := strings.EqualFold(scheme, "bearer") && (tok == tokens["one"] && path == PathResourceOne ||
			tok == tokens["both"] && path != PathReadResource || tok == tokens["default"] && path == PathReadResource)
		if !ok {
			t.Fatalf("%d on %s for %q", rec.Code, path, authz)
		}
	})
}

// FuzzResourceParameter sends resource values at the token endpoint: a token comes only when
// every non-empty value is R1 or R2, and then its aud is exactly those; anything else is 400
// invalid_target.
func FuzzResourceParameter(f *testing.F) {
	for _, s := range [][3]string{
		{"{r1}", "", ""}, {"{r1}", "{r2}", ""}, {"{r1}", "{r1}", "{r2}"}, {"", "", ""}, {"{r1}#", "", ""},
		{"api/relative", "", ""}, {"//rs.example/", "", ""}, {"https://unknown.invalid/", "", ""},
		{"{r1}", "%zz", ""}, {"{r1}/", "", ""}, {"\x00", "", ""}, {"https://as.example:8443/resource", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		p, h := jwtProvider(t, nil)
		sub := strings.NewReplacer("{r1}", p.resourceOne, "{r2}", p.resourceTwo)
		var body strings.Builder
		var want []string
		valid := true
		for _, v := range []string{a, b, c} {
			v = sub.Replace(v)
			body.WriteString("&resource=" + url.QueryEscape(v))
			switch {
			case v == "":
			case v != p.resourceOne && v != p.resourceTwo:
				valid = false
			case !slices.Contains(want, v):
				want = append(want, v)
			}
		}
		if body.Len() > maxTokenRequestBytes-100 {
			return // the body limit answers first
		}
		rec := jatTokenRequest(h, body.String())
		checkCommon(t, rec, "Basic")
		var resp struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		switch {
		case !valid:
			if rec.Code != http.StatusBadRequest || resp.Error != "invalid_target" {
				t.Fatalf("%q: %d %s", body.String(), rec.Code, rec.Body)
			}
		case rec.Code != http.StatusOK:
			t.Fatalf("%q: %d %s", body.String(), rec.Code, rec.Body)
		case len(want) == 0:
			if strings.Count(resp.AccessToken, ".") != 1 {
				t.Fatalf("no resource but not the opaque token: %q", resp.AccessToken)
			}
		default:
			f, ok := p.inspectToken(resp.AccessToken)
			if !ok || !f.JWT || !slices.Equal(f.Audience, want) {
				t.Fatalf("%q: aud %v, want %v", body.String(), f.Audience, want)
			}
		}
	})
}
