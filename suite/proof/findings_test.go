package proof

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// Tests for the findings of issue 9 ("verdicts a gate can trust") that are about the engine
// and its reports rather than one rule; the findings about one rule are proven by that rule's
// fault or control (see the closing note for the map).

// writeList writes an --expected-failures file.
func writeList(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "expected-failures.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Finding 1: a row that failed is "failed" in every summary, never "not run"; and finding 3:
// the summaries carry the reason, JUnit per requirement says warned rows are warnings, and the
// results file has a message for each failed row.
func TestFinding01And03SummariesShowWhatFailedAndWhy(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	dir := t.TempDir()
	md, page, junit := filepath.Join(dir, "s.md"), filepath.Join(dir, "s.html"), filepath.Join(dir, "j.xml")
	// No Cache-Control on token responses (fails C-6749-5.1-g and S2S-4) and no Pragma (a warning).
	flags := startReference(t, editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, r *response) {
		r.header.Del("Cache-Control")
		r.header.Del("Pragma")
	})))
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow", "-summary-md="+md, "-summary-html="+page,
		"-results-junit="+junit)...)
	if run.exitCode == 0 {
		t.Fatal("the faulty provider passed")
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	m, h, j := read(md), read(page), read(junit)
	// The scenario's step 4 fails for the row it broke: the step's own row held.
	for _, id := range []string{"C-6749-5.1-g"} {
		if !regexp.MustCompile(`❌ failed \| \[` + regexp.QuoteMeta(id) + `\]`).MatchString(m) {
			t.Errorf("the Markdown summary does not show %s as failed", id)
		}
		if o := run.outcome(id); o != judge.Failed {
			t.Errorf("%s is %q in the results file", id, o)
		}
	}
	if !strings.Contains(m, "no Cache-Control") || !strings.Contains(h, "no Cache-Control") {
		t.Error("the summaries do not say why C-6749-5.1-g failed")
	}
	if !strings.Contains(m, "⚠️ warned") || !strings.Contains(m, "Pragma") {
		t.Error("the Markdown summary does not show the Pragma warning with its reason")
	}
	if !strings.Contains(j, `<property name="ccconform.outcome" value="warned"></property>`) || !strings.Contains(j, "WARNED: ") {
		t.Error("the per-requirement JUnit does not mark the warned row as a warning")
	}
	for _, r := range run.rows(judge.Failed, judge.Warned) {
		if r.Message == "" || len(r.Specs) == 0 {
			t.Errorf("%s has no message or spec in the results file", r.ID)
		}
	}
	// Ginkgo's JSON report carries the same table (the summary node's entry).
	var fromGinkgo *judge.Table
	for _, s := range run.specs {
		for _, e := range s.ReportEntries {
			if e.Name == "ccconform:results" {
				fromGinkgo = &judge.Table{}
				if err := json.Unmarshal([]byte(e.Value.AsJSON), fromGinkgo); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if fromGinkgo == nil || run.table == nil || len(fromGinkgo.Rows) != len(run.table.Rows) {
		t.Fatal("Ginkgo's JSON report lacks the results table, or it differs from the results file")
	}
	for i, r := range run.table.Rows {
		if fromGinkgo.Rows[i].ID != r.ID || fromGinkgo.Rows[i].Outcome != r.Outcome {
			t.Errorf("row %d: results file %s %s, Ginkgo JSON %s %s", i, r.ID, r.Outcome, fromGinkgo.Rows[i].ID, fromGinkgo.Rows[i].Outcome)
		}
	}
}

// Finding 2: rows that were not judged are not passed: against the reference, query tokens are
// not accepted, so the Cache-Control rule for them does not apply (C-6750-2.3-b); listing such a
// row as an expected failure is not stale. (The audience of its opaque tokens, C-6750-5.3-b, is
// now judged on the JWT it issues for resource R1.) Finding 10: rows a provider cannot break from outside are not judged
// either: the cleartext probes of an https URL on an explicit port, where any TLS server answers
// for the provider (C-6749-3.2-a, C-6749-10.3-a). (The fragment of the token endpoint's URL,
// C-6749-3.2-b, is judged now that the reference publishes it in its metadata.)
func TestFinding02UnjudgedRowsAreNotPassed(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	flags := startReference(t, nil)
	list := writeList(t, "- {id: C-6750-2.3-b, reason: query tokens are not read}\n")
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow", "-expected-failures="+list)...)
	if run.exitCode != 0 {
		t.Fatalf("exit %d:\n%s", run.exitCode, describeFailures(run))
	}
	for _, id := range []string{"C-6750-2.3-b", "C-6749-3.2-a", "C-6749-10.3-a"} {
		if o := run.outcome(id); o != judge.NotJudged {
			t.Errorf("%s is %q, not %q", id, o, judge.NotJudged)
		}
	}
	if run.table == nil || len(run.table.Stale) > 0 {
		t.Errorf("stale: %v", run.table)
	}
}

// Finding 4: transcripts and header checks see what was on the wire: a provider that sends
// Pragma: no-cache and no Cache-Control is told it sent no Cache-Control (Go's client would
// have invented "Cache-Control: no-cache").
func TestFinding04HeadersAsOnTheWire(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	flags := startReference(t, editResponses(isGoodBasic, when(http.StatusOK, delHeader("Cache-Control"))))
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow")...)
	var msg string
	for _, r := range run.rows(judge.Failed) {
		if r.ID == "C-6749-5.1-g" {
			msg = r.Message + r.Exchanges
		}
	}
	if !strings.Contains(msg, "it has no Cache-Control header") {
		t.Errorf("C-6749-5.1-g's message does not say there was no Cache-Control:\n%s", msg)
	}
	if strings.Contains(msg, "Cache-Control: no-cache") {
		t.Errorf("the transcript shows a Cache-Control the provider never sent:\n%s", msg)
	}
}

// Finding 6: an expected failure is recorded where it fails and the spec goes on, so a failure
// that is not listed still fails the run: errors sent as text/plain (C-6749-5.2-g, listed) and
// an unknown grant answered with invalid_grant (C-6749-4.4.2-b, not listed).
func TestFinding06AnExpectedFailureHidesNothingElse(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	flags := startReference(t, editResponses(tokenPOST, func(r *http.Request, res *response) {
		if res.status >= 400 {
			res.header.Set("Content-Type", "text/plain")
		}
		if res.object()["error"] == "unsupported_grant_type" {
			m := res.object()
			m["error"] = "invalid_grant"
			res.setObject(m)
			res.header.Set("Content-Type", "text/plain")
		}
	}))
	list := writeList(t, "- {id: C-6749-5.2-g, reason: errors are sent as text/plain}\n")
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow", "-expected-failures="+list)...)
	if run.exitCode == 0 {
		t.Fatal("the run passed: the listed row hid an unlisted failure")
	}
	if o := run.outcome("C-6749-4.4.2-b"); o != judge.Failed {
		t.Errorf("C-6749-4.4.2-b is %q, not failed", o)
	}
	if o := run.outcome("C-6749-5.2-g"); o != judge.ExpectedFailure {
		t.Errorf("C-6749-5.2-g is %q, not an expected failure", o)
	}
}

// Finding 7: --strict respects the expected-failures list for rows graded as warnings.
func TestFinding07StrictRespectsTheList(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	flags := startReference(t, editResponses(isGoodBasic, when(http.StatusOK, delHeader("Pragma"))))
	list := writeList(t, "- {id: C-6749-5.1-h, reason: RFC 9111 deprecates Pragma}\n")
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow", "-strict", "-expected-failures="+list)...)
	if run.exitCode != 0 {
		t.Fatalf("strict failed a listed warning (exit %d):\n%s", run.exitCode, describeFailures(run))
	}
	if o := run.outcome("C-6749-5.1-h"); o != judge.ExpectedFailure {
		t.Errorf("C-6749-5.1-h is %q, not an expected failure", o)
	}
}

// Finding 14: a provider that rate-limits a source address after failed authentications, with
// a Retry-After, is waited out: no row fails because of it. The test checks that the limit was
// hit, so that it proves something.
func TestFinding14RateLimitingIsNotAVerdict(t *testing.T) {
	t.Parallel() // it mostly waits out Retry-After (TestMain)
	var mu sync.Mutex
	failures, limited := 0, 0
	var until time.Time
	countFailures := editResponses(tokenPOST, func(_ *http.Request, res *response) {
		if res.status == http.StatusUnauthorized {
			mu.Lock()
			if failures++; failures%5 == 0 {
				until = time.Now().Add(time.Second)
			}
			mu.Unlock()
		}
	})
	limit := func(next http.Handler) http.Handler {
		next = countFailures(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			now := time.Now().Before(until)
			if now {
				limited++
			}
			mu.Unlock()
			if now {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	flags := startReference(t, limit)
	run := runSuite(t, 2*runTimeout, append(flags, "-ginkgo.label-filter=!slow && !disruptive")...)
	if run.exitCode != 0 {
		t.Fatalf("rate limiting failed the run (exit %d):\n%s", run.exitCode, describeFailures(run))
	}
	mu.Lock()
	defer mu.Unlock()
	if limited == 0 {
		t.Errorf("the provider never rate-limited the suite (%d failed authentications), so this test proved nothing", failures)
	}
}

// Finding 15: secrets and tokens stay out of every output, in every encoding, and the
// provider's text cannot forge the log. The provider JSON-escapes every character of its
// tokens, echoes the Authorization header in another header, sends a 100 KB header, answers
// a failed authentication with raw terminal escapes in its error text, and drops Cache-Control
// from token responses, so that failures print the token responses' transcripts.
func TestFinding15NoSecretInAnyOutput(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	var mu sync.Mutex
	var tokens []string
	hostile := editResponses(func(*http.Request) bool { return true }, func(r *http.Request, res *response) {
		res.header.Set("X-Echo", r.Header.Get("Authorization"))
		res.header.Set("X-Padding", strings.Repeat("p", 100<<10))
		if tokenPOST(r) && res.status == http.StatusUnauthorized {
			res.body = []byte("{\"error\":\"invalid_client\",\"error_description\":\"\x1b[32mSUCCESS\x1b[0m\r\n\"}")
		}
		tok, ok := res.object()["access_token"].(string)
		if !ok {
			return
		}
		mu.Lock()
		tokens = append(tokens, tok)
		mu.Unlock()
		var esc strings.Builder
		for _, c := range tok {
			fmt.Fprintf(&esc, `\u%04X`, c)
		}
		res.body = bytes.Replace(res.body, []byte(`"`+tok+`"`), []byte(`"`+esc.String()+`"`), 1)
		res.header.Del("Cache-Control")
	})
	dir := t.TempDir()
	junit, md, ginkgoJUnit := filepath.Join(dir, "j.xml"), filepath.Join(dir, "s.md"), filepath.Join(dir, "g.xml")
	flags := startReference(t, hostile)
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=scenario", "-results-junit="+junit,
		"-summary-md="+md, "-ginkgo.junit-report="+ginkgoJUnit)...)
	if run.exitCode == 0 {
		t.Fatal("the provider without Cache-Control passed")
	}
	if o := run.outcome("S2S-5"); o != judge.Passed {
		t.Errorf("S2S-5 is %q: the suite did not read the JSON-escaped token, so this test proved nothing", o)
	}
	results, _ := json.Marshal(run.table)
	outputs := map[string]string{"console": run.output, "results.json": string(results)}
	for _, p := range []string{junit, md, ginkgoJUnit} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(p)] = string(b)
	}
	basic := strings.TrimPrefix(goodBasic, "Basic ")
	secrets := map[string]string{"the client secret": provider.DemoClientSecret, "the Basic credentials": basic,
		"the Basic credentials, base64 without padding": strings.TrimRight(basic, "="),
		"the raw credentials in base64":                 base64.StdEncoding.EncodeToString([]byte(provider.DemoClientID + ":" + provider.DemoClientSecret))}
	mu.Lock()
	if len(tokens) == 0 {
		t.Fatal("no token was issued")
	}
	for i, tok := range tokens {
		secrets[fmt.Sprintf("issued token %d", i+1)] = tok
	}
	mu.Unlock()
	for name, out := range outputs {
		for what, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %s", name, what)
			}
		}
		if strings.Contains(out, "\x1b[32mSUCCESS") {
			t.Errorf("%s prints the provider's terminal escapes raw", name)
		}
		if strings.Contains(out, strings.Repeat("p", 1<<10)) {
			t.Errorf("%s prints a 100 KB header unclipped", name)
		}
	}
	if !strings.Contains(outputs["console"], `\x1b[32mSUCCESS`) {
		t.Error("the console shows no escaped form of the provider's terminal escapes, so this test proved nothing")
	}
	if !strings.Contains(outputs["j.xml"], "── response") {
		t.Error("the per-requirement JUnit has no transcript of the failing token response, so this test proved nothing")
	}
}

// Finding 16: the suite asks for no content coding (Accept-Encoding: identity), so a provider
// that compresses whenever a client does not refuse it sends the suite plain bytes, and passes.
func TestFinding16AcceptEncodingIdentity(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	gz := editResponses(func(r *http.Request) bool { return r.Header.Get("Accept-Encoding") != "identity" },
		func(_ *http.Request, res *response) {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = zw.Write(res.body)
			_ = zw.Close()
			res.body = b.Bytes()
			res.header.Set("Content-Encoding", "gzip")
		})
	flags := startReference(t, gz)
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow", "-strict")...)
	if run.exitCode != 0 {
		t.Fatalf("a provider that compresses unless asked not to failed (exit %d):\n%s", run.exitCode, describeFailures(run))
	}
}

// Client authentication is described, not assumed: a provider that takes only body credentials
// (client_secret_post; OAuth 2.1 makes HTTP Basic optional) is tested with
// --client-auth-method=client_secret_post, and every spec that needs a token gets one.
func TestABodyCredentialsOnlyProviderIsDescribed(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	refuseBasic := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == provider.PathToken && strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
				w.Header().Set("WWW-Authenticate", `Basic realm="none accepted"`)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	flags := startReference(t, refuseBasic)
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow", "-client-auth-method=client_secret_post", "-profile=oauth2.1")...)
	if run.exitCode == 2 {
		t.Fatalf("the preflight refused a client described as client_secret_post:\n%s", lastLines(run.output, 10))
	}
	for id, want := range map[string]judge.Outcome{"C-6750-2.1-a": judge.Passed, "C-6749-7-a": judge.Passed, "C-6749-2.3.1-c": judge.Information} {
		if o := run.outcome(id); o != want {
			t.Errorf("%s is %q, not %q", id, o, want)
		}
	}
}

// Finding 11: a token_type that is not Bearer does not silently skip the resource server's
// rules: a made-up type ("mac", neither registered nor a URI) fails C-6749-5.1-c even with the
// scenario filtered out, and the Bearer rows say they are blocked by it.
func TestFinding11AnUnknownTokenTypeIsReported(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	flags := startReference(t, editResponses(isGoodBasic, when(http.StatusOK, setMember("token_type", "mac"))))
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=!slow && !scenario")...)
	if run.exitCode == 0 {
		t.Fatal("the run passed a provider whose tokens are of a made-up type")
	}
	if o := run.outcome("C-6749-5.1-c"); o != judge.Failed {
		t.Errorf("C-6749-5.1-c is %q, not failed", o)
	}
	for _, r := range run.rows(judge.NotJudged) {
		if r.ID == "C-6750-2.1-a" && !strings.Contains(strings.Join(r.Reasons, ";"), "blocked by C-6749-5.1-c") {
			t.Errorf("C-6750-2.1-a is not judged for another reason: %v", r.Reasons)
		}
	}
}

// Finding 9 (part): no answer is not throttling: a provider that drops the connection of
// every wrong secret leaves the brute-force row not judged, never passed.
func TestFinding09NoAnswerIsNotThrottling(t *testing.T) {
	t.Parallel() // a suite process of its own: it runs beside the others (TestMain)
	drop := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := basicClientID(r)
			if ok && id == provider.FixtureThrowaway.ID &&
				r.Header.Get("Authorization") != httpauth.BasicAuthorization(provider.FixtureThrowaway.ID, provider.FixtureThrowaway.Secret) {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	flags := startReference(t, drop)
	run := runSuite(t, runTimeout, append(flags, "-ginkgo.label-filter=C-6749-2.3.1-e")...)
	if o := run.outcome("C-6749-2.3.1-e"); o != judge.NotJudged {
		t.Errorf("C-6749-2.3.1-e is %q, not %q:\n%s", o, judge.NotJudged, lastLines(run.output, 20))
	}
}
