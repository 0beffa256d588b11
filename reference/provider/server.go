package provider

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/server"
)

// Paths of the documented scenario, and of the scope-protected resource the reference adds so
// that insufficient_scope can be tested.
const (
	PathPublic         = "/public"
	PathToken          = "/token"
	PathReadResource   = "/read-resource"
	PathWriteResource  = "/write-resource"
	PathScopedResource = "/scoped-resource"
	PathIntrospect     = "/introspect" // RFC 7662 (introspect.go)
	PathRevoke         = "/revoke"     // RFC 7009 (revoke.go)
	// Resource servers of sender-constrained tokens, with an issuer only (dpop.go, mtls.go): they
	// take only DPoP-bound tokens (RFC 9449 §7), only certificate-bound ones (RFC 8705 §3).
	PathResourceDPoP = "/rs/dpop"
	PathResourceMTLS = "/rs/mtls"
)

// Provider is the reference authorization and resource server.
type Provider struct {
	cfg      Config
	realm    string
	clients  *clientStore
	manager  *manage.Manager
	oauth    *server.Server
	resource resourceStore
	access   *bufferedAccessLog          // nil without Config.AccessLog
	conns    atomic.Pointer[connLimiter] // the running Serve's
	replay   *replayCache                // client assertions' jti (replay.go)
	revoked  *expiringSet                // the revocation deny-list (revoke.go)
	codec    *tokenCodec                 // opaque access tokens (tokens.go)
	dpop     *dpopState                  // DPoP proofs' clock, jti cache and nonces (dpop.go)
	// The JWT features (Config.Issuer): all zero without an issuer. keys.go, jwtat.go,
	// resources.go, metadata.go.
	issuer, defaultResource, resourceOne, resourceTwo string
	defaultAudience                                   []string // {defaultResource}
	keys                                              *keyStore
	metadata                                          []byte // the RFC 8414 document
}

// New builds a Provider from cfg.
func New(cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	p := &Provider{cfg: cfg, realm: cfg.Realm,
		clients: newClientStore(cfg.Clients, newGuessThrottle(cfg)),
		replay:  newReplayCache(), revoked: newExpiringSet(defaultMaxRevoked)}
	p.clients.assertionGuesses = newAssertionThrottle(cfg)
	if cfg.AccessLog != nil {
		p.access = newBufferedAccessLog(cfg.AccessLog)
	}
	if p.realm == "" {
		p.realm = "ccconform"
	}
	codec, err := newTokenCodec(cfg.TokenKey)
	if err != nil {
		return nil, err
	}
	p.codec = codec
	if p.dpop, err = newDPoPState(cfg); err != nil {
		return nil, err
	}
	if err := p.setUpJWT(); err != nil {
		return nil, err
	}
	p.manager = manage.NewManager()
	p.manager.MapClientStorage(p.clients)
	p.manager.MapAccessGenerate(accessGenerator{p}) // opaque tokens, or JWTs (jwtat.go)
	p.manager.MapTokenStorage(codec)
	p.manager.SetClientTokenCfg(&manage.Config{AccessTokenExp: cfg.TokenLifetime})
	p.oauth = server.NewServer(server.NewConfig(), p.manager)
	p.wireOAuth2Server(p.oauth)
	return p, nil
}

// Handler returns every route of the provider.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathPublic, handlePublic)
	mux.HandleFunc(PathToken, p.handleToken) // every method: a GET gets an OAuth error, not a bare 405
	mux.Handle("GET "+PathReadResource, p.protect("", p.handleRead))
	// The documented scenario lets a token granted only read write the resource; the reference
	// keeps that, and offers a resource that does require a scope.
	mux.Handle("POST "+PathWriteResource, p.protect("", p.handleWrite))
	mux.Handle("GET "+PathScopedResource, p.protect(ScopeWrite, p.handleRead))
	mux.HandleFunc(PathIntrospect, p.handleIntrospect) // every method: a GET gets an OAuth error
	mux.HandleFunc(PathRevoke, p.handleRevoke)
	p.routeJWTFeatures(mux) // metadata, JWKS, /rs/one, /rs/two: with an issuer only
	if p.keys != nil {
		// Sender-constrained tokens are JWTs, so these need an issuer too; default audience.
		mux.Handle("GET "+PathResourceDPoP, p.protectRoute(p.defaultResource, "", dpopTokens, p.handleRead))
		mux.Handle("GET "+PathResourceMTLS, p.protectRoute(p.defaultResource, "", certificateTokens, p.handleRead))
	}
	return p.accessLog(mux)
}

// NewHTTPServer wraps a handler in an http.Server whose timeouts and header limit keep slow or
// oversized clients from holding the provider's resources.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// Serve runs the provider on l until ctx ends, then drains in-flight requests for up to
// drainTimeout. The connections it keeps are limited (Config.MaxConnections and
// MaxConnectionsPerSource), and the access log is flushed before it returns.
func (p *Provider) Serve(ctx context.Context, l net.Listener, drainTimeout time.Duration) error {
	return p.serve(ctx, l, nil, drainTimeout)
}

// ServeTLS is Serve over TLS with the given configuration (at least one certificate, or
// GetCertificate).
func (p *Provider) ServeTLS(ctx context.Context, l net.Listener, tlsConfig *tls.Config, drainTimeout time.Duration) error {
	if tlsConfig == nil {
		return errors.New("provider: ServeTLS needs a TLS configuration")
	}
	return p.serve(ctx, l, tlsConfig, drainTimeout)
}

func (p *Provider) serve(ctx context.Context, l net.Listener, tlsConfig *tls.Config, drainTimeout time.Duration) error {
	defer p.FlushAccessLog()
	limited := limitConnections(l, p.cfg.MaxConnections, p.cfg.MaxConnectionsPerSource)
	p.conns.Store(limited)
	srv := NewHTTPServer(p.Handler())
	srv.ConnState = limited.connState
	srv.ErrorLog = p.httpErrorLog()
	errc := make(chan error, 1)
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig.Clone()
		go func() { errc <- srv.ServeTLS(limited, "", "") }()
	} else {
		go func() { errc <- srv.Serve(limited) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// ConnectionStats describes the connections of the running Serve (zero before it starts).
func (p *Provider) ConnectionStats() ConnectionStats {
	if l := p.conns.Load(); l != nil {
		return l.stats()
	}
	return ConnectionStats{}
}

// httpErrorLog sends net/http's own complaints (failed TLS handshakes, accept errors) to the
// Logger as warnings, or nowhere without one.
func (p *Provider) httpErrorLog() *log.Logger {
	if p.cfg.Logger == nil {
		return log.New(io.Discard, "", 0)
	}
	return slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelWarn)
}

func (p *Provider) log(msg string, args ...any) {
	if p.cfg.Logger != nil {
		p.cfg.Logger.Warn(msg, args...)
	}
}
