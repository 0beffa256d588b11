// Command provider runs the bundled reference provider: the documented server-to-server
// scenario's OAuth 2.0 client credentials provider, done right.
//
//	go run ./reference/cmd/provider [--addr localhost:8080] [--env-file .env] [--fixtures]
//	    [--access-log FILE] [--tls-cert FILE --tls-key FILE | --dev-tls [--dev-tls-dir DIR]]
//	    [--max-conns N] [--max-conns-per-source N]
//	    [--issuer URL] [--jwt-access-tokens] [--signing-key FILE]
//
// The client comes from CLIENT_ID and CLIENT_SECRET, in the environment or in the .env file;
// with neither, the scenario's public demo credentials are used, and the command says so.
// PORT sets the port when --addr is not given. TOKEN_KEY (base64, at least 32 bytes) sets the
// token signing key, so that replicas accept each other's tokens.
//
// The access log (one line per request: method, clipped path, status, duration) goes to stderr,
// or to --access-log, through a buffer flushed at least every 100 ms and on shutdown.
// --tls-cert and --tls-key serve HTTPS with a certificate of your own; --dev-tls makes a
// throwaway certificate authority and a certificate for localhost, and prints the authority's
// file, for the conformance suite's --ca-file. Over TLS the provider asks every client for a
// certificate and takes connections without one: the mutual TLS clients (RFC 8705) of
// --fixtures authenticate with theirs.
//
// The provider has an issuer identifier (RFC 8414), by default its own URL as it prints it
// (http://localhost:8080, or https:// with TLS); --issuer sets another, for a provider behind a
// proxy. With it come the metadata document at /.well-known/oauth-authorization-server, the
// signing keys at /jwks, RFC 9068 JWT access tokens for requests that carry resource (RFC 8707)
// and the resource servers /rs/one and /rs/two. --jwt-access-tokens makes every access token a
// JWT. The signing key is fresh on every start unless --signing-key names a PEM file of RSA
// private keys (2048 bits or more; the first signs, the others are still published and
// accepted), so that replicas accept each other's tokens.
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/ccconform/ccconform/reference/internal/dotenv"
	"github.com/ccconform/ccconform/reference/provider"
)

func main() {
	// The provider keeps almost nothing between requests (tokens are self-contained), so its
	// live heap is a few MB and the default GOGC=100 collects garbage after every few MB of
	// requests. Letting the heap grow to five times the live data before collecting halves the
	// collector's share of the CPU for a few MB more memory. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "provider:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultAddr := "localhost:8080"
	if port := getenv("PORT"); port != "" {
		defaultAddr = net.JoinHostPort("localhost", port)
	}
	addr := fs.String("addr", defaultAddr, "address to listen on (host:port; :0 picks a free port); default from PORT")
	envFile := fs.String("env-file", ".env", "file with CLIENT_ID and CLIENT_SECRET; the environment wins over it")
	fixtures := fs.Bool("fixtures", false, "also register the conformance suite's fixture clients (public test credentials: see reference/target.yaml)")
	accessLog := fs.String("access-log", "", "file to append the access log to (default: stderr)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate chain to serve HTTPS with (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	devTLS := fs.Bool("dev-tls", false, "serve HTTPS with a throwaway certificate authority made on start (development only); prints the CA file for the suite's --ca-file")
	devTLSDir := fs.String("dev-tls-dir", "", "where --dev-tls writes ca.pem (default: a new temporary directory)")
	maxConns := fs.Int("max-conns", 0, fmt.Sprintf("most connections kept open (default %d, at most 3/4 of the descriptor limit)", provider.DefaultMaxConnections))
	maxConnsPerSource := fs.Int("max-conns-per-source", 0, fmt.Sprintf("most connections kept open per source address (default %d)", provider.DefaultMaxConnectionsPerSource))
	issuer := fs.String("issuer", "", "issuer identifier, an http(s) URL with no path (default: the URL the provider listens on)")
	jwtAccessTokens := fs.Bool("jwt-access-tokens", false, "issue RFC 9068 JWT access tokens to every client (default: only for requests with resource)")
	signingKey := fs.String("signing-key", "", "PEM file of RSA private keys that sign JWT access tokens, the first signing (default: a fresh key)")
	dpopNonces := fs.Bool("dpop-nonces", false, "demand DPoP nonces (RFC 9449 §8, §9) at the token endpoint and the resource servers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	getenv, err := dotenv.Getenv(*envFile, getenv)
	if err != nil {
		return err
	}
	stderr = &lockedWriter{w: stderr} // the notes and the access log share it
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	id, secret := getenv("CLIENT_ID"), getenv("CLIENT_SECRET")
	switch {
	case id == "" && secret == "":
		id, secret = provider.DemoClientID, provider.DemoClientSecret
		logger.Warn("CLIENT_ID and CLIENT_SECRET are not set: using the documented scenario's public demo credentials; do not use them outside a demo")
	case id == "" || secret == "":
		return errors.New("set both CLIENT_ID and CLIENT_SECRET, or neither")
	}
	cfg := provider.DefaultConfig(id, secret)
	if *fixtures {
		cfg = provider.FixtureConfig(id, secret)
		logger.Warn("the conformance fixture clients are registered: their credentials are public")
	}
	cfg.Logger = logger
	cfg.AccessLog = stderr
	if *accessLog != "" {
		f, err := os.OpenFile(*accessLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.AccessLog = f
	}
	cfg.MaxConnections, cfg.MaxConnectionsPerSource = *maxConns, *maxConnsPerSource
	if k := getenv("TOKEN_KEY"); k != "" {
		if cfg.TokenKey, err = base64.StdEncoding.DecodeString(k); err != nil {
			return errors.New("TOKEN_KEY is not base64")
		}
	}
	cfg.JWTAccessTokens = *jwtAccessTokens
	cfg.DPoPNonces = *dpopNonces
	if *signingKey != "" {
		data, err := os.ReadFile(*signingKey)
		if err != nil {
			return fmt.Errorf("--signing-key: %v", err)
		}
		if cfg.SigningKeys, err = provider.ParseSigningKeysPEM(data); err != nil {
			return fmt.Errorf("--signing-key: %v", err)
		}
	}

	var tlsConfig *tls.Config
	caFile := ""
	switch {
	case *devTLS && (*tlsCert != "" || *tlsKey != ""):
		return errors.New("--dev-tls makes its own certificate: leave out --tls-cert and --tls-key")
	case (*tlsCert == "") != (*tlsKey == ""):
		return errors.New("set both --tls-cert and --tls-key, or neither")
	case *tlsCert != "":
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	case *devTLS:
		dir := *devTLSDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "ccconform-dev-tls-"); err != nil {
				return err
			}
		}
		host, _, _ := net.SplitHostPort(*addr)
		cert, file, err := devCertificate(dir, host)
		if err != nil {
			return fmt.Errorf("--dev-tls: %v", err)
		}
		tlsConfig, caFile = &tls.Config{Certificates: []tls.Certificate{cert}}, file
		logger.Warn("serving with a throwaway development certificate authority: for development and tests only")
	}

	if tlsConfig != nil {
		tlsConfig = provider.RequestClientCertificates(tlsConfig) // RFC 8705 client certificates
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The issuer is known once the port is: --addr may ask for any free one.
	listenURL := baseURL(*addr, l.Addr(), tlsConfig != nil)
	cfg.Issuer = *issuer
	if cfg.Issuer == "" {
		cfg.Issuer = listenURL
	}
	p, err := provider.New(cfg)
	if err != nil {
		l.Close()
		return err
	}
	fmt.Fprintf(stdout, "[Provider]: listening on %s\n", listenURL)
	if cfg.Issuer != listenURL {
		fmt.Fprintf(stdout, "[Provider]: issuer %s\n", cfg.Issuer)
	}
	if caFile != "" {
		fmt.Fprintf(stdout, "[Provider]: development CA in %s: pass --ca-file=%s to the suite\n", caFile, caFile)
	}
	if tlsConfig != nil {
		err = p.ServeTLS(ctx, l, tlsConfig, 10*time.Second)
	} else {
		err = p.Serve(ctx, l, 10*time.Second)
	}
	logger.Info("stopped")
	return err
}

// baseURL is the URL a client on this machine uses: the host as given (localhost stays
// localhost), and the port actually bound.
func baseURL(requested string, bound net.Addr, https bool) string {
	host, _, _ := net.SplitHostPort(requested)
	_, port, _ := net.SplitHostPort(bound.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http://"
	if https {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// lockedWriter serialises writes from the logger and the access log, which have locks of their
// own but not a common one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}
