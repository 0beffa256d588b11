// Package bundled is the reference provider as the suite's bundled provider: what a run without
// --provider-url tests. The suite's own test (suite/suite_test.go) and the ccconform command
// inject it with suite.SetBundled(bundled.Reference()); package suite itself does not import the
// reference, so that another module can import the specs without it.
package bundled

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite"
)

// Reference is the reference provider, started with its fixture clients, and the description
// of what it offers.
func Reference() suite.Bundled {
	return suite.Bundled{Start: start, Describe: describe}
}

// start runs the reference provider, with its fixture clients, over TLS on a free loopback port.
func start() (string, []byte, func(), error) {
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

// describe is the reference's fixtures, scopes and resources, as provider.FixtureConfig
// registers them (reference/target.yaml says the same for a hand-started reference).
func describe(t *suite.Target, given func(string) bool) {
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
