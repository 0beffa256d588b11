package provider

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Signing keys. JWT access tokens are signed with RS256 (RFC 9068 §2.1: every AS and RS
// supports it) by an RSA key whose kid is its RFC 7638 thumbprint (SHA-256), computed by
// go-jose. The public halves are published at /jwks.
//
// Rotation: the key set is an immutable snapshot behind an atomic pointer. The first key signs;
// every key in the set verifies and is published. RotateSigningKey puts a new key first and
// keeps the old one published and accepted for the longest token lifetime, after which it
// drops out by itself, so no token outlives the key that verifies it.

// minRSABits is the smallest signing key accepted (RFC 7518 §3.3: 2048 bits or larger).
const minRSABits = 2048

// signingKey is one key of the set.
type signingKey struct {
	private *rsa.PrivateKey
	kid     string
	// retireAt is when the key stops being published and accepted; zero means never.
	retireAt time.Time
}

// keyring is one immutable snapshot of the key set: keys[0] signs.
type keyring struct {
	keys []signingKey
	// atSigner signs access tokens (typ at+jwt) and otherSigner other JWTs (typ JWT), both
	// with keys[0].
	atSigner, otherSigner jose.Signer
	// jwks is the published set as served, good until firstRetirement (zero: for ever).
	jwks            []byte
	firstRetirement time.Time
}

// keyStore holds the current keyring.
type keyStore struct {
	mu        sync.Mutex // serialises rotations
	current   atomic.Pointer[keyring]
	retention time.Duration // how long a retired key stays published
}

func newKeyStore(keys []*rsa.PrivateKey, retention time.Duration) (*keyStore, error) {
	if len(keys) == 0 {
		k, err := GenerateSigningKey()
		if err != nil {
			return nil, err
		}
		keys = []*rsa.PrivateKey{k}
	}
	ks := &keyStore{retention: retention}
	set := make([]signingKey, 0, len(keys))
	for _, k := range keys {
		sk, err := newSigningKey(k)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(set, func(o signingKey) bool { return o.kid == sk.kid }) {
			return nil, fmt.Errorf("provider: signing key %s is listed twice", sk.kid)
		}
		set = append(set, sk)
	}
	ring, err := newKeyring(set)
	if err != nil {
		return nil, err
	}
	ks.current.Store(ring)
	return ks, nil
}

func newSigningKey(k *rsa.PrivateKey) (signingKey, error) {
	if k == nil {
		return signingKey{}, errors.New("provider: a signing key is nil")
	}
	if k.N.BitLen() < minRSABits {
		return signingKey{}, fmt.Errorf("provider: a signing key has %d bits; RS256 needs at least %d", k.N.BitLen(), minRSABits)
	}
	if err := k.Validate(); err != nil {
		return signingKey{}, fmt.Errorf("provider: a signing key is not valid: %v", err)
	}
	tp, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{private: k, kid: b64.EncodeToString(tp)}, nil
}

func newKeyring(keys []signingKey) (*keyring, error) {
	jwk := jose.JSONWebKey{Key: keys[0].private, KeyID: keys[0].kid, Algorithm: string(jose.RS256)}
	at, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType(accessTokenType))
	if err != nil {
		return nil, err
	}
	other, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	r := &keyring{keys: keys, atSigner: at, otherSigner: other}
	for _, k := range keys {
		if !k.retireAt.IsZero() && (r.firstRetirement.IsZero() || k.retireAt.Before(r.firstRetirement)) {
			r.firstRetirement = k.retireAt
		}
	}
	if r.jwks, err = r.encodeJWKS(time.Now()); err != nil {
		return nil, err
	}
	return r, nil
}

// encodeJWKS is the published set as JSON.
func (r *keyring) encodeJWKS(now time.Time) ([]byte, error) {
	body, err := json.Marshal(r.publicSet(now))
	return append(body, '\n'), err
}

// verificationKey returns the public key with this kid, if it is in the set and not retired.
func (r *keyring) verificationKey(kid string, now time.Time) *rsa.PublicKey {
	for i := range r.keys {
		k := &r.keys[i]
		if k.kid == kid && (k.retireAt.IsZero() || now.Before(k.retireAt)) {
			return &k.private.PublicKey
		}
	}
	return nil
}

// publicSet is the JWK set of the keys still published: public parts only (go-jose marshals
// an *rsa.PublicKey as kty, n and e).
func (r *keyring) publicSet(now time.Time) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range r.keys {
		if k.retireAt.IsZero() || now.Before(k.retireAt) {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.private.PublicKey, KeyID: k.kid,
				Algorithm: string(jose.RS256), Use: "sig"})
		}
	}
	return set
}

// GenerateSigningKey makes a fresh RSA 2048 key for RS256.
func GenerateSigningKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, minRSABits)
}

// ParseSigningKeysPEM reads RSA private keys from PEM (PKCS #8 "PRIVATE KEY" or PKCS #1 "RSA
// PRIVATE KEY" blocks), in order: the first signs (Config.SigningKeys). Other blocks, such as
// certificates, are skipped.
func ParseSigningKeysPEM(data []byte) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("provider: a %s block does not parse: %v", block.Type, err)
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("provider: a signing key is a %T; RS256 needs RSA", key)
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return nil, errors.New("provider: no PEM private key found")
	}
	return keys, nil
}

// RotateSigningKey makes next the key that signs JWT access tokens (a fresh key when next is
// nil) and returns its kid. The keys it replaces stay published and accepted for the longest
// token lifetime the provider issues, so every token they signed can still be verified until it
// expires; then they drop out of the set. It fails when the provider has no issuer (no JWT
// features).
func (p *Provider) RotateSigningKey(next *rsa.PrivateKey) (string, error) {
	if p.keys == nil {
		return "", errors.New("provider: signing keys need Config.Issuer")
	}
	if next == nil {
		var err error
		if next, err = GenerateSigningKey(); err != nil {
			return "", err
		}
	}
	sk, err := newSigningKey(next)
	if err != nil {
		return "", err
	}
	ks := p.keys
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := time.Now()
	old := ks.current.Load()
	set := []signingKey{sk}
	for i, k := range old.keys {
		if k.kid == sk.kid || !k.retireAt.IsZero() && !now.Before(k.retireAt) {
			continue
		}
		if i == 0 {
			k.retireAt = now.Add(ks.retention)
		}
		set = append(set, k)
	}
	ring, err := newKeyring(set)
	if err != nil {
		return "", err
	}
	ks.current.Store(ring)
	return sk.kid, nil
}

// SigningKeyIDs lists the kids of the published keys, the signing key's first (nil without an
// issuer).
func (p *Provider) SigningKeyIDs() []string {
	if p.keys == nil {
		return nil
	}
	var ids []string
	for _, k := range p.keys.current.Load().publicSet(time.Now()).Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

// handleJWKS serves the published public keys (RFC 7517 §5; RFC 8414 jwks_uri). Clients may
// cache them for a few minutes: a rotated key stays published far longer than that.
func (p *Provider) handleJWKS(w http.ResponseWriter, r *http.Request) {
	ring, now := p.keys.current.Load(), time.Now()
	body := ring.jwks
	if !ring.firstRetirement.IsZero() && !now.Before(ring.firstRetirement) {
		// A key has retired since the set was encoded: encode it again (until the next rotation,
		// which drops the retired key for good).
		var err error
		if body, err = ring.encodeJWKS(now); err != nil {
			http.Error(w, "the key set could not be encoded", http.StatusInternalServerError)
			return
		}
	}
	serveJSONDocument(w, r, body, 5*time.Minute)
}
