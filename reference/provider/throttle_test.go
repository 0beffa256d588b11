package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for the throttle.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// throttledProvider is a provider whose throttle runs on a fake clock.
func throttledProvider(t *testing.T, cfg Config) (*Provider, *fakeClock) {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	p.clients.guesses.now = clock.now
	return p, clock
}

// tokenRequestFrom is a Basic-authenticated token request from the given peer address.
func tokenRequestFrom(remote, id, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	r.RemoteAddr = remote
	return r
}

func serveRecorded(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// Ten distinct wrong secrets from one address are answered 401; the eleventh refuses that
// address for that client, with 429 and Retry-After, the right secret included; the right secret
// from another address still gets a token; each further wrong secret doubles the delay up to the
// ceiling.
func TestGuessingIsSlowedPerClientAndSource(t *testing.T) {
	p, clock := throttledProvider(t, DefaultConfig("c", "right"))
	h := p.Handler()
	const attacker, client = "127.0.0.2:4000", "127.0.0.1:5000"
	for i := 1; i <= 10; i++ {
		if rec := serveRecorded(h, tokenRequestFrom(attacker, "c", fmt.Sprint("guess-", i))); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong secret %d: %d", i, rec.Code)
		}
	}
	rec := serveRecorded(h, tokenRequestFrom(attacker, "c", "guess-11"))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("the eleventh wrong secret: %d (it is checked, then refuses the pair)", rec.Code)
	}
	rec = serveRecorded(h, tokenRequestFrom(attacker, "c", "right"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" || !strings.Contains(rec.Body.String(), "invalid_client") {
		t.Fatalf("the guessing address with the right secret: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := serveRecorded(h, tokenRequestFrom(client, "c", "right")); rec.Code != http.StatusOK {
		t.Fatalf("the client from its own address: %d %s", rec.Code, rec.Body)
	}
	// The delay grows: 1 s, 2 s, 4 s… up to five minutes.
	want := time.Second
	for i := 12; i < 30; i++ {
		clock.advance(want)
		if rec := serveRecorded(h, tokenRequestFrom(attacker, "c", fmt.Sprint("guess-", i))); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d after waiting %v: %d", i, want, rec.Code)
		}
		want = min(2*want, defaultMaxGuessDelay)
		if got := p.clients.guesses.refusedFor("c", sourceOf(attacker)); got != want {
			t.Fatalf("after guess %d the pair waits %v, want %v", i, got, want)
		}
	}
	// A pair is forgotten an hour after its last failure.
	clock.advance(want + defaultGuessMemory)
	if rec := serveRecorded(h, tokenRequestFrom(attacker, "c", "right")); rec.Code != http.StatusOK {
		t.Fatalf("an hour later: %d", rec.Code)
	}
}

// Sending a wrong secret again teaches nothing, so it is not counted: a client with a stale
// secret, or a test suite run over and over, is never slowed.
func TestTheSameWrongSecretCountsOnce(t *testing.T) {
	p, _ := throttledProvider(t, DefaultConfig("c", "right"))
	h := p.Handler()
	for i := range 100 {
		if rec := serveRecorded(h, tokenRequestFrom("127.0.0.1:1", "c", fmt.Sprint("stale-", i%3))); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	if rec := serveRecorded(h, tokenRequestFrom("127.0.0.1:1", "c", "right")); rec.Code != http.StatusOK {
		t.Fatalf("the right secret: %d", rec.Code)
	}
}

// A registered and an unknown id get the same answers, in the same order, with the same delays:
// the throttle does not tell which ids exist.
func TestKnownAndUnknownIdsAreAnsweredAlike(t *testing.T) {
	p, clock := throttledProvider(t, DefaultConfig("registered", "right"))
	h := p.Handler()
	answers := func(id string) []string {
		var out []string
		for i := range 16 {
			if i == 13 {
				clock.advance(time.Second)
			}
			rec := serveRecorded(h, tokenRequestFrom("192.0.2.7:1", id, fmt.Sprint("guess-", i)))
			out = append(out, fmt.Sprintf("%d %s %s %s", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("WWW-Authenticate"), rec.Body))
		}
		return out
	}
	known, unknown := answers("registered"), answers("not-registered")
	for i := range known {
		if known[i] != unknown[i] {
			t.Errorf("attempt %d: registered id %q, unknown id %q", i, known[i], unknown[i])
		}
	}
	if !strings.HasPrefix(known[12], "429") {
		t.Errorf("no 429 after eleven distinct failures: %q", known[12])
	}
}

func TestSourceOf(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:80":                "127.0.0.1",
		"[::ffff:10.1.2.3]:80":        "10.1.2.3",
		"[2001:db8:1:2:3:4:5:6]:443":  "2001:db8:1:2::",
		"[2001:db8:1:2:ff::1%eth0]:1": "2001:db8:1:2::",
		"bad":                         "invalid IP",
	} {
		if got := sourceOf(in).String(); got != want {
			t.Errorf("sourceOf(%q) = %s, want %s", in, got, want)
		}
	}
}

// The table stays within its bounds however many ids and addresses fail, and a pair that is being
// slowed is not pushed out by the churn of fresh pairs.
func TestThrottleTableIsBounded(t *testing.T) {
	cfg := DefaultConfig("c", "right")
	cfg.MaxGuessPairs = 500
	p, _ := throttledProvider(t, cfg)
	g := p.clients.guesses
	attacker := netip.MustParseAddr("198.51.100.1")
	for i := range 12 {
		g.failed("c", attacker, fmt.Sprint("guess-", i))
	}
	if g.refusedFor("c", attacker) == 0 {
		t.Fatal("the attacker is not slowed")
	}
	for i := range 20_000 {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.failed(fmt.Sprint("made-up-", i), src, "x")
		g.failed(fmt.Sprint("made-up-", i), attacker, "x") // the attacker's own churn, too
	}
	if g.pairs > 500 || len(g.sources[attacker]) > defaultMaxPairsPerSource {
		t.Fatalf("%d pairs, %d for one source", g.pairs, len(g.sources[attacker]))
	}
	n := 0
	for _, bySrc := range g.sources {
		n += len(bySrc)
	}
	if n != g.pairs {
		t.Fatalf("counted %d pairs, holds %d", g.pairs, n)
	}
	if g.refusedFor("c", attacker) == 0 {
		t.Fatal("churn freed the slowed pair")
	}
}

// The attack, over real connections: one address (127.0.0.2) guesses secrets as fast
// as it can, another does ten wrong secrets and then waits out Retry-After, over and over, while
// the real client on 127.0.0.1 asks for a token every 100 ms. Every one of its requests gets a
// token, and the guessers get few secrets checked.
func TestGuessersDoNotLockOutTheClient(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	cfg := DefaultConfig("real-client", "real-secret")
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := serveForTest(t, p)
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
	}
	post := func(c *http.Client, secret string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodPost, base+PathToken, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("real-client", url.QueryEscape(secret))
		res, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, res.Header.Get("Retry-After"), nil
	}
	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	var checked, refused atomic.Int64
	var wg sync.WaitGroup
	guess := func(c *http.Client, i *atomic.Int64) (int, string) {
		code, ra, err := post(c, fmt.Sprint("guess-", i.Add(1)))
		switch {
		case err != nil:
		case code == http.StatusTooManyRequests:
			refused.Add(1)
		default:
			checked.Add(1)
		}
		return code, ra
	}
	var n atomic.Int64
	wg.Add(2)
	go func() { // as fast as it can
		defer wg.Done()
		c := from("127.0.0.2")
		for ctx.Err() == nil {
			guess(c, &n)
		}
	}()
	go func() { // ten wrong secrets, then Retry-After
		defer wg.Done()
		c := from("127.0.0.3")
		for ctx.Err() == nil {
			for range 10 {
				if code, ra := guess(c, &n); code == http.StatusTooManyRequests {
					wait, _ := time.ParseDuration(ra + "s")
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
					break
				}
			}
		}
	}()
	real := from("127.0.0.1")
	tries, got := 0, 0
	tick := time.NewTicker(100 * time.Millisecond)
	for ctx.Err() == nil {
		<-tick.C
		tries++
		if code, _, err := post(real, "real-secret"); err == nil && code == http.StatusOK {
			got++
		} else {
			t.Errorf("real request %d: %d %v", tries, code, err)
		}
	}
	tick.Stop()
	wg.Wait()
	t.Logf("the real client got %d tokens of %d tries; the guessers had %d secrets checked and %d requests refused with 429",
		got, tries, checked.Load(), refused.Load())
	if tries < 20 || got != tries {
		t.Errorf("the real client got %d tokens of %d tries", got, tries)
	}
	if c := checked.Load(); c > 2*(10+3) {
		t.Errorf("the guessers had %d secrets checked in 3 s", c)
	}
}

// serveForTest runs p.Serve on a free loopback port until the test ends and returns its URL.
func serveForTest(t *testing.T, p *Provider) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, l, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}
