package judge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"

	"github.com/ccconform/ccconform/suite/registry"
)

// Settings are the run's grading settings; Configure sets them on every process.
type Settings struct {
	Profile registry.Profile
	Strict  bool
	// Expected maps each row listed in --expected-failures to its reason.
	Expected map[string]string
	// Version is the suite's version, recorded in every report.
	Version string
	// Redact masks secrets and escapes control bytes in text the provider controls.
	Redact func(string) string
	// Transcript renders the current spec's HTTP exchanges (redacted).
	Transcript func() string
}

var (
	settingsMu sync.RWMutex
	settings   = Settings{Profile: registry.RFC6749}
)

// Configure sets the grading settings.
func Configure(s Settings) {
	settingsMu.Lock()
	defer settingsMu.Unlock()
	if s.Profile == "" {
		s.Profile = registry.RFC6749
	}
	if s.Expected == nil {
		s.Expected = map[string]string{}
	}
	settings = s
}

// Current returns the grading settings.
func Current() Settings {
	settingsMu.RLock()
	defer settingsMu.RUnlock()
	return settings
}

func redact(s string) string {
	if r := Current().Redact; r != nil {
		return r(s)
	}
	return s
}

// The report entry that carries a spec's record.
const entryRecord = "ccconform:judgments"

// current is the record of the spec this process runs: Ginkgo runs one spec at a time per
// process; a spec may assert from several goroutines (the load checks), hence the lock.
var (
	currentMu sync.Mutex
	current   *SpecRecord
)

// Install registers the engine's setup and teardown around every spec. Call it once, at the
// top level of the package that holds the specs: var _ = judge.Install().
func Install() bool {
	ginkgo.BeforeEach(func() {
		r := ginkgo.CurrentSpecReport()
		currentMu.Lock()
		current = &SpecRecord{Spec: r.FullText(), Rows: RowLabels(r.Labels()), Selected: true}
		currentMu.Unlock()
		if len(current.Rows) == 0 {
			ginkgo.Fail("ccconform: this spec carries no requirement ID label, so it was not run (a bug in the suite)")
		}
	})
	ginkgo.AfterEach(finishSpec)
	return true
}

// finishSpec stores the spec's record as a report entry and fails the spec when an assertion
// graded fail failed without stopping it.
func finishSpec() {
	currentMu.Lock()
	rec := current
	current = nil
	currentMu.Unlock()
	if rec == nil {
		return
	}
	failing := failingJudgments(rec)
	needTranscript := len(failing) > 0
	for _, j := range rec.Judgments {
		if !j.Held && !j.Observation && !j.Cannot {
			needTranscript = true
		}
	}
	if ginkgo.CurrentSpecReport().Failed() {
		needTranscript = true
	}
	if t := Current().Transcript; needTranscript && t != nil {
		rec.Exchanges = t()
	}
	ginkgo.AddReportEntry(entryRecord, rec, ginkgo.ReportEntryVisibilityNever)
	if len(failing) > 0 && !ginkgo.CurrentSpecReport().Failed() {
		ginkgo.Fail(strings.Join(failing, "\n\n"))
	}
}

// InSpec reports whether a spec is running on this process (its judgments are being recorded).
func InSpec() bool {
	currentMu.Lock()
	defer currentMu.Unlock()
	return current != nil
}

// RowLabels returns the requirement IDs among a spec's labels.
func RowLabels(labels []string) []string {
	var ids []string
	for _, l := range labels {
		if _, ok := registry.Lookup(l); ok {
			ids = append(ids, l)
		}
	}
	return ids
}

func record(j Judgment) {
	currentMu.Lock()
	defer currentMu.Unlock()
	if current != nil {
		current.Judgments = append(current.Judgments, j)
	}
}

// Judge is what a spec judges one row with.
type Judge struct {
	row     registry.Row
	lenient bool
	require bool
}

// Row returns the judge of the row with this ID. The spec must carry the ID as a label (rows of
// the HTTP rules, checklist 2.R, may be judged by any spec); anything else is a bug in the
// suite and fails the spec.
func Row(id string) Judge {
	ginkgo.GinkgoHelper()
	r, ok := registry.Lookup(id)
	if !ok {
		ginkgo.Fail("ccconform: unknown requirement ID " + id + " (a bug in the suite)")
	}
	if r.Group != "2.R" && !slices.Contains(ginkgo.CurrentSpecReport().Labels(), id) {
		ginkgo.Fail("ccconform: this spec judges " + id + " but does not carry it as a label (a bug in the suite)")
	}
	return Judge{row: r}
}

// Lenient marks the assertions that follow as the checklist's lenient case of the row (a 400
// where 401 is required, a bare challenge): a failure warns, and fails only under --strict.
// A row without a lenient case in the registry is a bug in the suite.
func (j Judge) Lenient() Judge {
	ginkgo.GinkgoHelper()
	if _, ok := j.row.Lenient(); !ok {
		ginkgo.Fail("ccconform: " + j.row.ID + " has no lenient case in the registry (a bug in the suite)")
	}
	j.lenient = true
	return j
}

// grade is the effective grade of a failed assertion.
func (j Judge) grade() registry.Grade {
	s := Current()
	return j.row.Effective(s.Profile, s.Strict, j.lenient)
}

// Expect starts an assertion of the row. A failure is recorded and the spec goes on; a failed
// assertion graded fail fails the spec when it ends, unless the row is listed as an expected
// failure. To returns whether the assertion held.
func (j Judge) Expect(actual any, extra ...any) Assertion {
	return Assertion{judge: j, actual: actual, extra: extra}
}

// Require is Expect for an assertion the rest of the spec depends on: when it fails, the spec
// stops there (failed, for an unlisted failure graded fail; otherwise it ends quietly with the
// judgment recorded).
func (j Judge) Require(actual any, extra ...any) Assertion {
	j.require = true
	return Assertion{judge: j, actual: actual, extra: extra}
}

// That judges a condition that is not a matcher: ok means the row held; otherwise the message
// says what the provider did.
func (j Judge) That(ok bool, format string, args ...any) bool {
	ginkgo.GinkgoHelper()
	if ok {
		j.held()
		return true
	}
	j.failed(fmt.Sprintf(format, args...))
	return false
}

// RequireThat is That for a condition the rest of the spec depends on: when it does not hold,
// the spec stops there, as with Require.
func (j Judge) RequireThat(ok bool, format string, args ...any) {
	ginkgo.GinkgoHelper()
	j.require = true
	j.That(ok, format, args...)
}

// Inform records what the provider does, for a row that is only observed (a MAY).
func (j Judge) Inform(format string, args ...any) {
	record(Judgment{Row: j.row.ID, Observation: true, Grade: registry.Inform.String(),
		Message: redact(fmt.Sprintf(format, args...))})
}

// Cannot records that the spec could not judge the row, and why ("the token is opaque, so its
// audience cannot be seen"). It is never a pass.
func (j Judge) Cannot(format string, args ...any) {
	record(Judgment{Row: j.row.ID, Cannot: true, Message: redact(fmt.Sprintf(format, args...))})
}

func (j Judge) held() {
	record(Judgment{Row: j.row.ID, Held: true, Grade: j.grade().String(), Lenient: j.lenient})
}

func (j Judge) failed(message string) {
	ginkgo.GinkgoHelper()
	g := j.grade()
	msg := j.row.String()
	if j.lenient {
		lc, _ := j.row.Lenient()
		msg += "\n(the checklist's lenient case: " + lc + ")"
	}
	msg = redact(msg + "\n" + strings.TrimSpace(message))
	record(Judgment{Row: j.row.ID, Held: false, Grade: g.String(), Lenient: j.lenient, Message: msg})
	if g == registry.Warn {
		ginkgo.GinkgoWriter.Printf("WARNING %s\n\n", msg)
	}
	if !j.require {
		return
	}
	// The spec's other rows cannot be judged now: they are blocked by this one.
	currentMu.Lock()
	if current != nil && current.BlockedBy == "" {
		current.BlockedBy, current.Reason = j.row.ID, redact(firstLine(message))
	}
	currentMu.Unlock()
	if _, listed := Current().Expected[j.row.ID]; !listed && g == registry.Fail {
		ginkgo.Fail(msg)
	}
	stop("the spec stopped after " + j.row.ID + " did not hold: " + firstLine(message))
}

// stop ends the spec without failing it: what it judged stays recorded.
func stop(reason string) {
	ginkgo.GinkgoHelper()
	reason = redact(reason)
	currentMu.Lock()
	if current != nil && current.Reason == "" {
		current.Reason = reason
	}
	var failing []string
	if current != nil {
		failing = failingJudgments(current)
	}
	currentMu.Unlock()
	// A spec that already failed a row graded fail ends failed, not skipped: a skip would hide
	// that failure from Ginkgo's verdict (a Fail in AfterEach does not turn a skipped spec into
	// a failed one).
	if len(failing) > 0 {
		ginkgo.Fail(strings.Join(failing, "\n\n"))
	}
	ginkgo.Skip(reason)
}

// failingJudgments are the messages of the record's failed judgments that fail the run: graded
// fail and not listed in --expected-failures.
func failingJudgments(rec *SpecRecord) []string {
	var failing []string
	for _, j := range rec.Judgments {
		if j.Held || j.Observation || j.Cannot {
			continue
		}
		if _, listed := Current().Expected[j.Row]; !listed && j.Grade == registry.Fail.String() {
			failing = append(failing, j.Message)
		}
	}
	return failing
}

// Block ends the spec, not judging its rows, because the row id (another spec's) does not hold
// and this spec cannot judge its own rows without it: "blocked by C-6750-3-a: no WWW-Authenticate".
func Block(id string, format string, args ...any) {
	ginkgo.GinkgoHelper()
	reason := redact(fmt.Sprintf(format, args...))
	currentMu.Lock()
	if current != nil {
		current.BlockedBy, current.Reason = id, reason
	}
	currentMu.Unlock()
	stop("blocked by " + id + ": " + reason)
}

// Skip ends the spec, not judging its rows, for a reason that is not a row's failure: a
// fixture the target lacks, a capability it does not have, a rate limit.
func Skip(format string, args ...any) {
	ginkgo.GinkgoHelper()
	reason := redact(fmt.Sprintf(format, args...))
	currentMu.Lock()
	if current != nil {
		current.Reason = reason
	}
	currentMu.Unlock()
	stop(reason)
}

// Assertion is a Gomega assertion on behalf of a row.
type Assertion struct {
	judge  Judge
	actual any
	extra  []any
}

// To asserts that the matcher matches; the optional description says what in particular was
// expected. It returns whether the assertion held.
func (a Assertion) To(m gtypes.GomegaMatcher, description ...any) bool {
	ginkgo.GinkgoHelper()
	return a.run(true, m, description)
}

// NotTo asserts that the matcher does not match.
func (a Assertion) NotTo(m gtypes.GomegaMatcher, description ...any) bool {
	ginkgo.GinkgoHelper()
	return a.run(false, m, description)
}

// ToNot is NotTo.
func (a Assertion) ToNot(m gtypes.GomegaMatcher, description ...any) bool {
	ginkgo.GinkgoHelper()
	return a.run(false, m, description)
}

func (a Assertion) run(positive bool, m gtypes.GomegaMatcher, description []any) bool {
	ginkgo.GinkgoHelper()
	var message string
	g := gomega.NewGomega(func(msg string, _ ...int) { message = msg })
	as := g.Expect(a.actual, a.extra...)
	var ok bool
	if positive {
		ok = as.To(m, description...)
	} else {
		ok = as.NotTo(m, description...)
	}
	if ok {
		a.judge.held()
		return true
	}
	a.judge.failed(message)
	return false
}

// Records reads the spec records of a run's report: the engine's entries, and for specs without
// one (left out by a filter, or ended before the engine's setup), a record from Ginkgo's state.
func Records(r types.Report) []SpecRecord {
	var out []SpecRecord
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		rec, ok := recordOf(s)
		if !ok {
			rec = SpecRecord{Spec: s.FullText(), Rows: RowLabels(s.Labels())}
		}
		rec.State = s.State.String()
		rec.Selected = !(s.State == types.SpecStateSkipped && s.Failure.Message == "") && s.State != types.SpecStatePending
		switch {
		case s.State == types.SpecStateSkipped && rec.Reason == "" && rec.Selected:
			rec.Reason = redact(s.Failure.Message)
		case s.State.Is(types.SpecStateFailureStates) && !hasUnlistedFailure(rec):
			rec.RowlessFailure = true
			rec.Reason = redact(s.Failure.Message)
		}
		out = append(out, rec)
	}
	return out
}

func hasUnlistedFailure(rec SpecRecord) bool {
	exp := Current().Expected
	return slices.ContainsFunc(rec.Judgments, func(j Judgment) bool {
		_, listed := exp[j.Row]
		return !j.Held && !j.Observation && !j.Cannot && !listed && j.Grade == registry.Fail.String()
	})
}

func recordOf(s types.SpecReport) (SpecRecord, bool) {
	for _, e := range s.ReportEntries {
		if e.Name != entryRecord {
			continue
		}
		if rec, ok := e.Value.GetRawValue().(*SpecRecord); ok {
			return *rec, true
		}
		var rec SpecRecord
		if json.Unmarshal([]byte(e.Value.AsJSON), &rec) == nil {
			return rec, true
		}
	}
	return SpecRecord{}, false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
