package proof

import (
	"github.com/ccconform/ccconform/suite/registry"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// A bad configuration or an unreachable provider fails before any spec runs, quickly, with one
// sentence that says what is wrong.
func TestBadConfigurationFailsFast(t *testing.T) {
	closed := closedPort(t)
	cases := []struct {
		name, want string
		args       []string
	}{
		{"a URL without a scheme", `--provider-url "localhost:8080" is not an absolute http:// or https:// URL`, []string{"-provider-url=localhost:8080"}},
		{"a URL with a fragment", "has a query or fragment", []string{"-provider-url=http://localhost:8080/#x"}},
		{"a path without a slash", `--token-path "token" is neither a path starting with / nor an absolute http:// or https:// URL`, []string{"-provider-url=http://" + closed, "-token-path=token"}},
		{"a zero timeout", "--request-timeout must be positive", []string{"-provider-url=http://" + closed, "-request-timeout=0s"}},
		{"nothing listens", "cannot reach the provider at http://" + closed + ": the connection was refused", []string{"-provider-url=http://" + closed}},
		{"an unknown host", "was not found", []string{"-provider-url=http://no-such-host.invalid"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			run := runSuite(t, 30*time.Second, c.args...)
			if run.exitCode != 2 {
				t.Fatalf("exit %d, not 2 (nothing tested):\n%s", run.exitCode, run.output)
			}
			if !strings.Contains(run.output, c.want) {
				t.Errorf("the output does not say %q:\n%s", c.want, run.output)
			}
			if n := run.count(types.SpecStatePassed) + run.count(types.SpecStateFailed); n != 0 {
				t.Errorf("%d specs ran", n)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s to fail", d)
			}
		})
	}
}

// Every spec carries a requirement ID and one level label; the suite refuses to run one that
// does not, and a dry run shows they all do.
func TestEverySpecIsLabelled(t *testing.T) {
	run := runSuite(t, 60*time.Second, "-ginkgo.dry-run")
	if run.exitCode != 0 {
		t.Fatalf("the dry run failed:\n%s", run.output)
	}
	n := 0
	for _, s := range run.specs {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		n++
		var ids, levels int
		for _, l := range s.Labels() {
			if isRequirementID(l) {
				ids++
			}
			if strings.HasPrefix(l, "level:") {
				levels++
			}
		}
		if ids == 0 || levels != 1 {
			t.Errorf("%s: labels %v lack a requirement ID or one level", s.FullText(), s.Labels())
		}
	}
	if n == 0 {
		t.Fatal("the dry run listed no spec")
	}
}

// isRequirementID: checklist rows (C-…), scenario steps (S2S-n) and load checks (L-n).
func isRequirementID(label string) bool {
	_, ok := registry.Lookup(label)
	return ok
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// The target description file: YAML or JSON, strict about its members, and overridden by flags.
func TestTargetDescriptionFile(t *testing.T) {
	write := func(name, content string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("an unknown member is refused", func(t *testing.T) {
		t.Parallel()
		path := write("bad.yaml", "provider_url: http://localhost:8080\nclient_secrett: x\n")
		run := runSuite(t, 30*time.Second, "-target-config="+path)
		if run.exitCode != 2 || !strings.Contains(run.output, "bad.yaml:2: client_secrett is not an option of the target description") {
			t.Errorf("exit %d:\n%s", run.exitCode, run.output)
		}
	})
	t.Run("a missing file is refused", func(t *testing.T) {
		t.Parallel()
		run := runSuite(t, 30*time.Second, "-target-config=/no/such/file.yaml")
		if run.exitCode != 2 || !strings.Contains(run.output, "--target-config names /no/such/file.yaml, which does not exist") {
			t.Errorf("exit %d:\n%s", run.exitCode, run.output)
		}
	})
	t.Run("JSON works and flags override it", func(t *testing.T) {
		t.Parallel()
		flags := startReference(t, nil)
		// The file names a wrong secret and a wrong URL; the flags give the right ones.
		path := write("target.json", `{"provider_url": "http://127.0.0.1:1", "expires_in": 3600,
			"client": {"id": "this-client-id-is-for-demo-only", "secret": "wrong"}}`)
		args := []string{flagNamed(t, flags, "-provider-url="), flagNamed(t, flags, "-ca-file="), "-target-config=" + path, "-client-secret=this-secret-id-is-for-demo-only",
			"-ginkgo.label-filter=scenario"}
		run := runSuite(t, 60*time.Second, args...)
		if run.exitCode != 0 {
			t.Errorf("exit %d:\n%s", run.exitCode, describeFailures(run))
		}
	})
}

// flagNamed is the flag of flags that starts with prefix.
func flagNamed(t *testing.T, flags []string, prefix string) string {
	t.Helper()
	for _, f := range flags {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	t.Fatalf("no %s among %v", prefix, flags)
	return ""
}

// mayOnly are the requirement IDs whose specs only record what the provider does (MAY rows):
// there is nothing for a fault to break.
var mayOnly = map[string]string{
	"C-6749-2.3.1-c":  "body credentials are optional; the spec records whether they are accepted",
	"C-6749-3.3-c":    "the server may narrow or ignore the requested scope; the spec records which",
	"C-6750-2.2-a":    "form-body tokens are optional; the spec records whether they are read",
	"C-6750-2.3-a":    "query tokens are optional; the spec records whether they are read",
	"C-6750-3-g":      "realm, scope, error_description and error_uri are optional; the spec records them",
	"C-6749-5.2-c":    "400 or 401 for a failed body authentication are both allowed; the spec records which (a 401 without a challenge is H-9110-15.5.2-a's)",
	"H-9110-12.5.3-a": "a provider may compress against Accept-Encoding: identity only as far as the suite can see; it records the coding",
	"C-21-2.4.1-b":    "OAuth 2.1 makes HTTP Basic optional; the spec records whether it is accepted",
	"C-21-4.2-a":      "OAuth 2.1 leaves refresh tokens with client credentials to the server's policy; the spec records whether one is issued",
	"C-9449-11.1-b":   "RFC 9449 §11.1 lets a server refuse a replayed proof (MAY); the spec records whether it does",
}

// Every requirement the suite covers has a fault in the catalogue that breaks it, unless it is a
// MAY the suite only records.
func TestEveryCoveredRuleHasAFault(t *testing.T) {
	run := runSuite(t, 60*time.Second, "-ginkgo.dry-run")
	covered := map[string]bool{}
	for _, s := range run.specs {
		for _, l := range s.Labels() {
			if isRequirementID(l) {
				covered[l] = true
			}
		}
	}
	broken := map[string]bool{}
	for _, f := range catalogue {
		broken[f.breaks] = true
	}
	for id := range covered {
		if !broken[id] && mayOnly[id] == "" {
			t.Errorf("no fault breaks %s, which the suite covers", id)
		}
	}
	for id := range mayOnly {
		if !covered[id] {
			t.Errorf("%s is listed as a MAY the suite records, but no spec carries it", id)
		}
	}
	if len(covered) < 70 {
		t.Errorf("only %d requirement IDs are covered", len(covered))
	}
}

// A run that tests nothing fails: a label filter that selects no spec is a mistake, not a pass.
func TestARunThatTestsNothingFails(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	flags := startReference(t, nil)
	run := runSuite(t, 60*time.Second, append(flags, "-ginkgo.label-filter=no-such-label")...)
	if run.exitCode == 0 || !strings.Contains(run.output, "no requirement was judged, so nothing was tested") {
		t.Errorf("exit %d:\n%s", run.exitCode, lastLines(run.output, 20))
	}
}

// The conformance summary: one row per requirement, grouped by section, failures first, in
// Markdown and HTML.
func TestConformanceSummary(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	dir := t.TempDir()
	md, html, junit := filepath.Join(dir, "summary.md"), filepath.Join(dir, "summary.html"), filepath.Join(dir, "junit.xml")
	flags := serveTLS(t, referenceHandler(t, editResponses(isGoodBasic, when(200, delHeader("Cache-Control")))))
	run := runSuite(t, 60*time.Second, append(flags, "-ginkgo.label-filter=!slow", "-summary-md="+md, "-summary-html="+html,
		"-ginkgo.junit-report="+junit)...)
	if run.exitCode == 0 {
		t.Fatal("the faulty provider passed")
	}
	m, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(m)
	// Sections with a failure come first: the first section has one, and §5.1's comes before
	// the first section that has none.
	sections := strings.Split(text, "\n## ")[1:]
	firstClean := len(sections)
	for i, s := range sections {
		if !strings.Contains(s, "❌ failed") {
			firstClean = i
			break
		}
	}
	if firstClean == 0 || !slices.ContainsFunc(sections[:firstClean], func(s string) bool { return strings.HasPrefix(s, "RFC 6749 §5.1\n") }) {
		t.Errorf("the failing sections do not come first: %q", firstLinesOf(sections))
	}
	for _, want := range []string{
		"| ❌ failed | [C-6749-5.1-g](https://www.rfc-editor.org/rfc/rfc6749#section-5.1) | MUST |",
		"| ✅ passed | [C-6750-2.1-b](https://www.rfc-editor.org/rfc/rfc6750#section-2.1) | MUST |",
		"| ✅ passed | S2S-1 | MUST |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Markdown summary lacks %q", want)
		}
	}
	// The JUnit report names each spec with its labels (requirement IDs and level) and carries
	// the failure's rule and its redacted exchange.
	j, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"C-6749-5.1-g, rfc6749:5.1, level:MUST", `<failure message="RFC 6749 §5.1 (MUST, C-6749-5.1-g)`,
		"HTTP exchanges (credentials and tokens redacted)", "Authorization: Basic [redacted"} {
		if !strings.Contains(string(j), want) {
			t.Errorf("the JUnit report lacks %q", want)
		}
	}
	h, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<tr class="failed">`, `href="https://www.rfc-editor.org/rfc/rfc6749#section-5.1"`} {
		if !strings.Contains(string(h), want) {
			t.Errorf("the HTML summary lacks %q", want)
		}
	}
}

func firstLinesOf(sections []string) []string {
	out := make([]string, len(sections))
	for i, s := range sections {
		out[i] = firstLine(s)
	}
	return out
}
