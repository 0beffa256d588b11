// Package suite is ccconform's conformance suite for OAuth 2.0 providers that issue tokens with
// the client credentials grant (RFC 6749 §4.4) and protect resources with Bearer tokens
// (RFC 6750). It talks to the provider over HTTP only.
//
//	go tool ginkgo ./suite                                            # the bundled reference
//	go tool ginkgo ./suite -- --provider-url=http://localhost:8080    # any provider
//
// Files are named after what they check: scenario_test.go plays the documented
// server-to-server scenario; the rfc*_test.go files hold the rules of one RFC section each.
// config_test.go holds the flags, http_test.go the HTTP client and its redacted transcripts,
// oauth_test.go the OAuth matchers, levels_test.go the MUST/SHOULD/MAY grading and the summary,
// requirements_test.go the requirement IDs that label every spec.
package suite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/reference/provider"
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "OAuth 2.0 client credentials conformance")
}

// Process 1 checks the configuration, starts the bundled provider when no URL was given, and
// checks that the provider answers; every process then gets its URL. A bad configuration or an
// unreachable provider fails here, before any spec runs, in one sentence.
var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	if err := target.validate(); err != nil {
		Fail("ccconform: bad configuration: " + err.Error())
	}
	url := target.ProviderURL
	if target.bundled() {
		var err error
		if url, err = startBundledProvider(); err != nil {
			Fail("ccconform: the bundled reference provider did not start: " + err.Error())
		}
	}
	if err := checkReachable(ctx, url); err != nil {
		Fail(fmt.Sprintf("ccconform: cannot reach the provider at %s: %v", url, err))
	}
	return []byte(url)
}, func(url []byte) {
	if target.bundled() && !expiresInSet {
		target.ExpiresIn = int(provider.DefaultTokenLifetime / time.Second)
	}
	target.ProviderURL = string(url)
	httpClient = newHTTPClient(target.RequestTimeout)
	redactor.add(target.ClientSecret)
})

// startBundledProvider runs the reference provider on a free loopback port until the suite ends
// (the cleanup runs on process 1 after every process is done).
func startBundledProvider() (string, error) {
	p, err := provider.New(provider.DefaultConfig(target.ClientID, target.ClientSecret))
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, l, 5*time.Second) }()
	DeferCleanup(func() error {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return "http://" + l.Addr().String(), nil
}

// checkReachable sends one GET to the base URL: any HTTP answer, even a 404, means the provider
// is there.
func checkReachable(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, target.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		return err
	}
	res, err := newHTTPClient(target.RequestTimeout).Do(req)
	if err != nil {
		return errors.New(describeTransportError(err))
	}
	res.Body.Close()
	return nil
}
