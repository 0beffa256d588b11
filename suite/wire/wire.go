// Package wire is the conformance suite's HTTP client. It sends each request to the provider
// under test on a connection of its own, under one deadline for the whole exchange (connect,
// TLS, headers and body), and keeps what came back as it was on the wire: the header block is
// parsed from the bytes the connection read, not taken from net/http, which rewrites some
// headers. It stops waiting for a provider that stopped answering, waits out short Retry-After
// answers to 429 and 503, never decodes a content coding, and renders exchanges as transcripts
// with credentials and tokens masked in every encoding and control characters escaped.
//
// It depends on the standard library only, so that it can be unit-tested without the suite.
package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options and the fixed limits of a Client.
const (
	// DefaultTimeout is the deadline of one exchange when Options.Timeout is not set.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBody is the largest response body read when Options.MaxBody is not set.
	DefaultMaxBody = 1 << 20
	// DefaultRetryBudget is the total a Client waits for Retry-After when
	// Options.RetryBudget is not set.
	DefaultRetryBudget = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After waited out when Options.MaxRetryAfter is
	// not set.
	DefaultMaxRetryAfter = 10 * time.Second
	// MaxAttempts is how many times a request is sent at most, retries after 429 and 503
	// included.
	MaxAttempts = 3
	// MaxSilent is how many exchanges in a row may get no response within the timeout before
	// the Client stops sending (see ErrSilent).
	MaxSilent = 3
	// recordLimit is how much of what a connection reads is kept for the wire view.
	recordLimit = 64 << 10
)

// ErrSilent is the error of every exchange a Client refuses to send because the provider did not
// answer the previous MaxSilent requests within the timeout.
var ErrSilent = fmt.Errorf("the provider did not answer the last %d requests within the timeout, so the suite stopped waiting for it", MaxSilent)

// Options configure a Client. The zero value of each field means its default.
type Options struct {
	// Timeout is one deadline per exchange: connect, TLS, headers and body. Default
	// DefaultTimeout.
	Timeout time.Duration
	// RootCAs verify the provider's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// ClientCertificates are offered when the provider asks for one (mutual TLS): the first,
	// whatever certificate authorities the provider names as acceptable, since a conformance
	// check that presents "another certificate" must present it.
	ClientCertificates []tls.Certificate
	// MaxBody bounds a response body; a larger body is the error "the response body is larger
	// than N bytes". Default DefaultMaxBody.
	MaxBody int64
	// RetryBudget is how long the Client waits for Retry-After in all, over its life and across
	// goroutines. Default DefaultRetryBudget.
	RetryBudget time.Duration
	// MaxRetryAfter is the longest Retry-After the Client waits out. Default
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Redactor masks secrets in transcripts; the Client teaches it the tokens of every response
	// body. Nil means a fresh one.
	Redactor *Redactor
	// OnExchange, if set, is called with every finished exchange, once per Do.
	OnExchange func(*Exchange)
}

// Client sends requests to the provider under test. Every exchange has a connection of its own:
// no keep-alive, no proxy (HTTP_PROXY and the like are ignored, since a proxy would stand
// between the suite and the wire it reports), HTTP/1.1 only, TLS 1.2 or later. Redirects are
// returned, never followed. It is safe for concurrent use.
type Client struct {
	o Options

	mu     sync.Mutex
	silent int           // exchanges in a row without a response within the timeout
	budget time.Duration // what is left of Options.RetryBudget

	// sleep waits d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Client with the options o, defaults filled in.
func New(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = DefaultRetryBudget
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.Redactor == nil {
		o.Redactor = NewRedactor()
	}
	return &Client{o: o, budget: o.RetryBudget, sleep: sleepCtx}
}

// Redactor returns the Client's Redactor.
func (c *Client) Redactor() *Redactor { return c.o.Redactor }

// Timeout returns the deadline of one exchange.
func (c *Client) Timeout() time.Duration { return c.o.Timeout }

// Request is one HTTP request to send.
type Request struct {
	// Method defaults to GET.
	Method string
	// URL is absolute, http or https.
	URL string
	// Header is sent as given, except Host (the URL's host is sent). Accept-Encoding: identity
	// is added unless Header has an Accept-Encoding. The caller sets Content-Type.
	Header http.Header
	// Body is sent as given; nil or empty sends no body.
	Body []byte
	// Note names the request in transcripts: "get a token", "bad credentials".
	Note string
	// NoRetry sends the request once even if the provider answers 429 or 503 with a
	// Retry-After, and leaves RateLimited false: the caller judges that answer itself.
	NoRetry bool
}

// Field is one header field as it was on the wire: name as spelled, value with surrounding
// whitespace trimmed and continuation lines joined.
type Field struct {
	Name, Value string
}

// Exchange is one request and what came back.
type Exchange struct {
	// Request is the request as sent: a copy of the caller's, whose Header holds the headers
	// actually sent (Accept-Encoding added).
	Request *Request
	// Response is nil when Err is set. Its Header is the wire header (see WireHeaderParsed);
	// its Body replays Body and rewinds on every Close, so it can be read again and again.
	// After a 1xx final status (101 Switching Protocols) the body is empty and the
	// connection closed. TLS is set for https.
	Response *http.Response
	// Body is the response body, read in full, as sent (no content coding decoded).
	Body []byte
	// Err says why there was no complete response (see Describe); nil otherwise.
	Err error
	// Duration is how long the last attempt took, from sending to the end of the body.
	Duration time.Duration
	// Timeout is the deadline the exchange was sent with.
	Timeout time.Duration
	// Attempts is how many times the request was sent: more than one after 429 or 503 with
	// a Retry-After, 0 when it was not sent at all (ErrSilent, or a request that cannot be built).
	Attempts int
	// RateLimited says the final answer was 429 or 503 and retrying did not or could not help
	// (no usable Retry-After, too long, the budget spent, MaxAttempts reached): the caller
	// reports the check as not judged. Always false with Request.NoRetry.
	RateLimited bool
	// RetryAfter is the Retry-After of the last 429 or 503 answer, as sent ("" if it had none).
	RetryAfter string
	// ContentEncoding is the response's Content-Encoding when it names a coding other than
	// identity; the body was left encoded.
	ContentEncoding string
	// WireHeaderParsed is false if the header block could not be parsed from the recorded
	// bytes (more than 64 KiB of interim and final heads, or a malformed block net/http
	// accepted) and Response.Header is net/http's.
	WireHeaderParsed bool
	// WireStatusLine and WireFields are the final status line and header fields as on the
	// wire, in order, when WireHeaderParsed.
	WireStatusLine string
	WireFields     []Field
}

// Do sends r and reads the whole response under one deadline, Options.Timeout. It never panics;
// Err is set when no complete response arrived (see Describe). A 429 or 503 answer with a short
// Retry-After is waited out and the request sent again (see Request.NoRetry and
// Exchange.RateLimited). Once MaxSilent exchanges in a row got no response within the timeout,
// Do returns ErrSilent at once without sending.
func (c *Client) Do(ctx context.Context, r *Request) (x *Exchange) {
	x = &Exchange{Timeout: c.o.Timeout}
	defer func() {
		if p := recover(); p != nil {
			x.Err, x.Response, x.Body = fmt.Errorf("internal error in the HTTP client: %v", p), nil, nil
		}
		if c.o.OnExchange != nil {
			c.o.OnExchange(x)
		}
	}()
	if r == nil {
		x.Err = errors.New("no request to send")
		return x
	}
	sent := prepare(r)
	x.Request = sent
	if x.Err = sent.check(); x.Err != nil {
		return x
	}
	if ctx == nil {
		ctx = context.Background()
	}
	for attempts, retryAfter := 1, ""; ; attempts++ {
		if c.tripped() {
			x = &Exchange{Request: sent, Timeout: c.o.Timeout, Attempts: attempts - 1, Err: ErrSilent}
			return x
		}
		x = c.attempt(ctx, sent)
		x.Attempts, x.RetryAfter = attempts, retryAfter
		if x.Err != nil || (x.Response.StatusCode != http.StatusTooManyRequests && x.Response.StatusCode != http.StatusServiceUnavailable) {
			return x
		}
		retryAfter = x.Response.Header.Get("Retry-After")
		x.RetryAfter = retryAfter
		if sent.NoRetry {
			return x
		}
		wait, ok := parseRetryAfter(retryAfter, time.Now())
		if !ok || wait > c.o.MaxRetryAfter || attempts >= MaxAttempts || !c.spend(wait) || c.sleep(ctx, wait) != nil {
			x.RateLimited = true
			return x
		}
	}
}

// prepare copies r with its defaults and the headers to send.
func prepare(r *Request) *Request {
	sent := *r
	if sent.Method == "" {
		sent.Method = http.MethodGet
	}
	sent.Header = r.Header.Clone()
	if sent.Header == nil {
		sent.Header = http.Header{}
	}
	sent.Header.Del("Host")
	if _, set := sent.Header["Accept-Encoding"]; !set {
		sent.Header.Set("Accept-Encoding", "identity")
	}
	return &sent
}

// check says why r cannot be sent, if it cannot.
func (r *Request) check() error {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the request URL %q is not an absolute http or https URL", r.URL)
	}
	if _, err := http.NewRequest(r.Method, r.URL, nil); err != nil {
		return fmt.Errorf("cannot build the request %s %s: %w", r.Method, r.URL, err)
	}
	return nil
}

// attempt sends r once, under its own deadline, and records what came back.
func (c *Client) attempt(ctx context.Context, r *Request) (x *Exchange) {
	x = &Exchange{Request: r, Timeout: c.o.Timeout}
	start := time.Now()
	defer func() { x.Duration = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		x.Err = err
		return x
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var body io.Reader = http.NoBody
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		x.Err = fmt.Errorf("cannot build the request %s %s: %w", r.Method, r.URL, err)
		return x
	}
	req.Header = r.Header.Clone()

	conns := &dialed{}
	defer conns.closeAll()
	deadline, _ := ctx.Deadline()
	hc := &http.Client{
		Transport: c.transport(deadline, conns),
		// A token endpoint or protected resource must answer itself: a redirect is what the
		// caller sees, never followed (following would replay credentials elsewhere).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := hc.Do(req)
	if err != nil {
		err = asTimeout(deadline, err)
		c.record(err)
		x.Err = err
		return x
	}
	rec := conns.last()
	if res.StatusCode < 200 {
		// 101 Switching Protocols (or another 1xx net/http returned as final): whatever follows
		// is not an HTTP body, so do not wait for it.
		res.Body.Close()
		if rec != nil {
			rec.Close()
		}
	} else {
		x.Body, err = readBounded(res.Body, c.o.MaxBody)
		res.Body.Close()
		if err != nil {
			err = asTimeout(deadline, err)
		}
	}
	c.record(err)
	if err != nil {
		x.Body = nil
		x.Err = err
		return x
	}
	res.Body = replayBody{bytes.NewReader(x.Body)}
	x.Response = res
	if rec != nil {
		if h, perr := parseWire(rec.recorded(), res.StatusCode); perr == nil {
			res.Header, x.WireStatusLine, x.WireFields, x.WireHeaderParsed = h.header, h.statusLine, h.fields, true
		}
		if rec.tls != nil {
			state := rec.tls.ConnectionState()
			res.TLS = &state
		}
	}
	x.ContentEncoding = contentCoding(res.Header.Values("Content-Encoding"))
	c.o.Redactor.Learn(x.Body)
	return x
}

// transport returns a transport for one exchange: no proxy, no keep-alive, HTTP/1.1 only, no
// content decoding, every connection recorded in conns and bound by deadline.
func (c *Client) transport(deadline time.Time, conns *dialed) *http.Transport {
	dialer := &net.Dialer{Deadline: deadline}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn.SetDeadline(deadline)
		return conn, nil
	}
	tr := &http.Transport{
		DisableKeepAlives:  true,
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return conns.add(conn, nil), nil
		},
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			host, _, _ := net.SplitHostPort(addr)
			tc := tls.Client(conn, &tls.Config{
				ServerName:           host,
				RootCAs:              c.o.RootCAs,
				GetClientCertificate: c.clientCertificate,
				MinVersion:           tls.VersionTLS12,
				NextProtos:           []string{"http/1.1"},
			})
			hctx, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			if err := tc.HandshakeContext(hctx); err != nil {
				conn.Close()
				return nil, err
			}
			return conns.add(tc, tc), nil
		},
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	return tr
}

// dialed holds the connections of one exchange.
type dialed struct {
	mu    sync.Mutex
	conns []*recorder
}

func (d *dialed) add(conn net.Conn, tc *tls.Conn) net.Conn {
	r := &recorder{Conn: conn, tls: tc}
	d.mu.Lock()
	d.conns = append(d.conns, r)
	d.mu.Unlock()
	return r
}

func (d *dialed) last() *recorder {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) == 0 {
		return nil
	}
	return d.conns[len(d.conns)-1]
}

func (d *dialed) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.conns {
		r.Close()
	}
}

// recorder is a connection (the plaintext side of TLS) that keeps the first recordLimit bytes
// it reads.
type recorder struct {
	net.Conn
	tls *tls.Conn // nil for http

	mu  sync.Mutex
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if n > 0 {
		r.mu.Lock()
		if room := recordLimit - len(r.buf); room > 0 {
			r.buf = append(r.buf, p[:min(n, room)]...)
		}
		r.mu.Unlock()
	}
	return n, err
}

func (r *recorder) recorded() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf)
}

// record counts exchanges in a row that got no response within the timeout.
func (c *Client) record(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if IsTimeout(err) {
		c.silent++
	} else {
		c.silent = 0
	}
}

func (c *Client) tripped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.silent >= MaxSilent
}

// spend takes d from the retry budget, if that much is left.
func (c *Client) spend(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > c.budget {
		return false
	}
	c.budget -= d
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		if len(v) > 9 {
			return 0, false // far longer than any wait worth making, and no overflow
		}
		n, _ := strconv.Atoi(v)
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// contentCoding returns the Content-Encoding values unless they name identity only.
func contentCoding(values []string) string {
	v := strings.Join(values, ", ")
	for _, coding := range strings.Split(v, ",") {
		if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
			return v
		}
	}
	return ""
}

// asTimeout marks err as a timeout when the exchange's deadline has passed: net/http may report
// what it had read so far instead ("malformed HTTP response" for half a status line).
func asTimeout(deadline time.Time, err error) error {
	if IsTimeout(err) || time.Now().Before(deadline) {
		return err
	}
	var body *bodyError
	if errors.As(err, &body) {
		return &bodyError{errors.Join(context.DeadlineExceeded, body.err)}
	}
	return errors.Join(context.DeadlineExceeded, err)
}

// bodyError is a failure to read the body after the status and headers arrived.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the response body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, &bodyError{err}
	}
	if int64(len(b)) > limit {
		return b[:limit], fmt.Errorf("the response body is larger than %d bytes", limit)
	}
	return b, nil
}

// replayBody rewinds when it is closed, so every reader that reads and closes the body sees all
// of it.
type replayBody struct{ *bytes.Reader }

func (b replayBody) Close() error {
	_, err := b.Seek(0, io.SeekStart)
	return err
}

// clientCertificate answers a provider's certificate request with the first of
// Options.ClientCertificates, or none. crypto/tls's own choice (from Certificates) leaves out a
// certificate that does not chain to a CA the provider names, so a check that presents another
// client's certificate would present none without saying so.
func (c *Client) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if len(c.o.ClientCertificates) == 0 {
		return &tls.Certificate{}, nil
	}
	return &c.o.ClientCertificates[0], nil
}
