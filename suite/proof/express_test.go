package proof

import (
	"bufio"
	"context"
	"github.com/ccconform/ccconform/suite/judge"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The suite against a provider it did not write: the documented scenario's own stack,
// @node-oauth/express-oauth-server in its default configuration (testdata/express-provider).
// With the expected-failures file that names each rule it breaks, the run passes; without any
// one entry, it fails. It needs Node.js and npm; without them the test is skipped, unless
// CCCONFORM_REQUIRE_NODE is set (CI sets it), when it fails.
func TestExpressProvider(t *testing.T) {
	url := startExpressProvider(t)
	list, err := filepath.Abs(filepath.Join("testdata", "express-provider", "expected-failures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-provider-url=" + url, "-expires-in=3600", "-ginkgo.label-filter=!slow"}

	run := runSuite(t, 2*time.Minute, append(args, "-expected-failures="+list)...)
	if run.exitCode != 0 {
		t.Fatalf("with its expected failures listed, the run failed (exit %d):\n%s", run.exitCode, describeFailures(run))
	}

	var entries []map[string]string
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		t.Run("without "+e["id"], func(t *testing.T) {
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
		stale := filepath.Join(t.TempDir(), "expected-failures.yaml")
		if err := os.WriteFile(stale, append(data, []byte("- id: S2S-1\n  reason: a rule this provider keeps\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		run := runSuite(t, 2*time.Minute, append(args, "-expected-failures="+stale)...)
		if run.exitCode == 0 || run.outcome("S2S-1") != judge.Stale || !strings.Contains(run.output, "S2S-1 listed in --expected-failures") {
			t.Errorf("a stale entry did not fail the run (exit %d):\n%s", run.exitCode, lastLines(run.output, 30))
		}
	})
}

// startExpressProvider installs the provider's locked packages if needed, starts it on a free
// port and returns its URL.
func startExpressProvider(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CCCONFORM_REQUIRE_NODE") != "" {
				t.Fatalf("%s is not installed, and CCCONFORM_REQUIRE_NODE is set", tool)
			}
			t.Skipf("%s is not installed, so the Node.js provider cannot run", tool)
		}
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "express-provider"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "start.sh"))
	cmd.Env = append(os.Environ(), "PORT=0")
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
