package suite

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
)

// envPrefix is the common prefix of the environment variables that give the flags their
// defaults: --provider-url defaults from CCCONFORM_PROVIDER_URL, and so on. A flag beats its
// variable.
const envPrefix = "CCCONFORM_"

// Target describes the provider under test. Every field has a flag and an environment variable;
// see init.
type Target struct {
	// ProviderURL is the provider's base URL. Empty means the bundled reference provider, which
	// the suite starts itself on a free loopback port.
	ProviderURL string
	// ClientID and ClientSecret are the credentials of a client registered for the client
	// credentials grant that may be granted the scope "read".
	ClientID     string
	ClientSecret string
	// TokenPath, PublicPath, ReadPath and WritePath are the scenario's routes, relative to
	// ProviderURL. An empty path skips the specs that need it.
	TokenPath  string
	PublicPath string
	ReadPath   string
	WritePath  string
	// RequestTimeout bounds every request the suite sends.
	RequestTimeout time.Duration
	// ExpiresIn is the token lifetime, in seconds, that the target pins (the documented scenario
	// and the bundled provider pin 3600). Zero accepts any positive lifetime and lets a missing
	// expires_in pass with a warning, as RFC 6749 §5.1 allows.
	ExpiresIn int
	// Strict turns warnings (SHOULD-level requirements, and MUST-level ones the checklist grades
	// leniently) into failures.
	Strict bool
}

// target is the configuration of this run: flags and environment first, then, in
// SynchronizedBeforeSuite, the bundled provider's URL when no provider URL was given.
var target Target

// expiresInSet records whether --expires-in was given, so that bundled mode can pin 3600
// without overriding an explicit choice.
var expiresInSet bool

func init() {
	flag.StringVar(&target.ProviderURL, "provider-url", env("PROVIDER_URL", ""),
		"base URL of the provider under test; empty starts the bundled reference provider")
	flag.StringVar(&target.ClientID, "client-id", env("CLIENT_ID", provider.DemoClientID),
		"client id of a client registered for the client credentials grant")
	flag.StringVar(&target.ClientSecret, "client-secret", env("CLIENT_SECRET", provider.DemoClientSecret),
		"that client's secret")
	flag.StringVar(&target.TokenPath, "token-path", env("TOKEN_PATH", "/token"), "token endpoint path; empty skips the specs that need it")
	flag.StringVar(&target.PublicPath, "public-path", env("PUBLIC_PATH", "/public"), "public route path; empty skips its spec")
	flag.StringVar(&target.ReadPath, "read-path", env("READ_PATH", "/read-resource"), "protected read route path; empty skips the specs that need it")
	flag.StringVar(&target.WritePath, "write-path", env("WRITE_PATH", "/write-resource"), "protected write route path; empty skips the specs that need it")
	flag.DurationVar(&target.RequestTimeout, "request-timeout", envDuration("REQUEST_TIMEOUT", 5*time.Second), "timeout of each request")
	flag.Func("expires-in", "token lifetime in seconds the target pins (bundled: 3600); 0 accepts any positive lifetime", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errors.New("not a whole number of seconds")
		}
		target.ExpiresIn, expiresInSet = n, true
		return nil
	})
	if v, ok := os.LookupEnv(envPrefix + "EXPIRES_IN"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			target.ExpiresIn, expiresInSet = n, true
		}
	}
	flag.BoolVar(&target.Strict, "strict", envBool("STRICT"), "fail on warnings (SHOULD-level requirements) too")
}

// env returns the variable's value when it is set (even to the empty string, which is how a path
// is switched off), and def otherwise.
func env(name, def string) string {
	if v, ok := os.LookupEnv(envPrefix + name); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(envPrefix + name)); err == nil {
		return d
	}
	return def
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(envPrefix + name))
	return b
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
		case u.Fragment != "" || strings.Contains(t.ProviderURL, "#"):
			// RFC 6749 §3.2: the token endpoint URI must not include a fragment.
			return fmt.Errorf("--provider-url %q has a fragment, which no endpoint URI may have", t.ProviderURL)
		case u.RawQuery != "":
			return fmt.Errorf("--provider-url %q has a query; give the base URL and the paths separately", t.ProviderURL)
		}
	}
	for name, p := range map[string]string{"--token-path": t.TokenPath, "--public-path": t.PublicPath,
		"--read-path": t.ReadPath, "--write-path": t.WritePath} {
		if p != "" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%s %q must start with / (or be empty to skip its specs)", name, p)
		}
		if strings.ContainsAny(p, "?#") {
			return fmt.Errorf("%s %q must be a path, without query or fragment", name, p)
		}
	}
	if t.RequestTimeout <= 0 {
		return fmt.Errorf("--request-timeout must be positive, not %s", t.RequestTimeout)
	}
	if t.ClientID == "" || t.ClientSecret == "" {
		return errors.New("--client-id and --client-secret must not be empty")
	}
	return nil
}

// url returns the absolute URL of a path on the target.
func (t Target) url(path string) string {
	return strings.TrimRight(t.ProviderURL, "/") + path
}

// specTimeout bounds a spec that sends n requests.
func (t Target) specTimeout(n int) time.Duration {
	return time.Duration(n)*t.RequestTimeout + 2*time.Second
}
