package suite

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

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

	// Issuer is the authorization server's issuer identifier; the run reads its RFC 8414
	// metadata (discovery.go). Bundled mode sets it to the reference's.
	Issuer string
	// IntrospectionPath, RevocationPath and JWKSURI locate the introspection endpoint, the
	// revocation endpoint and the JWK set (a path or an absolute URL); discovery fills in what
	// the configuration leaves empty from the metadata. TokenPath may be an absolute URL too.
	IntrospectionPath, RevocationPath, JWKSURI string
	// Capabilities are what the configuration declares the provider can do, besides what its
	// metadata advertises (hasCap).
	Capabilities []string
	// RevocationWindow is how long a revoked token may still work.
	RevocationWindow time.Duration
	// OtherJWT is a validly signed JWT of the provider's that is not an access token
	// (F-OTHER-JWT); UserSub the subject of a known user.
	OtherJWT, UserSub string
	// SingleValuedParameters are extension parameters the provider documents as single-valued.
	SingleValuedParameters []string
	// ResourceIndicators are the resources the provider accepts as RFC 8707 resource
	// indicators (F-RES), R1 first.
	ResourceIndicators []ResourceIndicator
	// IntrospectionProtectedOutsideHTTP says introspection is protected by means outside HTTP.
	IntrospectionProtectedOutsideHTTP bool
	// DPoPResourcePath is a protected GET route that requires DPoP (F-RS-DPOP);
	// MTLSResourcePath one that requires certificate-bound tokens over mutual TLS (F-MTLS).
	DPoPResourcePath, MTLSResourcePath string
	// Profile is the run's profile set, as parsed.
	Profile registry.Profile
}

// Credentials are a client's id and secret, and how it authenticates (client_secret_basic,
// the default; client_secret_post; none; private_key_jwt; client_secret_jwt).
type Credentials struct {
	ID, Secret, AuthMethod string
	// Key is a private_key_jwt client's private key (keys.go), with its kid and algorithm.
	Key *jose.JSONWebKey
	// Alg is the JWS algorithm of the client's assertions.
	Alg string
	// Certificate is a mutual TLS client's certificate with its private key (mtls.go).
	Certificate *tls.Certificate
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
	// Introspector may call the introspection endpoint; Second is another ordinary client.
	Introspector, Second *Credentials
	// PrivateKeyJWT and PrivateKeyJWT2 authenticate with private_key_jwt, with different keys;
	// ClientSecretJWT with client_secret_jwt (checklist F-PKJ, F-PKJ2, F-CSJ).
	PrivateKeyJWT, PrivateKeyJWT2, ClientSecretJWT *Credentials
	// DPoPBound is registered with dpop_bound_access_tokens=true (F-DPOP-BOUND); MTLS and
	// MTLS2 authenticate with their TLS certificates, each another's "other certificate"
	// (F-MTLS).
	DPoPBound, MTLS, MTLS2 *Credentials
}

// ResourceIndicator is a resource the provider accepts as an RFC 8707 resource indicator, and
// a protected route of it.
type ResourceIndicator = config.ResourceIndicator

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
	target, err = fromConfig(t)
	if err != nil {
		return err
	}
	target.Profile = profile
	expectedFailuresFile, summaryMarkdownFile, summaryHTMLFile = t.ExpectedFailures, t.SummaryMarkdown, t.SummaryHTML
	resultsJSONFile, resultsJUnitFile = t.ResultsJSON, t.ResultsJUnit
	judge.Configure(judge.Settings{Profile: profile, Strict: t.Strict, Expected: expected, Version: Version,
		Redact: redactor.mask, Transcript: transcript})
	return nil
}

// fromConfig is the specs' view of the configuration; it fails when a client's private key
// cannot be read.
func fromConfig(t config.Target) (Target, error) {
	var keyErr error
	client := func(name string, c *config.Client) *Credentials {
		if c == nil {
			return nil
		}
		cred, err := credentials(*c)
		if err != nil && keyErr == nil {
			keyErr = fmt.Errorf("%s: %w", name, err)
		}
		return cred
	}
	out := Target{ProviderURL: t.ProviderURL, Client: *client("the client", &t.Client), TokenPath: t.TokenPath, PublicPath: t.PublicPath,
		ReadPath: t.ReadPath, WritePath: t.WritePath, RequestTimeout: t.RequestTimeout, ExpiresIn: t.ExpiresIn, Strict: t.Strict,
		CAFile: t.CAFile, MaxExpiryWait: t.MaxExpiryWait, Load: t.Load, CleartextURL: t.CleartextURL,
		Scopes: t.Scopes, Resources: t.Resources,
		Issuer: t.Issuer, IntrospectionPath: t.IntrospectionPath, RevocationPath: t.RevocationPath, JWKSURI: t.JWKSURI,
		Capabilities: t.Capabilities, RevocationWindow: t.RevocationWindow, OtherJWT: t.OtherJWT, UserSub: t.UserSub,
		SingleValuedParameters: t.SingleValuedParameters, ResourceIndicators: t.ResourceIndicators,
		IntrospectionProtectedOutsideHTTP: t.IntrospectionProtectedOutsideHTTP,
		DPoPResourcePath:                  t.DPoPResourcePath, MTLSResourcePath: t.MTLSResourcePath}
	f := t.Clients
	out.Clients = Fixtures{SpecialCharacters: client("clients.special_characters", f.SpecialCharacters),
		WithoutClientCredentials: client("clients.without_client_credentials", f.WithoutClientCredentials),
		ShortLived:               client("clients.short_lived", f.ShortLived), Public: client("clients.public", f.Public),
		BruteForce: client("clients.brute_force", f.BruteForce), Introspector: client("clients.introspector", f.Introspector),
		Second: client("clients.second", f.Second), PrivateKeyJWT: client("clients.private_key_jwt", f.PrivateKeyJWT),
		PrivateKeyJWT2:  client("clients.private_key_jwt_2", f.PrivateKeyJWT2),
		ClientSecretJWT: client("clients.client_secret_jwt", f.ClientSecretJWT),
		DPoPBound:       client("clients.dpop_bound", f.DPoPBound), MTLS: client("clients.mtls", f.MTLS),
		MTLS2: client("clients.mtls_2", f.MTLS2)}
	// Without --provider-url, an issuer names the provider: its origin is the base URL.
	if out.ProviderURL == "" && out.Issuer != "" {
		if u, err := url.Parse(out.Issuer); err == nil {
			out.ProviderURL = u.Scheme + "://" + u.Host
		}
	}
	return out, keyErr
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

// url returns the absolute URL of a path on the target; an absolute URL (an endpoint the
// metadata or the configuration gives on another origin) is returned as it is.
func (t Target) url(path string) string {
	if isAbsoluteURL(path) {
		return path
	}
	return strings.TrimRight(t.ProviderURL, "/") + path
}

// isAbsoluteURL reports whether s is an http:// or https:// URL rather than a path.
func isAbsoluteURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
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
