package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The command listens where it is told, prints its URL once it listens, says once that it uses
// the demo credentials, and stops cleanly when its context ends.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	var stderr strings.Builder
	env := map[string]string{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")},
			func(k string) string { return env[k] }, stdoutW, &stderr)
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "[Provider]: listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, stdoutR)
	res, err := http.Get(url + "/public")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "moo" {
		t.Errorf("GET /public: %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	if n := strings.Count(stderr.String(), "demo credentials"); n != 1 {
		t.Errorf("the demo notice appears %d times:\n%s", n, stderr.String())
	}
}

func TestCredentialsFromTheEnvFile(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, ".env")
	if err := os.WriteFile(envFile, []byte("CLIENT_ID=\"file-id\"\nCLIENT_SECRET=\"file-secret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve nothing: check only start-up
	var stderr strings.Builder
	err := run(ctx, []string{"--addr", "127.0.0.1:0", "--env-file", envFile}, func(string) string { return "" }, io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "demo credentials") || strings.Contains(stderr.String(), "file-secret") {
		t.Errorf("stderr: %s", stderr.String())
	}
	err = run(ctx, []string{"--addr", "127.0.0.1:0", "--env-file", envFile}, func(k string) string {
		return map[string]string{"CLIENT_SECRET": "", "CLIENT_ID": "only-id"}[k]
	}, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("the environment's id with the file's secret: %v", err)
	}
	err = run(ctx, []string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(dir, "none")}, func(k string) string {
		return map[string]string{"CLIENT_ID": "only-id"}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("an id without a secret: %v", err)
	}
}

func TestPortFromTheEnvironment(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	err := run(ctx, []string{"--env-file", filepath.Join(t.TempDir(), "none")}, func(k string) string {
		return map[string]string{"PORT": "0"}[k]
	}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "[Provider]: listening on http://localhost:") {
		t.Errorf("stdout %q", out.String())
	}
}
