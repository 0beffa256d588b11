package proof

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// The project's GitHub workflows, the reusable conformance gate among them, pass actionlint (a
// tool of go.mod, so nothing is installed by hand).
func TestWorkflowsPassActionlint(t *testing.T) {
	cmd := exec.Command("go", "tool", "actionlint")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}
