package suite

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gmeasure"
)

// The load checks send --load requests at once (16 in bundled mode; other providers opt in),
// check that every one succeeds, never with a 5xx, that every token issued is distinct, and
// report the latency percentiles with gmeasure. They are not RFC rules; they catch providers
// that share state unsafely or fall over under a little concurrency.
var _ = Describe("Load", Label("load"), func() {
	needLoad := func() {
		GinkgoHelper()
		if target.Load == 0 {
			Skip("the load checks are opt-in against other providers: give --load=N")
		}
	}

	It("sends --load concurrent token requests: all succeed, none 5xx, every token distinct",
		specLabels("token", "L-1"), func(ctx SpecContext) {
			needLoad()
			issueToken(ctx, target.Client, "read") // one request alone first: if that fails, the token specs say why
			responses, experiment := concurrently(ctx, "token request", target.Load, func(ctx context.Context) (*http.Response, error) {
				return trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "concurrent token request",
					Form: form("scope", "read"), Authorization: target.Client.basic()})
			})
			seen := map[string]bool{}
			for i, r := range responses {
				Expect(r.err).NotTo(HaveOccurred(), per("L-1", fmt.Sprintf("request %d got no response", i+1)))
				Expect(r.res.StatusCode).To(BeNumerically("<", 500), per("L-1", fmt.Sprintf("request %d got %s", i+1, r.res.Status)))
				tok, why := parseTokenResponse(r.res)
				Expect(why).To(BeEmpty(), per("L-1", fmt.Sprintf("request %d", i+1)))
				Expect(seen).NotTo(HaveKey(tok.AccessToken), per("L-1", "two concurrent requests got the same token"))
				seen[tok.AccessToken] = true
			}
			reportPercentiles(experiment, "token request")
		}, SpecTimeout(target.specTimeout(4)))

	It("sends --load concurrent reads with valid Bearer tokens: all served, none 5xx",
		specLabels("resource", "L-2"), func(ctx SpecContext) {
			needLoad()
			tok := issueToken(ctx, target.Client, "read")
			if res, err := trySend(ctx, request{Path: target.ReadPath, Note: "one read alone first", Authorization: tok.bearer()}); err != nil || res.StatusCode != http.StatusOK {
				Skip("a single read with a valid token is not served, which the RFC 6750 §2.1 specs report")
			}
			responses, experiment := concurrently(ctx, "Bearer read", target.Load, func(ctx context.Context) (*http.Response, error) {
				return trySend(ctx, request{Path: target.ReadPath, Note: "concurrent read", Authorization: tok.bearer()})
			})
			for i, r := range responses {
				Expect(r.err).NotTo(HaveOccurred(), per("L-2", fmt.Sprintf("request %d got no response", i+1)))
				Expect(r.res).To(HaveHTTPStatus(http.StatusOK), per("L-2", fmt.Sprintf("request %d", i+1)))
			}
			reportPercentiles(experiment, "Bearer read")
		}, SpecTimeout(target.specTimeout(4)))
})

type concurrentResult struct {
	res *http.Response
	err error
}

// concurrently starts n requests at once and waits for all of them, timing each.
func concurrently(ctx context.Context, name string, n int, do func(context.Context) (*http.Response, error)) ([]concurrentResult, *gmeasure.Experiment) {
	experiment := gmeasure.NewExperiment(name)
	results := make([]concurrentResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer GinkgoRecover()
			<-start
			t0 := time.Now()
			res, err := do(ctx)
			experiment.RecordDuration(name, time.Since(t0))
			results[i] = concurrentResult{res, err}
		}()
	}
	close(start)
	wg.Wait()
	return results, experiment
}

// reportPercentiles adds the experiment and its p50/p99 to the spec's report.
func reportPercentiles(e *gmeasure.Experiment, name string) {
	d := slices.Clone(e.Get(name).Durations)
	slices.Sort(d)
	if len(d) == 0 {
		return
	}
	p := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	AddReportEntry(e.Name, e, ReportEntryVisibilityFailureOrVerbose)
	AddReportEntry(entryLatency, fmt.Sprintf("%s ×%d: p50 %s, p99 %s", name, len(d), p(0.50).Round(time.Microsecond), p(0.99).Round(time.Microsecond)),
		ReportEntryVisibilityFailureOrVerbose)
}
