package provider

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// Mutual TLS client authentication and certificate-bound access tokens (RFC 8705).
//
// The listener asks every client for a certificate and accepts a connection without one
// (RequestClientCertificates); crypto/tls has then checked that the client holds the key of the
// certificate it presented (its CertificateVerify), and nothing more. A client registered for
// tls_client_auth or self_signed_tls_client_auth names itself with client_id in the form and
// sends no secret and no assertion; the presented certificate is what authenticates it:
//
//   - tls_client_auth (§2.1, PKI): the leaf must chain (x509.Verify, the other presented
//     certificates as intermediates) to Config.MTLSClientCAs, be valid now and be usable for
//     client authentication (ExtKeyUsageClientAuth), and its subject DN must equal the
//     registered Client.TLSSubjectDN. §2.1.2 compares DNs as RFC 4514 strings; the reference
//     compares the string pkix.Name.String() makes of the leaf's subject (RFC 4514 syntax, the
//     attributes in Go's order: the standard ones as CN, OU, O, POSTALCODE, STREET, L, ST, C,
//     SERIALNUMBER, after any others) with the registered one, byte for byte.
//   - self_signed_tls_client_auth (§2.2): the leaf's public key must be that of one of the
//     client's registered certificates (Client.TLSCertificates): the same certificate, or one
//     reissued for the same key. No chain, validity period or key usage is checked (§2.2.1).
//
// Any failure is 401 invalid_client, as a wrong secret is, and counts as a failed
// authentication for the guessing throttle of secrets (throttle.go): while the client id and
// source are slowed down, the certificate is not looked at and the answer is 429. A certificate
// cannot be guessed, but counting keeps the answers for registered and unknown ids alike.
//
// A token issued to a client that authenticated so is bound to the presented certificate
// (certificateBinding, §3): its cnf carries x5t#S256, and the resource server accepts it only
// over a connection with that certificate.

// The certificate client authentication methods (RFC 8705 §2.1.1, §2.2.1).
const (
	AuthMethodTLSClientAuth           = "tls_client_auth"
	AuthMethodSelfSignedTLSClientAuth = "self_signed_tls_client_auth"
)

// maxClientIntermediates bounds the presented certificates, after the leaf, that chain
// verification considers.
const maxClientIntermediates = 4

// RequestClientCertificates returns c, or a new configuration when c is nil, with ClientAuth set
// to tls.RequestClientCert: the server asks for a client certificate and takes a connection
// without one. Chains are not verified in the handshake; the provider checks the certificate of
// a client registered for mutual TLS itself, against that client's registration.
func RequestClientCertificates(c *tls.Config) *tls.Config {
	if c == nil {
		c = &tls.Config{}
	}
	c.ClientAuth = tls.RequestClientCert
	return c
}

// usesCertificate reports whether the client authenticates with a TLS client certificate.
func (c *Client) usesCertificate() bool {
	return c.AuthMethod == AuthMethodTLSClientAuth || c.AuthMethod == AuthMethodSelfSignedTLSClientAuth
}

// validateCertificateRegistration checks the mutual TLS fields of a client's registration:
// a certificate client has what its method needs and no secret or key; any other client has no
// certificate field.
func (c *Client) validateCertificateRegistration() error {
	switch c.AuthMethod {
	case AuthMethodTLSClientAuth, AuthMethodSelfSignedTLSClientAuth:
		if c.Secret != "" || len(c.Keys) > 0 {
			return fmt.Errorf("provider: client %q uses %s and must have neither a secret nor keys", c.ID, c.AuthMethod)
		}
	default:
		if c.TLSSubjectDN != "" || len(c.TLSCertificates) > 0 {
			return fmt.Errorf("provider: client %q has a certificate registration but uses neither tls_client_auth nor self_signed_tls_client_auth", c.ID)
		}
		return nil
	}
	if c.AuthMethod == AuthMethodTLSClientAuth {
		if c.TLSSubjectDN == "" {
			return fmt.Errorf("provider: client %q uses tls_client_auth and has no subject DN", c.ID)
		}
		if len(c.TLSCertificates) > 0 {
			return fmt.Errorf("provider: client %q uses tls_client_auth, which takes a subject DN, not certificates", c.ID)
		}
		return nil
	}
	if c.TLSSubjectDN != "" {
		return fmt.Errorf("provider: client %q uses self_signed_tls_client_auth, which takes certificates, not a subject DN", c.ID)
	}
	if len(c.TLSCertificates) == 0 {
		return fmt.Errorf("provider: client %q uses self_signed_tls_client_auth and has no certificate", c.ID)
	}
	for i, b := range c.TLSCertificates {
		if _, err := parseRegisteredCertificate(b); err != nil {
			return fmt.Errorf("provider: client %q: certificate %d: %v", c.ID, i+1, err)
		}
	}
	return nil
}

// validateMTLS checks what the certificate clients need of the configuration: a tls_client_auth
// client needs certificate authorities to verify its chain with.
func (c *Config) validateMTLS() error {
	for _, cl := range c.Clients {
		if cl.AuthMethod == AuthMethodTLSClientAuth && c.MTLSClientCAs == nil {
			return fmt.Errorf("provider: client %q uses tls_client_auth, and no client certificate authority is configured (MTLSClientCAs)", cl.ID)
		}
	}
	return nil
}

// parseRegisteredCertificate reads one entry of Client.TLSCertificates: a PEM CERTIFICATE
// block, or DER.
func parseRegisteredCertificate(b []byte) (*x509.Certificate, error) {
	if block, _ := pem.Decode(b); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM %s block is not a certificate", block.Type)
		}
		b = block.Bytes
	}
	return x509.ParseCertificate(b)
}

// registeredPublicKeys are the SubjectPublicKeyInfo encodings of a self_signed_tls_client_auth
// client's certificates (validate has parsed them already).
func (c *Client) registeredPublicKeys() [][]byte {
	var keys [][]byte
	for _, b := range c.TLSCertificates {
		if cert, err := parseRegisteredCertificate(b); err == nil {
			keys = append(keys, cert.RawSubjectPublicKeyInfo)
		}
	}
	return keys
}

// usesCertificate reports whether id is registered for a certificate authentication method.
func (s *clientStore) usesCertificate(id string) bool {
	c, ok := s.byID[id]
	return ok && c.usesCertificate()
}

// authenticateCertificate authenticates a certificate client by the certificate r arrived with
// (authenticateRequest has checked that the request names the client with client_id and carries
// no secret or assertion).
func (p *Provider) authenticateCertificate(r *http.Request, id string) (*registeredClient, error) {
	src := sourceOf(r.RemoteAddr)
	if wait := p.clients.guesses.refusedFor(id, src); wait > 0 {
		return nil, &oauthError{code: oauth2errors.ErrInvalidClient, status: http.StatusTooManyRequests,
			retryAfter: wait, description: "too many failed authentications from this address; retry later"}
	}
	c := p.clients.byID[id]
	if err := p.checkClientCertificate(r, c); err != nil {
		// The thumbprint stands for the "secret" that was tried: the same certificate again is
		// no new guess (throttle.go).
		p.clients.guesses.failed(id, src, "x5t#S256:"+certThumbprint(r))
		return nil, err
	}
	return c, nil
}

// certificateError is an invalid_client refusal of a client certificate, with what was wrong.
func certificateError(description string) error {
	return newOAuthError(oauth2errors.ErrInvalidClient, "client certificate: "+description)
}

// checkClientCertificate checks the certificate r arrived with against c's registration.
func (p *Provider) checkClientCertificate(r *http.Request, c *registeredClient) error {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return certificateError("none was presented in the TLS handshake, and this client authenticates with its certificate")
	}
	leaf := r.TLS.PeerCertificates[0]
	switch c.AuthMethod {
	case AuthMethodTLSClientAuth:
		intermediates := x509.NewCertPool()
		for _, cert := range r.TLS.PeerCertificates[1:min(len(r.TLS.PeerCertificates), 1+maxClientIntermediates)] {
			intermediates.AddCert(cert)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: p.cfg.MTLSClientCAs, Intermediates: intermediates,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		var invalid x509.CertificateInvalidError
		switch {
		case err == nil:
		case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
			return certificateError("expired or not valid yet")
		case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
			return certificateError("not valid for TLS client authentication (extended key usage)")
		default:
			return certificateError("does not chain to a certificate authority trusted for client certificates")
		}
		if leaf.Subject.String() != c.TLSSubjectDN {
			return certificateError("the subject is not the one registered for this client")
		}
	case AuthMethodSelfSignedTLSClientAuth:
		if !slices.ContainsFunc(c.tlsKeys, func(k []byte) bool { return bytes.Equal(k, leaf.RawSubjectPublicKeyInfo) }) {
			return certificateError("not one registered for this client")
		}
	}
	return nil
}

// certificateBinding is the x5t#S256 a token issued to clientID in answer to r is bound to:
// the client certificate's thumbprint when the client authenticated with it (RFC 8705 §3), ""
// otherwise. It is for a request whose client has been authenticated (authenticateRequest): a
// certificate client authenticates with its certificate only, so its token is bound to the one
// it presented.
func (p *Provider) certificateBinding(r *http.Request, clientID string) string {
	if !p.clients.usesCertificate(clientID) {
		return ""
	}
	return certThumbprint(r)
}

// advertisesMutualTLS reports whether the metadata lists the certificate methods and says that
// tokens are certificate-bound (RFC 8705 §3.3): when a client is registered for a certificate
// method and the issuer is an https URL. Over http the endpoints the metadata names cannot
// receive a client certificate, and what is advertised must work.
func (p *Provider) advertisesMutualTLS() bool {
	return strings.HasPrefix(p.issuer, "https://") &&
		slices.ContainsFunc(p.cfg.Clients, func(c Client) bool { return c.usesCertificate() })
}

// The mutual TLS fixtures (RFC 8705), generated by fixturekeys/gen_mtls.go: ECDSA P-256, valid
// for 100 years, public test values like every fixture credential (reference/target.yaml names
// the files). The CA's private key was not kept.
var (
	// FixtureMTLSCAPEM is the certificate authority of FixtureMTLS's certificate.
	//go:embed fixturekeys/mtls-ca.pem
	FixtureMTLSCAPEM []byte
	// FixtureMTLSCertPEM is certificate A, issued by FixtureMTLSCAPEM's CA to
	// CN=conformance-mtls,O=ccconform for client authentication; FixtureMTLSKeyPEM is its
	// private key (PKCS#8).
	//go:embed fixturekeys/mtls-client.pem
	FixtureMTLSCertPEM []byte
	//go:embed fixturekeys/mtls-client-key.pem
	FixtureMTLSKeyPEM []byte
	// FixtureMTLSSelfSignedCertPEM is certificate B, self-signed, CN=conformance-mtls-self;
	// FixtureMTLSSelfSignedKeyPEM is its private key (PKCS#8).
	//go:embed fixturekeys/mtls-self.pem
	FixtureMTLSSelfSignedCertPEM []byte
	//go:embed fixturekeys/mtls-self-key.pem
	FixtureMTLSSelfSignedKeyPEM []byte
)

// FixtureMTLSSubjectDN is the subject of certificate A as FixtureMTLS registers it.
const FixtureMTLSSubjectDN = "CN=conformance-mtls,O=ccconform"

var (
	// FixtureMTLS authenticates with tls_client_auth: certificate A (FixtureMTLSCertPEM), which
	// chains to the fixture CA (FixtureMTLSCAPEM, in FixtureConfig's MTLSClientCAs).
	FixtureMTLS = Client{ID: "conformance-mtls", AuthMethod: AuthMethodTLSClientAuth, TLSSubjectDN: FixtureMTLSSubjectDN,
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
	// FixtureMTLSSelfSigned authenticates with self_signed_tls_client_auth: certificate B
	// (FixtureMTLSSelfSignedCertPEM).
	FixtureMTLSSelfSigned = Client{ID: "conformance-mtls-self", AuthMethod: AuthMethodSelfSignedTLSClientAuth,
		TLSCertificates: [][]byte{FixtureMTLSSelfSignedCertPEM}, Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
)

// FixtureMTLSClientCAs is a pool holding the fixture CA (FixtureMTLSCAPEM).
func FixtureMTLSClientCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(FixtureMTLSCAPEM) {
		panic("provider: the committed mTLS fixture CA does not parse") // a build defect
	}
	return pool
}
