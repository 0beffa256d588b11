package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/go-oauth2/oauth2/v4"
)

// JWT access tokens (RFC 9068). A token is a JWS signed with RS256 by the provider's signing
// key (keys.go), header typ at+jwt and kid, with the claims iss, exp, aud, sub (the client id:
// the client credentials grant has no resource owner, §2.2), client_id, iat, jti and scope (one
// space-separated string, §2.2.3). It is issued when the token request carries resource (RFC
// 8707; resources.go), when the client has JWTAccessTokens, or when Config.JWTAccessTokens is
// set; otherwise the token is the opaque one of tokens.go.
//
// The resource server verifies a JWT with go-jose and an explicit algorithm allow-list (RS256
// only, so alg none and HS256 keyed with the public key never verify), against the provider's
// own published keys picked by kid, and requires typ at+jwt or application/at+jwt (compared
// case-insensitively, RFC 9068 §4), iss exactly the issuer, and exp not passed (no leeway: the
// issuer and the resource server share a clock, and exp is rounded down to the second).

const (
	accessTokenType     = "at+jwt"
	accessTokenTypeLong = "application/at+jwt"
	// maxJWTBytes bounds a JWT before it is parsed. The largest the provider issues (a 255-byte
	// client id twice, 680 bytes of scope, two resources, an RS256 signature) is under 3 KiB.
	maxJWTBytes = 8 << 10
	jwtLeeway   = 0
)

// rs256Only is the algorithm allow-list of every JWT the provider verifies.
var rs256Only = []jose.SignatureAlgorithm{jose.RS256}

// accessTokenClaims is the claim set of an RFC 9068 access token.
type accessTokenClaims struct {
	jwt.Claims
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
	// Cnf is the confirmation claim of a sender-constrained token (RFC 7800 §3.1): jkt (RFC 9449
	// §6.1), x5t#S256 (RFC 8705 §3.1).
	Cnf map[string]string `json:"cnf,omitempty"`
}

// accessGenerator is go-oauth2's AccessGenerate: a JWT when one is due, the opaque token of
// tokens.go otherwise. A sender-constrained token (the binding handleToken put in ctx) is always
// a JWT, whose cnf claim carries the binding.
type accessGenerator struct{ p *Provider }

func (g accessGenerator) Token(ctx context.Context, data *oauth2.GenerateBasic, refresh bool) (string, string, error) {
	p := g.p
	if p.keys == nil {
		return p.codec.Token(ctx, data, refresh)
	}
	clientID := data.Client.GetID()
	var audience []string
	if data.Request != nil {
		// Already checked by grantScope (checkResources); read again here, where the token is made.
		var err error
		if audience, err = p.requestedResources(data.Request.Form); err != nil {
			return "", "", err
		}
	}
	c := p.clients.byID[clientID]
	b := bindingFrom(ctx)
	if len(audience) == 0 && !p.cfg.JWTAccessTokens && (c == nil || !c.JWTAccessTokens) && !b.bound() {
		return p.codec.Token(ctx, data, refresh)
	}
	if len(audience) == 0 {
		audience = []string{p.defaultResource}
	}
	ti := data.TokenInfo
	tok, err := p.signAccessToken(clientID, ti.GetScope(), audience, b, ti.GetAccessCreateAt(), ti.GetAccessExpiresIn())
	return tok, "", err
}

// signAccessToken makes an RFC 9068 access token, bound as b says.
func (p *Provider) signAccessToken(clientID, scope string, audience []string, b binding, issued time.Time, lifetime time.Duration) (string, error) {
	jti, err := randomID()
	if err != nil {
		return "", err
	}
	claims := accessTokenClaims{
		Claims: jwt.Claims{
			Issuer:   p.issuer,
			Subject:  clientID,
			Audience: jwt.Audience(audience),
			IssuedAt: jwt.NewNumericDate(issued),
			Expiry:   jwt.NewNumericDate(issued.Add(lifetime)),
			ID:       jti,
		},
		ClientID: clientID,
		Scope:    scope,
		Cnf:      b.cnf(),
	}
	return jwt.Signed(p.keys.current.Load().atSigner).Claims(claims).Serialize()
}

// OtherJWT returns a JWT that the provider signs with its access-token key but that is not an
// access token: typ JWT and an ID-token-like claim set (iss, sub, aud naming the first
// registered client, exp an hour ahead, iat). The resource server must refuse it (RFC 9068 §4;
// the suite's F-OTHER-JWT fixture). It fails when the provider has no issuer.
func (p *Provider) OtherJWT(subject string) (string, error) {
	if p.keys == nil {
		return "", errors.New("provider: JWTs need Config.Issuer")
	}
	now := time.Now()
	claims := jwt.Claims{
		Issuer:   p.issuer,
		Subject:  subject,
		Audience: jwt.Audience{p.cfg.Clients[0].ID},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(time.Hour)),
	}
	return jwt.Signed(p.keys.current.Load().otherSigner).Claims(claims).Serialize()
}

// randomID is 128 random bits, base64url: a jti.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return b64.EncodeToString(b[:]), nil
}

// checkJWT verifies a JWT access token and returns its facts, or the Bearer error to answer.
func (p *Provider) checkJWT(token string, now time.Time) (tokenFacts, *bearerError) {
	if len(token) > maxJWTBytes {
		return tokenFacts{}, &errUnknownToken
	}
	tok, err := jwt.ParseSigned(token, rs256Only)
	if err != nil || len(tok.Headers) != 1 {
		return tokenFacts{}, &errUnknownToken
	}
	h := tok.Headers[0]
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, accessTokenType) && !strings.EqualFold(typ, accessTokenTypeLong) {
		return tokenFacts{}, &errUnknownToken
	}
	key := p.keys.current.Load().verificationKey(h.KeyID, now)
	if key == nil {
		return tokenFacts{}, &errUnknownToken
	}
	var c accessTokenClaims
	if err := tok.Claims(key, &c); err != nil {
		return tokenFacts{}, &errUnknownToken
	}
	if c.Issuer != p.issuer || c.Expiry == nil || c.IssuedAt == nil || c.Subject == "" ||
		c.ClientID == "" || c.ID == "" || len(c.Audience) == 0 {
		return tokenFacts{}, &errUnknownToken
	}
	switch err := c.ValidateWithLeeway(jwt.Expected{Issuer: p.issuer, Time: now}, jwtLeeway); {
	case errors.Is(err, jwt.ErrExpired):
		return tokenFacts{}, &errExpiredToken
	case err != nil:
		return tokenFacts{}, &errUnknownToken
	}
	return tokenFacts{ClientID: c.ClientID, Scope: c.Scope, Audience: c.Audience,
		IssuedAt: c.IssuedAt.Time(), ExpiresAt: c.Expiry.Time(), ID: c.ID, JWT: true,
		Binding: binding{JKT: c.Cnf["jkt"], X5TS256: c.Cnf["x5t#S256"]}}, nil
}
