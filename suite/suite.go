// Package suite is ccconform's conformance suite for OAuth 2.0 providers that issue tokens with
// the client credentials grant (RFC 6749 §4.4) and protect resources with Bearer tokens
// (RFC 6750). It talks to the provider over HTTP only.
//
//	ccconform run                                                     # the bundled reference
//	ccconform run --provider-url=http://localhost:8080                # any provider
//	go tool ginkgo ./suite -- --provider-url=http://localhost:8080    # the same, through Ginkgo
//
// Files are named after what they check: scenario.go plays the documented server-to-server
// scenario; each rfc*.go file holds the rules of one RFC section. suite.go is the entry both
// ways of running share (Setup and Run for a test, Execute for the ccconform command), the
// version and the exit codes; config.go the target, engine.go the verdict engine's wiring,
// helpers.go, http.go and matchers.go what the specs share.
package suite

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/wire"
)

// Exit codes of a run, the same through the ccconform command and the test binary: 0, the
// provider conforms; 1, a requirement failed (or an expected failure no longer fails); 2,
// nothing was tested: the configuration or the label filter is wrong, the provider cannot be
// reached or refuses the client, or no requirement was judged. Through `go tool ginkgo`, every
// failure exits 1 (the ginkgo command folds the test binary's codes).
const (
	ExitPassed    = 0
	ExitFailed    = 1
	ExitNotTested = 2
)

// bundledRun records that the suite started the reference provider itself.
var bundledRun bool

// lastTable is the outcome table of the run that just ended (nil before the suite's report).
var lastTable *judge.Table

// modulePath is the module the suite belongs to.
const modulePath = "github.com/ccconform/ccconform"

// Version is the suite's version, recorded in every report and summary: stamped by release
// builds with -ldflags "-X github.com/ccconform/ccconform/suite.Version=v1.2.3", else read from
// the build information (the module's version under `go install …@v1.2.3`, or the commit a
// checkout was built at), else "dev".
var Version = "dev"

func init() {
	if Version == "dev" {
		if info, ok := debug.ReadBuildInfo(); ok {
			Version = versionFrom(info)
		}
	}
}

// versionFrom reads the suite's version from a binary's build information: the version of the
// module that holds the suite (the main module, or a dependency of another module's test), or
// for a build of a checkout, "dev" and the commit.
func versionFrom(info *debug.BuildInfo) string {
	mods := append([]*debug.Module{&info.Main}, info.Deps...)
	for _, m := range mods {
		if m.Path != modulePath {
			continue
		}
		if m.Replace != nil && m.Replace.Version != "" {
			m = m.Replace
		}
		if m.Version != "" && m.Version != "(devel)" && m.Replace == nil {
			return m.Version
		}
	}
	if info.Main.Path != modulePath {
		return "dev"
	}
	revision, dirty := "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if revision == "" {
		return "dev"
	}
	return "dev-" + revision + dirty
}

// Bundled is how a run without --provider-url gets its provider: a function that starts one
// and a description of its fixtures. The package that runs the specs (suite_test.go here, and
// the ccconform command) injects the reference provider, so that importing the specs does not
// import it.
type Bundled struct {
	// Start starts the provider and returns its base URL and the PEM of the authority that
	// signed its TLS certificate (nil for plain http); stop ends it.
	Start func() (url string, caPEM []byte, stop func(), err error)
	// Describe fills in what the provider offers (fixture clients, scopes, resources, the
	// pinned lifetime) on the target description, whose ProviderURL is the started provider's;
	// given reports whether the user set an option (by flag name), which Describe then leaves
	// alone.
	Describe func(t *Target, given func(flagName string) bool)
	// OtherJWT, when set, returns a validly signed JWT of the started provider that is not an
	// access token (checklist fixture F-OTHER-JWT). It runs once, after Start.
	OtherJWT func() (string, error)
}

var bundled *Bundled

// SetBundled injects the bundled provider.
func SetBundled(b Bundled) { bundled = &b }

// Setup checks the configuration, the label filter and the provider before Ginkgo starts (a
// run that cannot test anything exits 2 with one sentence) and registers the suite's fail
// handler. Call it in the TestXxx function, before RunSpecs.
func Setup() {
	suiteConfig, _ := GinkgoConfiguration()
	if err := check(suiteConfig); err != nil {
		fmt.Fprintln(os.Stderr, "ccconform:", err)
		os.Exit(ExitNotTested)
	}
	RegisterFailHandler(failRedacted)
}

// Run is Setup and RunSpecs: the whole body of a TestXxx function. NO_COLOR (any value)
// switches colour off, as --no-color does.
func Run(t *testing.T, description string) {
	Setup()
	suiteConfig, reporterConfig := GinkgoConfiguration()
	if os.Getenv("NO_COLOR") != "" {
		reporterConfig.NoColor = true
	}
	RunSpecs(t, description, suiteConfig, reporterConfig)
}

// Execute runs the specs with this Ginkgo configuration, as the ccconform command does, and
// returns the exit code (ExitPassed, ExitFailed or ExitNotTested). It does what Setup and
// RunSpecs do, but returns where they would exit; a reason the run could not start is one
// sentence on stderr. Call it once per process.
func Execute(t GinkgoTestingT, description string, suiteConfig types.SuiteConfig, reporterConfig types.ReporterConfig) int {
	if err := check(suiteConfig); err != nil {
		fmt.Fprintln(os.Stderr, "ccconform:", err)
		return ExitNotTested
	}
	RegisterFailHandler(failRedacted)
	passed := RunSpecs(t, description, suiteConfig, reporterConfig)
	return ExitCode(passed)
}

// ExitCode is the exit code of a run that has ended, passed or not: 2 when no requirement was
// judged (nothing was tested, whatever failed), else 1 for a failure and 0 for a pass.
func ExitCode(passed bool) int {
	switch {
	case lastTable == nil || !lastTable.Judged():
		return ExitNotTested
	case !passed:
		return ExitFailed
	}
	return ExitPassed
}

// CheckLabelFilter says, in one sentence, what is wrong with a Ginkgo label filter.
func CheckLabelFilter(filter string) error {
	if strings.TrimSpace(filter) == "" {
		return nil
	}
	if _, err := types.ParseLabelFilter(filter); err != nil {
		msg := err.Error()
		var ge types.GinkgoError
		if errors.As(err, &ge) {
			// The message is the filter, marked up where the error is, then the reason.
			msg = ge.Message[strings.LastIndex(ge.Message, "\n")+1:]
		}
		msg = ginkgoMarkup.ReplaceAllString(msg, "")
		return fmt.Errorf("--label-filter %q: %s", filter, oneLine(strings.Join(strings.Fields(msg), " "), 200))
	}
	return nil
}

// ginkgoMarkup is the colour markup of Ginkgo's messages: {{red}}, {{/}}.
var ginkgoMarkup = regexp.MustCompile(`\{\{[a-z/-]*\}\}`)

// check is what Setup and Execute check before the specs: the label filter, then (unless it is
// a dry run) the configuration and the provider.
func check(suiteConfig types.SuiteConfig) error {
	if err := CheckLabelFilter(suiteConfig.LabelFilter); err != nil {
		return err
	}
	if suiteConfig.DryRun {
		return nil
	}
	return preflight()
}

// Options documents every option of the suite, in the order of the help output (package
// config declares them; the flags are on flag.CommandLine).
func Options() []config.OptionInfo { return options.Describe() }

// preflight checks the configuration and, for a provider the suite does not start itself, that
// it answers, before Ginkgo runs anything: a run that cannot test is not a conformance failure.
func preflight() error {
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
	URL      string `json:"url"`
	CAPEM    []byte `json:"ca_pem,omitempty"`
	OtherJWT string `json:"other_jwt,omitempty"`
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
	wasBundled := target.bundled()
	target.ProviderURL = rt.URL
	if wasBundled {
		bundledRun = true
		bundled.Describe(&target, flagOrEnvGiven)
		if target.OtherJWT == "" {
			target.OtherJWT = rt.OtherJWT
		}
	}
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
	if target.OtherJWT != "" {
		redactor.add(target.OtherJWT)
	}
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
	rt := runTarget{URL: url, CAPEM: ca}
	if bundled.OtherJWT != nil {
		jwt, err := bundled.OtherJWT()
		if err != nil {
			Fail("ccconform: the bundled provider did not sign its F-OTHER-JWT fixture: " + err.Error())
		}
		rt.OtherJWT = jwt
	}
	return rt
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
	httpClient, rootCAs = newHTTPClient(pool), pool
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
