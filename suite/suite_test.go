package suite_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite"
)

// The suite's own entry point: the specs of package suite, with the reference provider as the
// bundled provider. (The ginkgo command looks for a test file that imports Ginkgo to pass its
// flags on, so RunSpecs is called here rather than through suite.Run.)
func TestConformance(t *testing.T) {
	suite.SetBundled(suite.Bundled{Start: startReference, Describe: describeReference})
	suite.Setup()
	RunSpecs(t, "OAuth 2.0 client credentials conformance")
}

// startReference runs the reference provider, with its fixture clients, over TLS on a free
// loopback port.
func startReference() (string, []byte, func(), error) {
	p, err := provider.New(provider.FixtureConfig(suite.ScenarioClientID, suite.ScenarioClientSecret))
	if err != nil {
		return "", nil, nil, err
	}
	h := p.Handler()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = provider.NewHTTPServer(h)
	// The TLS checks probe the provider's port with cleartext on purpose; the server's
	// complaints about it are not the suite's output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv.URL, ca, srv.Close, nil
}

// describeReference is the reference's fixtures, scopes and resources, as
// provider.FixtureConfig registers them (reference/target.yaml says the same for a
// hand-started reference).
func describeReference(t *suite.Target, given func(string) bool) {
	c := func(cl provider.Client) *suite.Credentials { return &suite.Credentials{ID: cl.ID, Secret: cl.Secret} }
	t.Clients = suite.Fixtures{
		SpecialCharacters:        c(provider.FixtureSpecialCharacters),
		WithoutClientCredentials: c(provider.FixtureNoClientCredentials),
		ShortLived:               c(provider.FixtureShortLived),
		Public:                   c(provider.FixturePublic),
		BruteForce:               c(provider.FixtureThrowaway),
	}
	t.Scopes = suite.Scopes{Allowed: []string{provider.ScopeRead, provider.ScopeWrite}, Forbidden: "admin"}
	t.Resources = []suite.Resource{
		{Path: provider.PathReadResource, Method: "GET"},
		{Path: provider.PathWriteResource, Method: "POST"},
		{Path: provider.PathScopedResource, Method: "GET", Scope: provider.ScopeWrite},
	}
	if !given("expires-in") {
		t.ExpiresIn = int(provider.DefaultTokenLifetime / time.Second)
	}
	if !given("load") {
		t.Load = 16
	}
}
