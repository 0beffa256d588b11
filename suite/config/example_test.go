package config_test

import (
	"flag"
	"fmt"

	"github.com/ccconform/ccconform/suite/config"
)

func Example() {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	opts := config.Register(fs, config.Defaults{ClientID: "demo", ClientSecret: "demo-secret", TokenPath: "/token"})
	_ = fs.Parse([]string{"--provider-url=https://as.example", "--load=8"})
	env := map[string]string{"CCCONFORM_LOAD": "4", "CCCONFORM_CLIENT_AUTH_METHOD": "client_secret_post"}
	target, err := opts.Load(func(k string) string { return env[k] }, "/work")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(target.ProviderURL, target.Load, target.Client.Auth().Method(), opts.Given("load"), opts.Given("expires-in"))

	_ = fs.Parse([]string{"--request-timeout=soon"})
	_, err = opts.Load(func(string) string { return "" }, "/work")
	fmt.Println(err)
	// Output:
	// https://as.example 8 client_secret_post true false
	// --request-timeout "soon" is not a duration such as 5s
}
