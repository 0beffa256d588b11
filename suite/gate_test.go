package suite

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"go.yaml.in/yaml/v3"
)

// What a CI pipeline needs from the suite beyond pass and fail: known deviations it can carry
// without turning the gate off (--expected-failures), a run that tests nothing failing, and a
// conformance summary, one row per requirement, as Markdown and HTML (--summary-md,
// --summary-html).

var (
	expectedFailuresFile string
	summaryMarkdownFile  string
	summaryHTMLFile      string
	// expected maps each requirement ID the target is known to break to the reason given.
	expected = map[string]string{}
)

func init() {
	flag.StringVar(&expectedFailuresFile, "expected-failures", env("EXPECTED_FAILURES", ""),
		"YAML list of {id, reason}: requirements the target is known to break; their failures do not fail the run, but a listed one that passes does")
	flag.StringVar(&summaryMarkdownFile, "summary-md", env("SUMMARY_MD", ""), "write the conformance summary as Markdown to this file")
	flag.StringVar(&summaryHTMLFile, "summary-html", env("SUMMARY_HTML", ""), "write the conformance summary as a self-contained HTML page to this file")
}

// loadExpectedFailures reads --expected-failures: a YAML (or JSON) list of entries with an id
// and a reason.
func loadExpectedFailures() error {
	if expectedFailuresFile == "" {
		return nil
	}
	data, err := os.ReadFile(expectedFailuresFile)
	if err != nil {
		return fmt.Errorf("cannot read --expected-failures: %v", err)
	}
	var entries []struct {
		ID     string `yaml:"id"`
		Reason string `yaml:"reason"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&entries); err != nil {
		return fmt.Errorf("--expected-failures %s is not a list of {id, reason}: %v", expectedFailuresFile, err)
	}
	for _, e := range entries {
		switch {
		case requirements[e.ID].ID == "":
			return fmt.Errorf("--expected-failures %s lists %q, which is no requirement of the suite", expectedFailuresFile, e.ID)
		case strings.TrimSpace(e.Reason) == "":
			return fmt.Errorf("--expected-failures %s lists %s without a reason", expectedFailuresFile, e.ID)
		case expected[e.ID] != "":
			return fmt.Errorf("--expected-failures %s lists %s twice", expectedFailuresFile, e.ID)
		}
		expected[e.ID] = e.Reason
	}
	return nil
}

// namedRule finds the requirement IDs a failure message names: per() writes them as
// "(LEVEL, ID)".
var namedRule = regexp.MustCompile(`\((?:MUST|SHOULD|MAY), ([A-Za-z0-9][A-Za-z0-9.\-]*)\)`)

func rulesNamedIn(message string) []string {
	var ids []string
	for _, m := range namedRule.FindAllStringSubmatch(message, -1) {
		if !slices.Contains(ids, m[1]) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// expectedFailure reports whether a failure message names a requirement listed in
// --expected-failures.
func expectedFailure(message string) (id, reason string, ok bool) {
	for _, id := range rulesNamedIn(message) {
		if r, listed := expected[id]; listed {
			return id, r, true
		}
	}
	return "", "", false
}

// requirementResult is what a run found of one requirement.
type requirementResult struct {
	req                                     requirement
	passed, failed, warned, expectedFailing int
	skipped                                 int
	failures                                []string
}

func (r requirementResult) verdict() string {
	switch {
	case r.failed > 0:
		return "failed"
	case r.expectedFailing > 0:
		return "expected failure"
	case r.warned > 0:
		return "warning"
	case r.passed > 0:
		return "passed"
	case r.skipped > 0:
		return "skipped"
	}
	return "not run"
}

// results works out, from a run's report, the verdict of every requirement: a spec's failure
// counts against the requirements its message names; a spec that passed counts for every
// requirement it carries, except those it warned about.
func results(r Report) map[string]*requirementResult {
	out := map[string]*requirementResult{}
	get := func(id string) *requirementResult {
		if out[id] == nil {
			out[id] = &requirementResult{req: rule(id)}
		}
		return out[id]
	}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		var ids []string
		for _, l := range s.Labels() {
			if _, ok := requirements[l]; ok {
				ids = append(ids, l)
			}
		}
		warned := map[string]bool{}
		for _, w := range findings(s, entryWarning) {
			warned[w.ID] = true
			get(w.ID).warned++
		}
		for _, e := range findings(s, entryExpected) {
			get(e.ID).expectedFailing++
		}
		switch {
		case s.State.Is(types.SpecStateFailureStates):
			named := rulesNamedIn(s.Failure.Message)
			if len(named) == 0 {
				named = ids
			}
			for _, id := range named {
				if _, ok := requirements[id]; ok {
					rr := get(id)
					rr.failed++
					rr.failures = append(rr.failures, s.FullText())
				}
			}
		case s.State == types.SpecStatePassed:
			for _, id := range ids {
				if !warned[id] {
					get(id).passed++
				}
			}
		case s.State == types.SpecStateSkipped && s.Failure.Message != "":
			for _, id := range ids {
				get(id).skipped++
			}
		}
	}
	return out
}

// staleExpectations are the listed requirements that a spec checked and none failed.
func staleExpectations(res map[string]*requirementResult) []string {
	var stale []string
	for id := range expected {
		r := res[id]
		if r != nil && r.passed > 0 && r.failed+r.expectedFailing+r.warned == 0 {
			stale = append(stale, id)
		}
	}
	sort.Strings(stale)
	return stale
}

// checkGate fails the run (from ReportAfterSuite) when no spec ran, or an expected failure has
// gone stale, and writes the summaries.
func checkGate(r Report) {
	res := results(r)
	if err := writeSummaries(r, res); err != nil {
		fmt.Fprintln(os.Stderr, "ccconform: writing the summary:", err)
	}
	ran := 0
	for _, s := range r.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt && (s.State == types.SpecStatePassed || s.State.Is(types.SpecStateFailureStates)) {
			ran++
		}
	}
	if ran == 0 && !r.SuiteConfig.DryRun && r.SpecialSuiteFailureReasons == nil && r.SuiteSucceeded {
		Fail("ccconform: no spec ran, so nothing was tested: check --label-filter and the paths")
	}
	if stale := staleExpectations(res); len(stale) > 0 {
		Fail(fmt.Sprintf("ccconform: %s listed in --expected-failures %s no longer fail: remove them from the list",
			strings.Join(stale, ", "), expectedFailuresFile))
	}
}

// verdictOrder sorts rows and groups: what needs attention first.
var verdictOrder = map[string]int{"failed": 0, "expected failure": 1, "warning": 2, "skipped": 3, "passed": 4, "not run": 5}

var verdictMark = map[string]string{"failed": "❌", "expected failure": "⚠️", "warning": "⚠️", "passed": "✅", "skipped": "➖", "not run": "·"}

// summaryGroup is the rows of one document section.
type summaryGroup struct {
	title string
	rows  []*requirementResult
	worst int
}

// summaryGroups orders every requirement of the suite into its section, failures first.
func summaryGroups(res map[string]*requirementResult) []summaryGroup {
	byTitle := map[string]*summaryGroup{}
	var order []string
	for _, req := range requirementList {
		r := res[req.ID]
		if r == nil {
			r = &requirementResult{req: req}
		}
		title := sectionTitle(req)
		g := byTitle[title]
		if g == nil {
			g = &summaryGroup{title: title, worst: len(verdictOrder)}
			byTitle[title] = g
			order = append(order, title)
		}
		g.rows = append(g.rows, r)
		g.worst = min(g.worst, verdictOrder[r.verdict()])
	}
	groups := make([]summaryGroup, 0, len(order))
	for _, t := range order {
		g := byTitle[t]
		sort.SliceStable(g.rows, func(i, j int) bool {
			return verdictOrder[g.rows[i].verdict()] < verdictOrder[g.rows[j].verdict()]
		})
		groups = append(groups, *g)
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].worst < groups[j].worst })
	return groups
}

func sectionTitle(r requirement) string {
	switch r.Doc {
	case "scenario":
		return "The documented scenario"
	case "load":
		return "Load checks"
	}
	return r.Doc + " §" + r.Section
}

// sectionLink is the address of a requirement's RFC section, or "".
func sectionLink(r requirement) string {
	if !strings.HasPrefix(r.Doc, "RFC ") {
		return ""
	}
	return "https://www.rfc-editor.org/rfc/rfc" + strings.TrimPrefix(r.Doc, "RFC ") + "#section-" + r.Section
}

func summaryCounts(res map[string]*requirementResult) (string, map[string]int) {
	counts := map[string]int{}
	for _, req := range requirementList {
		v := "not run"
		if r := res[req.ID]; r != nil {
			v = r.verdict()
		}
		counts[v]++
	}
	var parts []string
	for _, v := range []string{"failed", "expected failure", "warning", "passed", "skipped", "not run"} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	return fmt.Sprintf("%d requirements: %s", len(requirementList), strings.Join(parts, ", ")), counts
}

func writeSummaries(r Report, res map[string]*requirementResult) error {
	provider := target.ProviderURL
	if bundledRun {
		provider = "the bundled reference provider"
	}
	if summaryMarkdownFile != "" {
		if err := os.WriteFile(summaryMarkdownFile, []byte(summaryMarkdown(provider, res)), 0o644); err != nil {
			return err
		}
	}
	if summaryHTMLFile != "" {
		if err := os.WriteFile(summaryHTMLFile, []byte(summaryHTML(provider, res)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func summaryMarkdown(provider string, res map[string]*requirementResult) string {
	var b strings.Builder
	counts, _ := summaryCounts(res)
	fmt.Fprintf(&b, "# OAuth 2.0 client credentials conformance: %s\n\n%s. Strict: %v.\n", provider, counts, target.Strict)
	for _, g := range summaryGroups(res) {
		fmt.Fprintf(&b, "\n## %s\n\n| result | requirement | level | what it requires |\n|---|---|---|---|\n", g.title)
		for _, r := range g.rows {
			id := r.req.ID
			if link := sectionLink(r.req); link != "" {
				id = "[" + id + "](" + link + ")"
			}
			note := r.req.Summary
			if reason, ok := expected[r.req.ID]; ok {
				note += " — listed as an expected failure: " + reason
			}
			fmt.Fprintf(&b, "| %s %s | %s | %s | %s |\n", verdictMark[r.verdict()], r.verdict(), id, r.req.Level, strings.ReplaceAll(note, "|", `\|`))
		}
	}
	return b.String()
}

func summaryHTML(provider string, res map[string]*requirementResult) string {
	esc := func(s string) string {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
	}
	var b strings.Builder
	counts, _ := summaryCounts(res)
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Conformance: ` + esc(provider) + `</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.failed{background:#fde2e2}.expected-failure,.warning{background:#fff4d6}.passed{background:#e6f6e6}
.skipped,.not-run{color:#777}code{font-size:90%}
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>OAuth 2.0 client credentials conformance</h1>\n<p>%s. %s. Strict: %v.</p>\n", esc(provider), esc(counts), target.Strict)
	for _, g := range summaryGroups(res) {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table><tr><th>result</th><th>requirement</th><th>level</th><th>what it requires</th></tr>\n", esc(g.title))
		for _, r := range g.rows {
			v := r.verdict()
			id := "<code>" + esc(r.req.ID) + "</code>"
			if link := sectionLink(r.req); link != "" {
				id = `<a href="` + esc(link) + `">` + id + "</a>"
			}
			note := esc(r.req.Summary)
			if reason, ok := expected[r.req.ID]; ok {
				note += "<br><em>listed as an expected failure: " + esc(reason) + "</em>"
			}
			if len(r.failures) > 0 {
				note += "<br><small>failed in: " + esc(strings.Join(r.failures, "; ")) + "</small>"
			}
			fmt.Fprintf(&b, `<tr class="%s"><td>%s %s</td><td>%s</td><td>%s</td><td>%s</td></tr>`+"\n",
				strings.ReplaceAll(v, " ", "-"), verdictMark[v], esc(v), id, esc(r.req.Level), note)
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
