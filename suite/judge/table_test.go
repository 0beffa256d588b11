package judge

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/ccconform/ccconform/suite/registry"
)

func held(id string) Judgment { return Judgment{Row: id, Held: true, Grade: "fail"} }
func broke(id, grade string) Judgment {
	return Judgment{Row: id, Grade: grade, Message: id + " broke"}
}

// sampleRun has one row of each outcome.
func sampleRun() (Settings, []SpecRecord) {
	s := Settings{Profile: registry.RFC6749, Version: "test", Expected: map[string]string{
		"C-6749-5.2-g": "sends text/plain", "C-6749-5.1-a": "listed by mistake"}}
	specs := []SpecRecord{
		{Spec: "step 4", Selected: true, State: "failed", Rows: []string{"S2S-4", "C-6749-5.1-g", "C-6749-5.1-a"},
			Judgments: []Judgment{held("S2S-4"), broke("C-6749-5.1-g", "fail"), held("C-6749-5.1-a")}},
		{Spec: "other", Selected: true, State: "passed", Rows: []string{"C-6749-5.1-g", "C-6749-4.4.3-b", "C-6749-5.2-g", "C-6749-2.3.1-c"},
			Judgments: []Judgment{broke("C-6749-5.1-g", "fail"), broke("C-6749-4.4.3-b", "warn"), broke("C-6749-5.2-g", "fail"),
				{Row: "C-6749-2.3.1-c", Observation: true, Grade: "inform", Message: "body credentials accepted"}}},
		{Spec: "blocked", Selected: true, State: "skipped", Rows: []string{"C-6750-3-f"}, BlockedBy: "C-6750-3-a", Reason: "no challenge"},
		{Spec: "filtered", Selected: false, State: "skipped", Rows: []string{"C-6750-3-g"}},
		{Spec: "opaque", Selected: true, State: "passed", Rows: []string{"C-6750-5.3-b"},
			Judgments: []Judgment{{Row: "C-6750-5.3-b", Cannot: true, Message: "opaque token: cannot tell"}}},
		{Spec: "timeout", Selected: true, State: "timedout", Rows: []string{"C-6749-7-a"}, RowlessFailure: true, Reason: "no response within 5s"},
	}
	return s, specs
}

func TestOutcomesComeFromWhatWasJudged(t *testing.T) {
	s, specs := sampleRun()
	tab := Build(s, "p", specs)
	want := map[string]Outcome{
		"S2S-4": Passed, "C-6749-5.1-g": Failed, "C-6749-5.1-a": Stale, "C-6749-4.4.3-b": Warned,
		"C-6749-5.2-g": ExpectedFailure, "C-6749-2.3.1-c": Information, "C-6750-3-f": NotJudged,
		"C-6750-3-g": NotJudged, "C-6750-5.3-b": NotJudged, "C-6749-7-a": NotJudged,
	}
	got := map[string]RowResult{}
	for _, r := range tab.Rows {
		got[r.ID] = r
	}
	for id, o := range want {
		if got[id].Outcome != o {
			t.Errorf("%s: %s, want %s", id, got[id].Outcome, o)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the table has %d rows, want %d", len(got), len(want))
	}
	if r := got["C-6749-5.1-g"]; len(r.Specs) != 2 || r.Message != "C-6749-5.1-g broke" {
		t.Errorf("a failed row is grouped with its first message and its specs: %+v", r)
	}
	for id, reason := range map[string]string{"C-6750-3-f": "blocked by C-6750-3-a", "C-6750-3-g": "not selected",
		"C-6750-5.3-b": "cannot tell", "C-6749-7-a": "no response"} {
		if !strings.Contains(strings.Join(got[id].Reasons, ";"), reason) {
			t.Errorf("%s: reasons %q lack %q", id, got[id].Reasons, reason)
		}
	}
	if len(tab.Stale) != 1 || len(tab.Errors) != 1 || !tab.Failing() {
		t.Errorf("stale %v, errors %v", tab.Stale, tab.Errors)
	}
}

// Every output says the same outcome for every row.
func TestEveryOutputAgrees(t *testing.T) {
	s, specs := sampleRun()
	tab := Build(s, "p", specs)
	js, err := JSON(tab)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	ju, err := JUnit(tab)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Cases []struct {
			Name       string `xml:"name,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(ju, &suite); err != nil {
		t.Fatal(err)
	}
	junit := map[string]string{}
	for _, c := range suite.Cases {
		for _, p := range c.Properties {
			if p.Name == "ccconform.outcome" {
				junit[strings.Fields(c.Name)[0]] = p.Value
			}
		}
		failing := c.Failure != nil
		id := strings.Fields(c.Name)[0]
		if o := junit[id]; o != "" && failing != (o == string(Failed) || o == string(Stale)) {
			t.Errorf("JUnit: %s is %s but failure=%v", id, o, failing)
		}
	}
	md, page, console := Markdown(tab), HTML(tab), Console(tab)
	for i, r := range tab.Rows {
		if back.Rows[i].Outcome != r.Outcome || junit[r.ID] != string(r.Outcome) {
			t.Errorf("%s: table %s, JSON %s, JUnit %s", r.ID, r.Outcome, back.Rows[i].Outcome, junit[r.ID])
		}
		if !strings.Contains(md, string(r.Outcome)+" | "+mdID(r)) {
			t.Errorf("Markdown does not show %s as %s", r.ID, r.Outcome)
		}
		if !strings.Contains(page, string(r.Outcome)+"</td><td>") || !strings.Contains(page, r.ID) {
			t.Errorf("HTML does not show %s", r.ID)
		}
		if r.Outcome != Passed && !onlyUnselected(r) && !strings.Contains(console, "  "+r.ID+"  ") {
			t.Errorf("the console summary does not list %s (%s)", r.ID, r.Outcome)
		}
	}
	if !strings.Contains(console, tab.CountLine()) || !strings.Contains(md, tab.CountLine()) {
		t.Error("the counts differ between outputs")
	}
}

func mdID(r RowResult) string {
	if r.link != "" {
		return "[" + r.ID + "](" + r.link + ")"
	}
	return r.ID
}

func TestLoadExpectedRefusesUnknownRows(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/x.yaml"
	for _, c := range []struct{ body, want string }{
		{"- {id: C-0000-1-a, reason: x}", "no requirement"},
		{"- {id: C-6749-5.2-g}", "without a reason"},
		{"- {id: C-6749-5.2-g, reason: a}\n- {id: C-6749-5.2-g, reason: b}", "twice"},
		{"nonsense: [", "not a list"},
	} {
		if err := writeFile(path, c.body); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadExpected(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
}
