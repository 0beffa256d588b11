package provider

import (
	"crypto"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// The private keys of the private_key_jwt fixture clients: PKCS#8 PEM, generated once and
// committed. They are public test values, like every fixture credential (reference/target.yaml
// names the files): never register their public halves on a provider that matters.
var (
	//go:embed fixturekeys/pkj.pem
	FixturePrivateKeyJWTKeyPEM []byte // ES256, kid FixturePrivateKeyJWTKeyID
	//go:embed fixturekeys/pkj2.pem
	FixturePrivateKeyJWT2KeyPEM []byte // RS256 (2048 bits), kid FixturePrivateKeyJWT2KeyID
)

// Key ids of the fixture keys.
const (
	FixturePrivateKeyJWTKeyID  = "pkj-1"
	FixturePrivateKeyJWT2KeyID = "pkj2-1"
)

// The fixture clients of the machine-to-machine features (issue 12): an introspecting client, a
// second ordinary client (cross-client revocation), two private_key_jwt clients with different
// keys and a client_secret_jwt client (RFC 7523 §2.2).
var (
	// FixtureIntrospector may call the introspection endpoint (RFC 7662 §4).
	FixtureIntrospector = Client{ID: "conformance-introspector", Secret: "introspector-secret",
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}, MayIntrospect: true}
	// FixtureSecond is an ordinary client besides the scenario's: it must not be able to revoke
	// another client's token (RFC 7009 §2.1).
	FixtureSecond = Client{ID: "conformance-second", Secret: "second-secret",
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
	// FixturePrivateKeyJWT authenticates with ES256 assertions signed by FixturePrivateKeyJWTKeyPEM.
	FixturePrivateKeyJWT = Client{ID: "conformance-pkj", AuthMethod: AuthMethodPrivateKeyJWT,
		Keys:   []jose.JSONWebKey{mustFixturePublicKey(FixturePrivateKeyJWTKeyPEM, FixturePrivateKeyJWTKeyID, jose.ES256)},
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
	// FixturePrivateKeyJWT2 authenticates with RS256 assertions signed by FixturePrivateKeyJWT2KeyPEM.
	FixturePrivateKeyJWT2 = Client{ID: "conformance-pkj2", AuthMethod: AuthMethodPrivateKeyJWT,
		Keys:   []jose.JSONWebKey{mustFixturePublicKey(FixturePrivateKeyJWT2KeyPEM, FixturePrivateKeyJWT2KeyID, jose.RS256)},
		Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
	// FixtureClientSecretJWT authenticates with HS256 assertions keyed with its secret (43 bytes,
	// too short for HS384 and HS512, RFC 7518 §3.2).
	FixtureClientSecretJWT = Client{ID: "conformance-csj", Secret: "conformance-csj-secret-0123456789abcdef0123",
		AuthMethod: AuthMethodClientSecretJWT, Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}}
)

// FixtureSigner is the private key of a fixture PEM (FixturePrivateKeyJWTKeyPEM or
// FixturePrivateKeyJWT2KeyPEM), for a test that signs assertions in process.
func FixtureSigner(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("provider: not a PKCS#8 PEM private key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("provider: a %T cannot sign", key)
	}
	return signer, nil
}

// mustFixturePublicKey is the public JWK of a committed fixture key; the keys are part of the
// source, so a failure is a build defect.
func mustFixturePublicKey(pemBytes []byte, kid string, alg jose.SignatureAlgorithm) jose.JSONWebKey {
	signer, err := FixtureSigner(pemBytes)
	if err != nil {
		panic(err)
	}
	return jose.JSONWebKey{Key: signer.Public(), KeyID: kid, Algorithm: string(alg), Use: "sig"}
}
