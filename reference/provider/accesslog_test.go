package provider

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the access log's flush timer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A path of 20 KB is logged clipped to 256 bytes, through the buffered log and through a Logger.
func TestLoggedPathsAreClipped(t *testing.T) {
	long := "/" + strings.Repeat("a", 20<<10)
	for _, viaLogger := range []bool{false, true} {
		var out syncBuffer
		cfg := DefaultConfig("c", "s")
		if viaLogger {
			cfg.Logger = slog.New(slog.NewTextHandler(&out, nil))
		} else {
			cfg.AccessLog = &out
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		serveRecorded(p.Handler(), httptest.NewRequest(http.MethodGet, long, nil))
		if err := p.FlushAccessLog(); err != nil {
			t.Fatal(err)
		}
		line := out.String()
		if len(line) > 512 || !strings.Contains(line, "status=404") || !strings.Contains(line, "/aaaa") {
			t.Errorf("logger %v: a %d-byte line: %.300s", viaLogger, len(line), line)
		}
	}
	if got := clipForLog("/é"+strings.Repeat("b", 300), 2); got != "/…" {
		t.Errorf("clipped inside a character: %q", got)
	}
}

// The buffered log writes nothing per request, everything within its flush delay, in the text
// format of slog, with odd paths quoted; and FlushAccessLog (which Serve calls on the way out)
// loses nothing.
func TestAccessLogIsBufferedAndComplete(t *testing.T) {
	var out syncBuffer
	cfg := DefaultConfig("c", "s")
	cfg.AccessLog = &out
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler()
	serveRecorded(h, httptest.NewRequest(http.MethodGet, PathPublic, nil))
	serveRecorded(h, httptest.NewRequest(http.MethodGet, "/a%20b=c", nil))
	if out.String() != "" {
		t.Errorf("written at once: %q", out.String())
	}
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(out.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " level=INFO msg=request method=GET path=/public status=200 duration=") ||
		!strings.Contains(lines[1], ` path="/a b=c" status=404`) {
		t.Fatalf("lines: %q", lines)
	}
	for range 10_000 {
		serveRecorded(h, httptest.NewRequest(http.MethodGet, PathPublic, nil))
	}
	if err := p.FlushAccessLog(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 10_002 {
		t.Errorf("%d lines logged of 10,002", n)
	}
}

// /write-resource takes one JSON object: anything but white space after it is a 400, and the
// stored value does not change.
func TestWriteResourceRefusesTrailingData(t *testing.T) {
	p, err := New(DefaultConfig("c", "s"))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler()
	rec := serveRecorded(h, tokenRequestFrom("127.0.0.1:1", "c", "s"))
	token := strings.Split(strings.Split(rec.Body.String(), `"access_token":"`)[1], `"`)[0]
	write := func(body string) int {
		r := httptest.NewRequest(http.MethodPost, PathWriteResource, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		return serveRecorded(h, r).Code
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"value":1}`, http.StatusOK},
		{"{\"value\":2} \n\t ", http.StatusOK},
		{`{"value":3}{"junk"`, http.StatusBadRequest},
		{`{"value":4} 5`, http.StatusBadRequest},
		{`{"value":5}]`, http.StatusBadRequest},
		{`{"value":6}{"value":7}`, http.StatusBadRequest},
	} {
		if got := write(c.body); got != c.want {
			t.Errorf("%q: %d, want %d", c.body, got, c.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, PathReadResource, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if got := serveRecorded(h, r).Body.String(); got != `{"resource":2}`+"\n" {
		t.Errorf("read back %q", got)
	}
}

// The cached time prefix gives what time.Format gives, across seconds and zones.
func TestAccessLogTime(t *testing.T) {
	l := newBufferedAccessLog(io.Discard)
	zone := time.FixedZone("x", 5*3600+30*60)
	for _, tm := range []time.Time{
		time.Date(2026, 12, 3, 6, 18, 19, 7_000_000, time.UTC),
		time.Date(2026, 12, 3, 6, 18, 19, 999_999_999, time.UTC),
		time.Date(2026, 12, 3, 6, 18, 20, 0, time.UTC),
		time.Date(2026, 12, 3, 6, 18, 20, 123_456_789, zone),
	} {
		if got, want := string(l.appendTime(nil, tm)), tm.Format("2006-01-02T15:04:05.000Z07:00"); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
