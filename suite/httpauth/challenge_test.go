package httpauth

import (
	"encoding/base64"
	"reflect"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	cases := []struct {
		in   []string
		want []Challenge
	}{
		{[]string{`Bearer realm="example"`},
			[]Challenge{{Scheme: "Bearer", Params: []Param{{"realm", "example", true}}}}},
		{[]string{`Bearer realm="example", error="invalid_token", error_description="The access token expired"`},
			[]Challenge{{Scheme: "Bearer", Params: []Param{
				{"realm", "example", true}, {"error", "invalid_token", true},
				{"error_description", "The access token expired", true}}}}},
		{[]string{`bearer error=invalid_token,scope="read write"`},
			[]Challenge{{Scheme: "bearer", Params: []Param{{"error", "invalid_token", false}, {"scope", "read write", true}}}}},
		{[]string{`Bearer`}, []Challenge{{Scheme: "Bearer"}}},
		{[]string{`Basic realm="a", Bearer realm="b"`},
			[]Challenge{{Scheme: "Basic", Params: []Param{{"realm", "a", true}}}, {Scheme: "Bearer", Params: []Param{{"realm", "b", true}}}}},
		{[]string{`Basic, Bearer realm="b"`},
			[]Challenge{{Scheme: "Basic"}, {Scheme: "Bearer", Params: []Param{{"realm", "b", true}}}}},
		{[]string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			[]Challenge{{Scheme: "Newauth", Params: []Param{{"realm", "apps", true}, {"type", "1", false}, {"title", `Login to "apps"`, true}}},
				{Scheme: "Basic", Params: []Param{{"realm", "simple", true}}}}},
		{[]string{`Negotiate abc+/==`}, []Challenge{{Scheme: "Negotiate", Token68: "abc+/=="}}},
		{[]string{`Basic realm="a"`, `Bearer realm = "b" ,, error="x"`},
			[]Challenge{{Scheme: "Basic", Params: []Param{{"realm", "a", true}}}, {Scheme: "Bearer", Params: []Param{{"realm", "b", true}, {"error", "x", true}}}}},
	}
	for _, c := range cases {
		got, err := ParseChallenges(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", c.in, got, c.want)
		}
	}
}

func TestParseChallengesRejectsMalformedFields(t *testing.T) {
	for _, in := range []string{
		`Bearer, error="invalid_token"`, // dadi/api's stray comma
		`Bearer realm="unterminated`,
		`Bearer realm="a" error="b"`,
		`Bearer realm="a", error=`,
		`realm="no scheme"`,
		`Bearer realm="a", "loose"`,
		`Negotiate abc==, realm="x"`,
	} {
		if got, err := ParseChallenges([]string{in}); err == nil {
			t.Errorf("%q parsed as %#v", in, got)
		}
	}
}

func TestChallengeLookups(t *testing.T) {
	cs, err := ParseChallenges([]string{`Basic realm="x", BEARER Error="a", error="b"`})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := Find(cs, "bearer")
	if !ok {
		t.Fatal("no Bearer challenge found")
	}
	if v, _ := b.Param("ERROR"); v != "a" {
		t.Errorf("Param(ERROR) = %q", v)
	}
	if b.Count("error") != 2 {
		t.Errorf("Count(error) = %d", b.Count("error"))
	}
	if _, ok := Find(cs, "Digest"); ok {
		t.Error("found a Digest challenge")
	}
}

func TestBasicAuthorizationFormEncodes(t *testing.T) {
	got := BasicAuthorization("id with space", "s+%/=&:é")
	raw, _ := base64.StdEncoding.DecodeString(got[len("Basic "):])
	if want := "id+with+space:s%2B%25%2F%3D%26%3A%C3%A9"; string(raw) != want {
		t.Errorf("decoded %q, want %q", raw, want)
	}
	raw, _ = base64.StdEncoding.DecodeString(BasicAuthorizationUnencoded("a", "b:c")[len("Basic "):])
	if string(raw) != "a:b:c" {
		t.Errorf("unencoded form %q", raw)
	}
}
