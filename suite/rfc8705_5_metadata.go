package suite

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
)

// RFC 8705 §3.3 and §5: what the authorization server's metadata says of mutual TLS. Both
// members are optional; one that is there has the type the RFC defines, and what the metadata
// lists of client authentication must include the mTLS methods that work (C-8705-2-a's
// requests, repeated here for the mTLS fixture clients that are declared). The grades are in suite/registry/grading_8705.go.
var _ = Describe("RFC 8705 §3.3, §5: mutual TLS in the authorization server metadata", func() {
	// §3.3 (MAY): tls_client_certificate_bound_access_tokens is a boolean (absent means false).
	// §5 (MAY): mtls_endpoint_aliases is a JSON object of endpoint URLs, which RFC 8414 §2 makes
	// https URLs without fragments; an mTLS client uses them in preference to the conventional
	// endpoints (the suite does: mtlsURL). RFC 8414 §2: token_endpoint_auth_methods_supported
	// lists the methods the token endpoint takes, so a working tls_client_auth or
	// self_signed_tls_client_auth missing from it is the row's lenient case.
	It("advertises mutual TLS with a boolean tls_client_certificate_bound_access_tokens, mtls_endpoint_aliases of https URLs, and its working mTLS methods",
		mtlsLabels("metadata", "C-8705-5-a"), func(ctx SpecContext) {
			needCap(config.CapMTLS)
			needMetadata()
			r := row("C-8705-5-a")
			if v, present := discovered.Doc["tls_client_certificate_bound_access_tokens"]; present {
				_, isBool := v.(bool)
				r.That(isBool, "tls_client_certificate_bound_access_tokens is %s, not a boolean (RFC 8705 §3.3)%s", metadataValue(v), metadataWhere())
			} else {
				r.Inform("the metadata has no tls_client_certificate_bound_access_tokens, which means false (RFC 8705 §3.3)")
			}
			if v, present := discovered.Doc["mtls_endpoint_aliases"]; present {
				aliases, isObject := v.(map[string]any)
				r.That(isObject, "mtls_endpoint_aliases is %s, not a JSON object (RFC 8705 §5)%s", metadataValue(v), metadataWhere())
				names := make([]string, 0, len(aliases))
				for name := range aliases {
					names = append(names, name)
				}
				sort.Strings(names)
				for _, name := range names {
					r.That(mtlsAliasProblem(aliases[name]) == "", "mtls_endpoint_aliases.%s %s%s", oneLine(name, 60), mtlsAliasProblem(aliases[name]), metadataWhere())
				}
			}
			methods, listed := metadataStrings("token_endpoint_auth_methods_supported")
			for _, c := range mtlsClients() {
				By("checking that " + c.AuthMethod + " works for " + c.ID)
				res, err := tryMTLSTokenRequest(ctx, "token request over mutual TLS with the client's certificate", c, c.Certificate)
				if err != nil {
					continue
				}
				if _, why := parseTokenResponse(res); why != "" {
					continue // C-8705-2-a reports it
				}
				switch {
				case !listed:
					r.Lenient().That(false, "%s works for %s, but the metadata has no token_endpoint_auth_methods_supported list (absent, it means client_secret_basic alone)%s",
						c.AuthMethod, c.ID, metadataWhere())
				default:
					r.Lenient().That(slices.Contains(methods, c.AuthMethod), "%s works for %s, but token_endpoint_auth_methods_supported does not list it: %s%s",
						c.AuthMethod, c.ID, oneLine(strings.Join(methods, " "), 200), metadataWhere())
				}
			}
		}, SpecTimeout(target.specTimeout(3)))
})

// mtlsAliasProblem says what is wrong with an mtls_endpoint_aliases value: not a string, not
// an absolute https URL (a plain http:// target is allowed http), or with a fragment; "" when
// nothing is.
func mtlsAliasProblem(v any) string {
	s, isString := v.(string)
	if !isString {
		return "is " + metadataValue(v) + ", not a URL string"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "is " + metadataValue(v) + ", not an absolute URL"
	case !strings.EqualFold(u.Scheme, "https") && !(plainHTTPTarget() && strings.EqualFold(u.Scheme, "http")):
		return "is " + metadataValue(v) + ", not an https URL (RFC 8414 §2)"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "is " + metadataValue(v) + ", which has a fragment (RFC 8414 §2)"
	}
	return ""
}
