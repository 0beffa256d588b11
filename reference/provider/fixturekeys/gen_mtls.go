//go:build ignore

// gen_mtls makes the mutual TLS fixtures (RFC 8705) of the reference provider, in this directory:
//
//	mtls-ca.pem          the certificate authority of tls_client_auth clients (certificate only)
//	mtls-client.pem      certificate A, issued by that CA: CN=conformance-mtls,O=ccconform,
//	mtls-client-key.pem  extended key usage clientAuth, and its private key (PKCS#8)
//	mtls-self.pem        certificate B, self-signed: CN=conformance-mtls-self (for
//	mtls-self-key.pem    self_signed_tls_client_auth), and its private key (PKCS#8)
//
// Every key is ECDSA P-256 and every certificate is valid for 100 years. The CA's private key is
// not written anywhere: it signs certificate A and is dropped, so remaking the fixtures remakes
// all of them, the CA included (nothing else needs the CA key: tests that need other certificates
// from a CA make a CA of their own). After a run, the registered subject of FixtureMTLS stays
// valid (the subject does not change), and FixtureMTLSSelfSigned picks up the new certificate B
// from the embedded file.
//
//	cd reference/provider/fixturekeys && go run gen_mtls.go
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log"
	"math/big"
	"os"
	"time"
)

const validity = 100 * 365 * 24 * time.Hour

func main() {
	now := time.Now().Add(-time.Hour).Truncate(time.Hour)
	caKey := newKey()
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "ccconform mTLS fixture CA", Organization: []string{"ccconform"}},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER := create(caTemplate, caTemplate, caKey, caKey)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		log.Fatal(err)
	}
	writeCert("mtls-ca.pem", caDER)

	clientKey := newKey()
	clientDER := create(&x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "conformance-mtls", Organization: []string{"ccconform"}},
		NotBefore:    now,
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, clientKey, caKey)
	writeCert("mtls-client.pem", clientDER)
	writeKey("mtls-client-key.pem", clientKey)

	selfKey := newKey()
	selfTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "conformance-mtls-self"},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	writeCert("mtls-self.pem", create(selfTemplate, selfTemplate, selfKey, selfKey))
	writeKey("mtls-self-key.pem", selfKey)
}

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		log.Fatal(err)
	}
	return n
}

func create(template, parent *x509.Certificate, key, signer *ecdsa.PrivateKey) []byte {
	der, err := x509.CreateCertificate(rand.Reader, template, parent, &key.PublicKey, signer)
	if err != nil {
		log.Fatal(err)
	}
	return der
}

func writeCert(name string, der []byte) {
	write(name, &pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeKey(name string, key *ecdsa.PrivateKey) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	write(name, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func write(name string, b *pem.Block) {
	if err := os.WriteFile(name, pem.EncodeToMemory(b), 0o644); err != nil {
		log.Fatal(err)
	}
}
