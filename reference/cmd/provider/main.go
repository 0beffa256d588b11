// Command provider runs the bundled reference provider: the documented server-to-server
// scenario's OAuth 2.0 client credentials provider, done right.
//
//	go run ./reference/cmd/provider [--addr localhost:8080] [--env-file .env] [--fixtures]
//
// The client comes from CLIENT_ID and CLIENT_SECRET, in the environment or in the .env file;
// with neither, the scenario's public demo credentials are used, and the command says so.
// PORT sets the port when --addr is not given. TOKEN_KEY (base64, at least 32 bytes) sets the
// token signing key, so that replicas accept each other's tokens.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ccconform/ccconform/reference/internal/dotenv"
	"github.com/ccconform/ccconform/reference/provider"
)

func main() {
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
	if k := getenv("TOKEN_KEY"); k != "" {
		if cfg.TokenKey, err = base64.StdEncoding.DecodeString(k); err != nil {
			return errors.New("TOKEN_KEY is not base64")
		}
	}
	p, err := provider.New(cfg)
	if err != nil {
		return err
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "[Provider]: listening on %s\n", baseURL(*addr, l.Addr()))
	err = p.Serve(ctx, l, 10*time.Second)
	logger.Info("stopped")
	return err
}

// baseURL is the URL a client on this machine uses: the host as given (localhost stays
// localhost), and the port actually bound.
func baseURL(requested string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(requested)
	_, port, _ := net.SplitHostPort(bound.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
