package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/wire"
)

// Discovery: with an issuer, the run reads the authorization server's metadata (RFC 8414) once,
// before the specs, and takes from it what the configuration leaves out. The metadata specs
// (rfc8414_*.go) judge the document; everything else only reads it.

// metadataDocument is what discovery found.
type metadataDocument struct {
	// URL is where the document was found; empty when none was.
	URL string
	// ViaOpenID says it was found only at OpenID Connect Discovery's
	// /.well-known/openid-configuration, not at RFC 8414's own well-known URI.
	ViaOpenID bool
	// Appended says it was found only with RFC 8414's suffix appended to the issuer's path
	// (issuer + /.well-known/oauth-authorization-server), where §3.1 inserts it between the
	// host and the path: a common mistake that C-8414-3-a reports. The run still uses the
	// document, so that the other rows are judged.
	Appended bool
	// Doc is the document's members; nil when none was found.
	Doc map[string]any
	// Tried lists the URLs tried and what each answered, for the reasons of rows that cannot be
	// judged.
	Tried []string
}

// discovered is this run's metadata.
var discovered metadataDocument

// wellKnownURL is where RFC 8414 §3.1 puts the metadata of an issuer: the well-known suffix
// inserted between the host and the issuer's path, whose trailing / is removed first.
func wellKnownURL(issuer, suffix string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	u.Path = "/.well-known/" + suffix + strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

// openIDConfigurationURL is where OpenID Connect Discovery 1.0 §4 puts the configuration: the
// suffix appended to the issuer.
func openIDConfigurationURL(issuer string) string {
	return appendedWellKnownURL(issuer, "openid-configuration")
}

// appendedWellKnownURL is the well-known suffix appended to the issuer, as OpenID Connect
// Discovery does it; for RFC 8414's own suffix this is the wrong place when the issuer has a
// path (§3.1 inserts it), and the same URL as wellKnownURL when it has none.
func appendedWellKnownURL(issuer, suffix string) string {
	return strings.TrimRight(issuer, "/") + "/.well-known/" + suffix
}

// discover reads the issuer's metadata and fills in the endpoints the configuration leaves
// out. A provider without metadata is not an error here: the metadata specs report it.
func discover(ctx context.Context) {
	discovered = metadataDocument{}
	if bundledRun && target.Issuer == "" {
		target.Issuer = target.ProviderURL
	}
	if target.Issuer == "" {
		return
	}
	// RFC 8414 §3.1's URL first; then OpenID Connect Discovery's, which §5 recognizes; last the
	// misplaced RFC 8414 URL (the suffix appended to an issuer with a path), which is tried
	// only so that a provider that makes that mistake is still judged on its document.
	candidates := []struct {
		url              string
		openID, appended bool
	}{
		{wellKnownURL(target.Issuer, "oauth-authorization-server"), false, false},
		{openIDConfigurationURL(target.Issuer), true, false},
		{wellKnownURL(target.Issuer, "openid-configuration"), true, false},
		{appendedWellKnownURL(target.Issuer, "oauth-authorization-server"), false, true},
	}
	for _, c := range candidates {
		if c.url == "" || slices.ContainsFunc(discovered.Tried, func(s string) bool { return strings.HasPrefix(s, c.url+" ") }) {
			continue
		}
		doc, answer := fetchMetadata(ctx, c.url)
		discovered.Tried = append(discovered.Tried, c.url+" "+answer)
		if doc != nil {
			discovered.URL, discovered.ViaOpenID, discovered.Appended, discovered.Doc = c.url, c.openID, c.appended, doc
			break
		}
	}
	if discovered.Doc == nil {
		return
	}
	fill := func(field *string, flagName, member string) {
		if v, ok := discovered.Doc[member].(string); ok && v != "" && !flagOrEnvGiven(flagName) {
			*field = v
		}
	}
	fill(&target.TokenPath, "token-path", "token_endpoint")
	fill(&target.IntrospectionPath, "introspection-path", "introspection_endpoint")
	fill(&target.RevocationPath, "revocation-path", "revocation_endpoint")
	fill(&target.JWKSURI, "jwks-uri", "jwks_uri")
}

// fetchMetadata GETs a metadata document: its members when the answer is a 200 JSON object,
// and a few words on the answer.
func fetchMetadata(ctx context.Context, u string) (map[string]any, string) {
	x := httpClient.Do(ctx, &wire.Request{Method: http.MethodGet, URL: u, Note: "discovery", NoRetry: true})
	if x.Err != nil {
		return nil, "(no answer: " + wire.Describe(x.Err, target.RequestTimeout) + ")"
	}
	if x.Response.StatusCode != http.StatusOK {
		return nil, "(" + x.Response.Status + ")"
	}
	var doc map[string]any
	if err := json.Unmarshal(x.Body, &doc); err != nil || doc == nil {
		return nil, "(200, but not a JSON object)"
	}
	return doc, "(200)"
}

// metadataStrings is a metadata member that is a list of strings; ok is false when the member
// is absent or not such a list.
func metadataStrings(member string) (values []string, ok bool) {
	raw, present := discovered.Doc[member].([]any)
	if !present {
		return nil, false
	}
	for _, v := range raw {
		s, isString := v.(string)
		if !isString {
			return nil, false
		}
		values = append(values, s)
	}
	return values, true
}

// hasCap reports whether the provider has a capability: the configuration declares it, or the
// metadata or configuration shows it (an advertised or configured endpoint, an advertised or
// configured JWT client authentication method). jwt-at, rs-jwt and resource-indicators can only
// be declared here; their specs also find out from the tokens themselves.
func hasCap(name string) bool {
	if slices.Contains(target.Capabilities, name) {
		return true
	}
	switch name {
	case config.CapMetadata:
		return discovered.Doc != nil
	case config.CapIntrospection:
		return target.IntrospectionPath != ""
	case config.CapRevocation:
		return target.RevocationPath != ""
	case config.CapJWTClientAuth:
		methods, _ := metadataStrings("token_endpoint_auth_methods_supported")
		if slices.Contains(methods, config.AuthPrivateKeyJWT) || slices.Contains(methods, config.AuthClientSecretJWT) {
			return true
		}
		return target.Client.usesAssertion() || target.Clients.PrivateKeyJWT != nil || target.Clients.ClientSecretJWT != nil
	case config.CapDPoP:
		_, advertised := discovered.Doc["dpop_signing_alg_values_supported"]
		return advertised
	case config.CapResourceServerDPoP:
		return target.DPoPResourcePath != ""
	case config.CapMTLS:
		if bound, _ := discovered.Doc["tls_client_certificate_bound_access_tokens"].(bool); bound {
			return true
		}
		if _, aliases := discovered.Doc["mtls_endpoint_aliases"]; aliases {
			return true
		}
		methods, _ := metadataStrings("token_endpoint_auth_methods_supported")
		return slices.ContainsFunc(methods, config.IsMTLSMethod)
	}
	return false
}

// needCap leaves the spec not judged when the provider lacks the capability, saying how to
// switch it on.
func needCap(name string) {
	if hasCap(name) {
		return
	}
	how := map[string]string{
		config.CapMetadata:           "no RFC 8414 metadata was found" + triedText() + "; give --issuer, or declare it with --capabilities=metadata",
		config.CapIntrospection:      "the provider has no introspection endpoint: its metadata advertises none and --introspection-path is empty",
		config.CapRevocation:         "the provider has no revocation endpoint: its metadata advertises none and --revocation-path is empty",
		config.CapJWTClientAuth:      "the provider does not advertise private_key_jwt or client_secret_jwt, and no client is configured for them",
		config.CapDPoP:               "the provider's metadata has no dpop_signing_alg_values_supported (RFC 9449 §5.1); declare DPoP with --capabilities=dpop",
		config.CapResourceServerDPoP: "no resource route that requires DPoP is given; give --dpop-resource-path (or declare --capabilities=rs-dpop)",
		config.CapMTLS: "the provider's metadata advertises no mutual TLS (tls_client_certificate_bound_access_tokens, mtls_endpoint_aliases " +
			"or an mTLS method in token_endpoint_auth_methods_supported); declare it with --capabilities=mtls",
	}[name]
	if how == "" {
		how = fmt.Sprintf("the provider is not declared to have the %s capability (--capabilities=%s)", name, name)
	}
	judge.Skip("%s", how)
}

// triedText lists the metadata URLs discovery tried.
func triedText() string {
	if len(discovered.Tried) == 0 {
		return " (no --issuer was given)"
	}
	return " at " + redactor.mask(strings.Join(discovered.Tried, ", "))
}

// Helpers of the specs that read the metadata (rfc8414_*.go, rfc9700_*.go).

// metadataLabels labels a metadata spec: its rows, the section labels, rfc8414 and
// cap:metadata.
func metadataLabels(ids ...string) Labels {
	return append(specLabels("metadata", ids...), "rfc8414", "cap:metadata")
}

// needMetadata leaves the spec not judged without the capability, and blocks it by C-8414-3-a
// when the capability is declared but no document was found.
func needMetadata() {
	GinkgoHelper()
	needCap(config.CapMetadata)
	if discovered.Doc == nil {
		judge.Block("C-8414-3-a", "no metadata document was found%s", triedText())
	}
}

// plainHTTPTarget reports whether the target is a plain http:// URL: the user chose to test
// without TLS, so the rules that require https are not judged.
func plainHTTPTarget() bool {
	u, err := url.Parse(target.ProviderURL)
	return err == nil && strings.EqualFold(u.Scheme, "http")
}

// metadataValue shows a metadata member's value for a message: a string quoted, anything else
// by its kind. Metadata is public, but it is the provider's text, which the judge escapes.
func metadataValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	if v == nil {
		return "absent"
	}
	return "a JSON " + jsonKindOf(v)
}

// metadataWhere says where the metadata was read, or that there was none.
func metadataWhere() string {
	if discovered.Doc == nil {
		return " (none was found)"
	}
	return " (" + discovered.URL + ")"
}

// metadataClientFor is a configured client that can authenticate at the token endpoint with
// the method, and the scope to ask for (the main client asks for the scope the suite asks
// for; a fixture client for none, getting its default); why says why there is none.
func metadataClientFor(method string) (c *Credentials, scope, why string) {
	main := target.Client
	switch method {
	case config.AuthClientSecretBasic, config.AuthClientSecretPost:
		if main.Secret == "" || main.usesAssertion() || main.AuthMethod == config.AuthNone {
			return nil, "", "the main client does not authenticate with a client secret, so it cannot try " + method
		}
		main.AuthMethod = method
		return &main, askedScope(), ""
	case config.AuthPrivateKeyJWT, config.AuthClientSecretJWT:
		if main.AuthMethod == method {
			return &main, askedScope(), ""
		}
		fixture := target.Clients.PrivateKeyJWT
		if method == config.AuthClientSecretJWT {
			fixture = target.Clients.ClientSecretJWT
		}
		if fixture == nil {
			return nil, "", fmt.Sprintf("no %s client is configured (the fixture clients private_key_jwt and client_secret_jwt)", method)
		}
		return fixture, "", ""
	case config.AuthTLSClientAuth, config.AuthSelfSignedTLSClientAuth:
		for _, f := range []*Credentials{target.Clients.MTLS, target.Clients.MTLS2} {
			if f != nil && f.AuthMethod == method {
				return f, "", ""
			}
		}
		return nil, "", fmt.Sprintf("no %s client is configured (the fixture clients mtls and mtls_2)", method)
	}
	return nil, "", "the suite does not authenticate with " + method
}
