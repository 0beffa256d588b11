package suite

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/judge"
)

// DPoP (RFC 9449): the suite's proof keys, its proofs (and the broken proofs of negative
// tests), and requests that carry them, with the server-provided nonces of §8 and §9 handled.
// Signatures and thumbprints are go-jose's; only proofs that no JOSE library will produce
// (alg none) are assembled from base64url segments.

// dpopKey is a key the suite proves possession of: fresh for each test (checklist 2.M).
type dpopKey struct {
	// private is the key pair; alg the JWS algorithm its proofs use.
	private jose.JSONWebKey
	alg     jose.SignatureAlgorithm
}

// dpopAlgs is the metadata's dpop_signing_alg_values_supported, nil when absent.
func dpopAlgs() []string {
	algs, _ := metadataStrings("dpop_signing_alg_values_supported")
	return algs
}

// dpopPreference is the order in which the suite picks a proof algorithm: ES256 as the
// checklist says, then PS256 or RS256 when only those are advertised.
var dpopPreference = []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.RS256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS384, jose.PS384}

// newDPoPKey makes a fresh key of the first algorithm of dpopPreference the server advertises
// (ES256 when it advertises none).
func newDPoPKey() *dpopKey {
	GinkgoHelper()
	alg := jose.ES256
	if algs := dpopAlgs(); len(algs) > 0 {
		for _, a := range dpopPreference {
			if slices.Contains(algs, string(a)) {
				alg = a
				break
			}
		}
	}
	k, err := newDPoPKeyFor(alg)
	if err != nil {
		Fail("the suite could not make a DPoP key: " + err.Error())
	}
	return k
}

// newDPoPKeyFor makes a fresh key for alg.
func newDPoPKeyFor(alg jose.SignatureAlgorithm) (*dpopKey, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default: // RS*, PS*
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return nil, err
	}
	return &dpopKey{private: jose.JSONWebKey{Key: key, Algorithm: string(alg)}, alg: alg}, nil
}

// public is the key's public JWK, as a proof's jwk header carries it.
func (k *dpopKey) public() jose.JSONWebKey { return k.private.Public() }

// thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url: the jkt a bound token
// carries (RFC 9449 §6.1).
func (k *dpopKey) thumbprint() string {
	pub := k.public()
	return thumbprint(&pub)
}

// dpopProof is a DPoP proof JWT being built: its header and claims, which negative tests edit
// before it is serialized, and how it is to be signed.
type dpopProof struct {
	key    *dpopKey
	hdr    map[string]any
	claims map[string]any
	// signer signs in place of key (the jwk header still names key); none leaves the proof
	// unsigned (alg none); hmac signs with HS256 under a random secret.
	signer     *dpopKey
	none, hmac bool
}

// proof starts a valid proof for a request: typ dpop+jwt, the key's alg and public jwk; a
// fresh jti, htm, htu (without query and fragment, §4.2) and iat now.
func (k *dpopKey) proof(method, u string) *dpopProof {
	pub := k.public()
	return &dpopProof{key: k,
		hdr:    map[string]any{"typ": "dpop+jwt", "alg": string(k.alg), "jwk": &pub},
		claims: map[string]any{"jti": randomID(), "htm": method, "htu": htuOf(u), "iat": time.Now().Unix()}}
}

// htuOf is the htu of a request to u: the URL without query and fragment (RFC 9449 §4.2).
func htuOf(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// athOf is the ath of a proof sent with token: base64url(SHA-256(ASCII token)) (RFC 9449 §4.2).
func athOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// claim sets a claim; drop removes one.
func (p *dpopProof) claim(name string, v any) *dpopProof { p.claims[name] = v; return p }
func (p *dpopProof) drop(name string) *dpopProof         { delete(p.claims, name); return p }

// header sets a header parameter; dropHeader removes one.
func (p *dpopProof) header(name string, v any) *dpopProof { p.hdr[name] = v; return p }
func (p *dpopProof) dropHeader(name string) *dpopProof    { delete(p.hdr, name); return p }

// ath binds the proof to an access token (RFC 9449 §4.2, required at a resource server).
func (p *dpopProof) ath(token string) *dpopProof { return p.claim("ath", athOf(token)) }

// nonce carries a server-provided nonce (§8, §9); "" leaves the claim out.
func (p *dpopProof) nonce(n string) *dpopProof {
	if n == "" {
		return p.drop("nonce")
	}
	return p.claim("nonce", n)
}

// withPrivateJWK puts the private key, d and all, in the jwk header (§4.3 item 7 forbids it).
func (p *dpopProof) withPrivateJWK() *dpopProof {
	raw, err := p.key.private.MarshalJSON()
	if err == nil {
		p.hdr["jwk"] = json.RawMessage(raw)
	}
	return p
}

// by makes sign use other's key for the signature while the jwk header still names the proof's
// key; unsignedAlgNone and macHS256 make sign produce an alg none or an HS256 proof.
func (p *dpopProof) by(other *dpopKey) *dpopProof { p.signer = other; return p }
func (p *dpopProof) unsignedAlgNone() *dpopProof  { p.none = true; return p }
func (p *dpopProof) macHS256() *dpopProof         { p.hmac = true; return p }

// signedBy, unsigned and hs256 serialize the proof in those broken ways.
func (p *dpopProof) signedBy(other *dpopKey) string { return p.by(other).sign() }
func (p *dpopProof) unsigned() string               { return p.unsignedAlgNone().sign() }
func (p *dpopProof) hs256() string                  { return p.macHS256().sign() }

// sign serializes the proof as a compact JWS. The header is exactly p.hdr (go-jose takes it
// as the protected header, alg included); the signature is the key's, or as by,
// unsignedAlgNone and macHS256 say.
func (p *dpopProof) sign() string {
	GinkgoHelper()
	payload, err := json.Marshal(p.claims)
	if err != nil {
		Fail("the suite could not encode a DPoP proof: " + err.Error())
	}
	if p.none {
		hdr := map[string]any{}
		for k, v := range p.hdr {
			hdr[k] = v
		}
		hdr["alg"] = "none"
		h, _ := json.Marshal(hdr)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	alg, key := p.key.alg, any(p.key.private.Key)
	if p.signer != nil {
		alg, key = p.signer.alg, p.signer.private.Key
	}
	hdr := map[string]any{}
	for k, v := range p.hdr {
		hdr[k] = v
	}
	if p.hmac {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		alg, key = jose.HS256, secret
		hdr["alg"] = string(jose.HS256)
	}
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{}}
	for k, v := range hdr {
		opts.ExtraHeaders[jose.HeaderKey(k)] = v
	}
	if _, ok := hdr["alg"]; !ok {
		// go-jose always writes alg; a proof without it is assembled by hand.
		h, _ := json.Marshal(hdr)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		Fail("the suite could not sign a DPoP proof: " + err.Error())
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		Fail("the suite could not sign a DPoP proof: " + err.Error())
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		Fail("the suite could not serialize a DPoP proof: " + err.Error())
	}
	return s
}

// The nonces servers have provided (RFC 9449 §8 for the authorization server, §9 for a
// resource server), by role and origin; the newest one is sent with every later proof.
var (
	dpopNoncesMu sync.Mutex
	dpopNonces   = map[string]string{}
)

func nonceSlot(role, u string) string {
	if parsed, err := url.Parse(u); err == nil {
		return role + " " + strings.ToLower(parsed.Scheme+"://"+parsed.Host)
	}
	return role + " " + u
}

// dpopNonceFor is the newest nonce the server at u gave in role ("as" or "rs"), "" if none.
func dpopNonceFor(role, u string) string {
	dpopNoncesMu.Lock()
	defer dpopNoncesMu.Unlock()
	return dpopNonces[nonceSlot(role, u)]
}

// rememberDPoPNonce keeps the DPoP-Nonce of a response, if it has one.
func rememberDPoPNonce(role, u string, res *http.Response) string {
	n := res.Header.Get("DPoP-Nonce")
	if n != "" {
		dpopNoncesMu.Lock()
		dpopNonces[nonceSlot(role, u)] = n
		dpopNoncesMu.Unlock()
	}
	return n
}

// demandsDPoPNonce reports whether a response asks for a (new) nonce: a 400 (token endpoint)
// or 401 (resource server) whose error is use_dpop_nonce, with a DPoP-Nonce header.
func demandsDPoPNonce(res *http.Response) bool {
	if res.Header.Get("DPoP-Nonce") == "" {
		return false
	}
	switch res.StatusCode {
	case http.StatusBadRequest:
		obj, err := decodeObject(bodyOf(res))
		return err == nil && obj.members["error"] == "use_dpop_nonce"
	case http.StatusUnauthorized:
		for _, v := range res.Header.Values("WWW-Authenticate") {
			if strings.Contains(v, "use_dpop_nonce") {
				return true
			}
		}
	}
	return false
}

// dpopSend sends r with a DPoP proof that mk makes, given the nonce to carry ("" for none).
// When the server demands a nonce (§8, §9), the nonce is remembered and the request sent once
// more with a fresh proof carrying it; demanded says that happened. role is "as" or "rs".
func dpopSend(ctx context.Context, role string, r request, mk func(nonce string) string) (res *http.Response, demanded bool) {
	GinkgoHelper()
	u := target.url(r.Path)
	header := func(nonce string) http.Header {
		h := http.Header{}
		for k, v := range r.Header {
			h[k] = v
		}
		h.Set("DPoP", mk(nonce))
		return h
	}
	first := r
	first.Header = header(dpopNonceFor(role, u))
	res = send(ctx, first)
	rememberDPoPNonce(role, u, res)
	if !demandsDPoPNonce(res) {
		return res, false
	}
	By("the server demands a DPoP nonce; sending the request again with a fresh proof carrying it")
	again := r
	again.Header = header(dpopNonceFor(role, u))
	res = send(ctx, again)
	rememberDPoPNonce(role, u, res)
	return res, true
}

// dpopTokenURL is the htu of token requests: the token endpoint the run uses (the metadata's,
// exactly), or c's mutual TLS alias.
func dpopTokenURL(c Credentials) string { return target.url(c.tokenEndpoint()) }

// dpopTokenRequest asks for a token for c (scope read when the provider may grant it) with a
// proof of key that edit may change before it is signed (nil: a valid proof); a demanded
// nonce is handled as dpopSend does.
func dpopTokenRequest(ctx context.Context, c Credentials, key *dpopKey, edit func(*dpopProof)) *http.Response {
	GinkgoHelper()
	return dpopTokenRequestWith(ctx, c, key, nil, edit)
}

// dpopTokenRequestWith is dpopTokenRequest with further form parameters (resource, say).
func dpopTokenRequestWith(ctx context.Context, c Credentials, key *dpopKey, extra url.Values, edit func(*dpopProof)) *http.Response {
	GinkgoHelper()
	needTokenPath()
	u := dpopTokenURL(c)
	f := form("scope", askedScope())
	for k, vs := range extra {
		f[k] = append(f[k], vs...)
	}
	authorization, body := c.authenticateAt(u, f)
	res, _ := dpopSend(ctx, "as", request{Method: http.MethodPost, Path: c.tokenEndpoint(), Note: "token request with a DPoP proof",
		Form: body, Authorization: authorization, Certificate: c.Certificate}, func(nonce string) string {
		p := key.proof(http.MethodPost, u).nonce(nonce)
		if edit != nil {
			edit(p)
		}
		return p.sign()
	})
	return res
}

// dpopBoundToken gets a DPoP-bound token for c and key, for the specs that need one. A
// provider that gives none is C-9449-5-a's to report; one that declines binding (token_type
// Bearer, which §5 allows) leaves the spec not judged.
func dpopBoundToken(ctx context.Context, c Credentials, key *dpopKey) issuedToken {
	GinkgoHelper()
	return dpopBoundTokenWith(ctx, c, key, nil)
}

// dpopBoundTokenWith is dpopBoundToken with further form parameters.
func dpopBoundTokenWith(ctx context.Context, c Credentials, key *dpopKey, extra url.Values) issuedToken {
	GinkgoHelper()
	res := dpopTokenRequestWith(ctx, c, key, extra, nil)
	tok, why := parseTokenResponse(res)
	if why != "" {
		judge.Block("C-9449-5-a", "no token could be obtained with a valid DPoP proof, which this spec needs: %s", why)
	}
	if !strings.EqualFold(tok.TokenType, "DPoP") {
		judge.Skip("the provider declines DPoP binding (token_type %q for a request with a valid proof, which RFC 9449 §5 allows), so there is no bound token to check", tok.TokenType)
	}
	return tok
}

// dpopResourceRequest GETs path with token in the DPoP scheme and a proof of key bound to it
// (htm GET, htu the URL requested, ath), which edit may change; an RS nonce is handled as
// dpopSend does.
func dpopResourceRequest(ctx context.Context, path, token string, key *dpopKey, edit func(*dpopProof)) *http.Response {
	GinkgoHelper()
	return dpopResourceSend(ctx, path, "DPoP "+token, token, key, edit)
}

// dpopResourceSend is dpopResourceRequest with the Authorization value given (another scheme's
// spelling, or the Bearer scheme for a bound token).
func dpopResourceSend(ctx context.Context, path, authorization, token string, key *dpopKey, edit func(*dpopProof)) *http.Response {
	GinkgoHelper()
	u := target.url(path)
	res, _ := dpopSend(ctx, "rs", request{Path: path, Note: "resource request with a DPoP proof", Authorization: authorization},
		func(nonce string) string {
			p := key.proof(http.MethodGet, u).ath(token).nonce(nonce)
			if edit != nil {
				edit(p)
			}
			return p.sign()
		})
	return res
}
