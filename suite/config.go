package suite

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// envPrefix is the common prefix of the environment variables that give the flags their
// defaults: --provider-url defaults from CCCONFORM_PROVIDER_URL, and so on.
//
// Precedence, strongest first: a flag on the command line, its environment variable, the
// target description file (--target-config), the built-in default.
const envPrefix = "CCCONFORM_"

// Target describes the provider under test.
type Target struct {
	// ProviderURL is the provider's base URL. Empty means the bundled reference provider, which
	// the suite starts itself, over TLS, on a free loopback port.
	ProviderURL string `yaml:"provider_url"`
	// Client is a client registered for the client credentials grant that may be granted the
	// scope "read".
	Client Credentials `yaml:"client"`
	// TokenPath, PublicPath, ReadPath and WritePath are the scenario's routes, relative to
	// ProviderURL. An empty path skips the specs that need it.
	TokenPath  string `yaml:"token_path"`
	PublicPath string `yaml:"public_path"`
	ReadPath   string `yaml:"read_path"`
	WritePath  string `yaml:"write_path"`
	// RequestTimeout bounds every request the suite sends.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ExpiresIn is the token lifetime, in seconds, that the target pins (the documented
	// scenario and the bundled provider pin 3600). Zero accepts any positive lifetime and lets a
	// missing expires_in pass with a warning, as RFC 6749 §5.1 allows.
	ExpiresIn int `yaml:"expires_in"`
	// Strict turns warnings (SHOULD-level requirements, and MUST-level ones the checklist grades
	// leniently) into failures.
	Strict bool `yaml:"strict"`
	// CAFile is a PEM file of certificate authorities to trust besides the system's.
	CAFile string `yaml:"ca_file"`
	// Clients are the optional fixture clients; a spec that needs one that is not declared is
	// skipped with the reason.
	Clients Fixtures `yaml:"clients"`
	// Scopes says which scopes the default client may be granted, and names one it may not.
	Scopes Scopes `yaml:"scopes"`
	// Resources are the protected resources and the scope each requires.
	Resources []Resource `yaml:"resources"`
	// MaxExpiryWait bounds how long the expiry check waits for a short-lived token to expire.
	MaxExpiryWait time.Duration `yaml:"max_expiry_wait"`
	// CleartextURL is an http:// URL where the provider's cleartext listener, if it has one,
	// can be probed by the TLS-only checks (RFC 6749 §3.2, §10.3). Without it those checks are
	// not judged: the http:// twin of an https:// port only tests the TLS library's answer.
	CleartextURL string `yaml:"cleartext_url"`
	// Load is how many concurrent requests the load checks send. Zero leaves them out; bundled
	// mode defaults to 16, other providers opt in.
	Load int `yaml:"load"`
}

// Credentials are a client's id and secret.
type Credentials struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
}

// Fixtures are the clients that some rules need besides the default one.
type Fixtures struct {
	// SpecialCharacters has an id and a secret containing space, +, %, /, =, &, : and a
	// non-ASCII letter, which HTTP Basic must form-urlencode (RFC 6749 §2.3.1).
	SpecialCharacters *Credentials `yaml:"special_characters"`
	// WithoutClientCredentials is registered without the client credentials grant.
	WithoutClientCredentials *Credentials `yaml:"without_client_credentials"`
	// ShortLived gets tokens that expire within MaxExpiryWait.
	ShortLived *Credentials `yaml:"short_lived"`
	// Public is a public client (no secret; only its id is used).
	Public *Credentials `yaml:"public"`
	// BruteForce is a throwaway client that the brute-force check hammers with wrong secrets.
	// Never declare a client that matters.
	BruteForce *Credentials `yaml:"brute_force"`
}

// Scopes are the default client's scopes.
type Scopes struct {
	// Allowed are scopes the default client may be granted. Default: read.
	Allowed []string `yaml:"allowed"`
	// Forbidden is a well-formed scope the default client may not be granted.
	Forbidden string `yaml:"forbidden"`
}

// Resource is a protected resource.
type Resource struct {
	Path   string `yaml:"path"`
	Method string `yaml:"method"`
	// Scope is the scope a token needs for it; empty means any valid token.
	Scope string `yaml:"scope"`
}

// target is the configuration of this run.
var target Target

// configFile is --target-config.
var (
	configFile string
	fromEnv    = map[string]bool{}
)

// ScenarioClientID and ScenarioClientSecret are the documented scenario's public demo
// credentials, the defaults of --client-id and --client-secret.
const (
	ScenarioClientID     = "this-client-id-is-for-demo-only"
	ScenarioClientSecret = "this-secret-id-is-for-demo-only"
)

var (
	expectedFailuresFile string
	summaryMarkdownFile  string
	summaryHTMLFile      string
	resultsJSONFile      string
	resultsJUnitFile     string
	profileName          string
)

func init() {
	flag.StringVar(&expectedFailuresFile, "expected-failures", env("EXPECTED_FAILURES", ""),
		"YAML list of {id, reason}: rows the target is known to break; their failures do not fail the run, but a listed row that holds does")
	flag.StringVar(&summaryMarkdownFile, "summary-md", env("SUMMARY_MD", ""), "write the conformance summary as Markdown to this file")
	flag.StringVar(&summaryHTMLFile, "summary-html", env("SUMMARY_HTML", ""), "write the conformance summary as a self-contained HTML page to this file")
	flag.StringVar(&resultsJSONFile, "results-json", env("RESULTS_JSON", ""), "write the per-requirement results (JSON, see the README) to this file")
	flag.StringVar(&resultsJUnitFile, "results-junit", env("RESULTS_JUNIT", ""), "write the per-requirement results as JUnit XML to this file")
	flag.StringVar(&profileName, "profile", env("PROFILE", "rfc6749"), "the rules to judge by: rfc6749 (default), oauth2.1 or bcp")
	flag.StringVar(&configFile, "target-config", env("TARGET_CONFIG", ""),
		"target description file (YAML or JSON): endpoints, clients and fixtures; flags override it")
	flag.StringVar(&target.ProviderURL, "provider-url", env("PROVIDER_URL", ""),
		"base URL of the provider under test; empty starts the bundled reference provider")
	flag.StringVar(&target.Client.ID, "client-id", env("CLIENT_ID", ScenarioClientID),
		"client id of a client registered for the client credentials grant")
	flag.StringVar(&target.Client.Secret, "client-secret", env("CLIENT_SECRET", ScenarioClientSecret),
		"that client's secret")
	flag.StringVar(&target.TokenPath, "token-path", env("TOKEN_PATH", "/token"), "token endpoint path; empty skips the specs that need it")
	flag.StringVar(&target.PublicPath, "public-path", env("PUBLIC_PATH", "/public"), "public route path; empty skips its spec")
	flag.StringVar(&target.ReadPath, "read-path", env("READ_PATH", "/read-resource"), "protected read route path; empty skips the specs that need it")
	flag.StringVar(&target.WritePath, "write-path", env("WRITE_PATH", "/write-resource"), "protected write route path; empty skips the specs that need it")
	flag.DurationVar(&target.RequestTimeout, "request-timeout", envDuration("REQUEST_TIMEOUT", 5*time.Second), "timeout of each request")
	flag.IntVar(&target.ExpiresIn, "expires-in", envInt("EXPIRES_IN", 0),
		"token lifetime in seconds the target pins (bundled: 3600); 0 accepts any positive lifetime")
	flag.BoolVar(&target.Strict, "strict", envBool("STRICT"), "fail on warnings (SHOULD-level requirements) too")
	flag.StringVar(&target.CAFile, "ca-file", env("CA_FILE", ""), "PEM file of certificate authorities to trust besides the system's")
	flag.StringVar(&target.CleartextURL, "cleartext-url", env("CLEARTEXT_URL", ""), "http:// URL of the provider's cleartext listener, if any, for the TLS-only checks")
	flag.IntVar(&target.Load, "load", envInt("LOAD", 0), "concurrent requests of the load checks (label load); 0 leaves them out (bundled: 16)")
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(envPrefix + name); ok {
		fromEnv[name] = true
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(env(name, "")); err == nil {
		return n
	}
	return def
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(env(name, ""))
	return b
}

// flagEnvNames maps each flag that the description file can also set to its variable name.
var flagEnvNames = map[string]string{
	"provider-url": "PROVIDER_URL", "client-id": "CLIENT_ID", "client-secret": "CLIENT_SECRET",
	"token-path": "TOKEN_PATH", "public-path": "PUBLIC_PATH", "read-path": "READ_PATH",
	"write-path": "WRITE_PATH", "request-timeout": "REQUEST_TIMEOUT", "expires-in": "EXPIRES_IN",
	"strict": "STRICT", "ca-file": "CA_FILE", "load": "LOAD", "cleartext-url": "CLEARTEXT_URL",
}

// configure reads the description file, lays the flags and variables that were given over it,
// reads --expected-failures, and validates the result. It runs on every process before the
// specs.
func configure() error {
	configFile, expectedFailuresFile, target.CAFile = inputPath(configFile), inputPath(expectedFailuresFile), inputPath(target.CAFile)
	summaryHTMLFile = outputPath(summaryHTMLFile)
	summaryMarkdownFile, resultsJSONFile, resultsJUnitFile = outputPath(summaryMarkdownFile), outputPath(resultsJSONFile), outputPath(resultsJUnitFile)
	expected, err := judge.LoadExpected(expectedFailuresFile)
	if err != nil {
		return err
	}
	profile, err := registry.ParseProfile(profileName)
	if err != nil {
		return fmt.Errorf("--profile: %v", err)
	}
	defer func() {
		judge.Configure(judge.Settings{Profile: profile, Strict: target.Strict, Expected: expected, Version: Version,
			Redact: redactor.mask, Transcript: transcript})
	}()
	if configFile == "" {
		return target.validate()
	}
	data, err := os.ReadFile(configFile)
	if err != nil {
		return fmt.Errorf("cannot read --target-config: %v", err)
	}
	var file Target
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("--target-config %s is not a valid target description: %v", configFile, err)
	}
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	keep := func(name string) bool { return given[name] || fromEnv[flagEnvNames[name]] }
	mergeString := func(name string, dst *string, v string, set bool) {
		if set && !keep(name) {
			*dst = v
		}
	}
	// A member the file leaves out keeps the built-in default; a path member present but empty
	// switches that route off, as an empty flag does.
	present := map[string]bool{}
	var raw map[string]any
	_ = yaml.Unmarshal(data, &raw)
	for k := range raw {
		present[k] = true
	}
	mergeString("provider-url", &target.ProviderURL, file.ProviderURL, present["provider_url"])
	if present["client"] {
		mergeString("client-id", &target.Client.ID, file.Client.ID, true)
		mergeString("client-secret", &target.Client.Secret, file.Client.Secret, true)
	}
	mergeString("token-path", &target.TokenPath, file.TokenPath, present["token_path"])
	mergeString("public-path", &target.PublicPath, file.PublicPath, present["public_path"])
	mergeString("read-path", &target.ReadPath, file.ReadPath, present["read_path"])
	mergeString("write-path", &target.WritePath, file.WritePath, present["write_path"])
	mergeString("ca-file", &target.CAFile, file.CAFile, present["ca_file"])
	mergeString("cleartext-url", &target.CleartextURL, file.CleartextURL, present["cleartext_url"])
	if present["request_timeout"] && !keep("request-timeout") {
		target.RequestTimeout = file.RequestTimeout
	}
	if present["expires_in"] && !keep("expires-in") {
		target.ExpiresIn = file.ExpiresIn
	}
	if present["strict"] && !keep("strict") {
		target.Strict = file.Strict
	}
	if present["load"] && !keep("load") {
		target.Load = file.Load
	}
	target.Clients, target.Scopes, target.Resources, target.MaxExpiryWait = file.Clients, file.Scopes, file.Resources, file.MaxExpiryWait
	return target.validate()
}

// Paths given on the command line are the user's, relative to where they ran the command; but
// `go tool ginkgo ./suite` and `go test` run the suite in its package directory. inputPath
// finds a relative input file there or in the nearest directory above that has it;
// outputPath writes relative to the module root when the suite runs inside its module (the
// prebuilt binary, run elsewhere, uses the working directory).
func inputPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return filepath.Join(dir, p)
		}
		if filepath.Dir(dir) == dir {
			return p
		}
	}
}

func outputPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if strings.Contains(string(data), "module github.com/ccconform/ccconform\n") {
				return filepath.Join(dir, p)
			}
			break
		}
	}
	return p
}

func flagOrEnvGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given || fromEnv[flagEnvNames[name]]
}

// bundled reports whether the suite runs against the reference provider it starts itself.
func (t Target) bundled() bool { return t.ProviderURL == "" }

// validate checks the configuration before anything is sent, and says what is wrong in one
// sentence.
func (t Target) validate() error {
	if !t.bundled() {
		u, err := url.Parse(t.ProviderURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			return fmt.Errorf("--provider-url %q is not an absolute http:// or https:// URL", t.ProviderURL)
		case u.RawQuery != "" || u.Fragment != "" || strings.Contains(t.ProviderURL, "#"):
			return fmt.Errorf("--provider-url %q has a query or fragment; give the base URL and the paths separately", t.ProviderURL)
		}
	}
	for name, p := range map[string]string{"--token-path": t.TokenPath, "--public-path": t.PublicPath,
		"--read-path": t.ReadPath, "--write-path": t.WritePath} {
		if p != "" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%s %q must start with / (or be empty to skip its specs)", name, p)
		}
		if strings.Contains(p, "?") {
			return fmt.Errorf("%s %q must be a path, without a query", name, p)
		}
	}
	if t.RequestTimeout <= 0 {
		return fmt.Errorf("--request-timeout must be positive, not %s", t.RequestTimeout)
	}
	if t.ExpiresIn < 0 {
		return fmt.Errorf("--expires-in must not be negative")
	}
	if t.Load < 0 || t.Load > 1000 {
		return fmt.Errorf("--load must be between 0 and 1000, not %d", t.Load)
	}
	if t.Client.ID == "" || t.Client.Secret == "" {
		return errors.New("--client-id and --client-secret must not be empty")
	}
	for _, r := range t.Resources {
		if !strings.HasPrefix(r.Path, "/") || r.Method == "" {
			return fmt.Errorf("the resource %q in --target-config needs a path starting with / and a method", r.Path)
		}
	}
	return nil
}

// url returns the absolute URL of a path on the target.
func (t Target) url(path string) string {
	return strings.TrimRight(t.ProviderURL, "/") + path
}

// allowedScopes are the scopes the default client may be granted.
func (t Target) allowedScopes() []string {
	if len(t.Scopes.Allowed) == 0 {
		return []string{"read"}
	}
	return t.Scopes.Allowed
}

// maxExpiryWait bounds the expiry check's wait.
func (t Target) maxExpiryWait() time.Duration {
	if t.MaxExpiryWait <= 0 {
		return 5 * time.Second
	}
	return t.MaxExpiryWait
}

// specTimeout bounds a spec that sends n requests.
func (t Target) specTimeout(n int) time.Duration {
	return time.Duration(n)*t.RequestTimeout + 2*time.Second
}
