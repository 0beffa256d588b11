package proof

import (
	"net/http"
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

var _ = register([]fault{
	{name: "the token endpoint answers 503 beyond 4 requests at once", breaks: "L-1",
		wrap: overloaded(tokenPOST, 4)},
	{name: "the resources answer 503 beyond 4 requests at once", breaks: "L-2",
		wrap: overloaded(protected, 4)},
})
