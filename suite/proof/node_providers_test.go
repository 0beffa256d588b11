package proof

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ccconform/ccconform/suite/judge"
)

// The providers the suite did not write run on Node.js, from testdata/<name>: start.sh installs
// their locked packages with npm ci when node_modules is missing or stale, then runs the
// provider, which prints one "listening on URL" line. Each has an expected-failures file, whose
// every entry names a rule the provider breaks.

// startNodeProvider starts testdata/<name>/start.sh with env added to the environment, on a
// free port, and returns the URL its "listening on" line gives. Without node or npm the test is
// skipped, unless CCCONFORM_REQUIRE_NODE is set (CI sets it), when it fails.
func startNodeProvider(t *testing.T, name string, env ...string) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CCCONFORM_REQUIRE_NODE") != "" {
				t.Fatalf("%s is not installed, and CCCONFORM_REQUIRE_NODE is set", tool)
			}
			t.Skipf("%s is not installed, so the Node.js provider cannot run", tool)
		}
	}
	dir, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "start.sh"))
	cmd.Env = append(append(os.Environ(), "PORT=0"), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- url
				return
			}
		}
		close(lines)
	}()
	select {
	case url, ok := <-lines:
		if !ok {
			t.Fatalf("the Node.js provider stopped before listening:\n%s", stderr.String())
		}
		return url
	case <-time.After(3 * time.Minute): // npm ci on a clean machine
		t.Fatalf("the Node.js provider did not start within 3 minutes:\n%s", stderr.String())
	}
	return ""
}

// baseline is a provider's expected-failures file and how to prove it against a running
// provider.
type baseline struct {
	// list is the expected-failures file.
	list string
	// start starts the provider and returns the suite flags that point at it.
	start func(t *testing.T) []string
	// kept is a row the provider passes: listed as expected to fail, it is stale.
	kept string
	// parallel runs the runs without one entry at the same time, each against a provider of
	// its own (one provider's state, such as the scenario's one resource, would be shared).
	parallel bool
}

// check proves the baseline: with it the run passes; without any one entry the run fails, and
// that entry's row is what failed; and an entry for a row the provider passes is stale.
func (b baseline) check(t *testing.T) {
	args := b.start(t)
	run := runSuite(t, 2*time.Minute, append(args, "-expected-failures="+b.list)...)
	if run.exitCode != 0 {
		t.Fatalf("with its expected failures listed, the run failed (exit %d):\n%s", run.exitCode, describeFailures(run))
	}
	t.Logf("the run with every entry listed took %s", run.duration.Round(time.Millisecond))

	var entries []map[string]string
	data, err := os.ReadFile(b.list)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	// A group, so that parallel runs end before the provider stops.
	t.Run("entries", func(t *testing.T) {
		for i, e := range entries {
			t.Run("without "+e["id"], func(t *testing.T) {
				args := args
				if b.parallel {
					t.Parallel()
					args = b.start(t)
				}
				rest := append(append([]map[string]string{}, entries[:i]...), entries[i+1:]...)
				out, _ := yaml.Marshal(rest)
				shorter := filepath.Join(t.TempDir(), "expected-failures.yaml")
				if err := os.WriteFile(shorter, out, 0o600); err != nil {
					t.Fatal(err)
				}
				run := runSuite(t, 2*time.Minute, append(args, "-expected-failures="+shorter)...)
				if run.exitCode == 0 {
					t.Errorf("the run passed without %s on the list", e["id"])
				}
				if o := run.outcome(e["id"]); o != judge.Failed {
					t.Errorf("%s is %q without its entry, not failed:\n%s", e["id"], o, describeFailures(run))
				}
			})
		}
		t.Run("an entry that no longer fails is stale", func(t *testing.T) {
			args := args
			if b.parallel {
				t.Parallel()
				args = b.start(t)
			}
			stale := filepath.Join(t.TempDir(), "expected-failures.yaml")
			if err := os.WriteFile(stale, append(data, []byte("- id: "+b.kept+"\n  reason: a rule this provider keeps\n")...), 0o600); err != nil {
				t.Fatal(err)
			}
			run := runSuite(t, 2*time.Minute, append(args, "-expected-failures="+stale)...)
			if run.exitCode == 0 || run.outcome(b.kept) != judge.Stale || !strings.Contains(run.output, b.kept+" listed in --expected-failures") {
				t.Errorf("a stale entry did not fail the run (exit %d):\n%s", run.exitCode, lastLines(run.output, 30))
			}
		})
	})
}
