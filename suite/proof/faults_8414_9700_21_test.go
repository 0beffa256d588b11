package proof

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ccconform/ccconform/reference/provider"
	"github.com/ccconform/ccconform/suite/judge"
)

// Faults of the metadata (RFC 8414, checklist 2.E), the security BCP (RFC 9700, 2.F) and the
// OAuth 2.1 differences (2.G). The metadata faults run the rfc8414 specs; the BCP and OAuth 2.1
// faults run the broken row's specs only, under their profile (those rows are judged nowhere
// else).
//
// Rows without a fault: C-21-2.4.1-b and C-21-4.2-a are MAYs the suite only records. The
// checklist's milder case of C-8414-3-a (metadata only at openid-configuration: information,
// a warning under --strict) is no fault: without --strict it warns nothing.
var _ = register([]fault{
	// RFC 8414 §3.
	{name: "the metadata is served at the suffix appended to the issuer's path, not inserted before it", breaks: "C-8414-3-a",
		args: meta8414Args, serve: withIssuerPath("/tenant"), wrap: metaAtAppendedURL("/tenant")},
	{name: "the issuer is an http URL, so the metadata URL is cleartext", breaks: "C-8414-3-b",
		also: []string{"C-8414-3.3-a", "C-8414-2-a"}, args: meta8414Args, serve: withCleartextIssuer(serveTLSAndCleartext)},
	{name: "the metadata is sent as text/plain", breaks: "C-8414-3.2-a",
		args: meta8414Args, wrap: editResponses(metaGET, setHeader("Content-Type", "text/plain"))},
	{name: "the metadata sends an empty ui_locales_supported array", breaks: "C-8414-3.2-b",
		args: meta8414Args, wrap: editResponses(metaGET, setMember("ui_locales_supported", []string{}))},
	{name: "the metadata's issuer has a trailing slash the issuer does not have", breaks: "C-8414-3.3-a",
		args: meta8414Args, wrap: editResponses(metaGET, metaEditIssuer(func(iss string) string { return iss + "/" }))},

	// RFC 8414 §2.
	{name: "the metadata's issuer has a query component", breaks: "C-8414-2-a", also: []string{"C-8414-3.3-a"},
		args: meta8414Args, wrap: editResponses(metaGET, metaEditIssuer(func(iss string) string { return iss + "?tenant=1" }))},
	{name: "the metadata has no token_endpoint", breaks: "C-8414-2-b",
		args: meta8414Args, wrap: editResponses(metaGET, delMember("token_endpoint"))},
	{name: "the metadata has no response_types_supported", breaks: "C-8414-2-c", soft: true,
		args: meta8414Args, wrap: editResponses(metaGET, delMember("response_types_supported"))},
	{name: "the metadata has no scopes_supported", breaks: "C-8414-2-d", soft: true,
		args: meta8414Args, wrap: editResponses(metaGET, delMember("scopes_supported"))},
	{name: "grant_types_supported lists authorization_code, not client_credentials", breaks: "C-8414-2-e", soft: true,
		args: meta8414Args, wrap: editResponses(metaGET, setMember("grant_types_supported", []string{"authorization_code"}))},
	{name: "client_secret_post is advertised, but body credentials are refused", breaks: "C-8414-2-f", soft: true,
		args: meta8414Args, wrap: metaRefuseBodySecrets},
	{name: "token_endpoint_auth_signing_alg_values_supported lists none", breaks: "C-8414-2-g",
		args: meta8414Args, wrap: editResponses(metaGET, setMember("token_endpoint_auth_signing_alg_values_supported", []string{"RS256", "none"}))},
	{name: "the advertised revocation endpoint is not there (404)", breaks: "C-8414-2-h",
		args: meta8414Args, wrap: editResponses(metaGET, metaEditMember("revocation_endpoint", func(v string) string { return v + "-nowhere" }))},

	// RFC 9700 under --profile=bcp.
	{name: "bcp: the metadata advertises neither mutual TLS nor DPoP, and tokens are Bearer", breaks: "C-9700-2.2.1-a", soft: true,
		args: profileRow("bcp", "C-9700-2.2.1-a"),
		wrap: editResponses(metaGET, func(q *http.Request, r *response) {
			delMember("dpop_signing_alg_values_supported")(q, r)
			delMember("tls_client_certificate_bound_access_tokens")(q, r)
		})},
	{name: "bcp: private_key_jwt is neither advertised nor accepted", breaks: "C-9700-2.5-a", soft: true,
		args: profileRow("bcp", "C-9700-2.5-a"), wrap: metaNoPrivateKeyJWT},
	{name: "bcp: no metadata is published", breaks: "C-9700-2.6-a", soft: true,
		args: profileRow("bcp", "C-9700-2.6-a"),
		wrap: answer(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/.well-known/") }, http.StatusNotFound, "text/plain", "not found")},
	{name: "bcp: the server completes TLS 1.0 handshakes", breaks: "C-9700-2.6-b", soft: true,
		args: profileRow("bcp", "C-9700-2.6-b"), serve: serveTLSFrom(tls.VersionTLS10)},
	{name: "bcp: a token in the query alone reads the resource", breaks: "C-9700-4.3.2-a", soft: true,
		args: profileRow("bcp", "C-9700-4.3.2-a"), wrap: ctlQueryTokens},
	{name: "bcp: a forged Client-Cert header binds the token to that certificate", breaks: "C-9700-4.13-a",
		args: profileRow("bcp", "C-9700-4.13-a"), wrap: bcpTrustClientCertHeader},
	{name: "bcp: a client's token carries a user's email and name", breaks: "C-9700-4.15-a", soft: true,
		args: profileRow("bcp", "C-9700-4.15-a"),
		wrap: editResponses(at(http.MethodPost, provider.PathIntrospect), func(q *http.Request, r *response) {
			if m := r.object(); m["active"] == true {
				setMember("email", "someone@example.com")(q, r)
				setMember("name", "Some One")(q, r)
			}
		})},

	// OAuth 2.1 under --profile=oauth2.1.
	{name: "oauth2.1: client credentials in the body are refused", breaks: "C-21-2.4.1-a",
		args: profileRow("oauth2.1", "C-21-2.4.1-a"), wrap: metaRefuseBodySecrets},
	{name: "oauth2.1: the metadata's jwks_uri is an http URL", breaks: "C-21-1.5-a",
		args: profileRow("oauth2.1", "C-21-1.5-a"),
		wrap: editResponses(metaGET, metaEditMember("jwks_uri", func(v string) string { return strings.Replace(v, "https://", "http://", 1) }))},
	{name: "oauth2.1: audience, declared single-valued, is taken twice (the first copy wins)", breaks: "C-21-3.2-a",
		args: append(profileRow("oauth2.1", "C-21-3.2-a"), "-single-valued-parameters=audience"),
		wrap: editRequests(and(tokenPOST, rqFormHas(func(v url.Values) bool { return len(v["audience"]) > 1 })), func(r *http.Request) {
			v := formOf(r)
			v["audience"] = v["audience"][:1]
			setForm(r, v)
		})},
	{name: "oauth2.1: token responses have no Cache-Control", breaks: "C-21-3.2.3-a",
		args: profileRow("oauth2.1", "C-21-3.2.3-a"), wrap: editResponses(tokenPOST, when(http.StatusOK, delHeader("Cache-Control")))},
	{name: "oauth2.1: token responses leave out the scope granted as asked", breaks: "C-21-3.2.3-b", soft: true,
		args: profileRow("oauth2.1", "C-21-3.2.3-b"), wrap: editResponses(tokenPOST, when(http.StatusOK, delMember("scope")))},
	{name: "oauth2.1: a token in the query alone reads the resource", breaks: "C-21-5.1-a",
		args: profileRow("oauth2.1", "C-21-5.1-a"), wrap: ctlQueryTokens},
})

// meta8414Args run the metadata specs only.
var meta8414Args = []string{"-ginkgo.label-filter=rfc8414"}

// profileRow runs one row's specs under a profile.
func profileRow(profile, id string) []string {
	return []string{"-profile=" + profile, "-ginkgo.label-filter=" + id}
}

// metaGET: a GET of the metadata document.
var metaGET = at(http.MethodGet, provider.PathMetadata)

// metaEditMember changes a string member of a JSON response.
func metaEditMember(name string, edit func(string) string) func(*http.Request, *response) {
	return func(q *http.Request, r *response) {
		if v, ok := r.object()[name].(string); ok {
			setMember(name, edit(v))(q, r)
		}
	}
}

// metaEditIssuer changes the metadata's issuer member.
func metaEditIssuer(edit func(string) string) func(*http.Request, *response) {
	return metaEditMember("issuer", edit)
}

// withIssuerPath gives the suite an issuer with a path (the provider URL with path appended).
func withIssuerPath(path string) func(*testing.T, http.Handler) []string {
	return func(t *testing.T, h http.Handler) []string {
		t.Helper()
		flags := serveTLS(t, h)
		for _, f := range flags {
			if u, ok := strings.CutPrefix(f, "-provider-url="); ok {
				return append(flags, "-issuer="+u+path)
			}
		}
		t.Fatalf("no provider URL among the flags %q", flags)
		return nil
	}
}

// withCleartextIssuer serves over TLS and cleartext, and gives the suite the http:// issuer.
func withCleartextIssuer(serve func(*testing.T, http.Handler) []string) func(*testing.T, http.Handler) []string {
	return withCleartextFlag("-issuer", serve)
}

// metaAtAppendedURL serves the metadata, its issuer given the path, at the issuer with the
// well-known suffix appended (the mistake), and nowhere else.
func metaAtAppendedURL(path string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == path+provider.PathMetadata:
				r2 := r.Clone(r.Context())
				r2.URL.Path, r2.RequestURI = provider.PathMetadata, provider.PathMetadata
				editResponses(func(*http.Request) bool { return true }, metaEditIssuer(func(iss string) string { return iss + path }))(next).ServeHTTP(w, r2)
			case strings.HasPrefix(r.URL.Path, "/.well-known/"):
				http.NotFound(w, r)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// metaRefuseBodySecrets refuses token requests with a client_secret in the body, as a provider
// that only takes HTTP Basic does, while its metadata still lists client_secret_post (400
// invalid_client: a client that did not use the Authorization header gets no challenge).
var metaRefuseBodySecrets = answer(and(tokenPOST, withoutAuthorization, rqFormHas(func(v url.Values) bool { return v.Has("client_secret") })),
	http.StatusBadRequest, "application/json", `{"error":"invalid_client","error_description":"client_secret_post is not accepted"}`)

// metaNoPrivateKeyJWT takes private_key_jwt, and the mutual TLS methods (the other asymmetric
// client authentication C-9700-2.5-a accepts), out of the metadata and refuses assertions.
func metaNoPrivateKeyJWT(next http.Handler) http.Handler {
	dropPKJ := editResponses(metaGET, func(q *http.Request, r *response) {
		m := r.object()
		var kept []any
		for _, v := range m["token_endpoint_auth_methods_supported"].([]any) {
			if v != "private_key_jwt" && v != "tls_client_auth" && v != "self_signed_tls_client_auth" {
				kept = append(kept, v)
			}
		}
		setMember("token_endpoint_auth_methods_supported", kept)(q, r)
	})
	refuse := answer(and(tokenPOST, rqFormHas(func(v url.Values) bool {
		return v.Get("client_id") == provider.FixturePrivateKeyJWT.ID || v.Has("client_assertion")
	})),
		http.StatusBadRequest, "application/json", `{"error":"invalid_client"}`)
	return dropPKJ(refuse(next))
}

// serveTLSFrom serves over TLS accepting versions from min on (TLS 1.0: what BCP 195 forbids).
func serveTLSFrom(min uint16) func(*testing.T, http.Handler) []string {
	return func(t *testing.T, h http.Handler) []string {
		t.Helper()
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ErrorLog = quietLog
		srv.TLS = &tls.Config{MinVersion: min} //nolint:gosec // the fault: legacy TLS accepted
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return targetFlags(t, srv.URL, srv.Certificate())
	}
}

// bcpTrustClientCertHeader is an authorization server behind a proxy that passes a client's
// Client-Cert header on: the tokens issued to such requests are bound to that certificate, as
// their introspection shows (cnf x5t#S256, RFC 8705 §3.1).
func bcpTrustClientCertHeader(next http.Handler) http.Handler {
	var mu sync.Mutex
	bound := map[string]string{}
	remember := editResponses(and(tokenPOST, func(r *http.Request) bool { return r.Header.Get("Client-Cert") != "" }), func(q *http.Request, r *response) {
		der, err := base64.StdEncoding.DecodeString(strings.Trim(q.Header.Get("Client-Cert"), ":"))
		tok, ok := r.object()["access_token"].(string)
		if err != nil || !ok {
			return
		}
		sum := sha256.Sum256(der)
		mu.Lock()
		bound[tok] = base64.RawURLEncoding.EncodeToString(sum[:])
		mu.Unlock()
	})
	show := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !at(http.MethodPost, provider.PathIntrospect)(r) {
				next.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			x5t, ok := bound[formOf(r).Get("token")] // formOf puts the body back for the reference
			mu.Unlock()
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			editResponses(func(*http.Request) bool { return true }, setMember("cnf", map[string]any{"x5t#S256": x5t}))(next).ServeHTTP(w, r)
		})
	}
	return remember(show(next))
}

// Metadata found only at OpenID Connect Discovery's openid-configuration is the checklist's
// milder case of C-8414-3-a (RFC 8414 §5 recognizes it): information without --strict, the
// row's lenient case under --strict, where its warning fails the run as every warning does.
// The other metadata rows are judged on that document and pass.
func TestMetadataOnlyAtOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	args := append(append(serveTLS(t, referenceHandler(t, metaOnlyAtOpenIDConfiguration)), faultArgs...), meta8414Args...)
	run := runSuite(t, runTimeout, args...)
	if run.exitCode != 0 {
		t.Errorf("without --strict the run failed (exit %d):\n%s", run.exitCode, describeFailures(run))
	}
	if o := run.outcome("C-8414-3-a"); o != judge.Information {
		t.Errorf("C-8414-3-a is %q without --strict, not information", o)
	}
	if rows := run.rows(judge.Warned, judge.Failed); len(rows) > 0 {
		t.Errorf("rows warned or failed on the openid-configuration document:\n%s", describeRows(rows))
	}
	strict := runSuite(t, runTimeout, append(args, "-strict")...)
	if strict.exitCode == 0 || strict.outcome("C-8414-3-a") != judge.Failed {
		t.Errorf("under --strict the run exits %d with C-8414-3-a %q, not failed", strict.exitCode, strict.outcome("C-8414-3-a"))
	}
	for _, r := range strict.rows(judge.Failed) {
		if r.ID != "C-8414-3-a" {
			t.Errorf("under --strict %s failed too: %s", r.ID, firstLine(r.Message))
		}
	}
}
