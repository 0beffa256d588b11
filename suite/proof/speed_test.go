package proof

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The suite is fast enough to run on every commit, and ginkgo -p works on the compiled suite.
// `make speed` prints the figures. These machines are shared and noisy, so wall time is not a
// verdict here: the test fails only on a run so slow that something must hang or sleep (over 15 s
// without the slow specs, which take about 2 s on an idle 2-core machine), and compares -p with
// serial in the same run.
func TestSuiteSpeed(t *testing.T) {
	bin := suiteBinary(t)
	serial := fastest(t, 3, func() error {
		cmd := exec.Command(bin, "-ginkgo.label-filter=!slow", "-ginkgo.no-color")
		cmd.Dir = t.TempDir()
		return cmd.Run()
	})
	parallel := fastest(t, 3, func() error {
		cmd := exec.Command("go", "tool", "ginkgo", "-p", "--no-color", "--label-filter=!slow", bin)
		cmd.Dir = filepath.Join("..", "..") // the module root, whose go.mod has the ginkgo tool
		return cmd.Run()
	})
	t.Logf("bundled suite without slow specs, compiled: serial %s, ginkgo -p %s (fastest of 3 runs each)",
		serial.Round(time.Millisecond), parallel.Round(time.Millisecond))
	if serial > 15*time.Second {
		t.Errorf("a serial run took %s, more than 15 s: something hangs or sleeps", serial)
	}
	// ginkgo -p starts one process per core and the bundled provider once; on a run this short
	// that start-up is most of the time, so it may cost a few hundred milliseconds more.
	if parallel > serial+time.Second {
		t.Errorf("ginkgo -p took %s, more than a second longer than serial (%s)", parallel, serial)
	}
}

func fastest(t *testing.T, n int, run func() error) time.Duration {
	t.Helper()
	best := time.Duration(1<<63 - 1)
	for range n {
		start := time.Now()
		if err := run(); err != nil {
			t.Fatalf("the suite failed: %v", err)
		}
		best = min(best, time.Since(start))
	}
	return best
}
