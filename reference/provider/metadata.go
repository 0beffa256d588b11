package provider

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Authorization server metadata (RFC 8414) and the JWK set are served at these paths when the
// provider has an issuer. The issuer has no path, so the metadata URL is the well-known path at
// the root (§3).
const (
	PathMetadata = "/.well-known/oauth-authorization-server"
	PathJWKS     = "/jwks"
)

// serverMetadata is the RFC 8414 §2 document. Members are listed in the RFC's order; an empty
// list is left out (§3.2: zero-element arrays are omitted).
type serverMetadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	RevocationAuthMethods             []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	RevocationAuthSigningAlgs         []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	IntrospectionAuthMethods          []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	IntrospectionAuthSigningAlgs      []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`

	// RFC 9449 §5.1 (dpop.go).
	DPoPSigningAlgs []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// RFC 8705 §3.3: true when certificate clients are registered and the issuer is https
	// (mtls.go), left out otherwise.
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// metadataDocument builds the metadata once: nothing in it changes while the provider runs.
func (p *Provider) metadataDocument() ([]byte, error) {
	var scopes []string
	for _, c := range p.cfg.Clients {
		for _, s := range c.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	slices.Sort(scopes)
	methods, algs := p.clientAuthMethods()
	md := serverMetadata{
		Issuer:                            p.issuer,
		TokenEndpoint:                     p.issuer + PathToken,
		JWKSURI:                           p.issuer + PathJWKS,
		ScopesSupported:                   scopes,
		ResponseTypesSupported:            []string{"none"}, // required (§2); "none" issues nothing
		GrantTypesSupported:               []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: methods,
		TokenEndpointAuthSigningAlgs:      algs,
	}
	md.TLSClientCertificateBoundAccessTokens = p.advertisesMutualTLS() // mtls.go
	for _, a := range dpopAlgs {
		md.DPoPSigningAlgs = append(md.DPoPSigningAlgs, string(a))
	}
	p.addEndpointMetadata(&md, methods, algs)
	body, err := json.MarshalIndent(md, "", "  ")
	return append(body, '\n'), err
}

// clientAuthMethods lists the client authentication methods the token endpoint accepts, and
// the JWS algorithms of its *_jwt methods (never "none": RFC 8414 §2).
func (p *Provider) clientAuthMethods() (methods, algs []string) {
	return p.advertisedClientAuth() // clientauth.go
}

// addEndpointMetadata adds the introspection and revocation endpoints, which accept the token
// endpoint's client authentication methods, when the provider has them.
func (p *Provider) addEndpointMetadata(md *serverMetadata, methods, algs []string) {
	md.IntrospectionEndpoint = p.issuer + PathIntrospect
	md.IntrospectionAuthMethods, md.IntrospectionAuthSigningAlgs = methods, algs
	md.RevocationEndpoint = p.issuer + PathRevoke
	md.RevocationAuthMethods, md.RevocationAuthSigningAlgs = methods, algs
}

// handleMetadata serves the metadata document (RFC 8414 §3.2: 200, application/json).
func (p *Provider) handleMetadata(w http.ResponseWriter, r *http.Request) {
	serveJSONDocument(w, r, p.metadata, time.Hour)
}

// serveJSONDocument answers a GET or HEAD for a public JSON document that caches may keep for
// maxAge, with a strong ETag so that a cache can revalidate it cheaply.
func serveJSONDocument(w http.ResponseWriter, r *http.Request, body []byte, maxAge time.Duration) {
	sum := sha256.Sum256(body)
	etag := `"` + b64.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2) to one strong ETag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
