package proof

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The specs are importable: a module of its own (testdata/reuse, with a replace directive to
// this checkout) imports them, injects a provider and runs the documented scenario in its own
// Ginkgo suite.
func TestAnotherModuleRunsTheSpecs(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	if testing.Short() {
		t.Skip("builds another module")
	}
	cmd := exec.Command("go", "test", "-count=1", ".", "-args", "-ginkgo.label-filter=scenario", "-ginkgo.no-color")
	cmd.Dir = filepath.Join("testdata", "reuse")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the other module's suite failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok ") {
		t.Errorf("unexpected output:\n%s", out)
	}
}

// Importing the specs does not import the reference provider or go-oauth2: the bundled provider
// is injected by the test that runs them.
func TestTheSpecsDoNotImportTheReference(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ccconform/ccconform/suite").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "go-oauth2") || strings.Contains(dep, "ccconform/reference") {
			t.Errorf("package suite depends on %s", dep)
		}
	}
}
