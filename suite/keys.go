package suite

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ccconform/ccconform/suite/config"
)

// Client authentication by JWT assertion (RFC 7523 §2.2, OpenID Connect Core §9): the keys the
// configuration names, and the assertions the suite signs with them. Signatures, key parsing
// and thumbprints are go-jose's.

// assertionType is the client_assertion_type of a JWT assertion (RFC 7523 §2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// credentials is a configured client as the specs see it, its private key parsed.
func credentials(c config.Client) (*Credentials, error) {
	cred := &Credentials{ID: c.ID, Secret: c.Secret, AuthMethod: c.AuthMethod, Alg: c.Alg}
	text := c.PrivateKey
	if c.PrivateKeyFile != "" {
		data, err := os.ReadFile(c.PrivateKeyFile)
		if err != nil {
			return cred, fmt.Errorf("cannot read the private key file: %v", err)
		}
		text = string(data)
	}
	if text != "" {
		key, err := parsePrivateKey(text)
		if err != nil {
			return cred, err
		}
		if c.KeyID != "" {
			key.KeyID = c.KeyID
		}
		cred.Key = key
	}
	if cred.Alg == "" {
		cred.Alg = defaultAlg(cred)
	}
	if config.IsMTLSMethod(c.AuthMethod) {
		cert, err := clientCertificate(c, text)
		if err != nil {
			return cred, err
		}
		cred.Certificate = cert
	}
	return cred, nil
}

// parsePrivateKey reads a private key given as PEM (PKCS#8, PKCS#1 or SEC 1) or as a JWK.
func parsePrivateKey(text string) (*jose.JSONWebKey, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "{") {
		var k jose.JSONWebKey
		if err := json.Unmarshal([]byte(text), &k); err != nil {
			return nil, fmt.Errorf("the private key is not a JWK: %v", err)
		}
		if k.IsPublic() {
			return nil, errors.New("the JWK holds a public key; the suite needs the private key to sign assertions")
		}
		return &k, nil
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("the private key is neither PEM nor a JWK")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse the PEM private key: %v", err)
	}
	k := &jose.JSONWebKey{Key: key}
	if !k.Valid() {
		return nil, errors.New("the private key is not one JOSE can sign with (RSA, EC P-256/384/521 or Ed25519)")
	}
	return k, nil
}

// defaultAlg is the JWS algorithm a client's assertions use when the configuration names none.
func defaultAlg(c *Credentials) string {
	if c.Key == nil {
		if c.AuthMethod == config.AuthClientSecretJWT {
			return string(jose.HS256)
		}
		return ""
	}
	switch k := c.Key.Key.(type) {
	case *rsa.PrivateKey:
		return string(jose.RS256)
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P384():
			return string(jose.ES384)
		case elliptic.P521():
			return string(jose.ES512)
		}
		return string(jose.ES256)
	case ed25519.PrivateKey:
		return string(jose.EdDSA)
	}
	return ""
}

// usesAssertion reports whether the client authenticates with a JWT assertion.
func (c Credentials) usesAssertion() bool {
	return c.AuthMethod == config.AuthPrivateKeyJWT || c.AuthMethod == config.AuthClientSecretJWT
}

// assertion is a client assertion (RFC 7523 §3) and how it is signed. Specs that break one
// rule change a field of a fresh one before signing it.
type assertion struct {
	// Claims are the JWT claims; a member set to nil is left out.
	Claims map[string]any
	// Header holds extra protected header members (typ, crit, ...); KeyID is the kid (empty:
	// none).
	Header map[jose.HeaderKey]any
	KeyID  string
	// Alg signs it; Key is the private key or, for HMAC, the secret.
	Alg string
	Key any
}

// newAssertion is a valid assertion of the client for the audience: iss = sub = client_id,
// aud, exp a minute ahead, iat now, a fresh jti (RFC 7523 §3, OpenID Connect Core §9).
func (c Credentials) newAssertion(aud any) assertion {
	now := time.Now()
	a := assertion{Claims: map[string]any{"iss": c.ID, "sub": c.ID, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(), "jti": randomID()}, Header: map[jose.HeaderKey]any{}, Alg: c.Alg}
	switch {
	case c.Key != nil:
		a.Key, a.KeyID = c.Key.Key, c.Key.KeyID
	case c.AuthMethod == config.AuthClientSecretJWT:
		a.Key = []byte(c.Secret)
	}
	return a
}

// sign returns the compact JWS of the assertion.
func (a assertion) sign() (string, error) {
	claims := map[string]any{}
	for k, v := range a.Claims {
		if v != nil {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return a.signPayload(payload)
}

// signPayload returns the compact JWS of payload, signed as the assertion says: the claims
// set of a negative test that is not JSON, say.
func (a assertion) signPayload(payload []byte) (string, error) {
	if a.Key == nil || a.Alg == "" {
		return "", errors.New("the client has no key or algorithm to sign an assertion with")
	}
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{}}
	for k, v := range a.Header {
		opts.ExtraHeaders[k] = v
	}
	if a.KeyID != "" {
		opts.ExtraHeaders["kid"] = a.KeyID
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(a.Alg), Key: a.Key}, opts)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// assertionAudience is the aud of the suite's assertions sent to an endpoint (an absolute
// URL): the one the provider accepted there, as the audience probe found (assertion_probe.go),
// or else the default.
var assertionAudience = probedAudience

// defaultAssertionAudience is the aud used before the probe has run: the issuer when it is
// known (RFC 10070, FAPI 2.0), else the endpoint's own URL (RFC 7523 §3 allows the token
// endpoint URL).
func defaultAssertionAudience(endpoint string) any {
	if target.Issuer != "" {
		return target.Issuer
	}
	return endpoint
}

// authenticateAt adds the client's credentials to a request to the endpoint (an absolute URL)
// the way the client is registered to send them: the Authorization value and the form.
func (c Credentials) authenticateAt(endpoint string, f url.Values) (authorization string, form url.Values) {
	if !c.usesAssertion() {
		h := http.Header{}
		config.Client{ID: c.ID, Secret: c.Secret, AuthMethod: c.AuthMethod}.Auth().Apply(h, f)
		return h.Get("Authorization"), f
	}
	jwt, err := c.newAssertion(assertionAudience(endpoint)).sign()
	if err != nil {
		// A configuration the preflight let through; the request goes without an assertion and
		// the provider's refusal tells the user.
		jwt = ""
	}
	redactor.add(jwt)
	f.Set("client_assertion_type", assertionType)
	f.Set("client_assertion", jwt)
	return "", f
}

// randomID is 128 random bits, base64url-encoded: a jti.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a key, base64url-encoded.
func thumbprint(k *jose.JSONWebKey) string {
	b, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewCredentials is a configured client as the specs use it, its private key parsed: for the
// Describe function of a bundled provider, which declares its fixture clients itself.
func NewCredentials(c config.Client) (*Credentials, error) { return credentials(c) }
