// Package reuse is another module that runs ccconform's specs in a Ginkgo suite of its own, as a
// provider's repository would: it imports the specs, injects the provider to test, and calls
// suite.Run from its own test. The project's tests run it (suite/proof/reuse_test.go).
package reuse

import (
	"net/http/httptest"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite"
)

func TestOurProviderConforms(t *testing.T) {
	suite.SetBundled(suite.Bundled{
		Start: func() (string, []byte, func(), error) {
			p, err := provider.New(provider.DefaultConfig(suite.ScenarioClientID, suite.ScenarioClientSecret))
			if err != nil {
				return "", nil, nil, err
			}
			srv := httptest.NewServer(p.Handler())
			return srv.URL, nil, srv.Close, nil
		},
		Describe: func(t *suite.Target, given func(string) bool) {
			if !given("expires-in") {
				t.ExpiresIn = 3600
			}
		},
	})
	suite.Run(t, "our provider, through ccconform's specs")
}
