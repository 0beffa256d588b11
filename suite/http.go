package suite

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
)

// maxResponseBytes bounds how much of a response body the suite reads. Larger bodies fail the
// spec: no OAuth response needs a megabyte.
const maxResponseBytes = 1 << 20

// request is one HTTP request a spec sends.
type request struct {
	// Method defaults to GET.
	Method string
	// Path is relative to the provider URL, or to Base when it is set.
	Path string
	// Base replaces the provider URL for this request (a probe of another origin, such as the
	// target's cleartext twin).
	Base string
	// Note names the request in the transcript, as the documented scenario does.
	Note string
	// Query is added to the URL.
	Query url.Values
	// Form is sent as an application/x-www-form-urlencoded body; RawBody, when set, is sent as
	// it is instead (for repeated or malformed parameters).
	Form    url.Values
	RawBody string
	// JSON is sent as an application/json body.
	JSON any
	// Authorization is the Authorization header, if any.
	Authorization string
	// Header holds further headers; a Content-Type here overrides the one the body implies.
	Header http.Header
}

// exchange is one request and what came back, kept for the transcript of a spec.
type exchange struct {
	note     string
	req      *http.Request
	reqBody  []byte
	res      *http.Response
	resBody  []byte
	err      error
	duration time.Duration
}

// exchanges holds the current spec's exchanges. Ginkgo runs one spec at a time per process, and
// the top-level BeforeEach resets it; a spec may send concurrently (the load specs), hence the
// lock.
var (
	exchangesMu sync.Mutex
	exchanges   []*exchange
)

// httpClient is set up in SynchronizedBeforeSuite, once the configuration is known.
var httpClient *http.Client

func newHTTPClient(timeout time.Duration, roots *x509.CertPool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   16,
		DisableCompression:    true, // the suite inspects what the provider sends, as sent
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A token endpoint or protected resource must answer itself; a redirect is what the
		// spec sees, never followed (following would replay credentials elsewhere).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// silentProvider keeps a run against a provider that stopped answering bounded: after
// maxSilentRequests requests in a row got no response within the timeout, the rest fail at
// once instead of each waiting out its own timeout.
var silentProvider = &silenceBreaker{}

const maxSilentRequests = 3

var errProviderSilent = fmt.Errorf("the provider did not answer the last %d requests within --request-timeout, so the suite stopped waiting for it", maxSilentRequests)

type silenceBreaker struct {
	mu     sync.Mutex
	silent int
}

func (b *silenceBreaker) record(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var netErr net.Error
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())) {
		b.silent++
	} else {
		b.silent = 0
	}
}

func (b *silenceBreaker) tripped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.silent >= maxSilentRequests
}

// send sends r to the target and returns the response with its body read (bounded) and
// re-readable, so that several Gomega HTTP matchers can inspect it. A request that gets no
// response fails the spec with the reason in one sentence.
func send(ctx context.Context, r request) *http.Response {
	GinkgoHelper()
	res, err := trySend(ctx, r)
	if err != nil {
		Fail(err.Error())
	}
	return res
}

// trySend is send without failing the spec.
func trySend(ctx context.Context, r request) (*http.Response, error) {
	req, body, err := buildRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	x := &exchange{note: r.Note, req: req, reqBody: body}
	exchangesMu.Lock()
	exchanges = append(exchanges, x)
	exchangesMu.Unlock()
	GinkgoWriter.Printf("[Consumer]: %s %s%s\n", strings.ToLower(req.Method), r.Path, noteSuffix(r.Note))

	if silentProvider.tripped() {
		x.err = errProviderSilent
		GinkgoWriter.Printf("[Provider]: not sent: %s\n\n", errProviderSilent)
		return nil, fmt.Errorf("%s %s was not sent: %w", req.Method, r.Path, errProviderSilent)
	}
	ctx, cancel := context.WithTimeout(ctx, target.RequestTimeout)
	defer cancel()
	start := time.Now()
	res, err := httpClient.Do(req.WithContext(ctx))
	silentProvider.record(err)
	if err == nil {
		x.res = res
		x.resBody, err = readBounded(res.Body)
		res.Body.Close()
		res.Body = replayableBody{bytes.NewReader(x.resBody)}
	}
	x.duration = time.Since(start)
	if err != nil {
		x.err = err
		GinkgoWriter.Printf("[Provider]: no response: %s\n\n", describeTransportError(err))
		return nil, fmt.Errorf("%s %s got no response: %s", req.Method, r.Path, describeTransportError(err))
	}
	redactor.learn(x.resBody)
	judgeHTTPRules(res)
	GinkgoWriter.Printf("[Provider]: %s %s\n\n", res.Status, oneLine(redactor.body(x.resBody), 300))
	return res, nil
}

func buildRequest(ctx context.Context, r request) (*http.Request, []byte, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u := target.url(r.Path)
	if r.Base != "" {
		u = strings.TrimRight(r.Base, "/") + r.Path
	}
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	var body []byte
	contentType := ""
	switch {
	case r.RawBody != "":
		body, contentType = []byte(r.RawBody), "application/x-www-form-urlencoded"
	case r.Form != nil:
		body, contentType = []byte(r.Form.Encode()), "application/x-www-form-urlencoded"
	case r.JSON != nil:
		var err error
		if body, err = json.Marshal(r.JSON); err != nil {
			return nil, nil, err
		}
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot build the request %s %s: %w", method, u, err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.Authorization != "" {
		req.Header.Set("Authorization", r.Authorization)
	}
	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req, body, nil
}

func noteSuffix(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxResponseBytes+1))
	if err != nil {
		return b, err
	}
	if len(b) > maxResponseBytes {
		return b[:maxResponseBytes], fmt.Errorf("the response body is larger than %d bytes", maxResponseBytes)
	}
	return b, nil
}

// replayableBody rewinds when it is closed, so every matcher that reads and closes the body sees
// all of it.
type replayableBody struct{ *bytes.Reader }

func (b replayableBody) Close() error {
	_, err := b.Seek(0, io.SeekStart)
	return err
}

// bodyOf returns the body of a response returned by send.
func bodyOf(res *http.Response) []byte {
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return b
}

// describeTransportError says in words why a request got no response.
func describeTransportError(err error) string {
	var netErr net.Error
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Sprintf("no response within %s (--request-timeout)", target.RequestTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused: nothing listens there"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the host %q was not found", dnsErr.Name)
	case errors.As(err, &unknownAuthority), errors.As(err, &verify) && errors.As(verify.Err, &unknownAuthority):
		return "its TLS certificate is not signed by an authority this machine trusts"
	case errors.As(err, &hostname):
		return "its TLS certificate is not valid for this host name: " + hostname.Error()
	case errors.As(err, &invalid):
		return "its TLS certificate is not valid: " + invalid.Error()
	case errors.As(err, &verify):
		return "its TLS certificate could not be verified: " + verify.Err.Error()
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the connection was closed before a complete response arrived"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "it speaks plain HTTP, not HTTPS"
	case strings.Contains(err.Error(), "http: server gave HTTP response"):
		return err.Error()
	default:
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return urlErr.Err.Error()
		}
		return err.Error()
	}
}

// transcript renders the current spec's exchanges in full, with credentials and tokens redacted.
func transcript() string {
	exchangesMu.Lock()
	defer exchangesMu.Unlock()
	var b strings.Builder
	for i, x := range exchanges {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "── request %d%s\n", i+1, noteSuffix(x.note))
		fmt.Fprintf(&b, "%s %s %s\n", x.req.Method, redactor.requestURI(x.req.URL), "HTTP/1.1")
		fmt.Fprintf(&b, "Host: %s\n", x.req.URL.Host)
		writeHeaders(&b, x.req.Header)
		if len(x.reqBody) > 0 {
			b.WriteString("\n" + clip(redactor.requestBody(x.reqBody, x.req.Header.Get("Content-Type"))) + "\n")
		}
		if x.err != nil {
			fmt.Fprintf(&b, "── no response after %s: %s\n", x.duration.Round(time.Millisecond), describeTransportError(x.err))
			continue
		}
		fmt.Fprintf(&b, "── response (%s)\n%s %s\n", x.duration.Round(time.Millisecond), x.res.Proto, x.res.Status)
		writeHeaders(&b, x.res.Header)
		if len(x.resBody) > 0 {
			b.WriteString("\n" + clip(redactor.body(x.resBody)) + "\n")
		}
	}
	return b.String()
}

func writeHeaders(b *strings.Builder, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s: %s\n", k, redactor.header(k, v))
		}
	}
}

func clip(s string) string {
	const max = 4096
	if len(s) > max {
		return s[:max] + fmt.Sprintf("… [%d more bytes]", len(s)-max)
	}
	return s
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// redactor keeps secrets out of everything the suite prints: the Authorization header,
// credential and token parameters, token members of JSON bodies, and any other occurrence of a
// client secret or of a token the provider issued.
var redactor = &secretRedactor{}

type secretRedactor struct {
	mu      sync.RWMutex
	secrets []string
}

var (
	jsonSecretMember  = regexp.MustCompile(`"(access_token|refresh_token|id_token|client_secret)"(\s*:\s*)"((?:[^"\\]|\\.)*)"`)
	formSecretParam   = regexp.MustCompile(`(^|&)(client_secret|access_token|refresh_token|client_assertion)=[^&]*`)
	accessTokenMember = regexp.MustCompile(`"access_token"\s*:\s*"((?:[^"\\]|\\.)*)"`)
)

// add registers a secret to be masked wherever it appears.
func (r *secretRedactor) add(secret string) {
	if len(secret) >= 4 {
		r.mu.Lock()
		r.secrets = append(r.secrets, secret, url.QueryEscape(secret))
		r.mu.Unlock()
	}
}

// learn registers the access token a response body carries, if any.
func (r *secretRedactor) learn(body []byte) {
	if m := accessTokenMember.FindSubmatch(body); m != nil {
		r.add(string(m[1]))
	}
}

func (r *secretRedactor) mask(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

func (r *secretRedactor) header(name, value string) string {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization":
		scheme, rest, _ := strings.Cut(value, " ")
		if rest == "" {
			return r.mask(value)
		}
		return fmt.Sprintf("%s [redacted, %d chars]", scheme, len(rest))
	case "cookie", "set-cookie":
		return "[redacted]"
	}
	return r.mask(value)
}

func (r *secretRedactor) body(b []byte) string {
	s := jsonSecretMember.ReplaceAllStringFunc(string(b), func(m string) string {
		sub := jsonSecretMember.FindStringSubmatch(m)
		return fmt.Sprintf(`"%s"%s"[redacted, %d chars]"`, sub[1], sub[2], len(sub[3]))
	})
	return r.mask(s)
}

// requestURI is the request target with credential and token parameters of the query masked.
func (r *secretRedactor) requestURI(u *url.URL) string {
	if u.RawQuery == "" {
		return r.mask(u.EscapedPath())
	}
	return r.mask(u.EscapedPath() + "?" + formSecretParam.ReplaceAllString(u.RawQuery, "$1$2=[redacted]"))
}

func (r *secretRedactor) requestBody(b []byte, contentType string) string {
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		return r.mask(formSecretParam.ReplaceAllString(string(b), "$1$2=[redacted]"))
	}
	return r.body(b)
}

// judgeHTTPRules judges the HTTP rules every answer must keep, whatever OAuth row the request
// was for (checklist 2.R): a 401 carries a challenge (RFC 9110 §15.5.2), and a response the
// suite asked not to compress (Accept-Encoding: identity) is recorded if it is compressed
// anyway (RFC 9110 §12.5.3).
func judgeHTTPRules(res *http.Response) {
	if !judge.InSpec() {
		return
	}
	if res.StatusCode == http.StatusUnauthorized {
		judge.Row("H-9110-15.5.2-a").That(len(res.Header.Values("WWW-Authenticate")) > 0,
			"%s %s answered 401 without WWW-Authenticate", res.Request.Method, res.Request.URL.Path)
	}
	if ce := res.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		judge.Row("H-9110-12.5.3-a").Inform("the provider sent Content-Encoding %q though the suite asked for identity; the suite judged the bytes as sent", ce)
	}
}
