package config

import (
	"encoding/base64"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var testDefaults = Defaults{
	ClientID: "demo-id", ClientSecret: "demo-secret",
	TokenPath: "/token", PublicPath: "/public", ReadPath: "/read", WritePath: "/write",
}

// run is one Load: flags, variables, files written to a fresh directory (its name replaces
// $DIR in args, env and the files), and the working directory wd relative to that directory.
type run struct {
	args  []string
	env   map[string]string
	files map[string]string
	wd    string
}

func (r run) load(t *testing.T) (Target, *Options, string, error) {
	t.Helper()
	dir := t.TempDir()
	sub := func(s string) string { return strings.ReplaceAll(s, "$DIR", dir) }
	for name, content := range r.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(sub(content)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o := Register(fs, testDefaults)
	var args []string
	for _, a := range r.args {
		args = append(args, sub(a))
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return sub(r.env[k]) }
	tg, err := o.Load(getenv, filepath.Join(dir, r.wd))
	return tg, o, dir, err
}

func TestDefaults(t *testing.T) {
	tg, o, _, err := run{}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	want := Target{
		Client:    Client{ID: "demo-id", Secret: "demo-secret", AuthMethod: AuthClientSecretBasic},
		TokenPath: "/token", PublicPath: "/public", ReadPath: "/read", WritePath: "/write",
		RequestTimeout: 5 * time.Second, Profile: ProfileRFC6749,
		Scopes: Scopes{Allowed: []string{"read"}}, MaxExpiryWait: 5 * time.Second, RevocationWindow: 10 * time.Second, Capabilities: []string{}, SingleValuedParameters: []string{},
	}
	if !reflect.DeepEqual(tg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", tg, want)
	}
	for _, opt := range o.Describe() {
		name := opt.Flag
		if name == "" {
			name = opt.YAML
		}
		if o.Given(name) {
			t.Errorf("Given(%q) with nothing given", name)
		}
	}
}

// TestReferenceTarget reads the repository's example target description.
func TestReferenceTarget(t *testing.T) {
	wd, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o := Register(fs, testDefaults)
	if err := fs.Parse([]string{"--target-config", "reference/target.yaml"}); err != nil {
		t.Fatal(err)
	}
	tg, err := o.Load(func(string) string { return "" }, wd)
	if err != nil {
		t.Fatal(err)
	}
	if tg.ProviderURL != "http://localhost:8080" || tg.ExpiresIn != 3600 || tg.Load != 16 ||
		tg.Client.ID != "this-client-id-is-for-demo-only" || tg.ReadPath != "/read-resource" {
		t.Errorf("reference/target.yaml read as %+v", tg)
	}
	if c := tg.Clients.SpecialCharacters; c == nil || c.ID != "special id +%/=&:é" || c.Secret != "s3cret +%/=&:é" {
		t.Errorf("special_characters = %+v", c)
	}
	if c := tg.Clients.Public; c == nil || c.ID != "conformance-public" || c.Secret != "" {
		t.Errorf("public = %+v", c)
	}
	wantRes := []Resource{{"/read-resource", "GET", ""}, {"/write-resource", "POST", ""}, {"/scoped-resource", "GET", "write"}}
	if !reflect.DeepEqual(tg.Resources, wantRes) || !reflect.DeepEqual(tg.Scopes, Scopes{[]string{"read", "write"}, "admin"}) {
		t.Errorf("resources %+v, scopes %+v", tg.Resources, tg.Scopes)
	}
	for _, name := range []string{"provider-url", "load", "clients", "resources", "client-id", "allowed-scopes"} {
		if !o.Given(name) {
			t.Errorf("Given(%q) = false, the file sets it", name)
		}
	}
	if o.Given("request-timeout") || o.Given("no-such-option") {
		t.Error("Given is true for an option nobody set")
	}
}

func TestPrecedence(t *testing.T) {
	file := map[string]string{"t.yaml": "load: 3\nrequest_timeout: 3s\n"}
	for _, tc := range []struct {
		name  string
		r     run
		load  int
		given bool
	}{
		{"default", run{}, 0, false},
		{"file", run{args: []string{"--target-config=t.yaml"}, files: file}, 3, true},
		{"variable over file", run{env: map[string]string{"CCCONFORM_TARGET_CONFIG": "t.yaml", "CCCONFORM_LOAD": "5"}, files: file}, 5, true},
		{"flag over variable", run{args: []string{"--load=7"}, env: map[string]string{"CCCONFORM_LOAD": "5"}}, 7, true},
		{"flag over variable over file", run{args: []string{"--target-config=t.yaml", "--load", "7"},
			env: map[string]string{"CCCONFORM_LOAD": "5"}, files: file}, 7, true},
		{"flag over file", run{args: []string{"--target-config=t.yaml", "--load=7"}, files: file}, 7, true},
		{"empty variable is unset", run{args: []string{"--target-config=t.yaml"}, env: map[string]string{"CCCONFORM_LOAD": ""}, files: file}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, o, _, err := tc.r.load(t)
			if err != nil {
				t.Fatal(err)
			}
			if tg.Load != tc.load || o.Given("load") != tc.given {
				t.Errorf("load = %d, Given = %v; want %d, %v", tg.Load, o.Given("load"), tc.load, tc.given)
			}
		})
	}
}

func TestGivenBeforeLoad(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o := Register(fs, testDefaults)
	if err := fs.Parse([]string{"--strict"}); err != nil {
		t.Fatal(err)
	}
	if !o.Given("strict") || o.Given("load") {
		t.Error("before Load, Given should report the flags given")
	}
}

func TestFileMembers(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		args       []string
		env        map[string]string
		check      func(Target) bool
	}{
		{"empty path switches the route off", "token_path: ''\nread_path:\n", nil, nil,
			func(t Target) bool { return t.TokenPath == "" && t.ReadPath == "" && t.WritePath == "/write" }},
		{"absent member keeps the default", "load: 1\n", nil, nil,
			func(t Target) bool { return t.TokenPath == "/token" && t.Client.Secret == "demo-secret" }},
		{"a client mapping replaces the demo client", "client: {id: mine, auth_method: none}\n", nil, nil,
			func(t Target) bool { return t.Client == Client{ID: "mine", AuthMethod: AuthNone} }},
		{"none drops the default secret", "", []string{"--client-auth-method=none"}, nil,
			func(t Target) bool { return t.Client == Client{ID: "demo-id", AuthMethod: AuthNone} }},
		{"token path with a query", "token_path: /oauth/token?tenant=a%20b\n", nil, nil,
			func(t Target) bool { return t.TokenPath == "/oauth/token?tenant=a%20b" }},
		{"scopes as one value", "scopes: {allowed: read write}\n", nil, nil,
			func(t Target) bool { return reflect.DeepEqual(t.Scopes.Allowed, []string{"read", "write"}) }},
		{"scopes from a flag", "", []string{"--allowed-scopes", "a b", "--forbidden-scope=c"}, nil,
			func(t Target) bool { return reflect.DeepEqual(t.Scopes, Scopes{[]string{"a", "b"}, "c"}) }},
		{"fixture auth method", "clients: {public: {id: p, auth_method: none}, short_lived: ~}\n", nil, nil,
			func(t Target) bool {
				return *t.Clients.Public == Client{ID: "p", AuthMethod: AuthNone} && t.Clients.ShortLived == nil
			}},
		{"new keys", "profile: oauth2.1\ncleartext_url: http://example.com:8080\nstrict: true\nmax_expiry_wait: 1m\n" +
			"introspection_protected_outside_http: yes\n", nil, nil,
			func(t Target) bool {
				return t.Profile == ProfileOAuth21 && t.CleartextURL == "http://example.com:8080" && t.Strict &&
					t.MaxExpiryWait == time.Minute && t.IntrospectionProtectedOutsideHTTP
			}},
		{"variable references", "client:\n  id: ${ID}\n  secret: \"${A}-$${A}-${B}\"\nload: ${N}\n", nil,
			map[string]string{"ID": "me", "A": "x y", "B": "$z", "N": "4"},
			func(t Target) bool { return t.Client.ID == "me" && t.Client.Secret == "x y-${A}-$z" && t.Load == 4 }},
		{"variable defaults", "provider_url: ${URL:-http://localhost:8080}\nissuer: ${SET:-http://unused}\nclient:\n  id: ${ID:-}x\n  secret: s\n", nil,
			map[string]string{"SET": "https://as.example"},
			func(t Target) bool {
				return t.ProviderURL == "http://localhost:8080" && t.Issuer == "https://as.example" && t.Client.ID == "x"
			}},
		{"JSON", `{"provider_url": "https://as.example", "client": {"id": "j", "secret": "s"}, "resources": [{"path": "/r", "method": "PUT"}]}`,
			nil, nil,
			func(t Target) bool {
				return t.ProviderURL == "https://as.example" && t.Client.ID == "j" && t.Resources[0] == Resource{Path: "/r", Method: "PUT"}
			}},
		{"empty file", "", nil, nil, func(t Target) bool { return t.TokenPath == "/token" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CCCONFORM_TARGET_CONFIG": "t.yaml"}
			for k, v := range tc.env {
				env[k] = v
			}
			tg, _, _, err := run{args: tc.args, env: env, files: map[string]string{"t.yaml": tc.file}}.load(t)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(tg) {
				t.Errorf("got %+v", tg)
			}
		})
	}
}

func TestRelativePaths(t *testing.T) {
	files := map[string]string{
		"conf/t.yaml":       "ca_file: ca.pem\nexpected_failures: ../known.yaml\nsummary_md: out/summary.md\n",
		"conf/ca.pem":       "",
		"known.yaml":        "[]",
		"work/ca.pem":       "",
		"work/other.pem":    "",
		"abs/absolute.yaml": "",
	}
	tg, _, dir, err := run{args: []string{"--target-config=../conf/t.yaml"}, files: files, wd: "work"}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	if tg.TargetConfig != filepath.Join(dir, "conf/t.yaml") || tg.CAFile != filepath.Join(dir, "conf/ca.pem") ||
		tg.ExpectedFailures != filepath.Join(dir, "known.yaml") || tg.SummaryMarkdown != filepath.Join(dir, "conf/out/summary.md") {
		t.Errorf("from the file: %+v", tg)
	}
	tg, _, dir, err = run{args: []string{"--target-config=../conf/t.yaml", "--ca-file=other.pem", "--summary-html=s.html"},
		env: map[string]string{"CCCONFORM_EXPECTED_FAILURES": "$DIR/abs/absolute.yaml"}, files: files, wd: "work"}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	if tg.CAFile != filepath.Join(dir, "work/other.pem") || tg.SummaryHTML != filepath.Join(dir, "work/s.html") ||
		tg.ExpectedFailures != filepath.Join(dir, "abs/absolute.yaml") {
		t.Errorf("from flags and variables: %+v", tg)
	}
}

// goTypes are words of Go's and yaml.v3's that an error must not show the user.
var goTypes = regexp.MustCompile(`time\.Duration|\bint\b|!!|unmarshal|struct|\*config|(^|\s)yaml:`)

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"unknown member", "token_path: /t\ntokn_path: /t\n", "t.yaml:2: tokn_path is not an option of the target description"},
		{"unknown client member", "client:\n  id: a\n  scret: b\n",
			"t.yaml:3: client.scret is not a member of client, which has id, secret, auth_method"},
		{"unknown fixture", "clients:\n  private: {id: a}\n",
			"t.yaml:2: clients.private is not a member of clients, which has special_characters, without_client_credentials, short_lived, public, brute_force"},
		{"unknown resource member", "resources:\n  - {path: /a, method: GET, verb: GET}\n",
			"t.yaml:2: resources[0].verb is not a member of resources[0], which has path, method, scope"},
		{"bad method", "load: 1\nresources:\n  - path: /a\n    method: GET\n  - path: /b\n    method: GTE\n",
			`t.yaml:6: resources[1].method "GTE" is not an HTTP method: give GET, POST, PUT, PATCH or DELETE`},
		{"lower-case method", "resources: [{path: /a, method: get}]\n", `t.yaml:1: resources[0].method "get" is not an HTTP method`},
		{"resource without a method", "resources:\n  - path: /a\n", "t.yaml:2: resources[0] needs a path and a method"},
		{"resource path", "resources:\n  - {path: a, method: GET}\n", `t.yaml:2: resources[0].path "a" must start with /`},
		{"resources not a list", "resources: {path: /a}\n", "t.yaml:1: resources must be a list of {path, method, scope}, not a mapping"},
		{"duration", "request_timeout: abc\n", `t.yaml:1: request_timeout "abc" is not a duration such as 5s`},
		{"bare number as duration", "max_expiry_wait: 5\n", `t.yaml:1: max_expiry_wait "5" is not a duration such as 5s`},
		{"number", "\nexpires_in: soon\n", `t.yaml:2: expires_in "soon" is not a whole number`},
		{"boolean", "strict: maybe\n", `t.yaml:1: strict "maybe" is not true or false`},
		{"list for a value", "token_path: [/a, /b]\n", "t.yaml:1: token_path must be a single value, not a list"},
		{"value for a mapping", "client: abc\n", "t.yaml:1: client must be a mapping of id, secret, auth_method, private_key_file, private_key, key_id, alg, not a single value"},
		{"twice", "load: 1\nload: 2\n", "t.yaml:2: load is given twice (first on line 1)"},
		{"not a mapping", "- a\n", "t.yaml:1: a target description is a mapping of options, not a list"},
		{"syntax", "load: 1\n  bad: [\n", "t.yaml:2: "},
		{"two documents", "load: 1\n---\nload: 2\n", "t.yaml:2: a second document; a target description is one"},
		{"unset variable", "client:\n  id: a\n  secret: ${CONFORMANCE_SECRET}\n",
			"t.yaml:3: client.secret refers to ${CONFORMANCE_SECRET}, which is not set"},
		{"bad variable name", "provider_url: ${1X}\n", "t.yaml:1: provider_url refers to ${1X}, which is not a variable name"},
		{"fixture without id", "clients:\n  public: {auth_method: none}\n", "t.yaml:2: clients.public needs an id"},
		{"fixture auth method", "clients:\n  public:\n    id: p\n    auth_method: client_certificate\n",
			`t.yaml:4: clients.public.auth_method "client_certificate" is not a client authentication method: give client_secret_basic, client_secret_post, none, private_key_jwt, client_secret_jwt, tls_client_auth or self_signed_tls_client_auth`},
		{"mtls fixture without its certificate", "clients:\n  mtls:\n    id: m\n    auth_method: tls_client_auth\n    private_key: k\n",
			`t.yaml:3: clients.mtls needs a certificate (or certificate_file) and its private_key (or private_key_file) for tls_client_auth`},
		{"certificate without mtls", "clients:\n  second:\n    id: s\n    secret: x\n    certificate: c\n",
			`t.yaml:3: clients.second has a certificate, which only a client with tls_client_auth or self_signed_tls_client_auth uses`},
		{"fixture without its key", "clients:\n  private_key_jwt:\n    id: p\n    auth_method: private_key_jwt\n",
			`t.yaml:3: clients.private_key_jwt needs a private_key or private_key_file for private_key_jwt`},
		{"resource indicator with a fragment", "resource_indicators:\n  - {resource: 'https://rs.example/#f', path: /rs}\n",
			`t.yaml:2: resource_indicators[0].resource "https://rs.example/#f" is not an absolute URI without a fragment (RFC 8707 §2)`},
		{"validation names the key and line", "\nload: 2000\n", "t.yaml:2: load must be between 0 and 1000, not 2000"},
		{"profile", "profile: oauth21\n", `t.yaml:1: profile "oauth21" is not a profile: give one or more of rfc6749, oauth2.1, bcp, rfc10070, oidcc, rfc9068, joined by commas`},
		{"token path fragment", "token_path: /token#x\n", `t.yaml:1: token_path "/token#x" has a fragment`},
		{"empty client", "client:\n", "t.yaml:1: client.id must not be empty"},
		{"secret of a public client", "client: {id: a, secret: b, auth_method: none}\n",
			"t.yaml:1: client.secret must be empty for a client that authenticates with none"},
		{"missing ca file", "ca_file: nope.pem\n", "t.yaml:1: ca_file names $DIR/nope.pem, which does not exist or cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, dir, err := run{args: []string{"--target-config=t.yaml"}, files: map[string]string{"t.yaml": tc.file}}.load(t)
			want := strings.ReplaceAll(tc.want, "$DIR", dir)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
			if goTypes.MatchString(err.Error()) {
				t.Errorf("error %q shows Go or YAML internals", err)
			}
		})
	}
}

func TestMissingTargetConfig(t *testing.T) {
	_, _, dir, err := run{env: map[string]string{"CCCONFORM_TARGET_CONFIG": "none.yaml"}}.load(t)
	want := "CCCONFORM_TARGET_CONFIG names " + filepath.Join(dir, "none.yaml") + ", which does not exist"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

// TestValidation covers each rule, through flags and variables; the error names the option
// as it was given.
func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // "" for no error
	}{
		{"https provider", []string{"--provider-url=https://as.example/base/"}, nil, ""},
		{"relative provider", []string{"--provider-url=as.example"}, nil, `--provider-url "as.example" is not an absolute http:// or https:// URL`},
		{"ftp provider", []string{"--provider-url=ftp://as.example"}, nil, `--provider-url "ftp://as.example" is not an absolute http:// or https:// URL`},
		{"provider query", []string{"--provider-url=https://as.example/?a=b"}, nil, `--provider-url "https://as.example/?a=b" has a query or fragment`},
		{"provider fragment", nil, map[string]string{"CCCONFORM_PROVIDER_URL": "https://as.example/#"}, `CCCONFORM_PROVIDER_URL "https://as.example/#" has a query or fragment`},
		{"token path query", []string{"--token-path=/token?tenant=1"}, nil, ""},
		{"token path fragment", []string{"--token-path=/token#f"}, nil, `--token-path "/token#f" has a fragment`},
		{"token path query fragment", []string{"--token-path=/token?a=1#f"}, nil, `--token-path "/token?a=1#f" has a fragment`},
		{"token path bad query", []string{"--token-path=/token?a=%zz"}, nil, `--token-path "/token?a=%zz" has a malformed query`},
		{"token path relative", []string{"--token-path=token"}, nil, `--token-path "token" is neither a path starting with / nor an absolute http:// or https:// URL`},
		{"token path off", []string{"--token-path="}, nil, ""},
		{"read path query", []string{"--read-path=/r?x=1"}, nil, `--read-path "/r?x=1" must be a path, without a query`},
		{"public path relative", nil, map[string]string{"CCCONFORM_PUBLIC_PATH": "p"}, `CCCONFORM_PUBLIC_PATH "p" is neither a path starting with / nor an absolute http:// or https:// URL`},
		{"write path fragment", []string{"--write-path=/w#"}, nil, `--write-path "/w#" has a fragment`},
		{"timeout zero", []string{"--request-timeout=0s"}, nil, "--request-timeout must be positive, not 0s"},
		{"timeout malformed", nil, map[string]string{"CCCONFORM_REQUEST_TIMEOUT": "abc"}, `CCCONFORM_REQUEST_TIMEOUT "abc" is not a duration such as 5s`},
		{"expires negative", []string{"--expires-in=-1"}, nil, "--expires-in must be at least 0, not -1"},
		{"load too high", nil, map[string]string{"CCCONFORM_LOAD": "1001"}, "CCCONFORM_LOAD must be between 0 and 1000, not 1001"},
		{"load negative", []string{"--load=-1"}, nil, "--load must be between 0 and 1000, not -1"},
		{"load malformed", nil, map[string]string{"CCCONFORM_LOAD": "many"}, `CCCONFORM_LOAD "many" is not a whole number`},
		{"strict malformed", nil, map[string]string{"CCCONFORM_STRICT": "yes please"}, `CCCONFORM_STRICT "yes please" is not true or false`},
		{"load 1000", []string{"--load=1000"}, nil, ""},
		{"empty id", []string{"--client-id="}, nil, "--client-id must not be empty"},
		{"empty secret", []string{"--client-secret="}, nil, "--client-secret must not be empty for a client that authenticates with client_secret_basic"},
		{"post without secret", []string{"--client-secret=", "--client-auth-method=client_secret_post"}, nil,
			"--client-secret must not be empty for a client that authenticates with client_secret_post"},
		{"none with a secret", []string{"--client-secret=x", "--client-auth-method=none"}, nil, "--client-secret must be empty for a client that authenticates with none"},
		{"none", []string{"--client-auth-method=none"}, nil, ""},
		{"unknown auth method", nil, map[string]string{"CCCONFORM_CLIENT_AUTH_METHOD": "basic"},
			`CCCONFORM_CLIENT_AUTH_METHOD "basic" is not a client authentication method: give client_secret_basic, client_secret_post, none, private_key_jwt or client_secret_jwt`},
		{"profile bcp", []string{"--profile=bcp"}, nil, ""},
		{"unknown profile", []string{"--profile=fapi"}, nil, `--profile "fapi" is not a profile: give one or more of rfc6749, oauth2.1, bcp, rfc10070, oidcc, rfc9068, joined by commas`},
		{"profile set", []string{"--profile=rfc10070, oauth2.1"}, nil, ""},
		{"token path absolute", []string{"--token-path=https://as.example/oauth/token"}, nil, ""},
		{"unknown capability", []string{"--capabilities=metadata mutual-tls"}, nil, `--capabilities "mutual-tls" is not a capability: give metadata, introspection, revocation, jwt-client-auth, jwt-at, rs-jwt, resource-indicators, dpop, rs-dpop or mtls`},
		{"main client over mutual TLS", []string{"--client-auth-method=tls_client_auth"}, nil, `--client-auth-method "tls_client_auth" needs a client certificate, which only the fixture clients mtls and mtls_2 carry`},
		{"no scopes", []string{"--allowed-scopes="}, nil, "--allowed-scopes must name at least one scope"},
		{"bad scope", []string{`--allowed-scopes=re"ad`}, nil, `--allowed-scopes "re\"ad" is not a scope (RFC 6749 §3.3)`},
		{"forbidden also allowed", []string{"--forbidden-scope=read"}, nil, `--forbidden-scope "read" is also an allowed scope`},
		{"wait zero", []string{"--max-expiry-wait=0s"}, nil, "--max-expiry-wait must be positive, not 0s"},
		{"cleartext https", []string{"--cleartext-url=https://as.example"}, nil, `--cleartext-url "https://as.example" is not an absolute http:// URL`},
		{"cleartext", []string{"--cleartext-url=http://as.example:8080"}, nil, ""},
		{"missing expected failures", []string{"--expected-failures=/nonexistent/known.yaml"}, nil,
			"--expected-failures names /nonexistent/known.yaml, which does not exist or cannot be read"},
		{"ca file is a directory", []string{"--ca-file=/"}, nil, "--ca-file names /, which is a directory"},
		{"outputs need not exist", []string{"--summary-md=/nonexistent/s.md", "--results-json=r.json", "--results-junit=j.xml"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := run{args: tc.args, env: tc.env}.load(t)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDescribe checks that every flag on the FlagSet is a declared option with all its parts,
// and that every declared option is on the FlagSet or in the target description.
func TestDescribe(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o := Register(fs, testDefaults)
	described := map[string]OptionInfo{}
	yamlKeys := map[string]bool{}
	for _, info := range o.Describe() {
		if info.Help == "" || (info.Flag == "" && info.YAML == "") {
			t.Errorf("option %+v lacks help, or both a flag and a key", info)
		}
		if info.Flag != "" {
			described[info.Flag] = info
			if fs.Lookup(info.Flag) == nil {
				t.Errorf("--%s is described but not registered", info.Flag)
			}
		}
		if info.YAML != "" && yamlKeys[info.YAML] {
			t.Errorf("key %s declared twice", info.YAML)
		}
		yamlKeys[info.YAML] = true
	}
	count := 0
	fs.VisitAll(func(f *flag.Flag) {
		count++
		info, ok := described[f.Name]
		switch {
		case !ok:
			t.Errorf("--%s is registered but not described", f.Name)
		case info.Env != "CCCONFORM_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")):
			t.Errorf("--%s has the variable %q", f.Name, info.Env)
		case info.YAML == "" && f.Name != "target-config":
			t.Errorf("--%s has no key in the target description", f.Name)
		case !strings.Contains(f.Usage, info.Env) || !strings.HasPrefix(f.Usage, info.Help):
			t.Errorf("--%s's usage %q does not give its help and name %s", f.Name, f.Usage, info.Env)
		case f.DefValue != info.Default:
			t.Errorf("--%s's default is %q, described as %q", f.Name, f.DefValue, info.Default)
		}
	})
	if count != len(described) {
		t.Errorf("%d flags registered, %d described", count, len(described))
	}
	// Every description key the schema knows is described.
	var walk func(s *schema, path string)
	walk = func(s *schema, path string) {
		for _, k := range s.keys {
			m, key := s.members[k], strings.TrimPrefix(path+"."+k, ".")
			if m.opt >= 0 && !yamlKeys[key] {
				t.Errorf("key %s is not described", key)
			}
			walk(m, key)
		}
	}
	walk(fileSchema, "")
}

func TestClientAuth(t *testing.T) {
	for _, tc := range []struct {
		c          Client
		method     string
		header     string
		form       url.Values
		basicPlain string
	}{
		{Client{ID: "a b", Secret: "p+%/=&:é"}, AuthClientSecretBasic, "", url.Values{}, "a+b:p%2B%25%2F%3D%26%3A%C3%A9"},
		{Client{ID: "a", Secret: "s", AuthMethod: AuthClientSecretBasic}, AuthClientSecretBasic, "", url.Values{}, "a:s"},
		{Client{ID: "a", Secret: "s", AuthMethod: AuthClientSecretPost}, AuthClientSecretPost, "", url.Values{"client_id": {"a"}, "client_secret": {"s"}}, ""},
		{Client{ID: "a", AuthMethod: AuthNone}, AuthNone, "", url.Values{"client_id": {"a"}}, ""},
		{Client{ID: "a", AuthMethod: "private_key_jwt"}, "private_key_jwt", "", url.Values{}, ""},
	} {
		auth := tc.c.Auth()
		h, form := http.Header{}, url.Values{}
		auth.Apply(h, form)
		if auth.Method() != tc.method || !reflect.DeepEqual(form, tc.form) {
			t.Errorf("%+v: method %s, form %v", tc.c, auth.Method(), form)
		}
		want := ""
		if tc.basicPlain != "" {
			want = "Basic " + base64.StdEncoding.EncodeToString([]byte(tc.basicPlain))
		}
		if got := h.Get("Authorization"); got != want {
			t.Errorf("%+v: Authorization %q, want %q", tc.c, got, want)
		}
	}
}
