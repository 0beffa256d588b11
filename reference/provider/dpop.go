package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// DPoP: sender-constrained access tokens bound to a key the client proves it holds (RFC 9449).
// It is on whenever the provider has an issuer (the proof's htu names the issuer's URLs).
//
// A token request with a DPoP header gets a DPoP-bound token when its proof is valid (§4.3,
// checkDPoPProof): token_type DPoP, and always a JWT access token whose cnf claim holds the
// RFC 7638 thumbprint of the proof key (§6.1). Without the header the token is a Bearer token,
// unless the client is registered with DPoPBound (§5.2 dpop_bound_access_tokens), which is
// refused with invalid_request (FAPI 2.0). A bad proof is 400 invalid_dpop_proof (§5); with
// Config.DPoPNonces, a proof without the current nonce is 400 use_dpop_nonce with a DPoP-Nonce
// header (§8).
//
// The client is authenticated before its proof is looked at: a client authentication failure
// is answered as it always is, whatever the proof, so nobody learns anything about proofs, or
// fills the jti cache, without being a registered client; and only then is it known whether the
// client must use DPoP (DPoPBound). No token is issued unless both pass.
//
// The resource server (bearer.go) takes a DPoP-bound token only with the DPoP scheme and a proof
// for that request (§7: htm, htu, ath, and the key the token is bound to), never as a Bearer
// token (§7.2).
//
// Proofs are checked strictly: exactly one DPoP header holding one compact JWS of at most
// maxDPoPProofBytes; typ dpop+jwt; alg one of dpopAlgs (never none or a MAC), fitting the key;
// a public jwk header that verifies the signature; claims jti, htm, htu and iat, of the right
// types; htm the request's method; htu the request's URL as the issuer spells it, compared after
// normalisation (normalHTU); iat within [now-dpopMaxAge, now+dpopMaxFuture]; jti not seen before
// for the same key and URL (a bounded cache, as for client assertions: replay.go). Proofs and
// tokens are never logged.

// dpopAlgs are the proof algorithms the provider accepts and advertises
// (dpop_signing_alg_values_supported, RFC 9449 §5.1).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.PS256, jose.EdDSA}

// dpopAlgsParam is dpopAlgs as the algs parameter of a DPoP challenge (RFC 9449 §7.1).
const dpopAlgsParam = "ES256 ES384 RS256 PS256 EdDSA"

const (
	dpopProofType = "dpop+jwt"
	// maxDPoPProofBytes bounds a proof before it is parsed. A proof with a 4096-bit RSA key in its
	// jwk is under 2 KiB.
	maxDPoPProofBytes = 8 << 10
	// dpopMaxAge and dpopMaxFuture bound a proof's iat: proofs are accepted only briefly after
	// they are made (RFC 9449 §11.1), with some room for a client clock that runs ahead.
	dpopMaxAge    = 60 * time.Second
	dpopMaxFuture = 30 * time.Second
	// dpopNonceSlot is how often a new nonce is due; a nonce is accepted in the slot it was made
	// in and the next, so for between one and two slots.
	dpopNonceSlot = 2 * time.Minute
	// minDPoPRSABits is the smallest RSA key a proof may be signed with.
	minDPoPRSABits = 2048
	// The jti cache's bounds: every entry lives at most dpopMaxAge+dpopMaxFuture, so 20,000 per
	// client is over 200 proofs a second for each.
	defaultMaxDPoPIDs          = 100_000
	defaultMaxDPoPIDsPerClient = 20_000
)

// Error codes of RFC 9449 §12.2, as go-oauth2 codes are: errors whose text is the code.
var (
	errInvalidDPoPProof = errors.New("invalid_dpop_proof")
	errUseDPoPNonce     = errors.New("use_dpop_nonce")
)

// FixtureDPoPBound is registered with dpop_bound_access_tokens (RFC 9449 §5.2): it gets no token
// without a DPoP proof (the suite's F-DPOP-BOUND).
var FixtureDPoPBound = Client{ID: "conformance-dpop", Secret: "dpop-secret",
	Scopes: []string{ScopeRead}, DefaultScopes: []string{ScopeRead}, DPoPBound: true}

// Nonce labels: the authorization server and the resource server hand out different nonces.
const (
	nonceForToken    = "token"
	nonceForResource = "resource"
)

// dpopState is the provider's DPoP memory: the clock, the jti cache and the nonce key.
type dpopState struct {
	now       func() time.Time
	nonces    bool // Config.DPoPNonces
	nonceKey  []byte
	jtis      *expiringSet
	perClient int
}

func newDPoPState(cfg Config) (*dpopState, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &dpopState{now: time.Now, nonces: cfg.DPoPNonces, nonceKey: key,
		jtis: newExpiringSet(defaultMaxDPoPIDs), perClient: defaultMaxDPoPIDsPerClient}, nil
}

// dpopEnabled reports whether the provider takes DPoP proofs: it needs an issuer, whose URLs
// proofs name, and JWT access tokens, which carry the binding.
func (p *Provider) dpopEnabled() bool { return p.keys != nil }

// The nonce (RFC 9449 §8, §9) is stateless: 8 random bytes and an HMAC-SHA256 (truncated to 16
// bytes) of the label, the time slot and those bytes, under a key made at start. It is
// unpredictable, different every time it is made, and checked without memory: it is good when
// its MAC matches the current slot or the one before. base64url of 24 bytes is 32 characters
// without unused bits, so each nonce has one spelling, and all of them are NQCHAR.
const (
	nonceRandomBytes = 8
	nonceMACBytes    = 16
)

func (d *dpopState) nonceMAC(label string, slot int64, random []byte) []byte {
	m := hmac.New(sha256.New, d.nonceKey)
	m.Write([]byte(label))
	var s [9]byte
	binary.BigEndian.PutUint64(s[1:], uint64(slot))
	m.Write(s[:])
	m.Write(random)
	return m.Sum(nil)[:nonceMACBytes]
}

func (d *dpopState) slot() int64 { return d.now().Unix() / int64(dpopNonceSlot/time.Second) }

// newNonce is a fresh nonce for label.
func (d *dpopState) newNonce(label string) string {
	b := make([]byte, nonceRandomBytes, nonceRandomBytes+nonceMACBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return b64.EncodeToString(append(b, d.nonceMAC(label, d.slot(), b)...))
}

// validNonce reports whether n is a nonce newNonce(label) made in this slot or the one before.
func (d *dpopState) validNonce(label, n string) bool {
	if len(n) != b64.EncodedLen(nonceRandomBytes+nonceMACBytes) {
		return false
	}
	raw, err := b64.DecodeString(n)
	if err != nil || len(raw) != nonceRandomBytes+nonceMACBytes {
		return false
	}
	random, mac := raw[:nonceRandomBytes], raw[nonceRandomBytes:]
	slot := d.slot()
	return hmac.Equal(mac, d.nonceMAC(label, slot, random)) || hmac.Equal(mac, d.nonceMAC(label, slot-1, random))
}

// dpopFaultKind says how a proof failed.
type dpopFaultKind int

const (
	dpopBadProof   dpopFaultKind = iota // invalid_dpop_proof
	dpopNeedsNonce                      // use_dpop_nonce
	dpopWrongKey                        // the proof is good, its key is not the token's (invalid_token)
	dpopCacheFull                       // the jti cache is full: 503
	dpopClientFull                      // the client's share of the jti cache is full: 429
)

// dpopFault is a refused proof: why, and what to tell the client.
type dpopFault struct {
	kind        dpopFaultKind
	description string
	retryAfter  time.Duration
}

func badProof(description string) *dpopFault {
	return &dpopFault{kind: dpopBadProof, description: "DPoP proof: " + description}
}

// dpopWant is what a proof must match.
type dpopWant struct {
	method string
	url    string // the request's URL as the issuer spells it, without query
	// accessToken, at the resource server, is the token the proof's ath must hash (§4.3 item 12);
	// jkt the thumbprint it is bound to (§7.1).
	accessToken, jkt string
	nonceLabel       string
	clientID         string // whose share of the jti cache the proof takes
}

// dpopClaims are the proof's claims; pointers tell a missing claim from an empty one.
type dpopClaims struct {
	JTI   *string  `json:"jti"`
	HTM   *string  `json:"htm"`
	HTU   *string  `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   *string  `json:"ath"`
	Nonce *string  `json:"nonce"`
}

// checkDPoPProof checks the DPoP header of r against want (RFC 9449 §4.3) and returns the
// thumbprint of the proof key. A valid proof's jti is remembered: it is good once.
func (p *Provider) checkDPoPProof(r *http.Request, want dpopWant) (string, *dpopFault) {
	d := p.dpop
	values := r.Header.Values("DPoP")
	switch {
	case len(values) == 0:
		return "", badProof("the request has no DPoP header")
	case len(values) > 1:
		return "", badProof("the request has more than one DPoP header")
	case len(values[0]) > maxDPoPProofBytes:
		return "", badProof("too long")
	}
	jws, err := jose.ParseSignedCompact(values[0], dpopAlgs)
	if err != nil {
		// The parser's message may quote the header: it is not repeated to the client.
		return "", badProof("not one compact JWS with a public jwk and an algorithm among " + dpopAlgsParam)
	}
	if len(jws.Signatures) != 1 {
		return "", badProof("not one compact JWS")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, dpopProofType) {
		return "", badProof("typ is not " + dpopProofType)
	}
	jwk := h.JSONWebKey
	if jwk == nil {
		return "", badProof("the jwk header is missing")
	}
	if !jwk.Valid() || !jwk.IsPublic() {
		return "", badProof("the jwk header is not a public key")
	}
	if !keyFitsAlg(jwk.Key, jose.SignatureAlgorithm(h.Algorithm)) {
		return "", badProof("the jwk does not fit the algorithm (RSA keys need 2048 bits or more)")
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return "", badProof("the signature does not verify with the jwk")
	}
	var c dpopClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", badProof("the claims are not a JSON object with string jti, htm, htu, ath and nonce and a numeric iat")
	}
	switch {
	case c.JTI == nil || *c.JTI == "":
		return "", badProof("jti is missing")
	case c.HTM == nil:
		return "", badProof("htm is missing")
	case c.HTU == nil:
		return "", badProof("htu is missing")
	case c.IAT == nil:
		return "", badProof("iat is missing")
	case *c.HTM != want.method:
		return "", badProof("htm is not the method of this request")
	}
	htu, ok := normalHTU(*c.HTU)
	if wantURL, _ := normalHTU(want.url); !ok || htu != wantURL {
		return "", badProof("htu is not the URL of this request")
	}
	now := d.now()
	iat := *c.IAT
	if math.IsNaN(iat) || iat < 0 || iat > maxNumericDate {
		return "", badProof("iat is not a date")
	}
	issued := time.Unix(int64(iat), 0)
	if issued.Before(now.Add(-dpopMaxAge)) {
		return "", badProof("iat is too old")
	}
	if issued.After(now.Add(dpopMaxFuture)) {
		return "", badProof("iat is in the future")
	}
	if want.accessToken != "" {
		sum := sha256.Sum256([]byte(want.accessToken))
		if c.ATH == nil {
			return "", badProof("ath is missing")
		}
		if *c.ATH != b64.EncodeToString(sum[:]) {
			return "", badProof("ath is not the hash of the access token")
		}
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", badProof("the jwk has no thumbprint")
	}
	jkt := b64.EncodeToString(tp)
	if want.jkt != "" && jkt != want.jkt {
		return "", &dpopFault{kind: dpopWrongKey, description: "the DPoP proof is signed with a key the access token is not bound to"}
	}
	if d.nonces {
		switch {
		case c.Nonce == nil:
			return "", &dpopFault{kind: dpopNeedsNonce, description: "a DPoP nonce is required: sign the one in the DPoP-Nonce header into the proof"}
		case !d.validNonce(want.nonceLabel, *c.Nonce):
			return "", &dpopFault{kind: dpopNeedsNonce, description: "the DPoP nonce is not a current one: use the one in the DPoP-Nonce header"}
		}
	}
	// §11.1: a proof is good once, for its key and URL (jti values are unique per key). It is
	// remembered until no clock would accept it any more.
	k := sha256.New()
	k.Write([]byte(jkt))
	k.Write([]byte{0})
	k.Write([]byte(htu))
	k.Write([]byte{0})
	k.Write([]byte(*c.JTI))
	switch result, retry := d.jtis.add(string(k.Sum(nil)), want.clientID, issued.Add(dpopMaxAge+time.Second), d.perClient); result {
	case alreadyThere:
		return "", badProof("this jti was used already")
	case setFull:
		return "", &dpopFault{kind: dpopCacheFull, retryAfter: retry,
			description: "too many DPoP proofs are being remembered; retry later"}
	case tagFull:
		return "", &dpopFault{kind: dpopClientFull, retryAfter: retry,
			description: "this client sent too many DPoP proofs recently; retry later"}
	}
	return jkt, nil
}

// keyFitsAlg reports whether key can make signatures of alg (RFC 7518 §3): the curve of the
// ECDSA algorithms, an RSA key of at least minDPoPRSABits, an Ed25519 key for EdDSA.
func keyFitsAlg(key any, alg jose.SignatureAlgorithm) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return alg == jose.ES256 && k.Curve == elliptic.P256() || alg == jose.ES384 && k.Curve == elliptic.P384()
	case *rsa.PublicKey:
		return (alg == jose.RS256 || alg == jose.PS256) && k.N.BitLen() >= minDPoPRSABits
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// normalHTU is an http or https URL in the form htu values are compared in (RFC 9449 §4.3 item 9,
// RFC 3986 §6.2.2-6.2.3): scheme and host in lower case, the scheme's default port dropped, an
// empty path as "/", percent-encoded characters decoded, and no query or fragment, which §4.3
// says to ignore. ok is false for anything else, and for a URL with user information.
func normalHTU(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// tokenBinding is what the token requested by r for the authenticated clientID is bound to:
// the DPoP key of a valid proof, and the client certificate the client authenticated with
// (mtls.go). On a refusal it returns the error to answer with, having set the DPoP-Nonce header
// on w when a nonce is needed.
func (p *Provider) tokenBinding(w http.ResponseWriter, r *http.Request, clientID string) (binding, error) {
	b := binding{X5TS256: p.certificateBinding(r, clientID)}
	c := p.clients.byID[clientID]
	if len(r.Header.Values("DPoP")) == 0 || !p.dpopEnabled() {
		switch {
		case c != nil && c.DPoPBound && !p.dpopEnabled():
			return b, newOAuthError(oauth2errors.ErrInvalidRequest, "this client must use DPoP, which this provider offers only with an issuer")
		case c != nil && c.DPoPBound:
			return b, newOAuthError(oauth2errors.ErrInvalidRequest, "this client gets DPoP-bound access tokens only: send a DPoP proof")
		}
		return b, nil // without an issuer a DPoP header is ignored: the token is a Bearer token
	}
	jkt, fault := p.checkDPoPProof(r, dpopWant{method: http.MethodPost, url: p.issuer + PathToken,
		nonceLabel: nonceForToken, clientID: clientID})
	if fault != nil {
		switch fault.kind {
		case dpopNeedsNonce:
			w.Header().Set("DPoP-Nonce", p.dpop.newNonce(nonceForToken))
			return b, newOAuthError(errUseDPoPNonce, fault.description)
		case dpopCacheFull:
			return b, &oauthError{code: oauth2errors.ErrTemporarilyUnavailable, status: http.StatusServiceUnavailable,
				retryAfter: fault.retryAfter, description: fault.description}
		case dpopClientFull:
			return b, &oauthError{code: oauth2errors.ErrTemporarilyUnavailable, status: http.StatusTooManyRequests,
				retryAfter: fault.retryAfter, description: fault.description}
		}
		return b, newOAuthError(errInvalidDPoPProof, fault.description)
	}
	b.JKT = jkt
	return b, nil
}

// checkSenderConstraint applies what a token's binding demands of the request that presents it
// (RFC 9449 §7, RFC 8705 §3), and what the route demands of the binding. dpopScheme says whether
// the token came with the DPoP scheme. A refusal says whether it is a DPoP challenge.
func (p *Provider) checkSenderConstraint(r *http.Request, token string, dpopScheme bool, f tokenFacts, kind routeKind) *resourceFailure {
	b := f.Binding
	switch {
	case b.JKT == "" && dpopScheme:
		return invalidToken("the access token is not DPoP-bound: it is not sent with the DPoP scheme")
	case b.JKT == "" && kind == dpopTokens:
		return invalidToken("this resource takes DPoP-bound access tokens only")
	case b.JKT != "" && !dpopScheme:
		// §7.2: a DPoP-bound token is no bearer token.
		return invalidToken("the access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof")
	case b.JKT != "":
		_, fault := p.checkDPoPProof(r, dpopWant{method: r.Method, url: p.issuer + r.URL.Path,
			accessToken: token, jkt: b.JKT, nonceLabel: nonceForResource, clientID: f.ClientID})
		if fault != nil {
			return dpopResourceFailure(fault)
		}
	}
	if b.X5TS256 != "" && certThumbprint(r) != b.X5TS256 {
		return invalidToken("the access token is bound to a client certificate this request was not sent with")
	}
	if kind == certificateTokens && b.X5TS256 == "" {
		return invalidToken("this resource takes certificate-bound access tokens only")
	}
	return nil
}

// dpopResourceFailure is how the resource server answers a refused proof (RFC 9449 §7.1, §9).
func dpopResourceFailure(fault *dpopFault) *resourceFailure {
	switch fault.kind {
	case dpopNeedsNonce:
		return &resourceFailure{bearerError: bearerError{http.StatusUnauthorized, "use_dpop_nonce", fault.description}, nonce: true}
	case dpopWrongKey:
		return invalidToken(fault.description)
	case dpopCacheFull:
		return &resourceFailure{bearerError: bearerError{http.StatusServiceUnavailable, "temporarily_unavailable", fault.description},
			retryAfter: fault.retryAfter}
	case dpopClientFull:
		return &resourceFailure{bearerError: bearerError{http.StatusTooManyRequests, "temporarily_unavailable", fault.description},
			retryAfter: fault.retryAfter}
	}
	return &resourceFailure{bearerError: bearerError{http.StatusUnauthorized, "invalid_dpop_proof", fault.description}}
}

func invalidToken(description string) *resourceFailure {
	return &resourceFailure{bearerError: bearerError{http.StatusUnauthorized, "invalid_token", description}}
}
