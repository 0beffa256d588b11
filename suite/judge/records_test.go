package judge

import (
	"encoding/json"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/ccconform/ccconform/suite/registry"
)

// spec is a Ginkgo spec report with the given state, labels, failure message and, when rec is
// not nil, the engine's record as a parallel run delivers it (JSON).
func spec(text string, state types.SpecState, labels []string, failure string, rec *SpecRecord) types.SpecReport {
	s := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, LeafNodeLabels: labels, State: state,
		Failure: types.Failure{Message: failure}}
	if rec != nil {
		js, _ := json.Marshal(rec)
		s.ReportEntries = types.ReportEntries{{Name: entryRecord, Value: types.ReportEntryValue{AsJSON: string(js)}}}
	}
	return s
}

// Records tells apart a spec a filter left out, one that stopped with a reason, and one that
// failed for a reason no row explains; a failure explained by a row is not a spec error.
func TestRecordsFromAReport(t *testing.T) {
	Configure(Settings{Profile: registry.RFC6749})
	defer Configure(Settings{})
	broke := &SpecRecord{Judgments: []Judgment{{Row: "C-6749-5.1-g", Grade: "fail", Message: "no no-store"}}}
	r := types.Report{SpecReports: []types.SpecReport{
		spec("filtered", types.SpecStateSkipped, []string{"C-6750-3-g"}, "", nil),
		spec("no fixture", types.SpecStateSkipped, []string{"C-6749-5.2-h"}, "no client without the grant", &SpecRecord{}),
		spec("timeout", types.SpecStateTimedout, []string{"C-6749-7-a"}, "no response within 5s", &SpecRecord{}),
		spec("explained", types.SpecStateFailed, []string{"C-6749-5.1-g"}, "C-6749-5.1-g failed", broke),
	}}
	recs := Records(r)
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].Selected || len(recs[0].Rows) != 1 {
		t.Errorf("a filtered spec: %+v", recs[0])
	}
	if !recs[1].Selected || recs[1].Reason != "no client without the grant" || recs[1].RowlessFailure {
		t.Errorf("a skipped spec: %+v", recs[1])
	}
	if !recs[2].RowlessFailure || recs[2].Reason != "no response within 5s" {
		t.Errorf("a timed-out spec: %+v", recs[2])
	}
	if recs[3].RowlessFailure || len(recs[3].Judgments) != 1 {
		t.Errorf("a failure a row explains: %+v", recs[3])
	}
	tab := Build(Current(), "p", recs)
	if len(tab.Errors) != 1 || tab.Errors[0].Spec != recs[2].Spec {
		t.Errorf("spec errors: %+v", tab.Errors)
	}
}
