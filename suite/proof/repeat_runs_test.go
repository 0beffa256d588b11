package proof

// The compiled suite, run ten times back to back against one reference provider started by
// hand, passes every time: the provider's brute-force protection slows the address that guesses
// (here the suite's own, for its throwaway client) and never locks out the suite's main client,
// so a user who reruns the suite is not refused.
//
// It starts the reference's own command, not the harness's in-process reference, and runs the
// suite as the README's by-hand TLS commands do: reference/target.yaml itself, with the
// provider's URL in REFERENCE_URL.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSuiteRunTenTimesAgainstOneProvider(t *testing.T) {
	t.Parallel() // one suite process at a time: beside the faults it keeps the other core busy (TestMain)
	if testing.Short() {
		t.Skip("builds the suite and the provider and runs the suite ten times")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	build := func(args ...string) {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	suiteBin, providerBin := filepath.Join(dir, "suite.test"), filepath.Join(dir, "provider")
	build("test", "-c", "-o", suiteBin, "./suite")
	build("build", "-o", providerBin, "./reference/cmd/provider")

	// The provider as a user starts it for the suite: its fixture clients, and a development
	// certificate authority, so that the TLS specs run too.
	ctx, cancel := context.WithCancel(context.Background())
	provider := exec.CommandContext(ctx, providerBin, "--addr", "127.0.0.1:0", "--fixtures", "--dev-tls",
		"--dev-tls-dir", filepath.Join(dir, "tls"), "--env-file", filepath.Join(dir, "no.env"), "--access-log", filepath.Join(dir, "access.log"))
	provider.Env = cleanEnv("CLIENT_ID", "CLIENT_SECRET", "TOKEN_KEY", "PORT")
	provider.Cancel = func() error { return provider.Process.Signal(os.Interrupt) }
	var stderr strings.Builder
	provider.Stderr = &stderr
	stdout, err := provider.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := provider.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = provider.Wait()
	})
	lines := bufio.NewScanner(stdout)
	var url, caFile string
	for (url == "" || caFile == "") && lines.Scan() {
		line := lines.Text()
		if u, ok := strings.CutPrefix(line, "[Provider]: listening on "); ok {
			url = u
		}
		if _, after, ok := strings.Cut(line, "--ca-file="); ok {
			caFile = strings.Fields(after)[0]
		}
	}
	if url == "" || caFile == "" {
		t.Fatalf("the provider did not say where it listens and which CA to trust:\n%s", stderr.String())
	}
	go func() {
		for lines.Scan() {
		}
	}()

	started := time.Now()
	// The command's issuer is the URL it listens on; the description's URLs (the provider, the
	// issuer, R1 and R2) name it through REFERENCE_URL.
	description := referenceTarget(t)
	for run := 1; run <= 10; run++ {
		t0 := time.Now()
		cmd := exec.Command(suiteBin, "--target-config="+description,
			"--ca-file="+caFile, "--strict", "-ginkgo.no-color",
			// The slow specs wait out short-lived tokens (5 s a run) and touch no throttle.
			"-ginkgo.label-filter=!slow")
		cmd.Dir = dir
		cmd.Env = append(cleanEnv("REFERENCE_URL"), "REFERENCE_URL="+url)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d failed (%v) after %v:\n%s", run, err, time.Since(t0).Round(time.Millisecond), tail(string(out), 60))
		}
		t.Logf("run %d passed in %v", run, time.Since(t0).Round(time.Millisecond))
	}
	t.Logf("ten runs in %v", time.Since(started).Round(time.Millisecond))
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// cleanEnv is the environment without the suite's and the provider's settings, and without
// the names given.
func cleanEnv(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		keep := !strings.HasPrefix(k, "CCCONFORM_")
		for _, d := range drop {
			keep = keep && k != d
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
