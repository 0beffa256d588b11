// Package judge is the suite's verdict engine. Specs judge requirement rows through it (Row(id)
// with Gomega matchers); the row's grade under the active profile, not the spec, decides whether
// a broken row fails the run, warns or only informs. Each spec's judgments travel in its report;
// at the end of the run they become one table, one outcome per row, from which every output is
// written: the console summary, Markdown, HTML, JUnit and the per-requirement results file.
//
// This file is the table: pure functions from what specs recorded to one outcome per row.
package judge

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ccconform/ccconform/suite/registry"
)

// Outcome is what a run found of one row.
type Outcome string

// The outcomes, in the order a reader needs them.
const (
	// Failed: an assertion of the row failed, graded fail, and the row is not listed as an
	// expected failure.
	Failed Outcome = "failed"
	// Stale: the row is listed as an expected failure, was judged, and held.
	Stale Outcome = "stale"
	// Warned: an assertion of the row failed, graded warn (no --strict).
	Warned Outcome = "warned"
	// ExpectedFailure: an assertion of the row failed, and the row is listed.
	ExpectedFailure Outcome = "expected failure"
	// Passed: at least one assertion of the row ran, and none failed.
	Passed Outcome = "passed"
	// Information: the row was only observed (a MAY, or a row its profile leaves optional).
	Information Outcome = "information"
	// NotJudged: no assertion of the row ran; Reasons say why.
	NotJudged Outcome = "not judged"
)

// Outcomes lists every outcome in report order.
func Outcomes() []Outcome {
	return []Outcome{Failed, Stale, Warned, ExpectedFailure, Passed, Information, NotJudged}
}

func (o Outcome) rank() int { return slices.Index(Outcomes(), o) }

// Judgment is one assertion of one row, or one observation.
type Judgment struct {
	Row string `json:"row"`
	// Held is true when the assertion held.
	Held bool `json:"held"`
	// Grade is the effective grade of a failure of this assertion: fail, warn or inform.
	Grade string `json:"grade"`
	// Lenient marks the checklist's lenient case of the row.
	Lenient bool `json:"lenient,omitempty"`
	// Observation marks a record of what the provider does (Inform), not an assertion.
	Observation bool `json:"observation,omitempty"`
	// Cannot marks a row the spec could not judge (Message says why).
	Cannot bool `json:"cannot,omitempty"`
	// Message is the failure message, the observation, or why the row could not be judged;
	// redacted and escaped.
	Message string `json:"message,omitempty"`
}

// SpecRecord is what one spec judged, and how it ended.
type SpecRecord struct {
	// Spec is the spec's full text.
	Spec string `json:"spec"`
	// Rows are the requirement IDs its labels carry.
	Rows []string `json:"rows"`
	// Judgments are its assertions and observations, in order.
	Judgments []Judgment `json:"judgments,omitempty"`
	// Selected is false for a spec a label filter or focus left out.
	Selected bool `json:"selected"`
	// State is Ginkgo's state of the spec: passed, failed, skipped, panicked, timedout….
	State string `json:"state"`
	// BlockedBy is the row whose failure kept the spec from judging its own rows.
	BlockedBy string `json:"blocked_by,omitempty"`
	// Reason is why the spec stopped early: a skip's reason (fixture missing, precondition
	// failed), or a failure that names no row (no response, a timeout).
	Reason string `json:"reason,omitempty"`
	// RowlessFailure marks a spec failure that no row's assertion explains.
	RowlessFailure bool `json:"rowless_failure,omitempty"`
	// Exchanges is the spec's HTTP transcript, kept when something failed or warned.
	Exchanges string `json:"exchanges,omitempty"`
}

// RowResult is a row of the table.
type RowResult struct {
	ID      string `json:"id"`
	Doc     string `json:"doc"`
	Section string `json:"section"`
	Level   string `json:"level"`
	// Grade is the row's grade under the run's profile and strictness.
	Grade   string  `json:"grade"`
	Summary string  `json:"summary"`
	Outcome Outcome `json:"outcome"`
	// Message is the first failure or warning, for failed, warned and expected failure rows.
	Message string `json:"message,omitempty"`
	// Specs are the specs that judged the row: for failed, warned and expected-failure rows,
	// those whose assertion failed.
	Specs []string `json:"specs,omitempty"`
	// Observations are what the provider was seen to do.
	Observations []string `json:"observations,omitempty"`
	// Reasons say why the row was not judged, or why some of its specs could not judge it.
	Reasons []string `json:"reasons,omitempty"`
	// ExpectedReason is the reason given in --expected-failures, for a listed row.
	ExpectedReason string `json:"expected_reason,omitempty"`
	// Exchanges is the transcript of the first spec whose assertion of the row failed.
	Exchanges string `json:"exchanges,omitempty"`

	title, link string
}

// SpecError is a spec failure that no row explains (no response, a timeout, a panic).
type SpecError struct {
	Spec    string `json:"spec"`
	Message string `json:"message"`
}

// Table is the run's result: one outcome per row the selected specs cover.
type Table struct {
	Suite     string         `json:"suite"`
	Version   string         `json:"version"`
	Checklist string         `json:"checklist"`
	Profile   string         `json:"profile"`
	Strict    bool           `json:"strict"`
	Provider  string         `json:"provider"`
	Counts    map[string]int `json:"counts"`
	Rows      []RowResult    `json:"rows"`
	Errors    []SpecError    `json:"errors,omitempty"`
	// Stale lists the expected failures that were judged and held.
	Stale []string `json:"stale,omitempty"`
}

// Build makes the table from the specs' records. Only rows of the profile that some spec's
// labels carry are in it; a row carried only by specs a filter left out is not judged, "not
// selected".
func Build(s Settings, provider string, specs []SpecRecord) Table {
	t := Table{Suite: "ccconform", Version: s.Version, Checklist: registry.Revision(), Profile: string(s.Profile),
		Strict: s.Strict, Provider: provider, Counts: map[string]int{}}
	rows := map[string]*RowResult{}
	var order []string
	get := func(id string) *RowResult {
		if r := rows[id]; r != nil {
			return r
		}
		reg, ok := registry.Lookup(id)
		if !ok || !reg.InProfile(s.Profile) {
			return nil
		}
		r := &RowResult{ID: id, Doc: reg.Doc, Section: reg.Section, Level: string(reg.Level),
			Grade: reg.Effective(s.Profile, s.Strict, false).String(), Summary: reg.Summary,
			title: reg.Title(), link: reg.Link()}
		if reason, listed := s.Expected[id]; listed {
			r.ExpectedReason = reason
		}
		rows[id] = r
		order = append(order, id)
		return r
	}
	type tally struct{ held, failFail, failWarn, failListed int }
	tallies := map[string]*tally{}
	for _, sp := range specs {
		if sp.RowlessFailure {
			t.Errors = append(t.Errors, SpecError{Spec: sp.Spec, Message: sp.Reason})
		}
		judged := map[string]bool{}
		for _, j := range sp.Judgments {
			r := get(j.Row)
			if r == nil {
				continue
			}
			tl := tallies[j.Row]
			if tl == nil {
				tl = &tally{}
				tallies[j.Row] = tl
			}
			switch {
			case j.Cannot:
				r.Reasons = appendOnce(r.Reasons, j.Message)
				continue
			case j.Observation || (!j.Held && j.Grade == registry.Inform.String()):
				r.Observations = appendOnce(r.Observations, j.Message)
			case j.Held:
				tl.held++
			default:
				_, listed := s.Expected[j.Row]
				switch {
				case listed:
					tl.failListed++
				case j.Grade == registry.Fail.String():
					tl.failFail++
				default:
					tl.failWarn++
				}
				if r.Message == "" {
					r.Message, r.Exchanges = j.Message, sp.Exchanges
				}
				r.Specs = appendOnce(r.Specs, sp.Spec)
			}
			judged[j.Row] = true
		}
		for _, id := range sp.Rows {
			r := get(id)
			if r == nil || judged[id] {
				continue
			}
			if reason := notJudgedReason(sp); reason != "" {
				r.Reasons = appendOnce(r.Reasons, reason)
			}
		}
	}
	for _, id := range order {
		r, tl := rows[id], tallies[id]
		if tl == nil {
			tl = &tally{}
		}
		switch {
		case tl.failFail > 0:
			r.Outcome = Failed
		case tl.failListed > 0:
			r.Outcome = ExpectedFailure
		case tl.failWarn > 0:
			r.Outcome = Warned
		case tl.held > 0 && r.ExpectedReason != "":
			r.Outcome = Stale
			t.Stale = append(t.Stale, id)
		case tl.held > 0:
			r.Outcome = Passed
		case len(r.Observations) > 0:
			r.Outcome = Information
		default:
			r.Outcome = NotJudged
			if len(r.Reasons) == 0 {
				r.Reasons = []string{"no spec judged it"}
			}
		}
		if len(r.Reasons) > 1 {
			// Some spec that carries the row was selected: that one's reason is the one to give.
			r.Reasons = slices.DeleteFunc(r.Reasons, func(s string) bool { return s == notSelected })
		}
		if r.Outcome == Passed || r.Outcome == Stale {
			r.Specs = nil
			for _, sp := range specs {
				if slices.ContainsFunc(sp.Judgments, func(j Judgment) bool { return j.Row == id && j.Held && !j.Observation }) {
					r.Specs = appendOnce(r.Specs, sp.Spec)
				}
			}
		}
		t.Counts[string(r.Outcome)]++
		t.Rows = append(t.Rows, *r)
	}
	sort.SliceStable(t.Rows, func(i, j int) bool { return t.Rows[i].Outcome.rank() < t.Rows[j].Outcome.rank() })
	sort.Strings(t.Stale)
	return t
}

// notJudgedReason says why a spec did not judge one of its rows.
func notJudgedReason(sp SpecRecord) string {
	switch {
	case !sp.Selected:
		return notSelected
	case sp.BlockedBy != "":
		return "blocked by " + sp.BlockedBy + ": " + sp.Reason
	case sp.Reason != "":
		return sp.Reason
	case sp.State == "failed" || sp.State == "panicked" || sp.State == "timedout" || sp.State == "interrupted" || sp.State == "aborted":
		return "the spec " + sp.State + " before judging it"
	}
	return ""
}

func appendOnce(xs []string, s string) []string {
	if s == "" || slices.Contains(xs, s) {
		return xs
	}
	return append(xs, s)
}

// Judged reports whether any row was judged (passed, failed, warned, listed or observed).
func (t Table) Judged() bool {
	for _, r := range t.Rows {
		if r.Outcome != NotJudged {
			return true
		}
	}
	return false
}

// Failing reports whether the table fails the run: a failed or stale row, or a spec error.
func (t Table) Failing() bool {
	return t.Counts[string(Failed)] > 0 || len(t.Stale) > 0 || len(t.Errors) > 0
}

// CountLine is the one-line count: "63 rows: 1 failed, 2 warned, 60 passed".
func (t Table) CountLine() string {
	var parts []string
	for _, o := range Outcomes() {
		if n := t.Counts[string(o)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if len(parts) == 0 {
		return "no requirement rows"
	}
	return fmt.Sprintf("%d rows: %s", len(t.Rows), strings.Join(parts, ", "))
}

// groups orders the rows into their document sections, the sections with the worst outcome
// first, and the rows inside each by outcome.
func (t Table) groups() []rowGroup {
	byTitle := map[string]*rowGroup{}
	var out []*rowGroup
	for _, r := range t.Rows {
		g := byTitle[r.title]
		if g == nil {
			g = &rowGroup{title: r.title, worst: len(Outcomes())}
			byTitle[r.title] = g
			out = append(out, g)
		}
		g.rows = append(g.rows, r)
		g.worst = min(g.worst, r.Outcome.rank())
	}
	slices.SortStableFunc(out, func(a, b *rowGroup) int { return cmp.Compare(a.worst, b.worst) })
	res := make([]rowGroup, len(out))
	for i, g := range out {
		res[i] = *g
	}
	return res
}

type rowGroup struct {
	title string
	rows  []RowResult
	worst int
}
