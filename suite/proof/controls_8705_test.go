package proof

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"

	"github.com/ccconform/ccconform/reference/provider"
)

// Controls of RFC 8705 (mutual TLS): providers that differ from the reference only in ways the
// RFC allows. Each runs the mutual TLS specs and C-8414-2-f (which tries the advertised mTLS
// methods too), and must pass strict with no warning.

// mtlsSpecs selects the specs of RFC 8705 and the metadata spec that tries every advertised
// client authentication method.
const mtlsSpecs = "-ginkgo.label-filter=cap:mtls || C-8414-2-f"

// mtlsAliasPrefix is where the aliases control serves the endpoints for mutual TLS clients.
const mtlsAliasPrefix = "/mtls"

func init() {
	controls = append(controls,
		control{name: "mtls: the reference with its mutual TLS fixtures", args: []string{mtlsSpecs}},
		// RFC 8705 §5: an mTLS client uses the mtls_endpoint_aliases entries in preference to
		// the conventional endpoints. Here only the aliases take certificate authentication,
		// and the conventional token endpoint refuses it: the suite passes only if it follows
		// the aliases (cloudentity/oauth2c PR #55 fixed a client that did not). The aliases
		// refuse requests without a certificate, as a host that requires them would: a client
		// that does not do mutual TLS (the introspector) keeps to the conventional endpoints.
		control{name: "mtls: mtls_endpoint_aliases at other paths, and the conventional token endpoint refusing certificate authentication",
			args: []string{mtlsSpecs}, wrap: mtlsAliases},
		// RFC 8705 §3 and §3.2: a certificate-bound token need not be a JWT; the binding is
		// then conveyed by introspection only.
		control{name: "mtls: certificate-bound tokens issued as opaque handles, bound in introspection only", args: []string{mtlsSpecs},
			wrap: opaqueBoundTokens},
		// RFC 8705 §3.3: tls_client_certificate_bound_access_tokens is optional (absent means
		// false); a provider that leaves it out is recorded, not warned about.
		control{name: "mtls: the metadata without tls_client_certificate_bound_access_tokens", args: []string{mtlsSpecs},
			wrap: editResponses(at(http.MethodGet, provider.PathMetadata), delMember("tls_client_certificate_bound_access_tokens"))},
	)
}

// mtlsAliases serves the token and introspection endpoints for mutual TLS clients at
// /mtls/token and /mtls/introspect, lists them in the metadata's mtls_endpoint_aliases, refuses
// requests without a certificate there, and refuses certificate authentication at the
// conventional token endpoint.
func mtlsAliases(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == provider.PathMetadata:
			editResponses(everyRequest, func(req *http.Request, res *response) {
				setMember("mtls_endpoint_aliases", map[string]any{
					"token_endpoint":         resourceIssuer(req) + mtlsAliasPrefix + provider.PathToken,
					"introspection_endpoint": resourceIssuer(req) + mtlsAliasPrefix + provider.PathIntrospect,
				})(req, res)
			})(next).ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, mtlsAliasPrefix+"/") && withoutCertificate(r):
			// The aliases are for clients that do mutual TLS (§5), as a host that requires
			// certificates would be; no certificate is a failed client authentication (§2).
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"the mtls_endpoint_aliases serve mutual TLS clients only"}`))
		case strings.HasPrefix(r.URL.Path, mtlsAliasPrefix+"/"):
			r.URL.Path = strings.TrimPrefix(r.URL.Path, mtlsAliasPrefix)
			r.URL.RawPath, r.RequestURI = "", r.URL.RequestURI()
			next.ServeHTTP(w, r)
		case mtlsClientRequest(r):
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"certificate authentication is served at the mtls_endpoint_aliases"}`))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// opaqueBoundTokens hands the mutual TLS fixture clients an opaque handle in place of each JWT
// the reference issues them, and puts the JWT back wherever a handle is presented (a Bearer
// header, the token of an introspection or revocation request), so that the reference's
// introspection and resource servers answer for the handle as for its JWT.
func opaqueBoundTokens(next http.Handler) http.Handler {
	var handles sync.Map // handle → the reference's JWT
	issue := editResponses(mtlsClientRequest, when(http.StatusOK, func(_ *http.Request, res *response) {
		m := res.object()
		jwt, _ := m["access_token"].(string)
		handle := "opaque-" + rand.Text()
		handles.Store(handle, jwt)
		m["access_token"] = handle
		res.setObject(m)
	}))(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if jwt, ok := handles.Load(bearerTokenOf(r)); ok {
			r.Header.Set("Authorization", "Bearer "+jwt.(string))
		}
		if r.Method == http.MethodPost && (r.URL.Path == provider.PathIntrospect || r.URL.Path == provider.PathRevoke) {
			f := formOf(r)
			if jwt, ok := handles.Load(f.Get("token")); ok {
				f.Set("token", jwt.(string))
				setForm(r, f)
			}
		}
		issue.ServeHTTP(w, r)
	})
}
