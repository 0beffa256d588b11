package judge

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// The Ginkgo half of the engine, run in a Ginkgo suite of its own: a spec that failed a row
// graded fail and then stopped on a warning's Require ends failed, not skipped (a skip hid the
// failure: the run passed while its table said "1 failed").

var _ = Install()

var _ = ginkgo.Describe("the engine", func() {
	ginkgo.It("keeps a failure when a later warning stops the spec", ginkgo.Label("C-6749-5.1-a", "C-6749-5.1-h"), func() {
		Row("C-6749-5.1-a").That(false, "the status was 201")                     // graded fail: the spec goes on
		Row("C-6749-5.1-h").RequireThat(false, "no Pragma, and nothing after it") // graded warn: the spec stops
	})
})

// state is how the inner suite's spec ended.
var state types.SpecState

var _ = ginkgo.ReportAfterEach(func(r ginkgo.SpecReport) { state = r.State })

// fakeT records whether the inner suite failed.
type fakeT struct{ failed bool }

func (f *fakeT) Fail() { f.failed = true }

func TestAStoppedSpecKeepsItsFailure(t *testing.T) {
	Configure(Settings{})
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	reporterConfig.NoColor, reporterConfig.Succinct = true, true
	ft := &fakeT{}
	if ginkgo.RunSpecs(ft, "engine", suiteConfig, reporterConfig) || !ft.failed {
		t.Fatal("the inner suite passed, though a row graded fail failed")
	}
	if state != types.SpecStateFailed {
		t.Errorf("the spec ended %s, not failed", state)
	}
}
