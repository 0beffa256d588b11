package suite

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
)

// RFC 8414 §2: the members of the metadata document a client-credentials client relies on,
// judged on the document discovery found (discovery.go). What the document advertises is
// probed: a method or an endpoint it lists must work.
var _ = Describe("RFC 8414 §2: authorization server metadata", func() {
	// §2 (MUST): issuer is a URL with the https scheme and no query or fragment component. On a
	// plain http target only the query and fragment are judged.
	It("names an https issuer without query or fragment",
		metadataLabels("C-8414-2-a"), func(ctx SpecContext) {
			needMetadata()
			r := row("C-8414-2-a")
			iss, ok := discovered.Doc["issuer"].(string)
			r.RequireThat(ok && iss != "", "the metadata has no issuer string (REQUIRED): it is %s", metadataValue(discovered.Doc["issuer"]))
			u, err := url.Parse(iss)
			r.RequireThat(err == nil && u.IsAbs(), "the issuer %q is not an absolute URL", iss)
			r.That(u.RawQuery == "" && !u.ForceQuery, "the issuer %q has a query component", iss)
			r.That(u.Fragment == "" && !strings.Contains(iss, "#"), "the issuer %q has a fragment component", iss)
			if !plainHTTPTarget() {
				r.That(u.Scheme == "https", "the issuer %q does not use the https scheme", iss)
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §2 (MUST, unless only the implicit grant is supported, which a client-credentials server
	// is not): token_endpoint is present, an absolute https URL without fragment (RFC 6749
	// §3.2), and the token URL the configuration gives, when it gives one.
	It("names the token endpoint in token_endpoint: an https URL without fragment, the configured one if one was given",
		metadataLabels("C-8414-2-b"), func(ctx SpecContext) {
			needMetadata()
			r := row("C-8414-2-b")
			te, ok := discovered.Doc["token_endpoint"].(string)
			r.RequireThat(ok && te != "", "the metadata has no token_endpoint string (REQUIRED): it is %s", metadataValue(discovered.Doc["token_endpoint"]))
			u, err := url.Parse(te)
			r.RequireThat(err == nil && u.IsAbs(), "token_endpoint %q is not an absolute URL", te)
			r.That(u.Fragment == "" && !strings.Contains(te, "#"), "token_endpoint %q has a fragment component", te)
			if !plainHTTPTarget() {
				r.That(u.Scheme == "https", "token_endpoint %q does not use the https scheme", te)
			}
			if flagOrEnvGiven("token-path") {
				configured := target.url(target.TokenPath)
				r.That(te == configured, "token_endpoint %q is not the configured token URL %q", te, configured)
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §2 (REQUIRED): response_types_supported. Servers that only issue tokens at the token
	// endpoint disagree (openid/OpenID4VCI #248 plans an errata), so the registry grades its
	// absence as a warning. ["none"] is a valid value for such a server.
	It("publishes response_types_supported",
		metadataLabels("C-8414-2-c"), func(ctx SpecContext) {
			needMetadata()
			_, ok := discovered.Doc["response_types_supported"]
			row("C-8414-2-c").That(ok, "the metadata has no response_types_supported (REQUIRED by §2; [\"none\"] suits a server that only issues tokens at the token endpoint)")
		}, SpecTimeout(target.specTimeout(1)))

	// §2 (RECOMMENDED): scopes_supported.
	It("publishes scopes_supported",
		metadataLabels("C-8414-2-d"), func(ctx SpecContext) {
			needMetadata()
			_, ok := discovered.Doc["scopes_supported"]
			row("C-8414-2-d").That(ok, "the metadata has no scopes_supported (RECOMMENDED)")
		}, SpecTimeout(target.specTimeout(1)))

	// §2 (OPTIONAL): grant_types_supported defaults to authorization_code and implicit, so a
	// client-credentials server that leaves it out, or lists it without client_credentials,
	// says it does not offer the grant it does (a warning: registry).
	It("lists client_credentials in grant_types_supported",
		metadataLabels("C-8414-2-e"), func(ctx SpecContext) {
			needMetadata()
			r := row("C-8414-2-e")
			grants, ok := metadataStrings("grant_types_supported")
			if _, present := discovered.Doc["grant_types_supported"]; !present {
				r.That(false, "the metadata has no grant_types_supported, whose default (authorization_code, implicit) leaves out client_credentials")
				return
			}
			r.That(ok && slices.Contains(grants, "client_credentials"), "grant_types_supported (%s) does not list client_credentials", strings.Join(grants, ", "))
		}, SpecTimeout(target.specTimeout(1)))

	// §2 (OPTIONAL, default client_secret_basic): token_endpoint_auth_methods_supported. What it
	// lists must work: each listed method is tried with a client that can use it: the main
	// client for client_secret_basic and client_secret_post when it authenticates with a secret
	// (both carry the same id and secret); the JWT fixture clients (or the main client, if it is
	// one) for private_key_jwt and client_secret_jwt. A method no configured client can use is
	// not judged. A mutual TLS client is tried at the token endpoint's mtls_endpoint_aliases
	// entry when there is one (RFC 8705 §5).
	It("issues a token to a client authenticating with each method token_endpoint_auth_methods_supported lists",
		metadataLabels("C-8414-2-f"), func(ctx SpecContext) {
			needMetadata()
			needTokenPath()
			r := row("C-8414-2-f")
			methods, ok := metadataStrings("token_endpoint_auth_methods_supported")
			if _, present := discovered.Doc["token_endpoint_auth_methods_supported"]; !present {
				methods, ok = []string{config.AuthClientSecretBasic}, true
				By("the member is absent, so client_secret_basic, its default, must work")
			}
			r.RequireThat(ok, "token_endpoint_auth_methods_supported is not an array of strings")
			for _, m := range methods {
				c, scope, why := metadataClientFor(m)
				if c == nil {
					r.Cannot("%s is advertised, but %s", m, why)
					continue
				}
				By("getting a token with " + m)
				authorization, body := c.authenticate(form("scope", scope))
				res, err := trySend(ctx, request{Method: http.MethodPost, Path: c.tokenEndpoint(), Note: "token request with " + m,
					Form: body, Authorization: authorization, Certificate: c.Certificate})
				if err != nil {
					r.That(false, "%s is advertised, but a token request authenticated with it got no answer: %v", m, err)
					continue
				}
				_, bad := parseTokenResponse(res)
				r.That(bad == "", "%s is advertised, but a token request of client %q authenticated with it got no token: %s "+
					"(if that client is registered for another method only, configure one registered for %s)", m, c.ID, bad, m)
			}
		}, SpecTimeout(target.specTimeout(5)))

	// §2 (MUST): token_endpoint_auth_signing_alg_values_supported is present when the token
	// endpoint lists private_key_jwt or client_secret_jwt, and never holds "none"; likewise the
	// revocation and introspection endpoints' lists for their own methods. Other *_alg_values
	// lists (OpenID Discovery's request objects, ID tokens, userinfo) may hold none: no verdict.
	It("publishes the endpoints' JWT authentication algorithms when they list *_jwt methods, none never among them",
		metadataLabels("C-8414-2-g"), func(ctx SpecContext) {
			needMetadata()
			r := row("C-8414-2-g")
			for _, ep := range []string{"token_endpoint", "revocation_endpoint", "introspection_endpoint"} {
				methodsMember, algsMember := ep+"_auth_methods_supported", ep+"_auth_signing_alg_values_supported"
				methods, _ := metadataStrings(methodsMember)
				algs, algsOK := metadataStrings(algsMember)
				_, algsPresent := discovered.Doc[algsMember]
				if slices.Contains(methods, config.AuthPrivateKeyJWT) || slices.Contains(methods, config.AuthClientSecretJWT) {
					r.That(algsPresent, "%s lists a *_jwt method, but %s is absent", methodsMember, algsMember)
				}
				if algsPresent {
					r.That(algsOK, "%s is not an array of strings", algsMember)
					r.That(!slices.ContainsFunc(algs, func(a string) bool { return strings.EqualFold(a, "none") }),
						"%s lists none, which §2 forbids", algsMember)
				}
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §2 (OPTIONAL): revocation_endpoint and introspection_endpoint. An advertised one is an
	// https URL (RFC 7009 §2, RFC 7662 §4) and is there: a POST without credentials gets an
	// answer other than 404 or 410 (the checklist fails a 404). Its own rules are sections 2.C
	// and 2.D's.
	It("answers at the advertised revocation and introspection endpoints, which are https URLs",
		metadataLabels("C-8414-2-h"), func(ctx SpecContext) {
			needMetadata()
			r := row("C-8414-2-h")
			seen := false
			for _, member := range []string{"revocation_endpoint", "introspection_endpoint"} {
				v, present := discovered.Doc[member]
				if !present {
					continue
				}
				seen = true
				ep, ok := v.(string)
				u, err := url.Parse(ep)
				if !r.That(ok && err == nil && u.IsAbs(), "%s is %s, not an absolute URL", member, metadataValue(v)) {
					continue
				}
				if !plainHTTPTarget() {
					r.That(u.Scheme == "https", "%s %q does not use the https scheme", member, ep)
				}
				res, err := trySend(ctx, request{Method: http.MethodPost, Path: ep, Note: member + " reachable?",
					Form: url.Values{"token": {rsBogusToken()}}})
				if !r.That(err == nil, "%s %q got no answer: %v", member, ep, err) {
					continue
				}
				r.That(res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusGone,
					"%s %q answers a POST with %s: the advertised endpoint is not there", member, ep, res.Status)
			}
			if !seen {
				r.Inform("the metadata advertises neither a revocation nor an introspection endpoint")
			}
		}, SpecTimeout(target.specTimeout(2)))
})
