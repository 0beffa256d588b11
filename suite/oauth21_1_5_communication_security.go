package suite

import (
	"net/url"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
)

// The OAuth 2.1 draft (draft-ietf-oauth-v2-1, editor's copy -16) where it differs from RFC 6749
// and RFC 6750 for a client-credentials provider (checklist 2.G). Judged only under
// --profile=oauth2.1, which also regrades the RFC 6749 rows it changes (registry: Pragma,
// refresh tokens and HTTP Basic become information).
var _ = Describe("OAuth 2.1: communication security (§1.5)", func() {
	// §1.5 (MUST): every URL of the protocol (the authorization server's, the resource
	// server's, the metadata) uses https, with its certificate checked (RFC 9110 §4.3.4).
	// RFC 6749 asked for TLS at some endpoints only. Each URL the run uses is checked for the
	// scheme, and each https origin answers a request with the certificate verified, as every
	// exchange of the suite verifies it.
	It("uses https for every URL of the authorization server, the resources and the metadata, with a valid certificate",
		oauth21Labels("token", "C-21-1.5-a"), func(ctx SpecContext) {
			needProfile("C-21-1.5-a")
			r := row("C-21-1.5-a")
			urls := oauth21ProtocolURLs()
			var names []string
			for name := range urls {
				names = append(names, name)
			}
			sort.Strings(names)
			origins := map[string]bool{}
			for _, name := range names {
				u, err := url.Parse(urls[name])
				if !r.That(err == nil && u.IsAbs(), "%s %q is not an absolute URL", name, urls[name]) {
					continue
				}
				r.That(strings.EqualFold(u.Scheme, "https"), "%s %s does not use https", name, urls[name])
				if strings.EqualFold(u.Scheme, "https") && !origins[u.Host] {
					origins[u.Host] = true
					res, err := trySend(ctx, request{Path: urls[name], Note: "certificate verified?"})
					r.That(err == nil && res.TLS != nil, "%s: no answer over TLS with the certificate verified: %v", u.Host, err)
				}
			}
		}, SpecTimeout(target.specTimeout(6)))
})

// oauth21Labels labels a spec of the OAuth 2.1 differences: its rows, the section labels,
// oauth2.1 and profile:oauth2.1.
func oauth21Labels(endpoint string, ids ...string) Labels {
	return append(specLabels(endpoint, ids...), "oauth2.1", "profile:oauth2.1")
}

// oauth21ProtocolURLs are the URLs of the protocol the run knows, by name: the configured
// endpoints and resources, the issuer, the metadata's URL and every endpoint it advertises.
func oauth21ProtocolURLs() map[string]string {
	urls := map[string]string{}
	add := func(name, p string) {
		if p != "" {
			urls[name] = target.url(p)
		}
	}
	add("the token endpoint", target.TokenPath)
	add("the read path", target.ReadPath)
	add("the write path", target.WritePath)
	add("the introspection endpoint", target.IntrospectionPath)
	add("the revocation endpoint", target.RevocationPath)
	add("the JWK set", target.JWKSURI)
	for _, res := range target.Resources {
		add("the resource "+res.Path, res.Path)
	}
	for _, ri := range target.ResourceIndicators {
		add("the resource "+ri.Resource, ri.Path)
	}
	if target.Issuer != "" {
		urls["the issuer"] = target.Issuer
	}
	if discovered.URL != "" {
		urls["the metadata URL"] = discovered.URL
	}
	for member, v := range discovered.Doc {
		if s, ok := v.(string); ok && (strings.HasSuffix(member, "_endpoint") || member == "jwks_uri") {
			urls["the metadata's "+member] = s
		}
	}
	return urls
}
