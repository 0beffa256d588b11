package provider

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLoggedPath bounds the path in an access log line: a request line may be kilobytes long, and
// the log is not the place to keep what a client chose to send.
const maxLoggedPath = 256

// accessLogFlushDelay is the longest a logged line waits in the buffer.
const accessLogFlushDelay = 100 * time.Millisecond

// bufferedAccessLog writes access log lines through a buffer, so that a request costs a few
// appends rather than a write system call. Lines are written when the buffer fills (in the
// request that fills it, so nothing is ever dropped and memory stays bounded), at the latest
// accessLogFlushDelay after they were logged (a timer armed by the first line of a batch), and
// on flush.
type bufferedAccessLog struct {
	mu      sync.Mutex
	w       *bufio.Writer
	line    []byte
	pending bool // a flush timer is armed
	flushFn func()
	// The time formatted down to the second, and the zone, are kept for the lines of that second.
	second       int64
	secondPrefix []byte
	zone         []byte
}

func newBufferedAccessLog(w io.Writer) *bufferedAccessLog {
	l := &bufferedAccessLog{w: bufio.NewWriterSize(w, 64<<10), line: make([]byte, 0, 512)}
	l.flushFn = func() { _ = l.flush() }
	return l
}

// log writes one line in the format of slog's TextHandler, which the provider used before:
// time=… level=INFO msg=request method=… path=… status=… duration=…
func (l *bufferedAccessLog) log(now time.Time, method, path string, status int, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.line[:0], "time="...)
	b = l.appendTime(b, now)
	b = append(b, " level=INFO msg=request method="...)
	b = appendLogValue(b, clipForLog(method, 16))
	b = append(b, " path="...)
	b = appendLogValue(b, clipForLog(path, maxLoggedPath))
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " duration="...)
	b = append(b, d.String()...)
	b = append(b, '\n')
	l.line = b
	_, _ = l.w.Write(b)
	if !l.pending && l.w.Buffered() > 0 {
		l.pending = true
		time.AfterFunc(accessLogFlushDelay, l.flushFn)
	}
}

// appendTime appends now as RFC 3339 with milliseconds, formatting the part down to the second
// once a second.
func (l *bufferedAccessLog) appendTime(b []byte, now time.Time) []byte {
	if sec := now.Unix(); sec != l.second || l.secondPrefix == nil {
		l.second = sec
		l.secondPrefix = now.AppendFormat(l.secondPrefix[:0], "2006-01-02T15:04:05")
		l.zone = now.AppendFormat(l.zone[:0], "Z07:00")
	}
	b = append(b, l.secondPrefix...)
	ms := now.Nanosecond() / int(time.Millisecond)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, l.zone...)
}

func (l *bufferedAccessLog) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = false
	return l.w.Flush()
}

// clipForLog shortens s to at most n bytes (at a character boundary) and marks the cut.
func clipForLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// appendLogValue appends s bare when that is unambiguous, quoted otherwise, as slog's
// TextHandler does.
func appendLogValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for _, r := range s {
		if r <= ' ' || r == '=' || r == '"' || r == 0x7f || r == utf8.RuneError || r > 0x7e && r != '…' {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}

// accessLog logs one line per request: method, path, status and duration. Never the query (it
// may hold an access_token), headers or bodies.
func (p *Provider) accessLog(next http.Handler) http.Handler {
	var record func(r *http.Request, status int, start time.Time)
	switch {
	case p.access != nil:
		record = func(r *http.Request, status int, start time.Time) {
			now := time.Now()
			p.access.log(now, r.Method, r.URL.Path, status, now.Sub(start))
		}
	case p.cfg.Logger != nil:
		record = func(r *http.Request, status int, start time.Time) {
			p.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", clipForLog(r.Method, 16)), slog.String("path", clipForLog(r.URL.Path, maxLoggedPath)),
				slog.Int("status", status), slog.Duration("duration", time.Since(start)))
		}
	default:
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.status = w, http.StatusOK
		next.ServeHTTP(sw, r)
		record(r, sw.status, start)
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
	})
}

// statusWriters are reused: one per request was the access log's one allocation.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// FlushAccessLog writes out the access log lines still in the buffer (Config.AccessLog). Serve
// calls it when it returns.
func (p *Provider) FlushAccessLog() error {
	if p.access == nil {
		return nil
	}
	return p.access.flush()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
