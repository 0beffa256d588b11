package provider

import "net/http"

// Mutual TLS client authentication and certificate-bound access tokens (RFC 8705).

// certificateBinding is the x5t#S256 a token issued to clientID in answer to r is bound to:
// the client certificate's thumbprint when the client authenticated with it (RFC 8705 §3), ""
// otherwise.
func (p *Provider) certificateBinding(r *http.Request, clientID string) string {
	return ""
}
