package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/registry"
)

// command runs the command in this process, as main would, with no environment.
func command(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, func(string) string { return "" }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// A mistake in the command line is one line on stderr, with a suggestion where one is close,
// and exit code 2; nothing goes to stdout.
func TestMistakesAreOneLineAndExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--provdier-url=https://auth.example.com"}, "unknown flag --provdier-url (did you mean --provider-url?)"},
		{[]string{"run", "--label-filter", "endpoint:token &&"}, `--label-filter "endpoint:token &&"`},
		{[]string{"run", "--label-filter=(slow"}, "could not find matching ')'"},
		{[]string{"run", "--strict" + "=maybe", "--no-color=maybe"}, "ccconform run: invalid boolean value"},
		{[]string{"run", "https://auth.example.com"}, `unexpected argument "https://auth.example.com"`},
		{[]string{"list", "--jsn"}, "unknown flag --jsn (did you mean --json?)"},
		{[]string{"list", "--label-filter=!"}, `--label-filter "!"`},
		{[]string{"rnu"}, `unknown command "rnu" (did you mean run?)`},
		{[]string{"--provider-url=x"}, "comes after a command"},
		{[]string{"version", "extra"}, "takes no arguments"},
	} {
		code, stdout, stderr := command(tc.args...)
		if code != suite.ExitNotTested || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("ccconform %s: exit %d, stdout %q, stderr %q; want exit 2, one line with %q",
				strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
}

// `ccconform run --help` is short and grouped: every suite flag once, under its purpose.
func TestRunHelpGroupsEveryFlag(t *testing.T) {
	code, out, _ := command("run", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, g := range config.Groups {
		if !strings.Contains(out, "\n"+groupTitles[g]+":\n") {
			t.Errorf("the help has no group %q:\n%s", groupTitles[g], out)
		}
	}
	for _, o := range suite.Options() {
		if o.Flag != "" && strings.Count(out, "  --"+o.Flag+" ")+strings.Count(out, "  --"+o.Flag+"\n") != 1 {
			t.Errorf("the help does not list --%s once:\n%s", o.Flag, out)
		}
	}
	// One line a flag (two for a name too long for the column), a heading a group, a few more.
	_, help := runFlagSet(&ginkgoFlags{})
	if lines, most := strings.Count(out, "\n"), len(help)+2*len(config.Groups)+12; lines > most {
		t.Errorf("the help has %d lines, more than %d; keep it to a line a flag", lines, most)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := command("version")
	if code != 0 || !strings.HasPrefix(out, "ccconform "+suite.Version+" (checklist "+registry.Revision()) {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, _, errOut := command(); code != 2 || !strings.Contains(errOut, "Usage: ccconform <command>") {
		t.Errorf("no command: exit %d, %q", code, errOut)
	}
}

// `ccconform list --json` lists every row of the registry, each with its level, section and
// summary, and counts the specs that judge it. (A dry run of the specs: once per process.)
func TestListJSONHasEveryRow(t *testing.T) {
	code, out, errOut := command("list", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var checks []check
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	rows := registry.All()
	if len(checks) != len(rows) {
		t.Fatalf("%d checks listed, the registry has %d rows", len(checks), len(rows))
	}
	for i, r := range rows {
		c := checks[i]
		if c.ID != r.ID || c.Level != string(r.Level) || c.Section != r.Section || c.Summary != r.Summary {
			t.Errorf("check %d is %+v; the registry has %s", i, c, r)
		}
	}
	byID := map[string]check{}
	for _, c := range checks {
		byID[c.ID] = c
	}
	if c := byID["S2S-4"]; c.Specs == 0 || len(c.Profiles) == 0 {
		t.Errorf("S2S-4 is judged by a spec in every profile, listed as %+v", c)
	}
}

// The installed binary: its version stamped at build time, a run against the bundled provider
// that passes, a provider that breaks a MUST (exit 1), a label filter that selects nothing
// (exit 2), and a filtered list. It builds the command once.
func TestTheBuiltCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "ccconform")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X github.com/ccconform/ccconform/suite.Version=v9.8.7-test", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exec := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			return exit.ExitCode(), string(out)
		case err != nil:
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return 0, string(out)
	}

	if code, out := exec("version"); code != 0 || !strings.HasPrefix(out, "ccconform v9.8.7-test ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	code, out := exec("run", "--label-filter=scenario", "--summary-md=summary.md")
	if code != 0 || !strings.Contains(out, "ccconform v9.8.7-test summary (profile rfc6749") || strings.Contains(out, "\x1b[") {
		t.Errorf("run against the bundled provider: exit %d, want 0, the version and profile in the summary, no colour:\n%s", code, out)
	}

	// The reference, over plain http, with its Bearer challenges dropped: a MUST row fails.
	p, err := provider.New(provider.DefaultConfig(suite.ScenarioClientID, suite.ScenarioClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(dropChallenge{w}, r)
	}))
	defer srv.Close()
	if code, out := exec("run", "--label-filter=scenario", "--provider-url="+srv.URL, "--expires-in=3600"); code != 1 || !strings.Contains(out, "S2S-2") {
		t.Errorf("run against a provider without Bearer challenges: exit %d, want 1 and S2S-2 failed:\n%s", code, out)
	}
	if code, out := exec("run", "--label-filter=no-such-label"); code != 2 {
		t.Errorf("run with a filter that selects nothing: exit %d, want 2:\n%s", code, out)
	}

	if code, out := exec("run", "--strict=maybe"); code != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `--strict "maybe" is not true or false`) {
		t.Errorf("run --strict=maybe: exit %d, want 2 and one line:\n%s", code, out)
	}

	// The rows the scenario's specs judge: its eight steps, and what else those specs check.
	code, out = exec("list", "--label-filter=scenario", "--json")
	var checks []check
	err = json.Unmarshal([]byte(out), &checks)
	steps := 0
	for _, c := range checks {
		if strings.HasPrefix(c.ID, "S2S-") {
			steps++
		}
		if c.Specs == 0 {
			t.Errorf("list --label-filter=scenario lists %s, which no selected spec judges", c.ID)
		}
	}
	if code != 0 || err != nil || steps != 8 || len(checks) >= len(registry.All()) {
		t.Errorf("list --label-filter=scenario: exit %d, %d checks, %d steps, want the 8 steps and not every row (%v):\n%s", code, len(checks), steps, err, out)
	}
}

// dropChallenge is a response writer that drops WWW-Authenticate from a Bearer refusal.
type dropChallenge struct{ http.ResponseWriter }

func (d dropChallenge) WriteHeader(code int) {
	if strings.HasPrefix(d.Header().Get("WWW-Authenticate"), "Bearer") {
		d.Header().Del("WWW-Authenticate")
	}
	d.ResponseWriter.WriteHeader(code)
}
