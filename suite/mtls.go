package suite

import (
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/wire"
)

// Mutual TLS (RFC 8705): the fixture clients' certificates, a wire client per certificate, and
// where a client that does mutual TLS sends its requests.

// rootCAs are the authorities the suite trusts (setUpHTTPClient); every client certificate's
// wire client trusts the same.
var rootCAs *x509.CertPool

// certClients holds a wire client per client certificate, made on first use. Every exchange
// has a connection of its own (package wire), so a certificate never leaks into another
// request's handshake.
var (
	certClientsMu sync.Mutex
	certClients   = map[*tls.Certificate]*wire.Client{}
)

// clientFor is the wire client that presents cert in the TLS handshake; nil presents none.
func clientFor(cert *tls.Certificate) *wire.Client {
	if cert == nil {
		return httpClient
	}
	certClientsMu.Lock()
	defer certClientsMu.Unlock()
	c, ok := certClients[cert]
	if !ok {
		c = newHTTPClient(rootCAs, *cert)
		certClients[cert] = c
	}
	return c
}

// clientCertificate reads a mutual TLS client's certificate (PEM, the leaf first, its chain
// after it) and pairs it with its private key (keyText, PEM or JWK, already read).
func clientCertificate(c config.Client, keyText string) (*tls.Certificate, error) {
	text := c.Certificate
	if c.CertificateFile != "" {
		data, err := os.ReadFile(c.CertificateFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the certificate file: %v", err)
		}
		text = string(data)
	}
	var chain [][]byte
	for rest := []byte(text); ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("the certificate is not a PEM certificate")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("cannot parse the certificate: %v", err)
	}
	key, err := parsePrivateKey(keyText)
	if err != nil {
		return nil, err
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public().Key) {
		return nil, errors.New("the private key is not the certificate's")
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key.Key, Leaf: leaf}, nil
}

// certThumbprint is a certificate's x5t#S256: the base64url SHA-256 of its DER (RFC 8705
// §3.1).
func certThumbprint(cert *tls.Certificate) string {
	sum := sha256.Sum256(cert.Certificate[0])
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// mtlsURL is where a client doing mutual TLS sends a request for the endpoint named by its
// metadata member (token_endpoint, introspection_endpoint, revocation_endpoint): its
// mtls_endpoint_aliases entry when the metadata lists one (RFC 8705 §5: the client "MUST use"
// it), the conventional endpoint otherwise.
func mtlsURL(endpoint string) string {
	if aliases, ok := discovered.Doc["mtls_endpoint_aliases"].(map[string]any); ok {
		if u, ok := aliases[endpoint].(string); ok && u != "" {
			return u
		}
	}
	switch endpoint {
	case "introspection_endpoint":
		return target.IntrospectionPath
	case "revocation_endpoint":
		return target.RevocationPath
	}
	return target.TokenPath
}

// tokenEndpoint is where the client asks for tokens: the mutual TLS alias for a client with a
// certificate.
func (c Credentials) tokenEndpoint() string {
	if c.Certificate != nil {
		return mtlsURL("token_endpoint")
	}
	return target.TokenPath
}
