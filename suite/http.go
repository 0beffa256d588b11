package suite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/wire"
)

// The specs' side of the HTTP layer: package wire sends each request under one deadline and
// keeps what was on the wire; this file builds the requests the specs describe, keeps each
// spec's exchanges for its transcript, and turns what cannot be judged (a rate limit) into
// "not judged".

// request is one HTTP request a spec sends.
type request struct {
	// Method defaults to GET.
	Method string
	// Path is relative to the provider URL, or to Base when it is set. It may carry a query
	// (a token endpoint URI may have one, RFC 6749 §3.2); Query is added to it.
	Path string
	// Base replaces the provider URL for this request (a probe of another origin, such as the
	// target's cleartext listener).
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
	// NoRetry hands a 429 or 503 to the spec as it is, instead of waiting out its Retry-After
	// (the brute-force check wants to see the throttling).
	NoRetry bool
	// Certificate, when set, is presented as the TLS client certificate (mutual TLS, RFC 8705);
	// nil presents none.
	Certificate *tls.Certificate
}

// exchanges holds the current spec's exchanges. Ginkgo runs one spec at a time per process, and
// a top-level BeforeEach resets it; a spec may send concurrently (the load specs), hence the
// lock.
var (
	exchangesMu sync.Mutex
	exchanges   []*wire.Exchange
)

// httpClient is set up once the configuration is known; redactor masks every secret and token
// the suite knows of in everything it prints, and escapes what the provider controls.
var (
	httpClient *wire.Client
	redactor   = &secretRedactor{wire.NewRedactor()}
)

// secretRedactor is the suite's names for the wire redactor's masks.
type secretRedactor struct{ *wire.Redactor }

func (r *secretRedactor) mask(s string) string      { return r.String(s) }
func (r *secretRedactor) add(secret string)         { r.AddSecret(secret) }
func (r *secretRedactor) body(b []byte) string      { return r.Body(b, "") }
func (r *secretRedactor) credentials(c Credentials) { r.AddCredentials(c.ID, c.Secret) }

func newHTTPClient(roots *x509.CertPool, certs ...tls.Certificate) *wire.Client {
	return wire.New(wire.Options{Timeout: target.RequestTimeout, RootCAs: roots, ClientCertificates: certs, Redactor: redactor.Redactor,
		OnExchange: func(x *wire.Exchange) {
			exchangesMu.Lock()
			exchanges = append(exchanges, x)
			exchangesMu.Unlock()
		}})
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

// trySend is send without failing the spec. A provider that keeps answering 429 or 503 with a
// Retry-After (too long, or the run's waiting budget spent) ends the spec as not judged: a rate
// limit says nothing of the rule the spec is about. A 429 or 503 without Retry-After is an
// answer like any other, for the spec to judge.
func trySend(ctx context.Context, r request) (*http.Response, error) {
	GinkgoHelper()
	wr, err := buildRequest(r)
	if err != nil {
		return nil, err
	}
	GinkgoWriter.Printf("[Consumer]: %s %s%s\n", strings.ToLower(wr.Method), redactor.mask(r.Path), noteSuffix(r.Note))
	x := clientFor(r.Certificate).Do(ctx, wr)
	if x.Err != nil {
		why := wire.Describe(x.Err, target.RequestTimeout)
		GinkgoWriter.Printf("[Provider]: no response: %s\n\n", why)
		return nil, fmt.Errorf("%s %s got no response: %s", wr.Method, redactor.mask(r.Path), why)
	}
	res := x.Response
	GinkgoWriter.Printf("[Provider]: %s %s\n\n", redactor.mask(res.Status), wire.OneLine(redactor.body(x.Body), 300))
	if x.RateLimited && x.RetryAfter != "" {
		judge.Skip("the provider kept answering %s (Retry-After: %q) after the suite waited what it could, so this spec could not judge anything",
			res.Status, x.RetryAfter)
	}
	judgeHTTPRules(res)
	return res, nil
}

// buildRequest makes the wire request a spec describes.
func buildRequest(r request) (*wire.Request, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u := target.url(r.Path)
	if r.Base != "" {
		u = strings.TrimRight(r.Base, "/") + r.Path
	}
	if len(r.Query) > 0 {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + r.Query.Encode()
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
			return nil, err
		}
		contentType = "application/json"
	}
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if r.Authorization != "" {
		h.Set("Authorization", r.Authorization)
	}
	for k, vs := range r.Header {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if _, err := url.Parse(u); err != nil {
		return nil, fmt.Errorf("cannot build the request %s %s: %w", method, redactor.mask(u), err)
	}
	return &wire.Request{Method: method, URL: u, Header: h, Body: body, Note: r.Note, NoRetry: r.NoRetry}, nil
}

func noteSuffix(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}

// bodyOf returns the body of a response returned by send.
func bodyOf(res *http.Response) []byte {
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return b
}

// transcript renders the current spec's exchanges in full, with credentials and tokens
// redacted and the provider's text escaped.
func transcript() string {
	exchangesMu.Lock()
	defer exchangesMu.Unlock()
	return wire.Transcript(redactor.Redactor, exchanges)
}

// oneLine is wire.OneLine, for the matchers' messages.
func oneLine(s string, max int) string { return wire.OneLine(s, max) }

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
			"%s %s answered 401 without WWW-Authenticate", res.Request.Method, redactor.mask(res.Request.URL.Path))
	}
	if ce := res.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		judge.Row("H-9110-12.5.3-a").Inform("the provider sent Content-Encoding %q though the suite asked for identity; the suite judged the bytes as sent", redactor.mask(ce))
	}
}
