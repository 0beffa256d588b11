package suite

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
)

// How a requirement's level decides a run:
//
//   - MUST: a violation fails the spec (a plain Expect whose description names the rule).
//   - SHOULD, and the MUST rows the checklist grades leniently: a violation is a warning
//     (expectSoftly). The spec passes, the warning is a report entry (so it is in the JSON and
//     JUnit reports) and is listed in the summary; --strict makes it a failure.
//   - MAY: what the provider does is recorded as information (observe).

// Names of the report entries the suite writes.
const (
	entryWarning   = "ccconform:warning"
	entryInfo      = "ccconform:info"
	entryExchanges = "HTTP exchanges (credentials and tokens redacted)"
	entryLatency   = "latency"
	entryExpected  = "ccconform:expected-failure"
)

// finding is the value of a warning or information report entry.
type finding struct {
	ID      string `json:"id"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Exchanges is the spec's HTTP transcript up to the finding.
	Exchanges string `json:"exchanges,omitempty"`
}

// expectSoftly runs check, a set of assertions on g for the requirement id. If any fails, the
// run gets a warning naming the requirement, or, with --strict, the spec fails.
func expectSoftly(id string, check func(g Gomega)) {
	GinkgoHelper()
	var failures []string
	g := NewGomega(func(message string, _ ...int) { failures = append(failures, message) })
	check(g)
	if len(failures) == 0 {
		return
	}
	r := rule(id)
	if target.Strict {
		Fail(redactor.mask(fmt.Sprintf("%s\n(a warning without --strict)\n%s", r, strings.Join(failures, "\n"))))
	}
	f := finding{ID: id, Rule: r.String(), Message: redactor.mask(strings.Join(failures, "\n")), Exchanges: transcript()}
	GinkgoWriter.Printf("WARNING %s\n  %s\n\n", r, indent(f.Message, "  "))
	AddReportEntry(entryWarning, f, ReportEntryVisibilityFailureOrVerbose)
}

// observe records which optional behaviour (a MAY) the provider has.
func observe(id, format string, args ...any) {
	f := finding{ID: id, Rule: rule(id).String(), Message: fmt.Sprintf(format, args...)}
	GinkgoWriter.Printf("INFO %s: %s\n", id, f.Message)
	AddReportEntry(entryInfo, f, ReportEntryVisibilityFailureOrVerbose)
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// Every spec carries at least one requirement ID and exactly one level; a spec without them
// refuses to run. The project's tests check the same over a dry run of the whole suite.
var _ = BeforeEach(func() {
	exchangesMu.Lock()
	exchanges = nil
	exchangesMu.Unlock()
	var ids, levels int
	for _, l := range CurrentSpecReport().Labels() {
		if _, ok := requirements[l]; ok {
			ids++
		}
		if strings.HasPrefix(l, "level:") {
			levels++
		}
	}
	if ids == 0 || levels != 1 {
		Fail("this spec must carry a requirement ID and one level label (use specLabels); it was not run")
	}
})

// A failing spec shows every HTTP exchange it made.
var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() && len(exchanges) > 0 {
		AddReportEntry(entryExchanges, transcript())
	}
})

// The summary closes every run: specs by level, passed, warned, failed and skipped; then the
// warnings and the skipped specs with their reasons.
var _ = ReportAfterSuite("ccconform summary", func(r Report) {
	if listCoverage {
		fmt.Fprint(os.Stdout, coverage(r))
		return
	}
	fmt.Fprint(os.Stdout, summarize(r))
	checkGate(r)
})

type levelCounts struct{ passed, warned, failed, expected, skipped int }

func summarize(r Report) string {
	counts := map[string]*levelCounts{}
	var warnings, skips, observed, latencies []string
	expectedSpecs := map[string]int{}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		level := specLevel(s.Labels())
		c := counts[level]
		if c == nil {
			c = &levelCounts{}
			counts[level] = c
		}
		switch {
		case s.State == types.SpecStateSkipped && s.Failure.Message == "":
			// not selected (label filter, focus): neither run nor skipped by the suite
			continue
		case s.State.Is(types.SpecStatePassed):
			for _, e := range s.ReportEntries {
				if e.Name == entryLatency {
					latencies = append(latencies, "  "+e.StringRepresentation())
				}
			}
			for _, o := range findings(s, entryInfo) {
				observed = append(observed, fmt.Sprintf("  %s  %s", o.ID, o.Message))
			}
			ws := findings(s, entryWarning)
			if len(ws) == 0 {
				c.passed++
				break
			}
			c.warned++
			for _, w := range ws {
				warnings = append(warnings, fmt.Sprintf("  %s  %s\n      %s\n      in: %s",
					w.ID, w.Rule, indent(firstLines(w.Message, 4), "      "), s.FullText()))
			}
		case s.State == types.SpecStateSkipped && len(findings(s, entryExpected)) > 0:
			c.expected++
			for _, e := range findings(s, entryExpected) {
				expectedSpecs[e.ID]++
			}
		case s.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			c.skipped++
			skips = append(skips, fmt.Sprintf("  %s\n      %s", s.FullText(), s.Failure.Message))
		default:
			c.failed++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nccconform summary (strict: %v)\n", target.Strict)
	fmt.Fprintf(&b, "  %-8s %7s %7s %7s %9s %8s\n", "level", "passed", "warned", "failed", "expected", "skipped")
	ran := 0
	for _, level := range []string{"MUST", "SHOULD", "MAY"} {
		if c := counts[level]; c != nil {
			fmt.Fprintf(&b, "  %-8s %7d %7d %7d %9d %8d\n", level, c.passed, c.warned, c.failed, c.expected, c.skipped)
			ran += c.passed + c.warned + c.failed + c.expected + c.skipped
		}
	}
	if ran == 0 {
		b.WriteString("  no spec ran\n")
	}
	if len(warnings) > 0 {
		fmt.Fprintf(&b, "Warnings (%d; each fails the run under --strict):\n%s\n", len(warnings), strings.Join(warnings, "\n"))
	}
	if len(expectedSpecs) > 0 {
		fmt.Fprintf(&b, "Expected failures (listed in %s):\n", expectedFailuresFile)
		for _, id := range slices.Sorted(maps.Keys(expectedSpecs)) {
			fmt.Fprintf(&b, "  %s  failed in %d specs, as listed: %s\n", id, expectedSpecs[id], expected[id])
		}
	}
	if len(latencies) > 0 {
		fmt.Fprintf(&b, "Latency under load:\n%s\n", strings.Join(latencies, "\n"))
	}
	if len(observed) > 0 {
		fmt.Fprintf(&b, "Observed (information):\n%s\n", strings.Join(observed, "\n"))
	}
	if len(skips) > 0 {
		fmt.Fprintf(&b, "Skipped (%d):\n%s\n", len(skips), strings.Join(skips, "\n"))
	}
	return b.String()
}

func specLevel(labels []string) string {
	for _, l := range labels {
		if level, ok := strings.CutPrefix(l, "level:"); ok {
			return level
		}
	}
	return "unlabelled"
}

// findings decodes the suite's report entries of one kind. In a parallel run the values arrive
// as JSON; in a serial run they are still Go values.
func findings(s types.SpecReport, name string) []finding {
	var out []finding
	for _, e := range s.ReportEntries {
		if e.Name != name {
			continue
		}
		if f, ok := e.Value.GetRawValue().(finding); ok {
			out = append(out, f)
			continue
		}
		var f finding
		if json.Unmarshal([]byte(e.Value.AsJSON), &f) == nil {
			out = append(out, f)
		}
	}
	return out
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}

// specLabels labels a spec with its requirement IDs, their documents' sections, the strongest
// of their levels, and the endpoint it exercises, as STYLE.md asks:
// Label("C-6749-5.2-b", "rfc6749:5.2", "level:MUST", "endpoint:token").
func specLabels(endpoint string, ids ...string) Labels {
	var ls Labels
	level := ""
	for _, id := range ids {
		r := rule(id)
		ls = append(ls, id)
		if s := r.sectionLabel(); !slices.Contains(ls, s) {
			ls = append(ls, s)
		}
		if level == "" || levelRank[r.Level] < levelRank[level] {
			level = r.Level
		}
	}
	return append(ls, "level:"+level, "endpoint:"+endpoint)
}

var levelRank = map[string]int{"MUST": 0, "SHOULD": 1, "MAY": 2}
