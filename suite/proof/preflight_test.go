package proof

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The user's own mistakes, and a provider that cannot be tested now, end the run before any
// spec with one sentence and exit 2 (nothing tested), not with a page of provider failures
// (issue 9, findings 14 and 17).
func TestPreflightSaysWhatIsWrongInOneSentence(t *testing.T) {
	cases := []struct {
		name string
		wrap func(http.Handler) http.Handler
		args []string
		want string
	}{
		{name: "a wrong client secret", args: []string{"-client-secret=not-the-secret"},
			want: "the provider refused the client's credentials (401 Unauthorized, invalid_client): check --client-id, --client-secret and --client-auth-method"},
		{name: "a wrong token path", args: []string{"-token-path=/oauth/token"},
			want: "answered 404 Not Found: check --token-path"},
		{name: "a provider answering everything with 503 and Retry-After",
			wrap: func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Retry-After", "30")
					w.WriteHeader(http.StatusServiceUnavailable)
				})
			},
			want: "the provider is unavailable or rate limiting (503 Service Unavailable, Retry-After: 30)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var wrongSecrets atomic.Int32
			count := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.Header.Get("Authorization"), "Basic") && r.Header.Get("Authorization") != goodBasic {
						wrongSecrets.Add(1)
					}
					next.ServeHTTP(w, r)
				})
			}
			wrap := count
			if c.wrap != nil {
				wrap = func(h http.Handler) http.Handler { return count(c.wrap(h)) }
			}
			flags := startReference(t, wrap)
			start := time.Now()
			run := runSuite(t, 30*time.Second, append(flags, c.args...)...)
			if run.exitCode != 2 {
				t.Fatalf("exit %d, not 2 (nothing tested):\n%s", run.exitCode, lastLines(run.output, 20))
			}
			if !strings.Contains(run.output, c.want) {
				t.Errorf("the output does not say %q:\n%s", c.want, lastLines(run.output, 10))
			}
			if lines := strings.Count(strings.TrimSpace(run.output), "\n") + 1; lines > 3 {
				t.Errorf("%d lines of output, not one sentence:\n%s", lines, run.output)
			}
			if n := wrongSecrets.Load(); n > 1 {
				t.Errorf("the provider saw %d requests with wrong credentials; one is enough to tell", n)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}
