package judge

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"strings"
)

// Every output below is written from the same Table; none looks at Ginkgo's spec states.

var outcomeMark = map[Outcome]string{Failed: "❌", Stale: "❌", Warned: "⚠️", ExpectedFailure: "⚠️",
	Passed: "✅", Information: "ℹ️", NotJudged: "·"}

// Console is the summary that closes a run: the counts, then each row that needs attention
// with its first message and how many specs showed it, then what was observed and what could
// not be judged, with the reasons.
func Console(t Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nccconform %s summary (profile %s, strict %v, checklist %s)\n  %s\n", t.Version, t.Profile, t.Strict, t.Checklist, t.CountLine())
	section := func(o Outcome, title string, detail func(r RowResult)) {
		var rows []RowResult
		for _, r := range t.Rows {
			if r.Outcome == o && !(o == NotJudged && onlyUnselected(r)) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s (%d):\n", title, len(rows))
		for _, r := range rows {
			fmt.Fprintf(&b, "  %s  %s §%s %s [%s]\n", r.ID, r.Doc, r.Section, r.Level, r.Grade)
			detail(r)
		}
	}
	message := func(r RowResult) {
		fmt.Fprintf(&b, "      %s\n", indent(firstLines(r.Message, 6), "      "))
		fmt.Fprintf(&b, "      in %d spec(s), first: %s\n", len(r.Specs), first(r.Specs))
	}
	section(Failed, "Failed", message)
	section(Stale, "Stale expected failures (they held: remove them from the list)", func(r RowResult) {
		fmt.Fprintf(&b, "      listed because: %s\n", r.ExpectedReason)
	})
	section(Warned, "Warnings (each fails the run under --strict)", message)
	section(ExpectedFailure, "Expected failures", func(r RowResult) {
		fmt.Fprintf(&b, "      listed because: %s\n", r.ExpectedReason)
		message(r)
	})
	section(Information, "Observed (information)", func(r RowResult) {
		for _, o := range r.Observations {
			fmt.Fprintf(&b, "      %s\n", indent(o, "      "))
		}
	})
	unselected := 0
	for _, r := range t.Rows {
		if r.Outcome == NotJudged && onlyUnselected(r) {
			unselected++
		}
	}
	section(NotJudged, "Not judged", func(r RowResult) {
		for _, reason := range r.Reasons {
			fmt.Fprintf(&b, "      %s\n", indent(firstLines(reason, 2), "      "))
		}
	})
	if unselected > 0 {
		fmt.Fprintf(&b, "  (%d of the rows not judged were %s)\n", unselected, notSelected)
	}
	if len(t.Errors) > 0 {
		fmt.Fprintf(&b, "Spec errors that no row explains (%d):\n", len(t.Errors))
		for _, e := range t.Errors {
			fmt.Fprintf(&b, "  %s\n      %s\n", e.Spec, indent(firstLines(e.Message, 3), "      "))
		}
	}
	return b.String()
}

// Markdown is the conformance summary as Markdown: a section per document section, a row per
// requirement with its outcome and the message or reason behind it.
func Markdown(t Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# OAuth 2.0 client credentials conformance: %s\n\n%s. Profile %s, strict %v. ccconform %s, checklist %s.\n",
		mdCell(t.Provider), t.CountLine(), t.Profile, t.Strict, t.Version, t.Checklist)
	for _, g := range t.groups() {
		fmt.Fprintf(&b, "\n## %s\n\n| result | requirement | level | what it requires | why |\n|---|---|---|---|---|\n", g.title)
		for _, r := range g.rows {
			id := r.ID
			if r.link != "" {
				id = "[" + id + "](" + r.link + ")"
			}
			fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %s |\n", outcomeMark[r.Outcome], r.Outcome, id, r.Level, mdCell(r.Summary), mdCell(why(r)))
		}
	}
	if len(t.Errors) > 0 {
		b.WriteString("\n## Spec errors that no row explains\n\n")
		for _, e := range t.Errors {
			fmt.Fprintf(&b, "- %s: %s\n", mdCell(e.Spec), mdCell(firstLines(e.Message, 3)))
		}
	}
	return b.String()
}

// why is the text behind a row's outcome, for the summaries.
func why(r RowResult) string {
	var parts []string
	if r.ExpectedReason != "" {
		parts = append(parts, "listed as an expected failure: "+r.ExpectedReason)
	}
	switch r.Outcome {
	case Failed, Warned, ExpectedFailure:
		parts = append(parts, fmt.Sprintf("%s (in %d spec(s))", firstLines(r.Message, 4), len(r.Specs)))
	case Information:
		parts = append(parts, strings.Join(r.Observations, "; "))
	case NotJudged:
		parts = append(parts, strings.Join(r.Reasons, "; "))
	case Passed, Stale:
		if len(r.Reasons) > 0 {
			parts = append(parts, "some specs could not judge it: "+strings.Join(r.Reasons, "; "))
		}
	}
	return strings.Join(parts, ". ")
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", "<br>", "<", "&lt;", ">", "&gt;").Replace(s)
}

// HTML is the conformance summary as one self-contained page.
func HTML(t Table) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Conformance: ` + esc(t.Provider) + `</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:80em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.failed,.stale{background:#fde2e2}.expected-failure,.warned{background:#fff4d6}.passed{background:#e6f6e6}
.not-judged,.information{color:#555}code{font-size:90%}pre{white-space:pre-wrap;font-size:85%;margin:.3em 0}
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>OAuth 2.0 client credentials conformance</h1>\n<p>%s. %s. Profile %s, strict %v. ccconform %s, checklist %s.</p>\n",
		esc(t.Provider), esc(t.CountLine()), esc(t.Profile), t.Strict, esc(t.Version), esc(t.Checklist))
	for _, g := range t.groups() {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table><tr><th>result</th><th>requirement</th><th>level</th><th>what it requires</th><th>why</th></tr>\n", esc(g.title))
		for _, r := range g.rows {
			id := "<code>" + esc(r.ID) + "</code>"
			if r.link != "" {
				id = `<a href="` + esc(r.link) + `">` + id + "</a>"
			}
			fmt.Fprintf(&b, `<tr class="%s"><td>%s %s</td><td>%s</td><td>%s</td><td>%s</td><td><pre>%s</pre></td></tr>`+"\n",
				strings.ReplaceAll(string(r.Outcome), " ", "-"), outcomeMark[r.Outcome], esc(string(r.Outcome)), id, esc(r.Level), esc(r.Summary), esc(why(r)))
		}
		b.WriteString("</table>\n")
	}
	if len(t.Errors) > 0 {
		b.WriteString("<h2>Spec errors that no row explains</h2>\n<ul>\n")
		for _, e := range t.Errors {
			fmt.Fprintf(&b, "<li>%s: <pre>%s</pre></li>\n", esc(e.Spec), esc(e.Message))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// JSON is the per-requirement results file (see the README): the table as it is.
func JSON(t Table) ([]byte, error) {
	return json.MarshalIndent(t, "", "  ")
}

// JUnit is the table as a JUnit XML report: a test case per row. Failed and stale rows are
// failures; expected failures and warnings are test cases that pass with a property
// ccconform.outcome naming them and the message in system-out (CI tools show those); not
// judged rows are skipped with the reason; information rows pass with what was observed.
func JUnit(t Table) ([]byte, error) {
	type property struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	type message struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
	type testCase struct {
		Name       string     `xml:"name,attr"`
		Classname  string     `xml:"classname,attr"`
		Properties []property `xml:"properties>property"`
		Failure    *message   `xml:"failure,omitempty"`
		Skipped    *message   `xml:"skipped,omitempty"`
		SystemOut  string     `xml:"system-out,omitempty"`
	}
	type testSuite struct {
		XMLName    xml.Name   `xml:"testsuite"`
		Name       string     `xml:"name,attr"`
		Tests      int        `xml:"tests,attr"`
		Failures   int        `xml:"failures,attr"`
		Errors     int        `xml:"errors,attr"`
		Skipped    int        `xml:"skipped,attr"`
		Properties []property `xml:"properties>property"`
		Cases      []testCase `xml:"testcase"`
	}
	s := testSuite{Name: "ccconform " + t.Profile, Properties: []property{
		{"ccconform.version", t.Version}, {"ccconform.profile", t.Profile}, {"ccconform.strict", fmt.Sprint(t.Strict)},
		{"ccconform.checklist", t.Checklist}, {"ccconform.provider", t.Provider}}}
	for _, r := range t.Rows {
		c := testCase{Name: r.ID + " " + r.Summary, Classname: r.Doc + " §" + r.Section,
			Properties: []property{{"ccconform.outcome", string(r.Outcome)}, {"ccconform.level", r.Level}, {"ccconform.grade", r.Grade}}}
		switch r.Outcome {
		case Failed:
			c.Failure = &message{Message: firstLine(r.Message), Type: "failed", Text: r.Message + "\n\nin: " + strings.Join(r.Specs, "\n    ") + "\n\n" + r.Exchanges}
			s.Failures++
		case Stale:
			c.Failure = &message{Message: "listed as an expected failure, but it held", Type: "stale", Text: r.ExpectedReason}
			s.Failures++
		case Warned, ExpectedFailure:
			c.SystemOut = strings.ToUpper(string(r.Outcome)) + ": " + why(r) + "\n\n" + r.Exchanges
		case Information:
			c.SystemOut = "INFORMATION: " + why(r)
		case NotJudged:
			c.Skipped = &message{Message: "not judged: " + firstLine(why(r)), Text: why(r)}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	for _, e := range t.Errors {
		s.Cases = append(s.Cases, testCase{Name: e.Spec, Classname: "spec errors",
			Failure: &message{Message: firstLine(e.Message), Type: "error", Text: e.Message}})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	out, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// notSelected is the reason of a row whose specs a label filter or focus left out.
const notSelected = "not selected (label filter or focus)"

func onlyUnselected(r RowResult) bool { return len(r.Reasons) == 1 && r.Reasons[0] == notSelected }

func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}
