package suite

import (
	"fmt"
	"os"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// The verdict engine (package judge) judges every assertion by the row it names; this file
// wires it into the specs: it installs the engine around every spec, labels specs with their
// rows, and turns the run's records into the table and the reports at the end.

var _ = judge.Install()

// Names of the report entries the suite writes besides the engine's.
const (
	entryExchanges = "HTTP exchanges (credentials and tokens redacted)"
	entryLatency   = "latency"
)

// A failing spec shows every HTTP exchange it made.
var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() && len(exchanges) > 0 {
		AddReportEntry(entryExchanges, transcript())
	}
})

var _ = BeforeEach(func() {
	exchangesMu.Lock()
	exchanges = nil
	exchangesMu.Unlock()
})

// The table closes every run: the console summary, the files asked for, and the gate.
var _ = ReportAfterSuite("ccconform summary", func(r Report) {
	if listCoverage {
		fmt.Fprint(os.Stdout, coverage(r))
		return
	}
	if r.SuiteConfig.DryRun {
		return
	}
	provider := target.ProviderURL
	if bundledRun || provider == "" {
		provider = "the bundled reference provider"
	}
	t := judge.Build(judge.Current(), provider, judge.Records(r))
	lastTable = &t
	AddReportEntry("ccconform:results", t, ReportEntryVisibilityNever) // the table, in Ginkgo's JSON report too
	fmt.Fprint(os.Stdout, judge.Console(t))
	if err := writeReports(t); err != nil {
		fmt.Fprintln(os.Stderr, "ccconform: writing the reports:", err)
	}
	if !t.Judged() && r.SpecialSuiteFailureReasons == nil {
		Fail("ccconform: no requirement was judged, so nothing was tested: check --label-filter, the paths and the fixtures")
	}
	// The table is the verdict: a failed row fails the run even if no spec ended failed (the
	// engine fails such specs itself; this is the backstop that keeps the exit code and the
	// reports in agreement).
	if t.Counts[string(judge.Failed)] > 0 && r.SuiteSucceeded {
		Fail(fmt.Sprintf("ccconform: %d requirement rows failed (see the summary)", t.Counts[string(judge.Failed)]))
	}
	if len(t.Stale) > 0 {
		Fail(fmt.Sprintf("ccconform: %s listed in --expected-failures %s no longer fail: remove them from the list",
			strings.Join(t.Stale, ", "), expectedFailuresFile))
	}
})

// writeReports writes the reports asked for, every one from the same table.
func writeReports(t judge.Table) error {
	write := func(path string, data []byte) error {
		if path == "" {
			return nil
		}
		return os.WriteFile(path, data, 0o644)
	}
	if err := write(summaryMarkdownFile, []byte(judge.Markdown(t))); err != nil {
		return err
	}
	if err := write(summaryHTMLFile, []byte(judge.HTML(t))); err != nil {
		return err
	}
	js, err := judge.JSON(t)
	if err != nil {
		return err
	}
	if err := write(resultsJSONFile, js); err != nil {
		return err
	}
	ju, err := judge.JUnit(t)
	if err != nil {
		return err
	}
	return write(resultsJUnitFile, ju)
}

// specLabels labels a spec with its requirement IDs, their documents' sections, the strongest
// of their levels (as the registry has them) and the endpoint it exercises, as STYLE.md asks:
// Label("C-6749-5.2-b", "rfc6749:5.2", "level:MUST", "endpoint:token").
func specLabels(endpoint string, ids ...string) Labels {
	var ls Labels
	level := ""
	for _, id := range ids {
		r := registry.MustLookup(id)
		ls = append(ls, id)
		if s := r.SectionLabel(); !slices.Contains(ls, s) {
			ls = append(ls, s)
		}
		if level == "" || levelRank[string(r.Level)] < levelRank[level] {
			level = string(r.Level)
		}
	}
	return append(ls, "level:"+level, "endpoint:"+endpoint)
}

var levelRank = map[string]int{"MUST": 0, "SHOULD": 1, "MAY": 2}

// row is the judge of a requirement row, for the specs: row("C-6749-5.2-b").Expect(res).To(…).
func row(id string) judge.Judge {
	GinkgoHelper()
	return judge.Row(id)
}

// failRedacted is the fail handler of plain Gomega assertions, which the specs use only for the
// suite's own preconditions: the failure is the spec's, no row's, and its message is redacted.
func failRedacted(message string, callerSkip ...int) {
	skip := 1
	if len(callerSkip) > 0 {
		skip += callerSkip[0]
	}
	Fail(redactor.mask(message), skip)
}
