// Package registry is the suite's requirement registry: every row of the project's checklist
// (CHECKLIST.md, sections 2.A–2.N and 2.R), the documented scenario's steps and the load checks,
// each with its document, section, level and kind, and the grade that decides what a broken row
// does to a run under each profile.
//
// A spec never says how serious a finding is: it names the row it judges, and the row's grade
// under the active profile decides fail, warn or inform. The rows of sections 2.A–2.R are
// generated from the checklist (go generate); a test checks the generated file against it.
package registry

//go:generate go run gen.go ../../../shared/CHECKLIST.md

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Level is a requirement's level, as RFC 2119 uses the words.
type Level string

// The levels. SHOULD NOT and RECOMMENDED count as SHOULD, as the checklist counts them.
const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
	MAY    Level = "MAY"
)

// Kind is the checklist's kind of a row.
type Kind string

const (
	// Direct rows bind the server directly.
	Direct Kind = "D"
	// Derived rows bind the client, or are implied by an error definition, so the server-side
	// check is an inference (the checklist: grade it like a SHOULD unless strict).
	Derived Kind = "R"
)

// Row is one requirement the suite can judge.
type Row struct {
	// ID is the stable identifier: C-6749-5.2-b, H-9110-15.5.2-a, S2S-4, L-1.
	ID string
	// Group is the checklist section (2.A … 2.R), "scenario" or "load".
	Group string
	// Doc is the document: "RFC 6749", "OAuth 2.1", "OpenID Connect Core", "scenario", "load".
	Doc string
	// Section is the row's primary section of Doc ("5.2"), or the scenario's step number.
	Section string
	// Refs is every section the checklist cites for the row.
	Refs string
	// Level is MUST, SHOULD or MAY.
	Level Level
	// Kind is Direct or Derived.
	Kind Kind
	// Summary paraphrases the requirement.
	Summary string
	// Check is the checklist's black-box check.
	Check string
}

// String is how a failure names the rule: document, section, level, ID and the requirement.
func (r Row) String() string {
	switch r.Group {
	case "scenario":
		return fmt.Sprintf("documented scenario, step %s (%s, %s): %s", r.Section, r.Level, r.ID, r.Summary)
	case "load":
		return fmt.Sprintf("load check (%s, %s): %s", r.Level, r.ID, r.Summary)
	}
	return fmt.Sprintf("%s §%s (%s, %s): %s", r.Doc, r.Section, r.Level, r.ID, r.Summary)
}

// SectionLabel is the spec label of the row's section: "rfc6749:5.2".
func (r Row) SectionLabel() string {
	return strings.ToLower(strings.ReplaceAll(r.Doc, " ", "")) + ":" + r.Section
}

// Link is the address of the row's section in its document, or "".
func (r Row) Link() string {
	if n, ok := strings.CutPrefix(r.Doc, "RFC "); ok {
		return "https://www.rfc-editor.org/rfc/rfc" + n + "#section-" + r.Section
	}
	return ""
}

// Title is the heading the reports group the row under.
func (r Row) Title() string {
	switch r.Group {
	case "scenario":
		return "The documented scenario"
	case "load":
		return "Load checks"
	}
	return r.Doc + " §" + r.Section
}

// Lookup returns the row with this ID.
func Lookup(id string) (Row, bool) {
	r, ok := byID[id]
	return r, ok
}

// MustLookup returns the row with this ID; an unknown ID is a bug in the suite.
func MustLookup(id string) Row {
	r, ok := byID[id]
	if !ok {
		panic("ccconform: unknown requirement ID " + id)
	}
	return r
}

// All returns every row: the scenario, the load checks, then the checklist's order.
func All() []Row { return slices.Clone(allRows) }

var allRows = append(slices.Clone(projectRows), checklistRows...)

var byID = func() map[string]Row {
	m := make(map[string]Row, len(allRows))
	for _, r := range allRows {
		if _, dup := m[r.ID]; dup {
			panic("ccconform: requirement ID listed twice: " + r.ID)
		}
		m[r.ID] = r
	}
	return m
}()

// projectRows are the rows that are the project's own rather than the checklist's: the steps
// of the documented scenario (../shared/seed/server2server-README.md) and the load checks.
var projectRows = []Row{
	{ID: "S2S-1", Group: "scenario", Doc: "scenario", Section: "1", Level: MUST, Kind: Direct, Summary: "GET /public needs no token and answers 200 with the body moo"},
	{ID: "S2S-2", Group: "scenario", Doc: "scenario", Section: "2", Level: MUST, Kind: Direct, Summary: "a protected read without a token is refused with 401 and a Bearer challenge"},
	{ID: "S2S-3", Group: "scenario", Doc: "scenario", Section: "3", Level: MUST, Kind: Direct, Summary: "a token request with bad client credentials is refused with invalid_client"},
	{ID: "S2S-4", Group: "scenario", Doc: "scenario", Section: "4", Level: MUST, Kind: Direct, Summary: "a token request with the client's credentials and scope read gets a Bearer token, its lifetime and its scope"},
	{ID: "S2S-5", Group: "scenario", Doc: "scenario", Section: "5", Level: MUST, Kind: Direct, Summary: "an authenticated read answers 200 with a JSON object that has a resource member"},
	{ID: "S2S-6", Group: "scenario", Doc: "scenario", Section: "6", Level: MUST, Kind: Direct, Summary: "a write with a made-up token is refused with 401 and invalid_token"},
	{ID: "S2S-7", Group: "scenario", Doc: "scenario", Section: "7", Level: MUST, Kind: Direct, Summary: "an authenticated write, even with a token granted only read, answers 200 and resource created"},
	{ID: "S2S-8", Group: "scenario", Doc: "scenario", Section: "8", Level: MUST, Kind: Direct, Summary: "an authenticated read returns the value the write stored"},
	{ID: "L-1", Group: "load", Doc: "load", Section: "token", Level: MUST, Kind: Direct, Summary: "concurrent token requests are all answered with a token, never with a 5xx"},
	{ID: "L-2", Group: "load", Doc: "load", Section: "resource", Level: MUST, Kind: Direct, Summary: "concurrent requests with valid Bearer tokens are all served, never with a 5xx"},
}

// Groups returns the checklist groups and project groups in report order.
func Groups() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range allRows {
		if !seen[r.Group] {
			seen[r.Group] = true
			out = append(out, r.Group)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return groupRank(out[i]) < groupRank(out[j]) })
	return out
}

func groupRank(g string) int {
	switch g {
	case "scenario":
		return 0
	case "load":
		return 1
	}
	return 2
}

// Revision identifies the registry's content: the first 12 hex digits of a SHA-256 over every
// row's ID, level, kind and grades. Reports record it, so that two runs can be told apart when
// the checklist changed between them.
func Revision() string {
	h := sha256.New()
	for _, r := range allRows {
		fmt.Fprintf(h, "%s|%s|%s|%s|%s\n", r.ID, r.Level, r.Kind, r.Summary, r.Check)
		for _, p := range Profiles() {
			fmt.Fprintf(h, "%s=%s;", p, r.Grade(p))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
