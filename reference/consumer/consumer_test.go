package consumer_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ccconform/ccconform/reference/consumer"
	"github.com/ccconform/ccconform/reference/provider"
)

func startProvider(t *testing.T, wrap func(http.Handler) http.Handler) string {
	p, err := provider.New(provider.DefaultConfig("consumer-test", "consumer-secret"))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The consumer prints the documented transcript, with the /write-resource notes mended and the
// first read showing null on a fresh provider.
func TestTranscriptAgainstTheReference(t *testing.T) {
	var out bytes.Buffer
	err := consumer.Run(context.Background(), consumer.Config{
		ProviderURL: startProvider(t, nil), ClientID: "consumer-test", ClientSecret: "consumer-secret"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := []string{
		"[Consumer]: get /public (public)",
		"[Provider]: 200 OK moo",
		"[Consumer]: get /read-resource (not authenticated)",
		"[Provider]: 401 Unauthorized",
		"[Consumer]: post /token (bad credentials)",
		`[Provider]: 401 Unauthorized {"error":"invalid_client","error_description":"client authentication failed"}`,
		"[Consumer]: post /token (valid credentials)",
		`[Provider]: 200 OK {"access_token":"[redacted]","expires_in":3600,"scope":"read","token_type":"Bearer"}`,
		"authorization token successfully retrieved!",
		"[Consumer]: get /read-resource (authenticated, resource is not yet defined)",
		`[Provider]: 200 OK {"resource":null}`,
		"[Consumer]: post /write-resource (invalid token)",
		`[Provider]: 401 Unauthorized {"error":"invalid_token","error_description":"the access token is invalid"}`,
		"[Consumer]: post /write-resource (authenticated)",
		`[Provider]: 200 OK {"message":"resource created"}`,
		"[Consumer]: get /read-resource (authenticated, resource is now defined)",
		`[Provider]: 200 OK {"resource":"foo-bar-moo"}`,
	}
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("transcript:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if regexp.MustCompile(`"access_token":"[^\[]`).MatchString(out.String()) {
		t.Error("the transcript shows the access token")
	}
}

func TestDeparturesAreErrors(t *testing.T) {
	forgetful := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/write-resource" && strings.Contains(r.Header.Get("Authorization"), ".") {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"message":"resource created"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	var out bytes.Buffer
	err := consumer.Run(context.Background(), consumer.Config{
		ProviderURL: startProvider(t, forgetful), ClientID: "consumer-test", ClientSecret: "consumer-secret"}, &out)
	if err == nil || !strings.Contains(err.Error(), "did not return the value written") {
		t.Errorf("a forgotten write: %v", err)
	}

	out.Reset()
	err = consumer.Run(context.Background(), consumer.Config{
		ProviderURL: startProvider(t, nil), ClientID: "consumer-test", ClientSecret: "wrong"}, &out)
	if err == nil || !strings.Contains(err.Error(), "post /token (valid credentials): got 401") {
		t.Errorf("wrong credentials: %v\n%s", err, out.String())
	}
	if err := consumer.Run(context.Background(), consumer.Config{ProviderURL: "localhost:8080"}, &out); err == nil {
		t.Error("a URL without a scheme was accepted")
	}
}
