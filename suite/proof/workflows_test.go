package proof

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite"
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

// workflow is what the tests read of a workflow file.
type workflow struct {
	On struct {
		WorkflowCall struct {
			Inputs map[string]struct {
				Type    string `yaml:"type"`
				Default any    `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Permissions any            `yaml:"permissions"`
	Jobs        map[string]job `yaml:"jobs"`
}

type job struct {
	RunsOn   any `yaml:"runs-on"`
	Strategy struct {
		Matrix map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Permissions map[string]string `yaml:"permissions"`
	Uses        string            `yaml:"uses"`
	With        map[string]any    `yaml:"with"`
	Steps       []step            `yaml:"steps"`
}

type step struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", name))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

func (j job) step(t *testing.T, id string) step {
	t.Helper()
	for _, s := range j.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step with id %s", id)
	return step{}
}

// Every workflow reads the repository and nothing more, unless a job names what else it needs:
// only the release's jobs do (packages for the image, contents for the release).
func TestWorkflowPermissionsAreReadOnly(t *testing.T) {
	allowed := map[string]map[string]string{
		"release.yml/image":   {"contents": "read", "packages": "write"},
		"release.yml/publish": {"contents": "write"},
	}
	for _, name := range []string{"ci.yml", "conformance.yml", "release.yml"} {
		w := readWorkflow(t, name)
		if p, ok := w.Permissions.(map[string]any); !ok || len(p) != 1 || p["contents"] != "read" {
			t.Errorf("%s: permissions are %v, want contents: read", name, w.Permissions)
		}
		for id, j := range w.Jobs {
			if j.Permissions != nil && !mapsEqual(j.Permissions, allowed[name+"/"+id]) {
				t.Errorf("%s: job %s asks for %v", name, id, j.Permissions)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The reusable workflow has the inputs a caller needs, runs where the caller says, and its
// scripts take every input through a variable, never spliced into the script.
func TestWorkflowInputs(t *testing.T) {
	w := readWorkflow(t, "conformance.yml")
	for _, in := range []string{"provider-url", "target-config", "expected-failures", "ca-file", "profile", "label-filter",
		"strict", "runs-on", "artifact-name", "suite-version", "suite-repository", "suite-ref"} {
		if _, ok := w.On.WorkflowCall.Inputs[in]; !ok {
			t.Errorf("conformance.yml has no input %s", in)
		}
	}
	j := w.Jobs["conformance"]
	if j.RunsOn != "${{ inputs.runs-on }}" {
		t.Errorf("the job runs on %v, not on inputs.runs-on", j.RunsOn)
	}
	for _, s := range j.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q splices an expression into its script; pass it through env", s.Run[:min(40, len(s.Run))])
		}
	}
}

// Every upload in one workflow run has a name of its own: the reusable workflow's is an input
// that defaults to one derived from the call's inputs, so two calls in a run (a matrix, staging
// and production) do not collide; ci.yml's own upload has a name no call derives.
func TestWorkflowArtifactNames(t *testing.T) {
	w := readWorkflow(t, "conformance.yml")
	j := w.Jobs["conformance"]
	uploads := 0
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
			uploads++
			if s.With["name"] != "${{ steps.artifact.outputs.name }}" {
				t.Errorf("conformance.yml uploads as %v, not as the name the artifact step made", s.With["name"])
			}
		}
	}
	if uploads != 1 {
		t.Errorf("conformance.yml uploads %d artifacts, want 1", uploads)
	}
	if d := w.On.WorkflowCall.Inputs["artifact-name"].Default; d != "" {
		t.Errorf("artifact-name defaults to %v, want empty (derived)", d)
	}

	naming := j.step(t, "artifact")
	name := func(env map[string]string) string {
		t.Helper()
		out := runStep(t, naming, env)
		return out.outputs["name"]
	}
	base := map[string]string{"PROVIDER_URL": "https://auth.staging.example.com/tenant?x=1", "SUITE_VERSION": "source",
		"RUNS_ON": "ubuntu-latest", "STRICT": "false", "RUN_ATTEMPT": "1"}
	with := func(k, v string) map[string]string {
		m := maps.Clone(base)
		m[k] = v
		return m
	}
	staging := name(base)
	if !regexp.MustCompile(`^conformance-auth\.staging\.example\.com-default-[0-9]+-1$`).MatchString(staging) {
		t.Errorf("derived name %q", staging)
	}
	seen := map[string]string{staging: "base"}
	for k, v := range map[string]string{"PROVIDER_URL": "https://auth.example.com", "PROFILE": "oauth2.1", "LABEL_FILTER": "!slow",
		"STRICT": "true", "TARGET_CONFIG": "prod.yaml", "EXPECTED_FAILURES": "x.yaml", "RUNS_ON": "self-hosted", "RUN_ATTEMPT": "2"} {
		n := name(with(k, v))
		if other, dup := seen[n]; dup {
			t.Errorf("%s=%s names the artifact %q, as %s does", k, v, n, other)
		}
		seen[n] = k
		if strings.ContainsAny(n, `":<>|*?\/`+"\r\n") {
			t.Errorf("%q is not a valid artifact name", n)
		}
	}
	if n := name(base); n != staging {
		t.Errorf("the same inputs named the artifact %q, then %q", staging, n)
	}
	if n := name(with("ARTIFACT_NAME", "mine")); n != "mine" {
		t.Errorf("artifact-name mine gave %q", n)
	}

	ci := readWorkflow(t, "ci.yml")
	for id, j := range ci.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "actions/upload-artifact@") && strings.HasPrefix(fmt.Sprint(s.With["name"]), "conformance-") {
				t.Errorf("ci.yml job %s uploads as %v, a name the gate may derive", id, s.With["name"])
			}
		}
	}
}

// Pinning the reusable workflow pins the suite. Its suite-version defaults to source (on main) or
// to a release; at a release tag (the release workflow sets CCCONFORM_RELEASE_TAG) it must be
// that tag. A release is the released binary, checked against the release's checksums; source
// builds suite-repository at suite-ref, which ci.yml sets to this repository and commit, so a
// fork tests itself.
func TestWorkflowPinsTheSuite(t *testing.T) {
	w := readWorkflow(t, "conformance.yml")
	def := fmt.Sprint(w.On.WorkflowCall.Inputs["suite-version"].Default)
	if def != "source" && !regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`).MatchString(def) {
		t.Errorf("suite-version defaults to %q, want source or a release tag", def)
	}
	if tag := os.Getenv("CCCONFORM_RELEASE_TAG"); tag != "" && def != tag {
		t.Errorf("the release %s ships a conformance.yml whose suite-version defaults to %q: set it to %s before tagging", tag, def, tag)
	}
	j := w.Jobs["conformance"]
	var checkout, install *step
	for i, s := range j.Steps {
		switch {
		case strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["path"] == "ccconform":
			checkout = &j.Steps[i]
		case strings.Contains(s.Run, "releases/download"):
			install = &j.Steps[i]
		}
	}
	if checkout == nil || checkout.If != "inputs.suite-version == 'source'" ||
		checkout.With["repository"] != "${{ inputs.suite-repository }}" || checkout.With["ref"] != "${{ inputs.suite-ref }}" {
		t.Errorf("the suite's checkout is %+v; want suite-repository at suite-ref, only for suite-version source", checkout)
	}
	if install == nil || install.If != "inputs.suite-version != 'source'" || !strings.Contains(install.Run, "sha256sum -c") ||
		install.Env["SUITE_VERSION"] != "${{ inputs.suite-version }}" || install.Env["SUITE_REPOSITORY"] != "${{ inputs.suite-repository }}" {
		t.Errorf("the release's install is %+v; want the suite-version release of suite-repository, checked with sha256sum -c", install)
	}
	gate := readWorkflow(t, "ci.yml").Jobs["gate"]
	if gate.Uses != "./.github/workflows/conformance.yml" || gate.With["suite-version"] != "source" ||
		gate.With["suite-repository"] != "${{ github.repository }}" || gate.With["suite-ref"] != "${{ github.sha }}" {
		t.Errorf("ci.yml's gate runs %s with %v; want this repository at this commit", gate.Uses, gate.With)
	}
}

// The release's archives are named as the reusable workflow downloads them.
func TestWorkflowDownloadsWhatTheReleaseBuilds(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "RELEASE := ccconform_$(VERSION)_$(GOOS)_$(GOARCH)") {
		t.Error("the Makefile no longer names release archives ccconform_$(VERSION)_$(GOOS)_$(GOARCH)")
	}
	install := ""
	for _, s := range readWorkflow(t, "conformance.yml").Jobs["conformance"].Steps {
		if strings.Contains(s.Run, "releases/download") {
			install = s.Run
		}
	}
	if !strings.Contains(install, `archive="ccconform_${SUITE_VERSION}_${os}_${arch}.tar.gz"`) {
		t.Error("conformance.yml does not download ccconform_<version>_<os>_<arch>.tar.gz")
	}
	j := readWorkflow(t, "release.yml").Jobs["binaries"]
	built := false
	for _, s := range j.Steps {
		built = built || strings.Contains(s.Run, "make release-binary")
	}
	m := fmt.Sprint(j.Strategy.Matrix["goos"], j.Strategy.Matrix["goarch"])
	if !built || m != "[linux darwin windows] [amd64 arm64]" {
		t.Errorf("release.yml's binaries job builds with make release-binary: %v, for %s; want linux, darwin and windows on amd64 and arm64", built, m)
	}
}

// The fixture secrets become variables the target description can name: lines NAME=value of
// fixture-secrets, and with secrets inherit every CONFORMANCE_* secret; other names are refused.
func TestWorkflowFixtureSecrets(t *testing.T) {
	j := readWorkflow(t, "conformance.yml").Jobs["conformance"]
	var secrets step
	for _, s := range j.Steps {
		if _, ok := s.Env["FIXTURE_SECRETS"]; ok {
			secrets = s
		}
	}
	if secrets.Run == "" {
		t.Fatal("no step reads FIXTURE_SECRETS")
	}
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed (GitHub's runners have it)")
	}
	out := runStep(t, secrets, map[string]string{
		"FIXTURE_SECRETS":   "CONFORMANCE_SPECIAL_SECRET=s3cret +%/=&:é\n# a comment\r\nCCCONFORM_CLIENT_SECRET=abc\n",
		"INHERITED_SECRETS": `{"github_token":"x","CONFORMANCE_SHORT_SECRET":"two\nlines","OTHER":"no"}`,
	})
	if out.code != 0 {
		t.Fatalf("exit %d: %s", out.code, out.stderr)
	}
	want := map[string]string{"CONFORMANCE_SPECIAL_SECRET": "s3cret +%/=&:é", "CCCONFORM_CLIENT_SECRET": "abc", "CONFORMANCE_SHORT_SECRET": "two\nlines"}
	if !mapsEqual(out.env, want) {
		t.Errorf("the variables are %q, want %q", out.env, want)
	}
	if out := runStep(t, secrets, map[string]string{"FIXTURE_SECRETS": "LD_PRELOAD=/tmp/x.so"}); out.code == 0 || len(out.env) != 0 {
		t.Errorf("LD_PRELOAD was accepted as a fixture secret")
	}
}

// The steps that run the suite and publish the summary, with the command built from this
// checkout: a conforming provider passes, with the version and profile in the summary; a
// provider that cannot be reached is "nothing was tested", exit 2, with the reason in the
// summary.
func TestWorkflowRunsTheSuiteAndSummarizes(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "-ldflags", "-X github.com/ccconform/ccconform/suite.Version=v0.0.0-workflow", "./cmd/ccconform")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	j := readWorkflow(t, "conformance.yml").Jobs["conformance"]
	runSuite, summary := j.step(t, "run"), step{}
	for _, s := range j.Steps {
		if s.Env["OUTCOME"] == "${{ steps.run.outputs.outcome }}" {
			summary = s
		}
	}

	p, err := provider.New(provider.DefaultConfig(suite.ScenarioClientID, suite.ScenarioClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()

	for _, tc := range []struct {
		url, outcome string
		code         int
		summary      string
	}{
		{srv.URL, "passed", 0, "ccconform v0.0.0-workflow, checklist "},
		{"http://127.0.0.1:1", "not-tested", 2, "ccconform: cannot reach the provider at http://127.0.0.1:1"},
	} {
		workspace := t.TempDir()
		env := map[string]string{"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH"), "GITHUB_WORKSPACE": workspace,
			"PROVIDER_URL": tc.url, "LABEL_FILTER": "scenario", "STRICT": "false", "CCCONFORM_EXPIRES_IN": "3600"}
		out := runStep(t, runSuite, env)
		if out.code != tc.code || out.outputs["outcome"] != tc.outcome {
			t.Errorf("%s: exit %d, outcome %q; want %d, %q\n%s", tc.url, out.code, out.outputs["outcome"], tc.code, tc.outcome, out.stderr)
		}
		env["OUTCOME"], env["ARTIFACT"] = out.outputs["outcome"], "conformance-x"
		s := runStep(t, summary, env)
		if s.code != 0 || !strings.Contains(s.summary, tc.summary) {
			t.Errorf("%s: the job summary (exit %d) lacks %q:\n%s", tc.url, s.code, tc.summary, s.summary)
		}
	}
}

// stepRun is what a step did: its exit code, stderr, and what it wrote to GITHUB_OUTPUT,
// GITHUB_ENV and GITHUB_STEP_SUMMARY.
type stepRun struct {
	code            int
	stderr, summary string
	outputs, env    map[string]string
}

// runStep runs a step's script with bash as the runner would (bash -e), with env as its only
// variables besides PATH, HOME and the runner's files.
func runStep(t *testing.T, s step, env map[string]string) stepRun {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_STEP_SUMMARY": "summary", "GITHUB_PATH": "path"}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RUNNER_TEMP=" + dir, "GITHUB_WORKSPACE=" + dir}
	for k, f := range files {
		cmd.Env = append(cmd.Env, k+"="+filepath.Join(dir, f))
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := stepRun{stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	read := func(f string) string { data, _ := os.ReadFile(filepath.Join(dir, f)); return string(data) }
	r.summary = read("summary")
	r.outputs, r.env = parseGitHubFile(t, read("output")), parseGitHubFile(t, read("env"))
	return r
}

// parseGitHubFile reads GITHUB_OUTPUT or GITHUB_ENV: NAME=value lines, and NAME<<DELIMITER
// blocks for values of several lines.
func parseGitHubFile(t *testing.T, text string) map[string]string {
	t.Helper()
	m := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("%s: no closing delimiter %s", name, delim)
			}
			m[name] = strings.Join(value, "\n")
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		m[name] = value
	}
	return m
}
