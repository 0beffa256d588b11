package provider

import (
	"context"
	"log/slog"
	"net"
	"net/http"
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
)

// Provider is the reference authorization and resource server.
type Provider struct {
	cfg      Config
	realm    string
	clients  *clientStore
	manager  *manage.Manager
	oauth    *server.Server
	resource resourceStore
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
		clients: newClientStore(cfg.Clients, newFailureLimiter(cfg.MaxFailedAuthentications, cfg.FailureWindow))}
	if p.realm == "" {
		p.realm = "ccconform"
	}
	codec, err := newTokenCodec(cfg.TokenKey)
	if err != nil {
		return nil, err
	}
	p.manager = manage.NewManager()
	p.manager.MapClientStorage(p.clients)
	p.manager.MapAccessGenerate(codec)
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
// drainTimeout.
func (p *Provider) Serve(ctx context.Context, l net.Listener, drainTimeout time.Duration) error {
	srv := NewHTTPServer(p.Handler())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// accessLog logs one line per request: method, path, status and duration. Never the query (it
// may hold an access_token), headers or bodies.
func (p *Provider) accessLog(next http.Handler) http.Handler {
	if p.cfg.Logger == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		p.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
	})
}

func (p *Provider) log(msg string, args ...any) {
	if p.cfg.Logger != nil {
		p.cfg.Logger.Warn(msg, args...)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
