package suite

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// RFC 9700 §2: the security BCP's best current practices that a client-credentials provider
// can be seen to follow from outside. Like every row of checklist 2.F, they are judged only
// under --profile=bcp; under any other profile the specs are skipped before they send
// anything. (§2.3's audience rows belong with RFC 8707's specs; §2.4's password grant has its
// own file.)
var _ = Describe("RFC 9700 §2: best current practice", func() {
	// §2.2.1 (SHOULD): access tokens are sender-constrained, by mutual TLS (RFC 8705) or DPoP
	// (RFC 9449). Seen in the metadata (tls_client_certificate_bound_access_tokens: true, or
	// dpop_signing_alg_values_supported) or in a token response whose token_type is DPoP.
	It("advertises or issues sender-constrained access tokens (mutual TLS or DPoP)",
		bcpLabels("token", "C-9700-2.2.1-a"), func(ctx SpecContext) {
			needProfile("C-9700-2.2.1-a")
			r := row("C-9700-2.2.1-a")
			if bound, _ := discovered.Doc["tls_client_certificate_bound_access_tokens"].(bool); bound {
				r.That(true, "")
				return
			}
			if algs, ok := metadataStrings("dpop_signing_alg_values_supported"); ok && len(algs) > 0 {
				r.That(true, "")
				return
			}
			needTokenPath()
			authorization, body := target.Client.authenticate(form("scope", askedScope()))
			res := postToken(ctx, "get a token", authorization, body)
			tok, why := parseTokenResponse(res)
			if why != "" {
				judge.Block("C-6749-4.4.3-a", "no token could be obtained: %s", why)
			}
			r.That(strings.EqualFold(tok.TokenType, "DPoP"), "the metadata advertises neither mutual TLS bound tokens (tls_client_certificate_bound_access_tokens) nor DPoP "+
				"(dpop_signing_alg_values_supported)%s, and the token issued is a %s token, which any holder can use", metadataWhere(), tok.TokenType)
		}, SpecTimeout(target.specTimeout(2)))

	// §2.5 (RECOMMENDED): asymmetric client authentication, mutual TLS (RFC 8705) or signed JWTs
	// (private_key_jwt). Seen in the metadata's token_endpoint_auth_methods_supported, or else
	// in a configured private_key_jwt client (the main one or the fixture) that gets a token.
	It("offers asymmetric client authentication: private_key_jwt or mutual TLS",
		bcpLabels("token", "C-9700-2.5-a"), func(ctx SpecContext) {
			needProfile("C-9700-2.5-a")
			r := row("C-9700-2.5-a")
			methods, _ := metadataStrings("token_endpoint_auth_methods_supported")
			asymmetric := []string{config.AuthPrivateKeyJWT, "tls_client_auth", "self_signed_tls_client_auth"}
			if slices.ContainsFunc(methods, func(m string) bool { return slices.Contains(asymmetric, m) }) {
				r.That(true, "")
				return
			}
			notAdvertised := fmt.Sprintf("the metadata%s lists no asymmetric method (private_key_jwt, tls_client_auth, self_signed_tls_client_auth) among token_endpoint_auth_methods_supported (%s)",
				metadataWhere(), strings.Join(methods, ", "))
			c, _, _ := metadataClientFor(config.AuthPrivateKeyJWT)
			if c == nil {
				r.That(false, "%s, and no client that authenticates with private_key_jwt is configured", notAdvertised)
				return
			}
			needTokenPath()
			authorization, body := c.authenticate(form())
			res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "token request with private_key_jwt",
				Form: body, Authorization: authorization})
			why := ""
			if err != nil {
				why = err.Error()
			} else {
				_, why = parseTokenResponse(res)
			}
			r.That(why == "", "%s, and the configured private_key_jwt client %q gets no token: %s", notAdvertised, c.ID, why)
		}, SpecTimeout(target.specTimeout(2)))

	// §2.6 (RECOMMENDED): the authorization server publishes RFC 8414 metadata. OpenID Connect
	// Discovery's document counts: RFC 8414 §5 recognizes it (C-8414-3-a reports where it was).
	// A document only at the suffix appended to the issuer's path is where no client looks.
	It("publishes authorization server metadata (RFC 8414) at the issuer's well-known URL",
		bcpLabels("metadata", "C-9700-2.6-a"), func(ctx SpecContext) {
			needProfile("C-9700-2.6-a")
			if target.Issuer == "" {
				judge.Skip("no --issuer was given, so the suite cannot tell where metadata would be")
			}
			r := row("C-9700-2.6-a")
			if discovered.Appended {
				r.That(false, "the metadata is only at %s, where no RFC 8414 client looks (C-8414-3-a)", discovered.URL)
				return
			}
			r.That(discovered.Doc != nil, "no metadata document was found%s", triedText())
		}, SpecTimeout(target.specTimeout(1)))

	// §2.6 (RECOMMENDED) with BCP 195 (RFC 9325 §3.1.1): end-to-end TLS, 1.2 or later, with a
	// valid chain and host name. Each https origin the run uses (token endpoint, protected
	// resources, metadata, introspection, revocation) is asked for TLS 1.2 or later with the
	// certificate verified, which the suite's every exchange does; then offered only TLS 1.0
	// and 1.1, which it must refuse. Plain http targets are not judged.
	It("speaks TLS 1.2 or later with a valid certificate on the AS and RS origins, and refuses TLS 1.0 and 1.1",
		bcpLabels("token", "C-9700-2.6-b"), func(ctx SpecContext) {
			needProfile("C-9700-2.6-b")
			if plainHTTPTarget() {
				judge.Skip("the target is a plain http:// URL, so there is no TLS to judge")
			}
			r := row("C-9700-2.6-b")
			for _, origin := range bcpOrigins() {
				By("TLS 1.2 or later, certificate verified, at " + origin.Host)
				res, err := trySend(ctx, request{Path: origin.String(), Note: "TLS 1.2+ handshake"})
				if !r.That(err == nil, "%s: no answer over TLS 1.2 or later with the certificate verified: %v", origin.Host, err) {
					continue
				}
				r.That(res.TLS != nil && res.TLS.Version >= tls.VersionTLS12, "%s answered over %s", origin.Host, tlsVersionName(res))
				By("offering only TLS 1.0 and 1.1 to " + origin.Host)
				version, err := legacyTLSHandshake(ctx, origin.Host)
				var netErr net.Error
				switch {
				case err == nil:
					r.That(false, "%s completed a handshake with TLS %s; BCP 195 (RFC 8996) forbids TLS 1.0 and 1.1", origin.Host, tls.VersionName(version))
				case errors.As(err, &netErr) && netErr.Timeout():
					r.Cannot("%s did not answer a TLS 1.0/1.1 handshake in time, so whether it refuses them is not known", origin.Host)
				default:
					r.That(true, "")
				}
			}
		}, SpecTimeout(target.specTimeout(8)))
})

// bcpLabels labels a spec of the security BCP: its rows, the section labels, rfc9700 and
// profile:bcp.
func bcpLabels(endpoint string, ids ...string) Labels {
	return append(specLabels(endpoint, ids...), "rfc9700", "profile:bcp")
}

// needProfile skips a spec whose row the active profile does not judge (the security BCP's
// rows only under bcp, OAuth 2.1's only under oauth2.1: registry.Row.InProfile), before it
// sends anything.
func needProfile(id string) {
	GinkgoHelper()
	r := registry.MustLookup(id)
	if p := judge.Current().Profile; !r.InProfile(p) {
		judge.Skip("%s is a rule of %s, judged only under its profile, not %s", id, r.Doc, p)
	}
}

// bcpOrigins are the distinct https origins of the authorization server and the protected
// resources the run uses, each as the first URL of it the run uses (a GET there reaches the
// provider's own handler, whose answer is one the suite expects, rather than a root path that
// may be anything).
func bcpOrigins() []*url.URL {
	var out []*url.URL
	seen := map[string]bool{}
	add := func(raw string) {
		if raw == "" {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
			return
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "443")
		}
		if seen[host] {
			return
		}
		seen[host] = true
		first := *u
		first.Host = host
		out = append(out, &first)
	}
	for _, p := range []string{target.TokenPath, target.ReadPath, target.WritePath, target.IntrospectionPath, target.RevocationPath} {
		if p != "" {
			add(target.url(p))
		}
	}
	add(discovered.URL)
	add(target.Issuer)
	for _, ri := range target.ResourceIndicators {
		if ri.Path != "" {
			add(target.url(ri.Path))
		}
	}
	return out
}

// legacyTLSHandshake offers a TLS handshake with only TLS 1.0 and 1.1 to host (host:port),
// under the run's one deadline per exchange, and returns the version agreed, if any. The
// certificate is not verified: the question is only whether such a handshake completes, and no
// request is sent over it.
func legacyTLSHandshake(ctx context.Context, host string) (uint16, error) {
	ctx, cancel := context.WithTimeout(ctx, target.RequestTimeout)
	defer cancel()
	name, _, _ := net.SplitHostPort(host)
	d := tls.Dialer{Config: &tls.Config{
		ServerName:         name,
		MinVersion:         tls.VersionTLS10,
		MaxVersion:         tls.VersionTLS11,
		InsecureSkipVerify: true, //nolint:gosec // a probe of the versions offered; nothing is sent over it
	}}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	tc, ok := c.(*tls.Conn)
	if !ok {
		return 0, fmt.Errorf("not a TLS connection")
	}
	return tc.ConnectionState().Version, nil
}

// tlsVersionName names the TLS version of a response.
func tlsVersionName(res *http.Response) string {
	if res.TLS == nil {
		return "no TLS"
	}
	return tls.VersionName(res.TLS.Version)
}
