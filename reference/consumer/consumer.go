// Package consumer plays the consumer of the documented server-to-server scenario: eight requests
// to a provider, printed as the scenario's transcript. It gets its token with
// golang.org/x/oauth2/clientcredentials and uses it through golang.org/x/oauth2's transport, so
// a provider that passes shows that Go's standard OAuth 2.0 client works against it.
//
// The transcript follows the documented one, with two slips mended: the notes of the two
// /write-resource calls are swapped there (the call with a made-up token is the one that fails),
// and the first authenticated read shows null on a fresh provider.
package consumer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config says which provider to talk to and as whom.
type Config struct {
	// ProviderURL is the provider's base URL, such as http://localhost:8080.
	ProviderURL string
	// ClientID and ClientSecret are the client's credentials.
	ClientID     string
	ClientSecret string
	// Timeout bounds each request. Zero means 10 seconds.
	Timeout time.Duration
}

// Scenario paths and the value the consumer writes, as documented.
const (
	pathPublic = "/public"
	pathToken  = "/token"
	pathRead   = "/read-resource"
	pathWrite  = "/write-resource"
	written    = "foo-bar-moo"
)

// step is one documented request: what is printed before it, and the status it should get.
type step struct {
	method, path, note string
	want               int
}

// Run plays the scenario against cfg.ProviderURL and prints the transcript to out. It returns an
// error naming every step whose status differs from the documented one.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	base, err := url.Parse(strings.TrimRight(cfg.ProviderURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("the provider URL %q is not an absolute http(s) URL", cfg.ProviderURL)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	rec := &recorder{base: http.DefaultTransport}
	hc := &http.Client{Transport: rec, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	c := &run{base: base.String(), rec: rec, out: out}

	c.do(ctx, step{"get", pathPublic, "public", 200}, hc, nil, "")
	c.do(ctx, step{"get", pathRead, "not authenticated", 401}, hc, nil, "")

	wrong := clientcredentials.Config{ClientID: "wrong-id", ClientSecret: "wrong-secret",
		TokenURL: c.base + pathToken, Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}
	c.token(ctx, step{"post", pathToken, "bad credentials", 401}, wrong)

	right := wrong
	right.ClientID, right.ClientSecret = cfg.ClientID, cfg.ClientSecret
	tok := c.token(ctx, step{"post", pathToken, "valid credentials", 200}, right)
	if tok == nil {
		c.failures = append(c.failures, "no access token, so the authenticated steps were not run")
		return c.result()
	}
	fmt.Fprint(out, "authorization token successfully retrieved!\n\n")

	authed := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	authed.Timeout = cfg.Timeout
	value := []byte(`{"value":"` + written + `"}`)
	c.do(ctx, step{"get", pathRead, "authenticated, resource is not yet defined", 200}, authed, nil, "")
	c.do(ctx, step{"post", pathWrite, "invalid token", 401}, hc, value, tok.Type()+" random-token-foo")
	c.do(ctx, step{"post", pathWrite, "authenticated", 200}, authed, value, "")
	body := c.do(ctx, step{"get", pathRead, "authenticated, resource is now defined", 200}, authed, nil, "")
	var read struct{ Resource any }
	if body != nil && (json.Unmarshal(body, &read) != nil || read.Resource != written) {
		c.failures = append(c.failures, "the last read did not return the value written")
	}
	return c.result()
}

type run struct {
	base     string
	rec      *recorder
	out      io.Writer
	failures []string
}

// do sends one request and prints it; it returns the response body when the status is the
// documented one.
func (c *run) do(ctx context.Context, s step, client *http.Client, body []byte, authz string) []byte {
	fmt.Fprintf(c.out, "[Consumer]: %s %s (%s)\n", s.method, s.path, s.note)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(s.method), c.base+s.path, rd)
	if err != nil {
		return c.transportFailure(s, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := client.Do(req)
	if err != nil {
		return c.transportFailure(s, err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	c.print(s, res.StatusCode, got)
	if res.StatusCode != s.want {
		return nil
	}
	return got
}

// token asks for a token with clientcredentials and prints the exchange as the recorder saw it.
func (c *run) token(ctx context.Context, s step, cfg clientcredentials.Config) *oauth2.Token {
	fmt.Fprintf(c.out, "[Consumer]: %s %s (%s)\n", s.method, s.path, s.note)
	c.rec.last = nil
	tok, err := cfg.Token(ctx)
	if c.rec.last == nil {
		c.transportFailure(s, err)
		return nil
	}
	c.print(s, c.rec.last.status, c.rec.last.body)
	if err != nil {
		var re *oauth2.RetrieveError
		if s.want == http.StatusOK || !errors.As(err, &re) {
			c.failures = append(c.failures, fmt.Sprintf("%s %s (%s): %v", s.method, s.path, s.note, err))
		}
		return nil
	}
	return tok
}

func (c *run) print(s step, status int, body []byte) {
	fmt.Fprintf(c.out, "[Provider]: %d %s %s\n\n", status, http.StatusText(status), redact(body))
	if status != s.want {
		c.failures = append(c.failures, fmt.Sprintf("%s %s (%s): got %d, the scenario documents %d",
			s.method, s.path, s.note, status, s.want))
	}
}

func (c *run) transportFailure(s step, err error) []byte {
	fmt.Fprintf(c.out, "[Provider]: no response: %v\n\n", err)
	c.failures = append(c.failures, fmt.Sprintf("%s %s (%s): no response", s.method, s.path, s.note))
	return nil
}

func (c *run) result() error {
	if len(c.failures) == 0 {
		return nil
	}
	return fmt.Errorf("the provider departs from the documented scenario:\n  %s", strings.Join(c.failures, "\n  "))
}

// accessToken finds the access_token member of a JSON body, to keep it out of the transcript.
var accessToken = regexp.MustCompile(`("access_token"\s*:\s*")[^"]*(")`)

func redact(body []byte) string {
	return strings.TrimSpace(accessToken.ReplaceAllString(string(body), `${1}[redacted]${2}`))
}

// recorder is an http.RoundTripper that keeps the status and body of the last response, so the
// transcript can show what the token endpoint said even when clientcredentials turns it into a
// Go value or an error.
type recorder struct {
	base http.RoundTripper
	last *recorded
}

type recorded struct {
	status int
	body   []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	r.last = &recorded{status: res.StatusCode, body: body}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}
