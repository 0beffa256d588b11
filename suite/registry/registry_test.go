package registry

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// checklistPath finds ../shared/CHECKLIST.md beside the module root, where the project's
// checkouts and CI keep it.
func checklistPath(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(dir), "shared", "CHECKLIST.md")
			if _, err := os.Stat(p); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("CI has no %s: %v", p, err)
				}
				t.Skipf("no checklist beside the checkout (%s)", p)
			}
			return p
		}
	}
	t.Fatal("no go.mod above the test")
	return ""
}

// The registry's checklist rows are exactly the checklist's, in its order: a row added to or
// changed in CHECKLIST.md without `go generate ./suite/registry` fails here.
func TestRegistryFollowsTheChecklist(t *testing.T) {
	src, err := os.ReadFile(checklistPath(t))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseChecklist(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(checklistRows) {
		t.Fatalf("the checklist has %d rows, the registry %d: run go generate ./suite/registry", len(rows), len(checklistRows))
	}
	for i := range rows {
		if !reflect.DeepEqual(rows[i], checklistRows[i]) {
			t.Errorf("row %d differs from the checklist: run go generate ./suite/registry\n checklist: %+v\n registry:  %+v", i, rows[i], checklistRows[i])
		}
	}
}

func TestEveryRegradeAndLenientCaseNamesARow(t *testing.T) {
	for id := range regrades {
		if _, ok := Lookup(id); !ok {
			t.Errorf("regrade of unknown row %s", id)
		}
	}
	for id := range lenient {
		r, ok := Lookup(id)
		if !ok {
			t.Errorf("lenient case of unknown row %s", id)
			continue
		}
		if r.Grade(RFC6749) != Fail {
			t.Errorf("%s has a lenient case but is graded %s: a lenient case only softens a failing row", id, r.Grade(RFC6749))
		}
	}
}

func TestGrades(t *testing.T) {
	cases := []struct {
		id      string
		profile Profile
		strict  bool
		lenient bool
		want    Grade
	}{
		{"C-6749-5.1-g", RFC6749, false, false, Fail},   // MUST, direct
		{"C-6749-3.2-c", RFC6749, false, false, Warn},   // MUST, derived
		{"C-6749-3.2-c", RFC6749, true, false, Fail},    // strict
		{"C-6749-3.2-f", RFC6749, false, false, Warn},   // client-bound, like 3.2-c
		{"C-6749-4.4.3-b", RFC6749, false, false, Warn}, // SHOULD
		{"C-6749-4.4.3-b", OAuth21, true, false, Inform},
		{"C-6749-5.2-c", RFC6749, true, false, Inform}, // MAY stays information, strict or not
		{"C-6749-5.1-h", RFC6749, false, false, Warn},
		{"C-6749-5.1-h", OAuth21, true, false, Inform},
		{"C-6749-5.2-b", RFC6749, false, true, Warn}, // the lenient 400
		{"C-6749-5.2-b", RFC6749, true, true, Fail},
		{"H-9110-15.5.2-a", RFC6749, false, false, Fail},
		{"S2S-4", RFC6749, false, false, Fail},
	}
	for _, c := range cases {
		if got := MustLookup(c.id).Effective(c.profile, c.strict, c.lenient); got != c.want {
			t.Errorf("%s under %s (strict %v, lenient %v) = %s, want %s", c.id, c.profile, c.strict, c.lenient, got, c.want)
		}
	}
}

func TestProfilesSelectTheirSections(t *testing.T) {
	if MustLookup("C-9700-2.4-a").InProfile(RFC6749) || !MustLookup("C-9700-2.4-a").InProfile(BCP) {
		t.Error("the BCP's rows belong to the bcp profile only")
	}
	if MustLookup("C-21-5.1-a").InProfile(BCP) || !MustLookup("C-21-5.1-a").InProfile(OAuth21) {
		t.Error("OAuth 2.1's rows belong to the oauth2.1 profile only")
	}
	if _, err := ParseProfile("oauth21"); err == nil {
		t.Error("an unknown profile is accepted")
	}
}

func TestProfileSets(t *testing.T) {
	for in, want := range map[string]Profile{
		"": RFC6749, "rfc6749": RFC6749, "rfc9068, bcp": "bcp,rfc9068", "rfc6749,oidcc,oidcc": OIDCC,
		"oauth2.1,rfc10070": "oauth2.1,rfc10070",
	} {
		got, err := ParseProfile(in)
		if err != nil || got != want {
			t.Errorf("ParseProfile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	p, _ := ParseProfile("bcp,rfc10070")
	if !p.Has(BCP) || !p.Has(RFC10070) || !p.Has(RFC6749) || p.Has(OAuth21) || p.Has(OIDCC) {
		t.Errorf("%q has the wrong members", p)
	}
	if !MustLookup("C-9700-2.4-a").InProfile(p) || MustLookup("C-21-5.1-a").InProfile(p) {
		t.Error("a set of profiles judges the sections of its members only")
	}
	if g := MustLookup("C-6749-5.1-h").Grade("oauth2.1,rfc9068"); g != Inform {
		t.Errorf("a regrade for oauth2.1 does not apply to a set that includes it: %s", g)
	}
}
