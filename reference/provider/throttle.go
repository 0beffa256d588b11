package provider

import (
	"sync"
	"time"
)

// Brute-force protection (RFC 6749 §2.3.1: an endpoint that takes client passwords must be
// protected against brute force). After MaxFailedAuthentications failures for one registered
// client within FailureWindow, every attempt for that client is refused until the window ends,
// with the right secret too (otherwise guessing would just go on), with 429 and Retry-After.
//
// Only registered client ids are tracked, so the table is bounded by the client count; unknown
// ids cost nothing to refuse and are not worth guessing secrets for.
const (
	defaultMaxFailedAuthentications = 10
	defaultFailureWindow            = 10 * time.Second
)

type failureLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	counts map[string]*failureCount
}

type failureCount struct {
	since time.Time
	n     int
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	if max <= 0 {
		max = defaultMaxFailedAuthentications
	}
	if window <= 0 {
		window = defaultFailureWindow
	}
	return &failureLimiter{max: max, window: window, now: time.Now, counts: map[string]*failureCount{}}
}

// blocked reports whether the client is locked out, and for how long still.
func (l *failureLimiter) blocked(id string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[id]
	if !ok {
		return 0, false
	}
	left := l.window - l.now().Sub(c.since)
	if left <= 0 {
		delete(l.counts, id)
		return 0, false
	}
	return left, c.n >= l.max
}

// fail records a failed authentication of the client.
func (l *failureLimiter) fail(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	c, ok := l.counts[id]
	if !ok || now.Sub(c.since) >= l.window {
		c = &failureCount{since: now}
		l.counts[id] = c
	}
	c.n++
}
