package proof

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// fault is a provider that breaks one rule: the reference behind a middleware.
type fault struct {
	name string
	// breaks is the requirement ID the fault violates: a spec carrying it must report it.
	breaks string
	// also lists requirement IDs the fault cannot help breaking too (a read that fails breaks
	// both reads of the scenario). Failures must name breaks or one of these; any other
	// failure is the suite crying wolf.
	also []string
	// soft marks a rule graded as a warning: the run passes with a warning carrying breaks,
	// and fails with --strict.
	soft bool
	wrap func(http.Handler) http.Handler
	// args are extra suite flags.
	args []string
	// serve, when set, serves the faulty provider instead of serveTLS and returns the suite
	// flags that point at it (serveTLSAndCleartext, for instance).
	serve func(t *testing.T, h http.Handler) []string
	// config, when set, changes the reference's configuration before the fault wraps it.
	config func(*provider.Config)
}

// response is a captured response that a fault may change before it is sent.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) object() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(r.body, &m)
	return m
}

func (r *response) setObject(m map[string]any) {
	r.body, _ = json.Marshal(m)
}

// editResponses lets edit change the responses to matching requests.
func editResponses(match func(*http.Request) bool, edit func(*http.Request, *response)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			res := &response{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
			edit(r, res)
			res.write(w)
		})
	}
}

// write sends the response; its Content-Length (the reference sets one) is the edited body's.
func (r *response) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Length") != "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(r.body)))
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// editRequests lets edit change matching requests before the reference sees them.
func editRequests(match func(*http.Request) bool, edit func(*http.Request)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				edit(r)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// answer replaces the reference's answer to matching requests.
func answer(match func(*http.Request) bool, status int, contentType, body string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
}

func at(method, path string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == method && r.URL.Path == path }
}

func onPaths(paths ...string) func(*http.Request) bool {
	return func(r *http.Request) bool { return slices.Contains(paths, r.URL.Path) }
}

func and(preds ...func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}
}

func withoutAuthorization(r *http.Request) bool { return r.Header.Get("Authorization") == "" }

func withAuthorizationContaining(s string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.Contains(r.Header.Get("Authorization"), s) }
}

var (
	tokenPOST = at(http.MethodPost, provider.PathToken)
	readGET   = at(http.MethodGet, provider.PathReadResource)
	writePOST = at(http.MethodPost, provider.PathWriteResource)
	protected = onPaths(provider.PathReadResource, provider.PathWriteResource, provider.PathScopedResource)
	goodBasic = httpauth.BasicAuthorization(provider.DemoClientID, provider.DemoClientSecret)
	// isBadBasic: a token request with HTTP Basic credentials that fail: the demo client's id
	// with a wrong secret, or an unknown id. Fixture clients have rules of their own.
	isBadBasic = func(r *http.Request) bool {
		id, ok := basicClientID(r)
		return tokenPOST(r) && ok && r.Header.Get("Authorization") != goodBasic && !isFixtureClient(id)
	}
	isGoodBasic = func(r *http.Request) bool { return tokenPOST(r) && r.Header.Get("Authorization") == goodBasic }
)

// basicClientID is the client id of a request's HTTP Basic credentials.
func basicClientID(r *http.Request) (string, bool) {
	scheme, credentials, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(credentials))
	if err != nil {
		return "", false
	}
	id, _, _ := strings.Cut(string(raw), ":")
	id, err = url.QueryUnescape(id)
	return id, err == nil
}

func isFixtureClient(id string) bool {
	for _, c := range []provider.Client{provider.FixtureSpecialCharacters, provider.FixtureNoClientCredentials,
		provider.FixtureShortLived, provider.FixturePublic, provider.FixtureThrowaway} {
		if c.ID == id {
			return true
		}
	}
	return false
}

// formOf reads a request's form body and puts the body back, so the reference still reads it.
func formOf(r *http.Request) url.Values {
	if r.Body == nil {
		return url.Values{}
	}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	v, _ := url.ParseQuery(string(b))
	return v
}

// setForm replaces a request's body with the encoded form.
func setForm(r *http.Request, v url.Values) {
	b := v.Encode()
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
}

// Edits of a captured response.

func setStatus(status int) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) { r.status = status }
}

func delHeader(name string) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) { r.header.Del(name) }
}

func setHeader(name, value string) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) { r.header.Set(name, value) }
}

func setMember(name string, value any) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) {
		m := r.object()
		m[name] = value
		r.setObject(m)
	}
}

func delMember(name string) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) {
		m := r.object()
		delete(m, name)
		r.setObject(m)
	}
}

func renameMember(from, to string) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) {
		m := r.object()
		m[to] = m[from]
		delete(m, from)
		r.setObject(m)
	}
}

func setBody(body string) func(*http.Request, *response) {
	return func(_ *http.Request, r *response) { r.body = []byte(body) }
}

func when(status int, edit func(*http.Request, *response)) func(*http.Request, *response) {
	return func(req *http.Request, r *response) {
		if r.status == status {
			edit(req, r)
		}
	}
}

// catalogue holds every fault; each file of faults registers its own.
var catalogue []fault

// register adds faults to the catalogue (use as var _ = register([]fault{…})).
func register(fs []fault) bool {
	catalogue = append(catalogue, fs...)
	return true
}

// The documented scenario: each step broken at least once per rule it checks.
var _ = register([]fault{
	// Step 1.
	{name: "/public answers oink", breaks: "S2S-1",
		wrap: editResponses(at(http.MethodGet, provider.PathPublic), setBody("oink"))},
	{name: "/public wants a token", breaks: "S2S-1", also: []string{"H-9110-15.5.2-a"},
		wrap: answer(at(http.MethodGet, provider.PathPublic), http.StatusUnauthorized, "", "")},

	// Step 2.
	// The scenario's step 2 also judges the challenge of the 200 it got (C-6750-3-a, 3-b, 3-c,
	// 3.1-e); the other specs of a challenge are blocked by C-6749-7-a.
	{name: "a protected read is served without a token", breaks: "C-6749-7-a",
		also: []string{"S2S-2", "C-6750-3-a", "C-6750-3-b", "C-6750-3-c", "C-6750-3.1-e"},
		wrap: answer(and(readGET, withoutAuthorization), http.StatusOK, "application/json", `{"resource":null}`)},
	{name: "a read without a token answers 403", breaks: "S2S-2",
		wrap: editResponses(and(readGET, withoutAuthorization), setStatus(http.StatusForbidden))},
	// Every 401 without a challenge breaks RFC 9110 §15.5.2 too. The rfc6750 specs that need
	// the challenge are blocked by C-6750-3-a; the scenario's steps 2 and 6 still judge the
	// challenge's other rows on the missing one (3-b, 3-c, 3-f, 3.1-e).
	{name: "protected routes send 401 without WWW-Authenticate", breaks: "C-6750-3-a",
		also: []string{"H-9110-15.5.2-a"},
		wrap: editResponses(protected, delHeader("WWW-Authenticate"))},
	// The rfc6750 specs that need a Bearer challenge are blocked by C-6750-3-b; the scenario's
	// steps 2 and 6 still judge the Bearer challenge's other rows (3-c, 3-f, 3.1-e).
	{name: "protected routes challenge with Basic, not Bearer", breaks: "C-6750-3-b",
		wrap: editResponses(protected, when(http.StatusUnauthorized, setHeader("WWW-Authenticate", `Basic realm="x"`)))},
	{name: "a read without a token gets a bare Bearer challenge", breaks: "C-6750-3-c", soft: true,
		wrap: editResponses(and(protected, withoutAuthorization), setHeader("WWW-Authenticate", "Bearer"))},
	{name: "a read without a token gets an error code", breaks: "C-6750-3.1-e", soft: true,
		wrap: editResponses(and(protected, withoutAuthorization), setHeader("WWW-Authenticate", `Bearer realm="x", error="invalid_token"`))},

	// Step 3.
	{name: "the token endpoint lets a wrong secret through", breaks: "C-6749-4.4.2-c",
		wrap: editRequests(isBadBasic, func(r *http.Request) { r.Header.Set("Authorization", goodBasic) })},
	{name: "invalid_client answered with 500", breaks: "C-6749-4.4.2-c", also: []string{"C-6749-5.2-b"},
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, setStatus(http.StatusInternalServerError)))},
	{name: "invalid_client answered with an empty body", breaks: "C-6749-5.2-d", also: []string{"C-6749-5.2-g"},
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, setBody("")))},
	{name: "invalid_client sent as text/plain", breaks: "C-6749-5.2-g",
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, setHeader("Content-Type", "text/plain")))},
	{name: "invalid_client has another error code", breaks: "C-6749-5.2-d", also: []string{"C-6749-4.4.2-c"},
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, setMember("error", "unauthorized_client")))},
	// A 401 without a challenge breaks HTTP (RFC 9110 §15.5.2), judged on every answer; the
	// scenario's step 3 also finds no Basic challenge (C-6749-5.2-b).
	{name: "invalid_client with 401 and no WWW-Authenticate", breaks: "H-9110-15.5.2-a", also: []string{"C-6749-5.2-b"},
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, delHeader("WWW-Authenticate")))},
	{name: "invalid_client with 400 instead of 401", breaks: "C-6749-5.2-b", soft: true,
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, setStatus(http.StatusBadRequest)))},
	{name: "invalid_client without error_description", breaks: "S2S-3", soft: true,
		wrap: editResponses(isBadBasic, when(http.StatusUnauthorized, delMember("error_description")))},

	// Step 4.
	{name: "token response status 201", breaks: "C-6749-5.1-a", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setStatus(http.StatusCreated)))},
	{name: "token response sent as text/plain", breaks: "C-6749-5.1-f", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setHeader("Content-Type", "text/plain")))},
	{name: "token response is not JSON", breaks: "C-6749-5.1-f", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setBody("access_token=abc&token_type=Bearer")))},
	{name: "access_token is empty", breaks: "C-6749-5.1-b", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("access_token", "")))},
	{name: "access_token is missing", breaks: "C-6749-5.1-b", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, delMember("access_token")))},
	{name: "token_type is missing", breaks: "C-6749-5.1-c", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, delMember("token_type")))},
	{name: "token_type is not Bearer", breaks: "S2S-4", also: []string{"C-6749-5.1-c"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("token_type", "mac")))},
	{name: "expires_in is missing", breaks: "S2S-4",
		wrap: editResponses(isGoodBasic, when(http.StatusOK, delMember("expires_in")))},
	{name: "expires_in is the string \"3600\"", breaks: "C-6749-5.1-e", also: []string{"S2S-4", "C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("expires_in", "3600")))},
	{name: "expires_in is fractional", breaks: "C-6749-5.1-e", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("expires_in", 3599.5)))},
	{name: "expires_in is not the pinned 3600", breaks: "S2S-4",
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("expires_in", 7200)))},
	{name: "scope is a JSON array", breaks: "C-6749-3.3-a", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("scope", []string{"read"})))},
	{name: "scope is widened to read write", breaks: "S2S-4",
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("scope", "read write")))},
	{name: "token response without Cache-Control", breaks: "C-6749-5.1-g", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, delHeader("Cache-Control")))},
	{name: "token response with Cache-Control: no-cache, private", breaks: "C-6749-5.1-g", also: []string{"C-6749-4.4.3-a"},
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setHeader("Cache-Control", "no-cache, private")))},
	{name: "token response without Pragma", breaks: "C-6749-5.1-h", soft: true,
		wrap: editResponses(isGoodBasic, when(http.StatusOK, delHeader("Pragma")))},
	{name: "token response with a refresh_token", breaks: "C-6749-4.4.3-b", soft: true,
		wrap: editResponses(isGoodBasic, when(http.StatusOK, setMember("refresh_token", "r3fr3sh")))},
	{name: "the token endpoint fails for good credentials", breaks: "C-6749-5.1-a", also: []string{"C-6749-4.4.3-a", "C-6749-2.3.1-a"},
		wrap: editResponses(isGoodBasic, func(_ *http.Request, r *response) {
			r.status, r.body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
		})},

	// Step 5.
	{name: "an authenticated read is refused", breaks: "C-6750-2.1-a", also: []string{"S2S-8", "H-9110-15.5.2-a"},
		wrap: answer(and(readGET, withAuthorizationContaining(".")), http.StatusUnauthorized, "", "")},
	{name: "a read answers without the resource member", breaks: "S2S-5", also: []string{"S2S-8"},
		wrap: editResponses(readGET, when(http.StatusOK, renameMember("resource", "data")))},
	{name: "a read answers text/html", breaks: "S2S-5", also: []string{"S2S-8"},
		wrap: editResponses(readGET, when(http.StatusOK, setHeader("Content-Type", "text/html")))},

	// Step 6.
	{name: "a made-up token may write", breaks: "C-6749-7-a",
		wrap: answer(and(writePOST, withAuthorizationContaining("random-token-foo")), http.StatusOK, "application/json", `{"message":"resource created"}`)},
	{name: "a made-up token gets 403", breaks: "C-6750-3.1-c", soft: true,
		wrap: editResponses(and(writePOST, withAuthorizationContaining("random-token-foo")), setStatus(http.StatusForbidden))},
	{name: "a made-up token's challenge has no error", breaks: "C-6750-3-f", soft: true,
		wrap: editResponses(and(writePOST, withAuthorizationContaining("random-token-foo")), setHeader("WWW-Authenticate", `Bearer realm="x"`))},
	{name: "a made-up token's refusal has no JSON error", breaks: "S2S-6", soft: true,
		wrap: editResponses(and(writePOST, withAuthorizationContaining("random-token-foo")), func(_ *http.Request, r *response) {
			r.body = nil
			r.header.Del("Content-Type")
		})},

	// Step 7.
	{name: "an authenticated write answers 201", breaks: "S2S-7",
		wrap: editResponses(writePOST, when(http.StatusOK, setStatus(http.StatusCreated)))},
	{name: "an authenticated write says something else", breaks: "S2S-7",
		wrap: editResponses(writePOST, when(http.StatusOK, setMember("message", "ok")))},
	{name: "an authenticated write is refused", breaks: "S2S-7",
		wrap: answer(and(writePOST, withAuthorizationContaining(".")), http.StatusForbidden, "", "")},

	// Step 8.
	{name: "a write is acknowledged but not kept", breaks: "S2S-8",
		wrap: answer(and(writePOST, withAuthorizationContaining(".")), http.StatusOK, "application/json", `{"message":"resource created"}`)},
	{name: "a read returns a stale value", breaks: "S2S-8",
		wrap: editResponses(readGET, when(http.StatusOK, setMember("resource", "foo-bar-moo")))},
})

// faultArgs are the suite flags of every proof run, besides those startReference gives. The
// slow specs (the expiry check waits out a token's lifetime) only run for the faults that need
// them (args: allSpecs) and for the plain reference's control, or the proof would take minutes.
var faultArgs = []string{"-request-timeout=5s", "-ginkgo.label-filter=!slow && !(" + m2mLabels + ")"}

// m2mLabels are the labels of the specs of checklist sections 2.C–2.N (revocation,
// introspection, metadata, the BCP, OAuth 2.1, JWT client authentication, JWT access tokens,
// resource indicators, DPoP, mutual TLS). A fault of those sections runs its own row's specs (its args); the
// faults of RFC 6749 and 6750 leave those specs out, so that each run stays as small as it was
// and its family stays its own. The controls run every spec, these included.
const m2mLabels = `/^(rfc7009|rfc7662|rfc8414|rfc9700|oauth2\.1|rfc7523|rfc7521|rfc10070|oidcc|openidconnectcore|rfc9068|rfc8707|rfc9449|rfc8705)(:|$)/`

// controlArgs are the suite flags of every control run: every spec but the slow ones.
var controlArgs = []string{"-request-timeout=5s", "-ginkgo.label-filter=!slow"}

// allSpecs, as a fault's args, runs the slow specs too.
var allSpecs = []string{"-ginkgo.label-filter="}

const runTimeout = 60 * time.Second

func TestFaultsAreCaught(t *testing.T) {
	for _, f := range catalogue {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			checkFault(t, f)
		})
	}
}

// checkFault asserts the three things a fault must show: the run fails (or, for a rule graded
// as a warning, warns and fails under --strict); the results table has the broken row failed
// (warned without --strict); and no other row outside the fault's family fails.
func checkFault(t *testing.T, f fault) {
	serve := f.serve
	if serve == nil {
		serve = serveTLS
	}
	args := append(append(serve(t, referenceHandlerWith(t, f.config, f.wrap)), faultArgs...), f.args...)
	if f.soft {
		run := runSuite(t, runTimeout, args...)
		if run.exitCode != 0 {
			t.Errorf("a rule graded as a warning failed the run without --strict (exit %d):\n%s", run.exitCode, describeFailures(run))
		}
		if o := run.outcome(f.breaks); o != judge.Warned {
			t.Errorf("%s is %q without --strict, not warned; rows that need attention:\n%s", f.breaks, o,
				describeRows(run.rows(judge.Failed, judge.Warned, judge.Stale)))
		}
		args = append(args, "-strict")
	}
	run := runSuite(t, runTimeout, args...)
	if run.exitCode == 0 {
		recordDetection(detection{fault: f.name, rule: f.breaks, outcome: "MISSED"})
		t.Fatalf("the suite passed a provider that breaks %s", f.breaks)
	}
	family := append([]string{f.breaks}, f.also...)
	for _, r := range run.rows(judge.Failed, judge.Stale) {
		if !slices.Contains(family, r.ID) {
			t.Errorf("a failure outside the family of %s: %s\n  %s", f.breaks, r.ID, firstLine(r.Message))
		}
	}
	if run.table != nil {
		for _, e := range run.table.Errors {
			t.Errorf("a spec error that no row explains: %s\n  %s", e.Spec, firstLine(e.Message))
		}
	}
	outcome := "failed"
	if f.soft {
		outcome = "warned"
	}
	var caughtBy []string
	if o := run.outcome(f.breaks); o != judge.Failed {
		t.Errorf("%s is %q, not failed:\n%s", f.breaks, o, describeFailures(run))
	} else {
		for _, r := range run.rows(judge.Failed) {
			if r.ID == f.breaks {
				caughtBy = r.Specs
			}
		}
	}
	if t.Failed() {
		outcome = "MISSED"
	}
	recordDetection(detection{fault: f.name, rule: f.breaks, outcome: outcome, caughtBy: strings.Join(caughtBy, "; ")})
}

func describeSkips(run suiteRun) string {
	var b strings.Builder
	for _, s := range run.specs {
		if s.LeafNodeType == types.NodeTypeIt && s.State == types.SpecStateSkipped && s.Failure.Message != "" {
			b.WriteString("  " + s.FullText() + ": " + firstLine(s.Failure.Message) + "\n")
		}
	}
	return b.String()
}

func describeFailures(run suiteRun) string {
	if rows := run.rows(judge.Failed, judge.Stale, judge.Warned); len(rows) > 0 {
		return describeRows(rows)
	}
	var b strings.Builder
	for _, s := range run.failed() {
		b.WriteString("  " + s.FullText() + ": " + firstLine(s.Failure.Message) + "\n")
	}
	if b.Len() == 0 {
		return run.output
	}
	return b.String()
}
