package proof

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Faults for the load checks: providers that only break under concurrency.

// overloaded is a provider with limit workers that each take 50 ms: matching requests beyond
// limit in flight get 503.
func overloaded(match func(*http.Request) bool, limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var inFlight atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			defer inFlight.Add(-1)
			if inFlight.Add(1) > limit {
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			}
			time.Sleep(50 * time.Millisecond)
			next.ServeHTTP(w, r)
		})
	}
}

// cachedTokens answers a token request identical to one answered in the last 200 ms (same
// credentials, same body) with the same token: a cache that concurrent clients share.
func cachedTokens(next http.Handler) http.Handler {
	type entry struct {
		body []byte
		at   time.Time
	}
	var mu sync.Mutex
	cache := map[string]entry{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isGoodBasic(r) {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := r.Header.Get("Authorization") + "\x00" + string(body)
		mu.Lock()
		e, hit := cache[key]
		mu.Unlock()
		if hit && time.Since(e.at) < 200*time.Millisecond {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
			_, _ = w.Write(e.body)
			return
		}
		editResponses(isGoodBasic, when(http.StatusOK, func(_ *http.Request, res *response) {
			mu.Lock()
			cache[key] = entry{body: res.body, at: time.Now()}
			mu.Unlock()
		}))(next).ServeHTTP(w, r)
	})
}

var _ = register([]fault{
	{name: "the token endpoint answers 503 beyond 4 requests at once", breaks: "L-1",
		wrap: overloaded(tokenPOST, 4)},
	{name: "identical token requests within 200 ms share one token", breaks: "L-1",
		wrap: cachedTokens},
	{name: "the resources answer 503 beyond 4 requests at once", breaks: "L-2",
		wrap: overloaded(protected, 4)},
})
