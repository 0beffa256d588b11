package proof

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/judge"
)

// Hostile providers: the suite must fail cleanly against them, with a clear reason, within its
// request timeout, never panicking or hanging.

// hostile serves GET / (so the reachability check passes and the specs run) and hands every
// other request to h.
func hostile(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h(w, r)
	})
}

// expectCleanFailure runs the suite against a provider and checks it fails, within bound, with
// want in its output and no panic.
func expectCleanFailure(t *testing.T, bound time.Duration, want string, args ...string) suiteRun {
	t.Helper()
	run := runSuite(t, bound+30*time.Second, append([]string{"-request-timeout=1s"}, args...)...)
	if run.exitCode == 0 {
		t.Fatalf("the suite passed a hostile provider:\n%s", run.output)
	}
	for _, bad := range []string{"panic:", "[PANICKED]", "goroutine "} {
		if strings.Contains(run.output, bad) {
			t.Errorf("the output shows %q:\n%s", bad, run.output)
		}
	}
	if !strings.Contains(run.output, want) {
		t.Errorf("the output does not say %q:\n%s", want, lastLines(run.output, 60))
	}
	if run.duration > bound {
		t.Errorf("the run took %s, more than %s", run.duration, bound)
	}
	return run
}

func TestHostileProviders(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 50<<20)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"an HTML error page where JSON is expected", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
		}, "502 Bad Gateway"},
		{"invalid JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token": "abc", "token_type": `))
		}, "the body is not valid JSON"},
		{"a JSON array where an object is expected", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[{"access_token":"abc","token_type":"Bearer"}]`))
		}, "the body is not a JSON object"},
		{"a 50 MB body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(big)
		}, "the response body is larger than 1048576 bytes"},
		{"a connection reset mid-response", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"access_tok")
			_ = buf.Flush()
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST
			}
			conn.Close()
		}, "the connection was closed before the whole body arrived"},
		// Issue 9, finding 13: none of these may keep a request past its one deadline.
		{"101 Switching Protocols to every request", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_ = buf.Flush()
			<-r.Context().Done() // keep the connection open; the suite must not wait for it
			time.Sleep(30 * time.Second)
			conn.Close()
		}, "101 Switching Protocols"},
		{"a body drip-fed one byte a second", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "64")
			w.WriteHeader(http.StatusOK)
			for range 64 {
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				time.Sleep(time.Second)
			}
		}, "the body did not arrive within 1s"},
		{"a Content-Length larger than the body", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{}")
			_ = buf.Flush()
			time.Sleep(30 * time.Second)
			conn.Close()
		}, "the body did not arrive within 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(hostile(c.handler))
			t.Cleanup(srv.Close)
			expectCleanFailure(t, 60*time.Second, c.want, "-provider-url="+srv.URL)
		})
	}
}

// A provider that stops answering: each request ends at the request timeout, and after a few
// in a row the suite stops waiting, so the run stays bounded however many specs there are.
func TestSilentProviderIsBounded(t *testing.T) {
	t.Parallel() // it mostly waits for the suite's deadline (TestMain)
	release := make(chan struct{})
	srv := httptest.NewServer(hostile(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	expectCleanFailure(t, 20*time.Second, "no response within 1s", "-provider-url="+srv.URL)
}

// A token endpoint that redirects is not followed: the redirect is what the spec sees, and the
// credentials never reach the other server.
func TestRedirectIsNotFollowed(t *testing.T) {
	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(elsewhere.Close)
	srv := httptest.NewServer(hostile(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	expectCleanFailure(t, 60*time.Second, "307 Temporary Redirect", "-provider-url="+srv.URL)
	if n := hits.Load(); n != 0 {
		t.Errorf("the suite followed %d redirects", n)
	}
}

// A TLS provider whose certificate the suite does not trust fails before any spec, saying so.
func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	run := expectCleanFailure(t, 15*time.Second, "its TLS certificate is not signed by an authority this machine trusts", "-provider-url="+srv.URL)
	if run.exitCode != 2 || len(run.specs) != 0 {
		t.Errorf("exit %d with %d specs: a provider that cannot be reached is not tested, and exits 2:\n%s", run.exitCode, len(run.specs), lastLines(run.output, 20))
	}
}

// A provider that resets every connection fails the reachability check, in one sentence.
func TestResetEveryConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
		}
	}()
	expectCleanFailure(t, 15*time.Second, "cannot reach the provider at http://"+l.Addr().String(), "-provider-url=http://"+l.Addr().String())
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// A DPoP server that demands a new nonce of every proof, a nonce outside NQCHAR, with a terminal
// escape in its error_description: the suite sends each request at most twice (the nonce
// handling retries once), fails the rows cleanly within its bound, and prints no escape.
func TestNonceDemandingForeverIsBounded(t *testing.T) {
	t.Parallel() // a suite process of its own (TestMain)
	var demands atomic.Int64
	forever := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != provider.PathToken || r.Header.Get("DPoP") == "" {
				next.ServeHTTP(w, r)
				return
			}
			n := demands.Add(1)
			w.Header().Set("DPoP-Nonce", fmt.Sprintf(`nonce "%d"`, n))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"use_dpop_nonce","error_description":"\u001b[32mPASS\u001b[0m"}`))
		})
	}
	flags := startReference(t, forever)
	run := runSuite(t, 90*time.Second, append(flags, "-request-timeout=5s", "-ginkgo.label-filter=C-9449-5-a || C-9449-8-a")...)
	if run.exitCode == 0 {
		t.Fatalf("the suite passed a server that never takes its own nonces:\n%s", lastLines(run.output, 40))
	}
	if run.outcome("C-9449-5-a") != judge.Failed {
		t.Errorf("C-9449-5-a is %s, want failed:\n%s", run.outcome("C-9449-5-a"), lastLines(run.output, 40))
	}
	// C-9449-8-a needs a bound token first, so it is blocked by C-9449-5-a: never passed.
	if run.outcome("C-9449-8-a") == judge.Passed {
		t.Errorf("C-9449-8-a passed against a server that never takes its own nonces")
	}
	if strings.Contains(run.output, "\x1b[32mPASS") {
		t.Errorf("the provider's terminal escape reached the output:\n%s", lastLines(run.output, 40))
	}
	// Each spec asks for a token a handful of times; the nonce handling adds one retry to each.
	if n := demands.Load(); n > 20 {
		t.Errorf("%d token requests with a proof for two specs: the nonce handling does not stop", n)
	}
}
