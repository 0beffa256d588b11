// Package bundled is the reference provider as the suite's bundled provider: what a run without
// --provider-url tests. The suite's own test (suite/suite_test.go) and the ccconform command
// inject it with suite.SetBundled(bundled.Reference()); package suite itself does not import the
// reference, so that another module can import the specs without it.
package bundled

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"time"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/config"
)

// Reference is the reference provider, started with its fixture clients, and the description
// of what it offers.
func Reference() suite.Bundled {
	return suite.Bundled{Start: start, Describe: describe, OtherJWT: otherJWT}
}

// reference is the bundled provider this process started (process 1 only).
var reference *provider.Provider

// start runs the reference provider, with its fixture clients, over TLS on a free
// loopback port; its issuer is its own https URL, so that its metadata, JWT access tokens and
// resource indicators are on.
func start() (string, []byte, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	cfg := provider.FixtureConfig(suite.ScenarioClientID, suite.ScenarioClientSecret)
	cfg.Issuer = "https://" + l.Addr().String()
	// DPoP nonces (RFC 9449 §8, §9) are optional; the bundled reference demands them, so that
	// a run shows every DPoP row judged (the proof runs the reference without them too).
	cfg.DPoPNonces = true
	p, err := provider.New(cfg)
	if err != nil {
		l.Close()
		return "", nil, nil, err
	}
	reference = p
	h := p.Handler()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Config = provider.NewHTTPServer(h)
	// The TLS checks probe the provider's port with cleartext on purpose; the server's
	// complaints about it are not the suite's output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	// The reference asks for a client certificate and takes connections without one: mutual
	// TLS clients authenticate with theirs (RFC 8705).
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv.URL, ca, srv.Close, nil
}

// otherJWT is the reference's F-OTHER-JWT: a JWT it signed that is not an access token.
func otherJWT() (string, error) { return reference.OtherJWT("conformance-user") }

// describe is the reference's fixtures, scopes, resources and capabilities, as
// provider.FixtureConfig registers them (reference/target.yaml says the same for a
// hand-started reference). t.ProviderURL is the started reference's URL, its issuer.
func describe(t *suite.Target, given func(string) bool) {
	c := func(cl provider.Client) *suite.Credentials { return &suite.Credentials{ID: cl.ID, Secret: cl.Secret} }
	t.Clients = suite.Fixtures{
		SpecialCharacters:        c(provider.FixtureSpecialCharacters),
		WithoutClientCredentials: c(provider.FixtureNoClientCredentials),
		ShortLived:               c(provider.FixtureShortLived),
		Public:                   c(provider.FixturePublic),
		BruteForce:               c(provider.FixtureThrowaway),
		Introspector:             c(provider.FixtureIntrospector),
		Second:                   c(provider.FixtureSecond),
		PrivateKeyJWT:            keyed(provider.FixturePrivateKeyJWT, provider.FixturePrivateKeyJWTKeyPEM, provider.FixturePrivateKeyJWTKeyID),
		PrivateKeyJWT2:           keyed(provider.FixturePrivateKeyJWT2, provider.FixturePrivateKeyJWT2KeyPEM, provider.FixturePrivateKeyJWT2KeyID),
		ClientSecretJWT:          keyed(provider.FixtureClientSecretJWT, nil, ""),
		MTLS:                     certified(provider.FixtureMTLS, provider.FixtureMTLSCertPEM, provider.FixtureMTLSKeyPEM),
		DPoPBound:                c(provider.FixtureDPoPBound),
		MTLS2:                    certified(provider.FixtureMTLSSelfSigned, provider.FixtureMTLSSelfSignedCertPEM, provider.FixtureMTLSSelfSignedKeyPEM),
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
	if !given("issuer") {
		t.Issuer = t.ProviderURL
	}
	// RFC 8707 defines no metadata member, and the resource servers validate JWTs locally:
	// the description declares both.
	if !given("capabilities") {
		t.Capabilities = []string{config.CapResourceServerJWT, config.CapResourceIndicators}
	}
	t.ResourceIndicators = []suite.ResourceIndicator{
		{Resource: provider.ResourceOne(t.Issuer), Path: provider.PathResourceOne},
		{Resource: provider.ResourceTwo(t.Issuer), Path: provider.PathResourceTwo},
	}
	// F-MTLS's resource server: only certificate-bound tokens, over mutual TLS.
	if !given("mtls-resource-path") {
		t.MTLSResourcePath = provider.PathResourceMTLS
	}
	// F-RS-DPOP: the resource server that takes only DPoP-bound tokens, with the DPoP scheme;
	// naming it declares the rs-dpop capability.
	if !given("dpop-resource-path") {
		t.DPoPResourcePath = provider.PathResourceDPoP
	}
}

// certified is a mutual TLS fixture client with its certificate and private key.
func certified(cl provider.Client, certPEM, keyPEM []byte) *suite.Credentials {
	cred, err := suite.NewCredentials(config.Client{ID: cl.ID, AuthMethod: string(cl.AuthMethod),
		Certificate: string(certPEM), PrivateKey: string(keyPEM)})
	if err != nil {
		panic("the reference's fixture certificate: " + err.Error())
	}
	return cred
}

// keyed is a JWT-authenticating fixture client with its private key.
func keyed(cl provider.Client, keyPEM []byte, kid string) *suite.Credentials {
	cred, err := suite.NewCredentials(config.Client{ID: cl.ID, Secret: cl.Secret, AuthMethod: string(cl.AuthMethod),
		PrivateKey: string(keyPEM), KeyID: kid})
	if err != nil {
		panic("the reference's fixture key: " + err.Error())
	}
	return cred
}
