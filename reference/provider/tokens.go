package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/models"
)

// Access tokens are self-contained: the token carries its client, scope, issue time and
// lifetime, a 256-bit nonce from crypto/rand, and an HMAC-SHA256 over all of it. The provider
// checks a token by recomputing the MAC, so it keeps no memory per issued token. go-oauth2's
// default in-memory store keeps every live token (about 1.5 KB each for its lifetime), which lets
// any valid client grow the provider without bound by asking for tokens in a loop.
//
// The price is that a single token cannot be revoked before it expires; the reference has no
// revocation endpoint, and its tokens live at most an hour (RFC 6750 §5.3). Rotating the key
// revokes every token at once.
//
// Wire form: base64url(payload) "." base64url(mac), no padding, so the token is a b64token
// (RFC 6750 §2.1). payload = version(1) | issuedAt unix ms (8) | lifetime ms (8) | nonce (32) |
// len(clientID) (1) | clientID | scope.
const (
	tokenVersion  = 1
	nonceSize     = 32
	maxTokenBytes = 1024
	// maxClaimBytes bounds a client's id and scopes, so that every token it can be issued fits
	// in maxTokenBytes: (1+8+8+32+1+maxClaimBytes)·4/3 + 1 + 43 ≤ 1024.
	maxClaimBytes = 680
)

// Strict: the unused low bits of the last character must be zero, so each token has one
// spelling (otherwise a token would be accepted in 64 forms).
var b64 = base64.RawURLEncoding.Strict()

// tokenCodec implements oauth2.AccessGenerate (issue) and oauth2.TokenStore (look-up).
type tokenCodec struct {
	key []byte
	// macs holds keyed HMAC states for reuse: hmac.New hashes the key into fresh inner and outer
	// states each time, which was a tenth of the cost of checking a token.
	macs sync.Pool
}

func newTokenCodec(key []byte) (*tokenCodec, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	c := &tokenCodec{key: append([]byte(nil), key...)}
	c.macs.New = func() any { return hmac.New(sha256.New, c.key) }
	return c, nil
}

// Token implements oauth2.AccessGenerate. It never issues a refresh token: RFC 6749 §4.4.3 says a
// client credentials response should not carry one.
func (c *tokenCodec) Token(_ context.Context, data *oauth2.GenerateBasic, _ bool) (string, string, error) {
	ti := data.TokenInfo
	clientID := data.Client.GetID()
	if len(clientID) > 255 {
		return "", "", errors.New("client id longer than 255 bytes")
	}
	payload := make([]byte, 0, 1+8+8+nonceSize+1+len(clientID)+len(ti.GetScope()))
	payload = append(payload, tokenVersion)
	payload = binary.BigEndian.AppendUint64(payload, uint64(ti.GetAccessCreateAt().UnixMilli()))
	payload = binary.BigEndian.AppendUint64(payload, uint64(ti.GetAccessExpiresIn().Milliseconds()))
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", "", err
	}
	payload = append(payload, nonce...)
	payload = append(payload, byte(len(clientID)))
	payload = append(payload, clientID...)
	payload = append(payload, ti.GetScope()...)
	var sum [sha256.Size]byte
	out := make([]byte, 0, b64.EncodedLen(len(payload))+1+b64.EncodedLen(len(sum)))
	out = b64.AppendEncode(out, payload)
	out = append(out, '.')
	out = b64.AppendEncode(out, c.mac(sum[:0], payload))
	return string(out), "", nil
}

// mac appends the HMAC-SHA256 of payload to dst.
func (c *tokenCodec) mac(dst, payload []byte) []byte {
	m := c.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(payload)
	dst = m.Sum(dst)
	c.macs.Put(m)
	return dst
}

// decode verifies a token and returns what it carries, or ErrInvalidAccessToken. Expiry is the
// manager's business (manage.Manager.LoadAccessToken checks it).
func (c *tokenCodec) decode(access string) (oauth2.TokenInfo, error) {
	if len(access) > maxTokenBytes {
		return nil, oauth2errors.ErrInvalidAccessToken
	}
	p, m, ok := strings.Cut(access, ".")
	if !ok || len(m) != b64.EncodedLen(sha256.Size) {
		return nil, oauth2errors.ErrInvalidAccessToken
	}
	payload, err1 := b64.DecodeString(p)
	var macBuf, sum [sha256.Size]byte
	n, err2 := b64.Decode(macBuf[:], []byte(m))
	if err1 != nil || err2 != nil || !hmac.Equal(macBuf[:n], c.mac(sum[:0], payload)) {
		return nil, oauth2errors.ErrInvalidAccessToken
	}
	const fixed = 1 + 8 + 8 + nonceSize + 1
	if len(payload) < fixed || payload[0] != tokenVersion {
		return nil, oauth2errors.ErrInvalidAccessToken
	}
	issued := int64(binary.BigEndian.Uint64(payload[1:9]))
	lifetime := int64(binary.BigEndian.Uint64(payload[9:17]))
	idLen := int(payload[fixed-1])
	if len(payload) < fixed+idLen {
		return nil, oauth2errors.ErrInvalidAccessToken
	}
	ti := models.NewToken()
	ti.SetAccess(access)
	ti.SetAccessCreateAt(time.UnixMilli(issued))
	ti.SetAccessExpiresIn(time.Duration(lifetime) * time.Millisecond)
	ti.SetClientID(string(payload[fixed : fixed+idLen]))
	ti.SetScope(string(payload[fixed+idLen:]))
	return ti, nil
}

// Create implements oauth2.TokenStore: there is nothing to store.
func (c *tokenCodec) Create(context.Context, oauth2.TokenInfo) error { return nil }

// GetByAccess implements oauth2.TokenStore by verifying the token itself.
func (c *tokenCodec) GetByAccess(_ context.Context, access string) (oauth2.TokenInfo, error) {
	return c.decode(access)
}

// The reference issues neither authorization codes nor refresh tokens.

func (c *tokenCodec) RemoveByCode(context.Context, string) error    { return nil }
func (c *tokenCodec) RemoveByAccess(context.Context, string) error  { return nil }
func (c *tokenCodec) RemoveByRefresh(context.Context, string) error { return nil }
func (c *tokenCodec) GetByCode(context.Context, string) (oauth2.TokenInfo, error) {
	return nil, oauth2errors.ErrInvalidAuthorizeCode
}
func (c *tokenCodec) GetByRefresh(context.Context, string) (oauth2.TokenInfo, error) {
	return nil, oauth2errors.ErrInvalidRefreshToken
}
