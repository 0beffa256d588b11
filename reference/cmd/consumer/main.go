// Command consumer plays the documented scenario's consumer against a provider and prints the
// transcript:
//
//	go run ./reference/cmd/consumer [--provider-url http://localhost:8080] [--env-file .env]
//
// The client comes from CLIENT_ID and CLIENT_SECRET, in the environment or in the .env file;
// with neither, the scenario's demo credentials are used. It exits 1 when a step's status
// differs from the documented one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/ccconform/ccconform/reference/consumer"
	"github.com/ccconform/ccconform/reference/internal/dotenv"
	"github.com/ccconform/ccconform/reference/provider"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	providerURL := fs.String("provider-url", "http://localhost:8080", "the provider's base URL")
	envFile := fs.String("env-file", ".env", "file with CLIENT_ID and CLIENT_SECRET; the environment wins over it")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	getenv, err := dotenv.Getenv(*envFile, getenv)
	if err != nil {
		return err
	}
	id, secret := getenv("CLIENT_ID"), getenv("CLIENT_SECRET")
	if id == "" && secret == "" {
		id, secret = provider.DemoClientID, provider.DemoClientSecret
	}
	return consumer.Run(ctx, consumer.Config{
		ProviderURL: *providerURL, ClientID: id, ClientSecret: secret, Timeout: *timeout,
	}, stdout)
}
