package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ccconform/ccconform/suite/registry"
)

// EnvPrefix starts the name of every option's environment variable: --provider-url is
// CCCONFORM_PROVIDER_URL, and so on.
const EnvPrefix = "CCCONFORM_"

// Defaults are the built-in defaults the caller supplies: the bundled provider's demo client
// and routes.
type Defaults struct {
	ClientID, ClientSecret, TokenPath, PublicPath, ReadPath, WritePath string
}

// option is one option, declared once: everything else (the flag, the variable, the
// description's schema, the documentation, the validation) is derived from this table.
type option struct {
	// flag is the flag's name; the variable is EnvPrefix and the name in upper case, with _
	// for -. Empty: only the target description sets the option.
	flag string
	// yaml is the key in the target description, dotted for a member of a mapping. Empty: the
	// description does not set the option.
	yaml string
	// def is the default as a flag would give it; nil means the zero value.
	def  func(Defaults) string
	help string
	// field points at the option's field of a Target: a *string, *int, *bool,
	// *time.Duration, *[]string (a flag gives it as space-separated words), *Fixtures,
	// *[]Resource or *[]ResourceIndicator (the last three only the description sets).
	field func(*Target) any
	// path says the value is a file name: a relative one resolves against the description
	// file's directory when the description gives it, else against the working directory.
	path bool
	// check says what is wrong with the option's value, as the end of a sentence that starts
	// with the option's name; "" when nothing is.
	check func(*Target) string
}

func fixed(s string) func(Defaults) string { return func(Defaults) string { return s } }

var options = []option{
	{flag: "target-config",
		help:  "target description file (YAML or JSON): endpoints, clients and fixtures; variables and flags override it",
		field: func(t *Target) any { return &t.TargetConfig }, path: true,
		check: func(t *Target) string { return checkInputFile(t.TargetConfig) }},
	{flag: "provider-url", yaml: "provider_url",
		help:  "base URL of the provider under test; empty starts the bundled reference provider",
		field: func(t *Target) any { return &t.ProviderURL },
		check: func(t *Target) string { return checkBaseURL(t.ProviderURL, "http", "https") }},
	{flag: "client-id", yaml: "client.id", def: func(d Defaults) string { return d.ClientID },
		help:  "client id of a client registered for the client credentials grant",
		field: func(t *Target) any { return &t.Client.ID },
		check: func(t *Target) string { return notEmpty(t.Client.ID) }},
	{flag: "client-secret", yaml: "client.secret", def: func(d Defaults) string { return d.ClientSecret },
		help:  "that client's secret (empty when it authenticates with none)",
		field: func(t *Target) any { return &t.Client.Secret },
		check: func(t *Target) string { return checkSecret(t.Client) }},
	{flag: "client-auth-method", yaml: "client.auth_method", def: fixed(AuthClientSecretBasic),
		help:  "how that client authenticates at the token endpoint: client_secret_basic, client_secret_post, none, private_key_jwt or client_secret_jwt",
		field: func(t *Target) any { return &t.Client.AuthMethod },
		check: func(t *Target) string { return checkMainAuthMethod(t.Client.AuthMethod) }},
	{flag: "client-private-key", yaml: "client.private_key_file",
		help:  "PEM or JWK file of that client's private key, for private_key_jwt (the description may give the key inline as client.private_key)",
		field: func(t *Target) any { return &t.Client.PrivateKeyFile }, path: true,
		check: func(t *Target) string { return checkKey(t.Client) }},
	{yaml: "client.private_key",
		help:  "that client's private key inline, PEM or JWK, for private_key_jwt",
		field: func(t *Target) any { return &t.Client.PrivateKey }},
	{flag: "client-key-id", yaml: "client.key_id",
		help:  "the kid of that client's assertions (default: the JWK's own kid, if any)",
		field: func(t *Target) any { return &t.Client.KeyID }},
	{flag: "client-alg", yaml: "client.alg",
		help:  "the JWS algorithm of that client's assertions (default: RS256, ES256 or EdDSA by key type; HS256 for client_secret_jwt)",
		field: func(t *Target) any { return &t.Client.Alg }},
	route("token-path", "token_path", func(d Defaults) string { return d.TokenPath }, func(t *Target) *string { return &t.TokenPath }, true,
		"token endpoint path, which may carry a query; empty switches off the specs that need it"),
	route("public-path", "public_path", func(d Defaults) string { return d.PublicPath }, func(t *Target) *string { return &t.PublicPath }, false,
		"public route path; empty switches its spec off"),
	route("read-path", "read_path", func(d Defaults) string { return d.ReadPath }, func(t *Target) *string { return &t.ReadPath }, false,
		"protected read route path; empty switches off the specs that need it"),
	route("write-path", "write_path", func(d Defaults) string { return d.WritePath }, func(t *Target) *string { return &t.WritePath }, false,
		"protected write route path; empty switches off the specs that need it"),
	{flag: "request-timeout", yaml: "request_timeout", def: fixed("5s"),
		help:  "timeout of each request",
		field: func(t *Target) any { return &t.RequestTimeout },
		check: func(t *Target) string { return positive(t.RequestTimeout) }},
	{flag: "expires-in", yaml: "expires_in", def: fixed("0"),
		help:  "token lifetime in seconds the target pins (bundled: 3600); 0 accepts any positive lifetime",
		field: func(t *Target) any { return &t.ExpiresIn },
		check: func(t *Target) string { return inRange(t.ExpiresIn, 0, -1) }},
	{flag: "strict", yaml: "strict", def: fixed("false"),
		help:  "fail on warnings (SHOULD-level requirements) too",
		field: func(t *Target) any { return &t.Strict }},
	{flag: "profile", yaml: "profile", def: fixed(ProfileRFC6749),
		help:  "the rules the target is held to, joined by commas: rfc6749 (the default), oauth2.1, bcp, and the add-ons rfc10070, oidcc, rfc9068",
		field: func(t *Target) any { return &t.Profile },
		check: func(t *Target) string {
			if _, err := registry.ParseProfile(t.Profile); err != nil {
				return err.Error()
			}
			return ""
		}},
	{flag: "ca-file", yaml: "ca_file",
		help:  "PEM file of certificate authorities to trust besides the system's",
		field: func(t *Target) any { return &t.CAFile }, path: true,
		check: func(t *Target) string { return checkInputFile(t.CAFile) }},
	{yaml: "clients",
		help:  "fixture clients some specs need, each {id, secret, auth_method, private_key or private_key_file, key_id, alg, certificate or certificate_file}: special_characters, without_client_credentials, short_lived, public, brute_force, introspector, second, private_key_jwt, private_key_jwt_2, client_secret_jwt, dpop_bound, mtls, mtls_2; a spec whose fixture is missing is not judged",
		field: func(t *Target) any { return &t.Clients }},
	{flag: "allowed-scopes", yaml: "scopes.allowed", def: fixed("read"),
		help:  "scopes the main client may be granted (a flag or variable separates them with spaces)",
		field: func(t *Target) any { return &t.Scopes.Allowed },
		check: func(t *Target) string { return checkScopes(t.Scopes.Allowed) }},
	{flag: "forbidden-scope", yaml: "scopes.forbidden",
		help:  "a well-formed scope the main client may not be granted; empty switches off the specs that need one",
		field: func(t *Target) any { return &t.Scopes.Forbidden },
		check: func(t *Target) string { return checkForbiddenScope(t.Scopes) }},
	{yaml: "resources",
		help:  "protected resources, each {path, method, scope}: the method one of GET, POST, PUT, PATCH, DELETE, the scope a token needs (empty: any valid token)",
		field: func(t *Target) any { return &t.Resources }},
	{flag: "max-expiry-wait", yaml: "max_expiry_wait", def: fixed("5s"),
		help:  "how long the expiry check waits for a short-lived token to expire",
		field: func(t *Target) any { return &t.MaxExpiryWait },
		check: func(t *Target) string { return positive(t.MaxExpiryWait) }},
	{flag: "load", yaml: "load", def: fixed("0"),
		help:  "concurrent requests of the load checks (label load), at most 1000; 0 leaves them out (bundled: 16)",
		field: func(t *Target) any { return &t.Load },
		check: func(t *Target) string { return inRange(t.Load, 0, 1000) }},
	{flag: "cleartext-url", yaml: "cleartext_url",
		help:  "http:// base URL of the provider's cleartext listener, if it has one, for the TLS-only checks (RFC 6749 §3.2, §10.3)",
		field: func(t *Target) any { return &t.CleartextURL },
		check: func(t *Target) string { return checkBaseURL(t.CleartextURL, "http") }},
	{flag: "expected-failures", yaml: "expected_failures",
		help:  "YAML list of {id, reason}: requirements the target is known to break; their failures do not fail the run, but a listed one that passes does",
		field: func(t *Target) any { return &t.ExpectedFailures }, path: true,
		check: func(t *Target) string { return checkInputFile(t.ExpectedFailures) }},
	{flag: "summary-md", yaml: "summary_md",
		help:  "write the conformance summary as Markdown to this file",
		field: func(t *Target) any { return &t.SummaryMarkdown }, path: true},
	{flag: "summary-html", yaml: "summary_html",
		help:  "write the conformance summary as a self-contained HTML page to this file",
		field: func(t *Target) any { return &t.SummaryHTML }, path: true},
	{flag: "results-json", yaml: "results_json",
		help:  "write every requirement's verdict as JSON to this file",
		field: func(t *Target) any { return &t.ResultsJSON }, path: true},
	{flag: "results-junit", yaml: "results_junit",
		help:  "write every requirement's verdict as JUnit XML to this file",
		field: func(t *Target) any { return &t.ResultsJUnit }, path: true},
	{flag: "introspection-protected-outside-http", yaml: "introspection_protected_outside_http", def: fixed("false"),
		help:  "the provider protects its introspection endpoint by means outside HTTP (network isolation, an authenticating proxy)",
		field: func(t *Target) any { return &t.IntrospectionProtectedOutsideHTTP }},
	{flag: "issuer", yaml: "issuer",
		help:  "the authorization server's issuer identifier: its RFC 8414 metadata fills in the endpoints and capabilities not given otherwise; alone, it also gives the provider URL",
		field: func(t *Target) any { return &t.Issuer },
		check: func(t *Target) string { return checkIssuer(t.Issuer) }},
	{flag: "introspection-path", yaml: "introspection_path",
		help:  "introspection endpoint (RFC 7662): a path or an absolute URL; default: the metadata's",
		field: func(t *Target) any { return &t.IntrospectionPath },
		check: func(t *Target) string { return checkEndpoint(t.IntrospectionPath, true) }},
	{flag: "revocation-path", yaml: "revocation_path",
		help:  "revocation endpoint (RFC 7009): a path or an absolute URL; default: the metadata's",
		field: func(t *Target) any { return &t.RevocationPath },
		check: func(t *Target) string { return checkEndpoint(t.RevocationPath, true) }},
	{flag: "jwks-uri", yaml: "jwks_uri",
		help:  "the provider's JWK set: a path or an absolute URL; default: the metadata's jwks_uri",
		field: func(t *Target) any { return &t.JWKSURI },
		check: func(t *Target) string { return checkEndpoint(t.JWKSURI, true) }},
	{flag: "capabilities", yaml: "capabilities",
		help:  "capabilities the provider has even if its metadata does not advertise them: metadata, introspection, revocation, jwt-client-auth, jwt-at, rs-jwt, resource-indicators, dpop, rs-dpop, mtls",
		field: func(t *Target) any { return &t.Capabilities },
		check: func(t *Target) string { return checkWords(t.Capabilities, "a capability", Capabilities()...) }},
	{flag: "revocation-window", yaml: "revocation_window", def: fixed("10s"),
		help:  "how long a revoked token may still work at the resource server or introspection",
		field: func(t *Target) any { return &t.RevocationWindow },
		check: func(t *Target) string { return positive(t.RevocationWindow) }},
	{flag: "other-jwt", yaml: "other_jwt",
		help:  "a validly signed JWT from the provider that is not an access token, such as an ID token (the resource server must refuse it)",
		field: func(t *Target) any { return &t.OtherJWT }},
	{flag: "user-sub", yaml: "user_sub",
		help:  "the subject of a known user, which a client's token must not carry as its sub",
		field: func(t *Target) any { return &t.UserSub }},
	{flag: "single-valued-parameters", yaml: "single_valued_parameters",
		help:  "extension parameters of the token endpoint the provider documents as single-valued (OAuth 2.1 §3.2)",
		field: func(t *Target) any { return &t.SingleValuedParameters }},
	{yaml: "resource_indicators",
		help:  "resources the provider accepts as RFC 8707 resource indicators, each {resource, path}: the resource URI and a protected GET route served for it (a path or an absolute URL); the first two are used",
		field: func(t *Target) any { return &t.ResourceIndicators }},
	{flag: "dpop-resource-path", yaml: "dpop_resource_path",
		help:  "a protected GET route that requires DPoP-bound tokens (RFC 9449 §7): a path or an absolute URL; given, it declares the rs-dpop capability",
		field: func(t *Target) any { return &t.DPoPResourcePath },
		check: func(t *Target) string { return checkEndpoint(t.DPoPResourcePath, false) }},
	{flag: "mtls-resource-path", yaml: "mtls_resource_path",
		help:  "a protected GET route that requires certificate-bound tokens over mutual TLS (RFC 8705 §3): a path or an absolute URL",
		field: func(t *Target) any { return &t.MTLSResourcePath },
		check: func(t *Target) string { return checkEndpoint(t.MTLSResourcePath, false) }},
}

// route declares the option of a route's path; query says whether it may carry a query.
func route(flag, yaml string, def func(Defaults) string, field func(*Target) *string, query bool, help string) option {
	return option{flag: flag, yaml: yaml, def: def, help: help,
		field: func(t *Target) any { return field(t) },
		check: func(t *Target) string { return checkEndpoint(*field(t), query) }}
}

// envName is the variable of the option with this flag.
func envName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// indexOf finds an option by its flag, or by its description key if it has no flag.
func indexOf(name string) int {
	return slices.IndexFunc(options, func(o option) bool {
		return o.flag == name || (o.flag == "" && o.yaml == name)
	})
}

func (opt option) defaultText(d Defaults) string {
	if opt.def == nil {
		return ""
	}
	return opt.def(d)
}

func (opt option) usage() string {
	where := envName(opt.flag)
	if opt.yaml != "" {
		where += "; target description: " + opt.yaml
	}
	return opt.help + " (" + where + ")"
}

func (opt option) isBool() bool {
	_, ok := opt.field(&Target{}).(*bool)
	return ok
}

// source is where an option's value came from.
type source int

const (
	fromDefault source = iota
	fromFile
	fromEnv
	fromFlag
)

type origin struct {
	src  source
	line int // in the description file
}

// Options is the set of every option, declared once.
type Options struct {
	defaults Defaults
	flags    []*flagValue // by option; nil for one without a flag
	origins  []origin     // by option, as the last Load found them
	file     string       // the description file as the user named it
}

// flagValue keeps a flag as given; Load parses it, so that every source reports a bad value
// the same way.
type flagValue struct {
	def, raw    string
	set, isBool bool
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	if v.set {
		return v.raw
	}
	return v.def
}

func (v *flagValue) Set(s string) error { v.raw, v.set = s, true; return nil }
func (v *flagValue) IsBoolFlag() bool   { return v != nil && v.isBool }

// Register declares every option that has a flag on fs (its help names its CCCONFORM_ variable
// and its description key) and returns the Options that Load uses.
func Register(fs *flag.FlagSet, d Defaults) *Options {
	o := &Options{defaults: d, flags: make([]*flagValue, len(options))}
	for i, opt := range options {
		if opt.flag == "" {
			continue
		}
		o.flags[i] = &flagValue{def: opt.defaultText(d), isBool: opt.isBool()}
		fs.Var(o.flags[i], opt.flag, opt.usage())
	}
	return o
}

// Given reports whether the user set the option, on the command line, in its variable or in the
// target description, as the last Load found; before Load, whether its flag was given. The
// option is named by its flag, or by its description key if it has none ("clients",
// "resources").
func (o *Options) Given(flagName string) bool {
	i := indexOf(flagName)
	switch {
	case i < 0:
		return false
	case o.origins != nil:
		return o.origins[i].src != fromDefault
	}
	return o.flags[i] != nil && o.flags[i].set
}

// Describe lists every option, in the order of the help output. Flag is the flag's name
// without dashes.
func (o *Options) Describe() []OptionInfo {
	out := make([]OptionInfo, len(options))
	for i, opt := range options {
		out[i] = OptionInfo{Flag: opt.flag, YAML: opt.yaml, Default: opt.defaultText(o.defaults), Help: opt.help}
		if opt.flag != "" {
			out[i].Env = envName(opt.flag)
		}
	}
	return out
}

// Load builds the Target: the built-in defaults, then the target description file
// (--target-config), then the CCCONFORM_ variables, then the flags given on the command line.
// getenv is os.Getenv in production; a variable set to the empty string counts as unset. A
// relative file name in the description resolves against the description's directory; one from
// a flag or variable against wd. The error, if any, is one sentence that names the option as
// the user gave it.
func (o *Options) Load(getenv func(string) string, wd string) (Target, error) {
	var t Target
	o.origins, o.file = make([]origin, len(options)), ""
	for i, opt := range options {
		if err := o.set(&t, i, opt.defaultText(o.defaults), origin{}, ""); err != nil {
			return Target{}, err
		}
	}
	cfg := indexOf("target-config")
	if v := getenv(envName("target-config")); v != "" {
		o.file, o.origins[cfg] = v, origin{src: fromEnv}
	}
	if v := o.flags[cfg]; v.set {
		o.file, o.origins[cfg] = v.raw, origin{src: fromFlag}
	}
	if o.file != "" {
		if err := o.readFile(&t, getenv, resolve(wd, o.file)); err != nil {
			return Target{}, err
		}
	}
	for i, opt := range options {
		if opt.flag == "" {
			continue
		}
		if v := getenv(envName(opt.flag)); v != "" {
			if err := o.set(&t, i, v, origin{src: fromEnv}, wd); err != nil {
				return Target{}, err
			}
		}
	}
	for i, v := range o.flags {
		if v != nil && v.set {
			if err := o.set(&t, i, v.raw, origin{src: fromFlag}, wd); err != nil {
				return Target{}, err
			}
		}
	}
	// A public client has no secret: the built-in demo secret does not count against it.
	if t.Client.AuthMethod == AuthNone && !o.Given("client-secret") {
		t.Client.Secret = ""
	}
	for i, opt := range options {
		if opt.check == nil {
			continue
		}
		if msg := opt.check(&t); msg != "" {
			return Target{}, fmt.Errorf("%s %s", o.name(i), msg)
		}
	}
	return t, nil
}

// name is the option as the user gave it: the description's key with the file and line, the
// variable, or the flag.
func (o *Options) name(i int) string {
	opt, org := options[i], o.origins[i]
	switch {
	case org.src == fromFile:
		return fmt.Sprintf("%s:%d: %s", o.file, org.line, opt.yaml)
	case org.src == fromEnv:
		return envName(opt.flag)
	case opt.flag == "":
		return opt.yaml
	}
	return "--" + opt.flag
}

// set gives option i the value text from org; a relative file name resolves against base.
func (o *Options) set(t *Target, i int, text string, org origin, base string) error {
	o.origins[i] = org
	if err := setText(options[i].field(t), text); err != nil {
		return fmt.Errorf("%s %v", o.name(i), err)
	}
	if options[i].path {
		p := options[i].field(t).(*string)
		*p = resolve(base, *p)
	}
	return nil
}

// setText parses a value as a flag gives it.
func setText(field any, s string) error {
	switch p := field.(type) {
	case *string:
		*p = s
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "t", "1", "yes", "y", "on":
			*p = true
		case "false", "f", "0", "no", "n", "off":
			*p = false
		default:
			return fmt.Errorf("%q is not true or false", s)
		}
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 5s", s)
		}
		*p = d
	case *[]string:
		*p = strings.Fields(s)
	default:
		if s != "" {
			return fmt.Errorf("is set in the target description only")
		}
	}
	return nil
}

func resolve(base, p string) string {
	if p == "" || base == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// checkInputFile refuses a file name that names no readable file.
func checkInputFile(p string) string {
	if p == "" {
		return ""
	}
	switch st, err := os.Stat(p); {
	case err != nil:
		return fmt.Sprintf("names %s, which does not exist or cannot be read", p)
	case st.IsDir():
		return fmt.Sprintf("names %s, which is a directory", p)
	}
	return ""
}
