package suite

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// Target is the specs' view of the provider under test, loaded by package config (see its
// option table for the flags, variables and description keys).
type Target struct {
	// ProviderURL is the provider's base URL. Empty means the bundled reference provider, which
	// the suite starts itself, over TLS, on a free loopback port.
	ProviderURL string
	// Client is a client registered for the client credentials grant that may be granted the
	// scope "read".
	Client Credentials
	// TokenPath, PublicPath, ReadPath and WritePath are the scenario's routes, relative to
	// ProviderURL. An empty path skips the specs that need it.
	TokenPath  string
	PublicPath string
	ReadPath   string
	WritePath  string
	// RequestTimeout bounds every request the suite sends.
	RequestTimeout time.Duration
	// ExpiresIn is the token lifetime, in seconds, that the target pins (the documented
	// scenario and the bundled provider pin 3600). Zero accepts any positive lifetime and lets a
	// missing expires_in pass with a warning, as RFC 6749 §5.1 allows.
	ExpiresIn int
	// Strict turns warnings (SHOULD-level requirements, and MUST-level ones the checklist grades
	// leniently) into failures.
	Strict bool
	// CAFile is a PEM file of certificate authorities to trust besides the system's.
	CAFile string
	// Clients are the optional fixture clients; a spec that needs one that is not declared is
	// skipped with the reason.
	Clients Fixtures
	// Scopes says which scopes the default client may be granted, and names one it may not.
	Scopes Scopes
	// Resources are the protected resources and the scope each requires.
	Resources []Resource
	// MaxExpiryWait bounds how long the expiry check waits for a short-lived token to expire.
	MaxExpiryWait time.Duration
	// CleartextURL is an http:// URL where the provider's cleartext listener, if it has one,
	// can be probed by the TLS-only checks (RFC 6749 §3.2, §10.3). Without it those checks are
	// not judged: the http:// twin of an https:// port only tests the TLS library's answer.
	CleartextURL string
	// Load is how many concurrent requests the load checks send. Zero leaves them out; bundled
	// mode defaults to 16, other providers opt in.
	Load int
}

// Credentials are a client's id and secret, and how it authenticates (client_secret_basic,
// the default; client_secret_post; none).
type Credentials struct {
	ID, Secret, AuthMethod string
}

// Fixtures are the clients that some rules need besides the default one.
type Fixtures struct {
	// SpecialCharacters has an id and a secret containing space, +, %, /, =, &, : and a
	// non-ASCII letter, which HTTP Basic must form-urlencode (RFC 6749 §2.3.1).
	SpecialCharacters *Credentials
	// WithoutClientCredentials is registered without the client credentials grant.
	WithoutClientCredentials *Credentials
	// ShortLived gets tokens that expire within MaxExpiryWait.
	ShortLived *Credentials
	// Public is a public client (no secret; only its id is used).
	Public *Credentials
	// BruteForce is a throwaway client that the brute-force check hammers with wrong secrets.
	// Never declare a client that matters.
	BruteForce *Credentials
}

// Scopes are the default client's scopes (package config documents the fields).
type Scopes = config.Scopes

// Resource is a protected resource and the scope it needs.
type Resource = config.Resource

// target is the configuration of this run.
var target Target

// options declares every option of the suite once (package config): flag, CCCONFORM_
// variable, target description key, default, help and validation.
var options = config.Register(flag.CommandLine, config.Defaults{ClientID: ScenarioClientID, ClientSecret: ScenarioClientSecret,
	TokenPath: "/token", PublicPath: "/public", ReadPath: "/read-resource", WritePath: "/write-resource"})

// ScenarioClientID and ScenarioClientSecret are the documented scenario's public demo
// credentials, the defaults of --client-id and --client-secret.
const (
	ScenarioClientID     = "this-client-id-is-for-demo-only"
	ScenarioClientSecret = "this-secret-id-is-for-demo-only"
)

// The run's files, from the configuration.
var expectedFailuresFile, summaryMarkdownFile, summaryHTMLFile, resultsJSONFile, resultsJUnitFile string

// configure loads the configuration (flags, variables, the target description), reads
// --expected-failures and sets up the verdict engine. It runs on every process before the
// specs.
func configure() error {
	t, err := options.Load(os.Getenv, userDir())
	if err != nil {
		return err
	}
	profile, err := registry.ParseProfile(t.Profile)
	if err != nil {
		return fmt.Errorf("--profile: %v", err)
	}
	expected, err := judge.LoadExpected(t.ExpectedFailures)
	if err != nil {
		return err
	}
	target = fromConfig(t)
	expectedFailuresFile, summaryMarkdownFile, summaryHTMLFile = t.ExpectedFailures, t.SummaryMarkdown, t.SummaryHTML
	resultsJSONFile, resultsJUnitFile = t.ResultsJSON, t.ResultsJUnit
	judge.Configure(judge.Settings{Profile: profile, Strict: t.Strict, Expected: expected, Version: Version,
		Redact: redactor.mask, Transcript: transcript})
	return nil
}

// fromConfig is the specs' view of the configuration.
func fromConfig(t config.Target) Target {
	client := func(c *config.Client) *Credentials {
		if c == nil {
			return nil
		}
		return &Credentials{ID: c.ID, Secret: c.Secret, AuthMethod: c.AuthMethod}
	}
	out := Target{ProviderURL: t.ProviderURL, Client: *client(&t.Client), TokenPath: t.TokenPath, PublicPath: t.PublicPath,
		ReadPath: t.ReadPath, WritePath: t.WritePath, RequestTimeout: t.RequestTimeout, ExpiresIn: t.ExpiresIn, Strict: t.Strict,
		CAFile: t.CAFile, MaxExpiryWait: t.MaxExpiryWait, Load: t.Load, CleartextURL: t.CleartextURL,
		Scopes: t.Scopes, Resources: t.Resources}
	out.Clients = Fixtures{SpecialCharacters: client(t.Clients.SpecialCharacters), WithoutClientCredentials: client(t.Clients.WithoutClientCredentials),
		ShortLived: client(t.Clients.ShortLived), Public: client(t.Clients.Public), BruteForce: client(t.Clients.BruteForce)}
	return out
}

// userDir is where the user's relative paths are relative to. `go tool ginkgo ./suite` and
// `go test` run the suite in its package directory, so inside this module that is the module
// root, where the README's commands are typed; the prebuilt binary run elsewhere uses the
// working directory.
func userDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if strings.Contains(string(data), "module github.com/ccconform/ccconform\n") {
				return dir
			}
			break
		}
	}
	return wd
}

// flagOrEnvGiven reports whether the user set an option (by flag name).
func flagOrEnvGiven(name string) bool { return options.Given(name) }

// bundled reports whether the suite runs against the reference provider it starts itself.
func (t Target) bundled() bool { return t.ProviderURL == "" }

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
