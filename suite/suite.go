// Package suite is ccconform's conformance suite for OAuth 2.0 providers that issue tokens with
// the client credentials grant (RFC 6749 §4.4) and protect resources with Bearer tokens
// (RFC 6750). It talks to the provider over HTTP only.
//
//	go tool ginkgo ./suite                                            # the bundled reference
//	go tool ginkgo ./suite -- --provider-url=http://localhost:8080    # any provider
//
// Files are named after what they check: scenario_test.go plays the documented
// server-to-server scenario; each rfc*_test.go file holds the rules of one RFC section.
// config_test.go holds the flags and the target description, http_test.go the HTTP client and
// its redacted transcripts, oauth_test.go the OAuth matchers, token_test.go the token endpoint
// and resource helpers, levels_test.go the MUST/SHOULD/MAY grading and the summary,
// requirements_test.go the requirement IDs that label every spec.
package suite

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/wire"
)

// Exit codes of a run: 0, the provider conforms; 1, a spec failed (or an expected failure no
// longer fails, or no spec ran); 2, the configuration is wrong or the provider cannot be
// reached, so nothing was tested. Through `go tool ginkgo`, every failure exits 1.
const exitNotTested = 2

// bundledRun records that the suite started the reference provider itself.
var bundledRun bool

// Version is the suite's version, recorded in every report; release builds stamp it with
// -ldflags "-X github.com/ccconform/ccconform/suite.Version=v1.2.3".
var Version = "dev"

// Bundled is how a run without --provider-url gets its provider: a function that starts one
// and a description of its fixtures. The package that runs the specs (suite_test.go here)
// injects the reference provider, so that importing the specs does not import it.
type Bundled struct {
	// Start starts the provider and returns its base URL and the PEM of the authority that
	// signed its TLS certificate (nil for plain http); stop ends it.
	Start func() (url string, caPEM []byte, stop func(), err error)
	// Describe fills in what the provider offers (fixture clients, scopes, resources, the
	// pinned lifetime) on the target description; given reports whether the user set an
	// option (by flag name), which Describe then leaves alone.
	Describe func(t *Target, given func(flagName string) bool)
}

var bundled *Bundled

// SetBundled injects the bundled provider.
func SetBundled(b Bundled) { bundled = &b }

// Setup checks the configuration and the provider before Ginkgo starts (a run that cannot test
// anything exits 2 with one sentence) and registers the suite's fail handler. Call it in the
// TestXxx function, before RunSpecs.
func Setup() {
	if err := preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "ccconform:", err)
		os.Exit(exitNotTested)
	}
	RegisterFailHandler(failRedacted)
}

// Run is Setup and RunSpecs: the whole body of a TestXxx function.
func Run(t *testing.T, description string) {
	Setup()
	RunSpecs(t, description)
}

// preflight checks the configuration and, for a provider the suite does not start itself, that
// it answers, before Ginkgo runs anything: a run that cannot test is not a conformance failure.
func preflight() error {
	suiteConfig, _ := GinkgoConfiguration()
	if suiteConfig.DryRun {
		return nil
	}
	if err := configure(); err != nil {
		return fmt.Errorf("bad configuration: %w", err)
	}
	redactSecrets()
	if target.bundled() {
		if bundled == nil {
			return errors.New("no --provider-url, and this build of the suite has no bundled provider")
		}
		return nil
	}
	if err := setUpHTTPClient(nil); err != nil {
		return fmt.Errorf("bad configuration: %w", err)
	}
	if err := checkReachable(context.Background(), target.ProviderURL); err != nil {
		return fmt.Errorf("cannot reach the provider at %s: %w", target.ProviderURL, err)
	}
	discover(context.Background())
	return checkClient(context.Background())
}

// checkClient sends one valid token request with the main client before any spec runs, so that
// the user's own mistakes read as one sentence and nothing tested, not as a page of provider
// failures: a refused client (a wrong --client-id or --client-secret, which would also feed
// the provider's brute-force protection), a token path that is not there, or a provider that
// is unavailable or rate limiting. Any other answer, right or wrong, is for the specs to judge.
func checkClient(ctx context.Context) error {
	if target.TokenPath == "" {
		return nil
	}
	authorization, body := target.Client.authenticate(form("scope", strings.Join(target.allowedScopes()[:1], " ")))
	req, err := buildRequest(request{Method: http.MethodPost, Path: target.TokenPath, Note: "preflight",
		Form: body, Authorization: authorization, NoRetry: true})
	if err != nil {
		return err
	}
	x := httpClient.Do(ctx, req)
	if x.Err != nil {
		// The provider answered the reachability check; a token request it does not answer is
		// for the specs to report.
		return nil
	}
	res := x.Response
	code := ""
	if obj, err := decodeObject(x.Body); err == nil {
		code, _ = obj.members["error"].(string)
	}
	switch {
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("the token endpoint %s answered 404 Not Found: check --token-path (or token_path in the target description)", redactor.mask(target.url(target.TokenPath)))
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		after := res.Header.Get("Retry-After")
		if after != "" {
			after = ", Retry-After: " + redactor.mask(oneLine(after, 40))
		}
		return fmt.Errorf("the provider is unavailable or rate limiting (%s%s): nothing was tested; try again later", res.Status, after)
	case res.StatusCode == http.StatusUnauthorized || code == "invalid_client":
		if code != "" {
			code = ", " + redactor.mask(oneLine(code, 40))
		}
		return fmt.Errorf("the provider refused the client's credentials (%s%s): check --client-id, --client-secret and --client-auth-method (client.id, client.secret and client.auth_method in the target description)",
			res.Status, code)
	}
	return nil
}

// runTarget is what process 1 hands every process: where the provider is, and the certificate
// authority of the bundled provider, which serves TLS.
type runTarget struct {
	URL   string `json:"url"`
	CAPEM []byte `json:"ca_pem,omitempty"`
}

// Process 1 starts the bundled provider when no URL was given; every process then gets the
// provider's URL (preflight has checked the configuration and an external provider already).
var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	rt := runTarget{URL: target.ProviderURL}
	if target.bundled() {
		rt = startBundledProvider()
		Expect(setUpHTTPClient(rt.CAPEM)).To(Succeed())
		if err := checkReachable(ctx, rt.URL); err != nil {
			Fail(fmt.Sprintf("ccconform: the bundled provider at %s does not answer: %v", rt.URL, err))
		}
	}
	data, _ := json.Marshal(rt)
	return data
}, func(data []byte) {
	var rt runTarget
	Expect(json.Unmarshal(data, &rt)).To(Succeed())
	if target.bundled() {
		bundled.Describe(&target, flagOrEnvGiven)
		bundledRun = true
	}
	target.ProviderURL = rt.URL
	Expect(setUpHTTPClient(rt.CAPEM)).To(Succeed())
	redactSecrets()
	if bundledRun || target.Issuer != "" {
		// Every process reads the metadata; preflight's copy is process 1's alone.
		discover(context.Background())
	}
})

// redactSecrets registers every client's credentials with the redactor.
func redactSecrets() {
	redactor.credentials(target.Client)
	f := target.Clients
	for _, c := range []*Credentials{f.SpecialCharacters, f.WithoutClientCredentials, f.ShortLived, f.BruteForce,
		f.Introspector, f.Second, f.PrivateKeyJWT, f.PrivateKeyJWT2, f.ClientSecretJWT} {
		if c != nil {
			redactor.credentials(*c)
		}
	}
}

// startBundledProvider starts the injected provider until the suite ends (the cleanup runs on
// process 1 after every process is done).
func startBundledProvider() runTarget {
	url, ca, stop, err := bundled.Start()
	if err != nil {
		Fail("ccconform: the bundled provider did not start: " + err.Error())
	}
	DeferCleanup(stop)
	return runTarget{URL: url, CAPEM: ca}
}

// setUpHTTPClient makes the suite's client trust the system's authorities, --ca-file's and the
// bundled provider's.
func setUpHTTPClient(bundledCA []byte) error {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if target.CAFile != "" {
		pemData, err := os.ReadFile(target.CAFile)
		if err != nil {
			return fmt.Errorf("cannot read --ca-file: %v", err)
		}
		if !pool.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("--ca-file %s holds no PEM certificate", target.CAFile)
		}
	}
	if bundledCA != nil {
		pool.AppendCertsFromPEM(bundledCA)
	}
	httpClient = newHTTPClient(pool)
	return nil
}

// checkReachable sends one GET to the base URL: any HTTP answer, even a 404, means the provider
// is there.
func checkReachable(ctx context.Context, url string) error {
	x := httpClient.Do(ctx, &wire.Request{Method: http.MethodGet, URL: strings.TrimRight(url, "/") + "/", Note: "reachable?", NoRetry: true})
	if x.Err != nil {
		return errors.New(wire.Describe(x.Err, target.RequestTimeout))
	}
	return nil
}
