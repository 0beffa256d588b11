package wire

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// net/http turns "Pragma: no-cache" without Cache-Control into "Cache-Control: no-cache", and
// moves Transfer-Encoding out of the header: the Exchange shows what the provider sent.
func TestResponseHeaderIsTheWireHeader(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // chunked
		io.WriteString(w, `{}`)
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewTLSServer(handler)
	defer secure.Close()
	roots := x509.NewCertPool()
	roots.AddCert(secure.Certificate())

	for _, url := range []string{plain.URL, secure.URL} {
		c := New(Options{Timeout: 5 * time.Second, RootCAs: roots})
		x, _ := do(t, c, url+"/resource")
		if x.Err != nil {
			t.Fatalf("%s: %v", url, x.Err)
		}
		h := x.Response.Header
		if !x.WireHeaderParsed {
			t.Errorf("%s: the wire header was not parsed", url)
		}
		if got, ok := h["Cache-Control"]; ok {
			t.Errorf("%s: Cache-Control %q is in the header, but the provider did not send it", url, got)
		}
		if h.Get("Pragma") != "no-cache" || h.Get("Transfer-Encoding") != "chunked" {
			t.Errorf("%s: header %v, want Pragma: no-cache and Transfer-Encoding: chunked as sent", url, h)
		}
		if x.WireStatusLine != "HTTP/1.1 200 OK" || string(x.Body) != "{}" {
			t.Errorf("%s: status line %q, body %q", url, x.WireStatusLine, x.Body)
		}
		if x.Response.ProtoMajor != 1 || x.Response.ProtoMinor != 1 {
			t.Errorf("%s: protocol %s, want HTTP/1.1", url, x.Response.Proto)
		}
		if strings.HasPrefix(url, "https:") && x.Response.TLS == nil {
			t.Errorf("%s: Response.TLS is nil", url)
		}
	}
}

// Interim 1xx heads are not the response: the header is the final head's, fields in wire order
// with names as spelled.
func TestInterimResponsesAreSkipped(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, _ string) {
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nx-custom: one\r\nPragma: no-cache\r\nX-Custom: two\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	x, _ := do(t, New(Options{Timeout: 5 * time.Second}), srv.URL)
	if x.Err != nil {
		t.Fatal(x.Err)
	}
	h := x.Response.Header
	if h.Get("Link") != "" || h.Get("Cache-Control") != "" || h.Get("Pragma") != "no-cache" {
		t.Errorf("header %v: want the final head's only, as sent", h)
	}
	if got := h.Values("X-Custom"); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("X-Custom %q, want [one two]", got)
	}
	want := []Field{{"x-custom", "one"}, {"Pragma", "no-cache"}, {"X-Custom", "two"}, {"Content-Length", "2"}, {"Connection", "close"}}
	if !slices.Equal(x.WireFields, want) {
		t.Errorf("fields %q, want %q", x.WireFields, want)
	}
}

// A head larger than what is recorded cannot be parsed: net/http's header is kept, and said so.
func TestUnparsedWireHeaderKeepsGoHeader(t *testing.T) {
	big := strings.Repeat("a", recordLimit+1000)
	srv := newRawServer(t, func(c net.Conn, _ string) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nX-Big: "+big+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	x, _ := do(t, New(Options{Timeout: 5 * time.Second}), srv.URL)
	if x.Err != nil {
		t.Fatal(x.Err)
	}
	if x.WireHeaderParsed || x.WireFields != nil || x.Response.Header.Get("X-Big") != big {
		t.Errorf("WireHeaderParsed %v, want false with net/http's header kept", x.WireHeaderParsed)
	}
	if got := Transcript(nil, []*Exchange{x}); !strings.Contains(got, "the head as net/http parsed it, not as sent") {
		t.Errorf("the transcript does not say the head is net/http's:\n%s", Clip(got, 300))
	}
}

// The timeout bounds the whole exchange, body included.
func TestOneDeadlineForTheWholeExchange(t *testing.T) {
	const timeout = 400 * time.Millisecond
	cases := []struct {
		name   string
		handle func(c net.Conn, _ string)
		want   string
	}{
		{"body drip-fed", func(c net.Conn, _ string) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
			for range 100 {
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, "the status and headers arrived, but the body did not arrive within 400ms"},
		{"body shorter than Content-Length", func(c net.Conn, _ string) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
			hold(c)
		}, "the status and headers arrived, but the body did not arrive within 400ms"},
		{"no answer", func(c net.Conn, _ string) { hold(c) }, "no response within 400ms"},
		{"headers drip-fed", func(c net.Conn, _ string) {
			for range 100 {
				if _, err := c.Write([]byte("X")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, "no response within 400ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawServer(t, tc.handle)
			x, took := do(t, New(Options{Timeout: timeout}), srv.URL)
			if took > timeout+slack {
				t.Errorf("took %s with a %s timeout", took, timeout)
			}
			if !IsTimeout(x.Err) || x.Response != nil {
				t.Fatalf("error %v, response %v: want a timeout and no response", x.Err, x.Response)
			}
			if got := Describe(x.Err, x.Timeout); got != tc.want {
				t.Errorf("Describe: %q, want %q", got, tc.want)
			}
		})
	}
}

// After 101 Switching Protocols nothing that follows is an HTTP body: Do returns at once and
// closes the connection.
func TestNoBodyAfterSwitchingProtocols(t *testing.T) {
	for _, head := range []string{
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	} {
		closed := make(chan time.Duration, 1)
		srv := newRawServer(t, func(c net.Conn, _ string) {
			io.WriteString(c, head+"not an HTTP body")
			start := time.Now()
			hold(c)
			closed <- time.Since(start)
		})
		const timeout = 5 * time.Second
		x, took := do(t, New(Options{Timeout: timeout}), srv.URL)
		if x.Err != nil {
			t.Fatalf("%q: %v", head, x.Err)
		}
		if took > slack {
			t.Errorf("%q: took %s: Do waited for a body", head, took)
		}
		if x.Response.StatusCode != http.StatusSwitchingProtocols || len(x.Body) != 0 {
			t.Errorf("%q: status %d, body %q: want 101 and no body", head, x.Response.StatusCode, x.Body)
		}
		select {
		case <-closed:
		case <-time.After(slack):
			t.Errorf("%q: the connection is still open", head)
		}
	}
}

// silentServer answers /answer, and sends only part of the body anywhere else.
func silentServer(t *testing.T) *rawServer {
	return newRawServer(t, func(c net.Conn, requestLine string) {
		if strings.Contains(requestLine, "/answer") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
		hold(c)
	})
}

// Three exchanges in a row without a complete response (body timeouts count) stop the Client:
// the next fails at once with ErrSilent, unsent.
func TestSilenceStopsSending(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	srv := silentServer(t)
	c := New(Options{Timeout: timeout})
	for i := range MaxSilent {
		if x, _ := do(t, c, srv.URL+"/hang"); !IsTimeout(x.Err) {
			t.Fatalf("exchange %d: %v, want a timeout", i+1, x.Err)
		}
	}
	x, took := do(t, c, srv.URL+"/answer")
	if x.Err != ErrSilent || x.Attempts != 0 {
		t.Errorf("error %v, %d attempts: want ErrSilent, not sent", x.Err, x.Attempts)
	}
	if took > 100*time.Millisecond {
		t.Errorf("took %s to refuse", took)
	}
	if n := srv.accepted.Load(); n != MaxSilent {
		t.Errorf("%d connections, want %d: the refused request was sent", n, MaxSilent)
	}
	if got := Describe(x.Err, timeout); got != ErrSilent.Error() {
		t.Errorf("Describe: %q", got)
	}
}

// Only timeouts in a row count: a response in between starts the count again.
func TestSilenceCountsTimeoutsInARow(t *testing.T) {
	t.Parallel()
	srv := silentServer(t)
	c := New(Options{Timeout: 300 * time.Millisecond})
	for i, path := range []string{"/hang", "/hang", "/answer", "/hang", "/answer"} {
		x, _ := do(t, c, srv.URL+path)
		if (path == "/answer") != (x.Err == nil) {
			t.Fatalf("exchange %d (%s): %v", i+1, path, x.Err)
		}
	}
}

// Every request says Accept-Encoding: identity unless the caller chose, and no content coding is
// decoded.
func TestNoContentCodingDecoded(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `{"access_token":"x"}`)
	zw.Close()
	var mu sync.Mutex
	var accepted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepted = append(accepted, strings.Join(r.Header.Values("Accept-Encoding"), ","))
		mu.Unlock()
		if r.URL.Path == "/identity" {
			w.Header().Set("Content-Encoding", "identity")
			io.WriteString(w, "plain")
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	}))
	defer srv.Close()
	c := New(Options{Timeout: 5 * time.Second})

	x := c.Do(context.Background(), &Request{URL: srv.URL + "/gzip"})
	if x.Err != nil || !bytes.Equal(x.Body, gz.Bytes()) || x.ContentEncoding != "gzip" {
		t.Errorf("error %v, ContentEncoding %q, body %q: want the gzip bytes as sent", x.Err, x.ContentEncoding, x.Body)
	}
	x = c.Do(context.Background(), &Request{URL: srv.URL + "/gzip", Header: http.Header{"Accept-Encoding": {"gzip, br"}}})
	if x.Err != nil || !bytes.Equal(x.Body, gz.Bytes()) {
		t.Errorf("error %v, body %q: want the gzip bytes as sent", x.Err, x.Body)
	}
	x = c.Do(context.Background(), &Request{URL: srv.URL + "/identity"})
	if x.Err != nil || x.ContentEncoding != "" {
		t.Errorf("error %v, ContentEncoding %q: identity is no coding", x.Err, x.ContentEncoding)
	}
	if want := []string{"identity", "gzip, br", "identity"}; !slices.Equal(accepted, want) {
		t.Errorf("Accept-Encoding sent: %q, want %q", accepted, want)
	}
}

// rateLimited answers 429 or 503 with Retry-After values in turn, then 200; it checks that every
// attempt carries the same request.
type rateLimited struct {
	answers []string // "429 1", "503" (no Retry-After), "" (200), ...
	hits    atomic.Int32
	bodies  sync.Map
}

func (s *rateLimited) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.hits.Add(1))
	b, _ := io.ReadAll(r.Body)
	s.bodies.Store(n, string(b))
	if n > len(s.answers) || s.answers[n-1] == "" {
		io.WriteString(w, "done")
		return
	}
	status, retryAfter, _ := strings.Cut(s.answers[n-1], " ")
	code, _ := strconv.Atoi(status)
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(code)
}

// retryClient is a Client whose waits are recorded, not slept.
func retryClient(o Options) (*Client, *[]time.Duration) {
	c := New(o)
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return c, &waits
}

func TestRetryAfter(t *testing.T) {
	date := time.Now().Add(4 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name         string
		answers      []string
		o            Options
		noRetry      bool
		status       int
		attempts     int
		rateLimited  bool
		retryAfter   string
		waitsAtLeast []time.Duration // each wait is at least this and at most a second more
	}{
		{"waited out", []string{"429 2", "503 " + date}, Options{}, false, 200, 3, false, date, []time.Duration{2 * time.Second, 3 * time.Second}},
		{"still limited after 3 attempts", []string{"429 0", "429 0", "503 1", "429 0"}, Options{}, false, 503, 3, true, "1", []time.Duration{0, 0}},
		{"no Retry-After", []string{"503"}, Options{}, false, 503, 1, true, "", nil},
		{"unusable Retry-After", []string{"429 soon"}, Options{}, false, 429, 1, true, "soon", nil},
		{"Retry-After too long", []string{"429 11"}, Options{}, false, 429, 1, true, "11", nil},
		{"MaxRetryAfter", []string{"429 3"}, Options{MaxRetryAfter: 2 * time.Second}, false, 429, 1, true, "3", nil},
		{"budget spent", []string{"429 2", "429 2"}, Options{RetryBudget: 3 * time.Second}, false, 429, 2, true, "2", []time.Duration{2 * time.Second}},
		{"NoRetry", []string{"429 1"}, Options{}, true, 429, 1, false, "1", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &rateLimited{answers: tc.answers}
			srv := httptest.NewServer(s)
			defer srv.Close()
			tc.o.Timeout = 5 * time.Second
			c, waits := retryClient(tc.o)
			x := c.Do(context.Background(), &Request{Method: http.MethodPost, URL: srv.URL, Body: []byte("grant_type=client_credentials"), NoRetry: tc.noRetry})
			if x.Err != nil {
				t.Fatal(x.Err)
			}
			if x.Response.StatusCode != tc.status || x.Attempts != tc.attempts || x.RateLimited != tc.rateLimited || x.RetryAfter != tc.retryAfter {
				t.Errorf("status %d, %d attempts, RateLimited %v, RetryAfter %q; want %d, %d, %v, %q",
					x.Response.StatusCode, x.Attempts, x.RateLimited, x.RetryAfter, tc.status, tc.attempts, tc.rateLimited, tc.retryAfter)
			}
			if n := int(s.hits.Load()); n != tc.attempts {
				t.Errorf("the provider got %d requests, want %d", n, tc.attempts)
			}
			for i := 1; i <= tc.attempts; i++ {
				if b, _ := s.bodies.Load(i); b != "grant_type=client_credentials" {
					t.Errorf("attempt %d sent body %q", i, b)
				}
			}
			if len(*waits) != len(tc.waitsAtLeast) {
				t.Fatalf("waits %v, want %d", *waits, len(tc.waitsAtLeast))
			}
			for i, w := range *waits {
				if w < tc.waitsAtLeast[i] || w > tc.waitsAtLeast[i]+time.Second {
					t.Errorf("wait %d: %s, want about %s", i+1, w, tc.waitsAtLeast[i])
				}
			}
		})
	}
}

// The retry budget is the Client's, shared by all goroutines.
func TestRetryBudgetIsShared(t *testing.T) {
	srv := httptest.NewServer(&rateLimited{answers: []string{"429 2", "", "429 2"}})
	defer srv.Close()
	c, _ := retryClient(Options{Timeout: 5 * time.Second, RetryBudget: 3 * time.Second})
	first := c.Do(context.Background(), &Request{URL: srv.URL})
	second := c.Do(context.Background(), &Request{URL: srv.URL})
	if first.Attempts != 2 || first.Response.StatusCode != 200 {
		t.Errorf("first: %d attempts, status %d: want the 2 s wait taken", first.Attempts, first.Response.StatusCode)
	}
	if second.Attempts != 1 || !second.RateLimited {
		t.Errorf("second: %d attempts, RateLimited %v: want no wait, 1 s left", second.Attempts, second.RateLimited)
	}
}

// A real wait ends when the context does.
func TestRetryWaitRespectsContext(t *testing.T) {
	srv := httptest.NewServer(&rateLimited{answers: []string{"429 5"}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	x := New(Options{Timeout: 5 * time.Second}).Do(ctx, &Request{URL: srv.URL})
	if took := time.Since(start); took > 300*time.Millisecond+slack {
		t.Errorf("took %s", took)
	}
	if x.Err != nil || !x.RateLimited || x.Attempts != 1 {
		t.Errorf("error %v, RateLimited %v, %d attempts", x.Err, x.RateLimited, x.Attempts)
	}
}

func TestBodyLimitAndReplay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("b", 100))
	}))
	defer srv.Close()
	x := New(Options{Timeout: 5 * time.Second, MaxBody: 99}).Do(context.Background(), &Request{URL: srv.URL})
	if x.Err == nil || x.Err.Error() != "the response body is larger than 99 bytes" || x.Response != nil {
		t.Errorf("error %v, response %v", x.Err, x.Response)
	}
	x = New(Options{Timeout: 5 * time.Second}).Do(context.Background(), &Request{URL: srv.URL})
	for range 2 {
		b, _ := io.ReadAll(x.Response.Body)
		x.Response.Body.Close()
		if len(b) != 100 {
			t.Errorf("read %d bytes, want 100 every time", len(b))
		}
	}
}

func TestDescribeConnectionFailures(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	secure := httptest.NewUnstartedServer(http.NotFoundHandler())
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are the test
	secure.StartTLS()
	defer secure.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	closing := newRawServer(t, func(c net.Conn, _ string) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
	})
	cases := []struct{ url, want string }{
		{secure.URL, "its TLS certificate is not signed by an authority this machine trusts"},
		{strings.Replace(plain.URL, "http:", "https:", 1), "it speaks plain HTTP, not HTTPS"},
		{refused, "the connection was refused: nothing listens there"},
		{closing.URL, "the status and headers arrived, but the connection was closed before the whole body arrived"},
		{"/relative", `the request URL "/relative" is not an absolute http or https URL`},
	}
	c := New(Options{Timeout: 5 * time.Second})
	if x := c.Do(context.Background(), &Request{Method: "BAD METHOD", URL: plain.URL}); x.Err == nil || x.Attempts != 0 {
		t.Errorf("a bad method: error %v, %d attempts", x.Err, x.Attempts)
	}
	for _, tc := range cases {
		x := c.Do(context.Background(), &Request{URL: tc.url})
		if got := Describe(x.Err, x.Timeout); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.url, got, tc.want)
		}
	}
}

// The Client learns the tokens it receives, and reports every exchange, from many goroutines.
func TestConcurrentExchanges(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"access_token":"token-number-%d","token_type":"Bearer"}`, n.Add(1))
	}))
	defer srv.Close()
	var mu sync.Mutex
	var seen []*Exchange
	c := New(Options{Timeout: 5 * time.Second, OnExchange: func(x *Exchange) {
		mu.Lock()
		seen = append(seen, x)
		mu.Unlock()
	}})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if x := c.Do(context.Background(), &Request{URL: srv.URL}); x.Err != nil {
				t.Error(x.Err)
			}
		})
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Errorf("OnExchange called %d times, want 20", len(seen))
	}
	if got := c.Redactor().String("token-number-7 and token-number-20"); strings.Contains(got, "token-number") {
		t.Errorf("learned tokens not masked: %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {" 7 ", 7 * time.Second, true},
		{"Wed, 01 Jan 2025 00:00:09 GMT", 9 * time.Second, true},
		{"Tue, 31 Dec 2024 23:00:00 GMT", 0, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5", 0, false}, {"9999999999", 0, false}, {"soon", 0, false},
	}
	for _, tc := range cases {
		if got, ok := parseRetryAfter(tc.in, now); got != tc.want || ok != tc.ok {
			t.Errorf("%q: %s %v, want %s %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Options.ClientCertificates are offered to a provider that asks for one.
func TestClientCertificate(t *testing.T) {
	cert, leaf := selfSignedClientCertificate(t, "suite client")
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(leaf)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := New(Options{Timeout: 5 * time.Second, RootCAs: roots, ClientCertificates: []tls.Certificate{cert}})
	x := c.Do(context.Background(), &Request{URL: srv.URL})
	if x.Err != nil || string(x.Body) != "suite client" {
		t.Errorf("error %v, body %q: want the client certificate presented", x.Err, x.Body)
	}
}

// The certificate is presented even when the provider names other authorities as acceptable:
// "another client's certificate" must reach the provider to be refused by it.
func TestClientCertificateWhateverTheAcceptableCAs(t *testing.T) {
	stranger, _ := selfSignedClientCertificate(t, "stranger")
	_, named := selfSignedClientCertificate(t, "the only acceptable authority")
	acceptable := x509.NewCertPool()
	acceptable.AddCert(named)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			io.WriteString(w, "none")
			return
		}
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, ClientCAs: acceptable}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := New(Options{Timeout: 5 * time.Second, RootCAs: roots, ClientCertificates: []tls.Certificate{stranger}})
	if x := c.Do(context.Background(), &Request{URL: srv.URL}); x.Err != nil || string(x.Body) != "stranger" {
		t.Errorf("error %v, body %q: want the stranger's certificate presented", x.Err, x.Body)
	}
	none := New(Options{Timeout: 5 * time.Second, RootCAs: roots})
	if x := none.Do(context.Background(), &Request{URL: srv.URL}); x.Err != nil || string(x.Body) != "none" {
		t.Errorf("error %v, body %q: want no certificate without ClientCertificates", x.Err, x.Body)
	}
}

// selfSignedClientCertificate is a fresh self-signed client certificate for cn, with its key.
func selfSignedClientCertificate(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, leaf
}
