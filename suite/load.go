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

	"github.com/ccconform/ccconform/suite/judge"
)

// The load checks send --load requests at once (16 in bundled mode; other providers opt in),
// check that every one succeeds, never with a 5xx, and report the latency percentiles with gmeasure. They are not RFC rules; they catch providers
// that share state unsafely or fall over under a little concurrency.
var _ = Describe("Load", Label("load"), func() {
	needLoad := func() {
		GinkgoHelper()
		if target.Load == 0 {
			judge.Skip("the load checks are opt-in against other providers: give --load=N")
		}
	}

	// Distinct tokens are not required here: no RFC asks for them (a provider may hand the same
	// still-valid token to repeated requests, and JWTs issued within one second may be equal);
	// how hard tokens are to guess is RFC 6749 §10.10's rule, judged by its own specs.
	It("sends --load concurrent token requests: all get a token, none 5xx",
		specLabels("token", "L-1"), func(ctx SpecContext) {
			needLoad()
			issueToken(ctx, target.Client, "read") // one request alone first: if that fails, the token specs say why
			responses, experiment := concurrently(ctx, "token request", target.Load, func(ctx context.Context) (*http.Response, error) {
				return trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "concurrent token request",
					Form: form("scope", "read"), Authorization: target.Client.basic(), NoRetry: true})
			})
			for i, r := range responses {
				if !row("L-1").Expect(r.err).NotTo(HaveOccurred(), fmt.Sprintf("request %d got no response", i+1)) || rateLimited(row("L-1"), r.res, i) {
					continue
				}
				_, why := parseTokenResponse(r.res)
				row("L-1").That(why == "", "request %d: %s", i+1, why)
			}
			reportPercentiles(experiment, "token request")
		}, SpecTimeout(target.specTimeout(4)))

	It("sends --load concurrent reads with valid Bearer tokens: all served, none 5xx",
		specLabels("resource", "L-2"), func(ctx SpecContext) {
			needLoad()
			tok := issueToken(ctx, target.Client, "read")
			if res, err := trySend(ctx, request{Path: target.ReadPath, Note: "one read alone first", Authorization: tok.bearer()}); err != nil || res.StatusCode != http.StatusOK {
				judge.Block("C-6750-2.1-a", "a single read with a valid token is not served")
			}
			responses, experiment := concurrently(ctx, "Bearer read", target.Load, func(ctx context.Context) (*http.Response, error) {
				return trySend(ctx, request{Path: target.ReadPath, Note: "concurrent read", Authorization: tok.bearer(), NoRetry: true})
			})
			for i, r := range responses {
				if row("L-2").Expect(r.err).NotTo(HaveOccurred(), fmt.Sprintf("request %d got no response", i+1)) && !rateLimited(row("L-2"), r.res, i) {
					row("L-2").Expect(r.res).To(HaveHTTPStatus(http.StatusOK), fmt.Sprintf("request %d", i+1))
				}
			}
			reportPercentiles(experiment, "Bearer read")
		}, SpecTimeout(target.specTimeout(4)))
})

// rateLimited reports a concurrent request the provider asked to retry later (429 or 503 with
// Retry-After): a provider may limit how fast one client asks, so that request is not judged.
func rateLimited(j judge.Judge, res *http.Response, i int) bool {
	if (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) && res.Header.Get("Retry-After") != "" {
		j.Cannot("request %d was asked to retry later (%s, Retry-After: %s), so it says nothing of the load", i+1, res.Status, res.Header.Get("Retry-After"))
		return true
	}
	return false
}

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
