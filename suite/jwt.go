package suite

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/registry"
)

// JWT access tokens (RFC 9068) and resource indicators (RFC 8707) as the specs of rfc9068_*.go,
// rfc8707_*.go and rfc9700_2_3_audience.go see them: getting a token that is a JWT, reading it,
// fetching the provider's JWK set, verifying a signature, and forging the tokens the resource
// server must refuse. Signatures and keys are go-jose's; only the malformed tokens (alg none, a
// changed payload) are put together by hand from base64url segments, as the checklist's forgery
// rule says, because no JOSE library produces them.

const (
	// maxAccessTokenBytes caps a token before it is decoded or parsed: the suite reads tokens
	// from servers it does not trust (go-jose's CVE-2025-27144 was a ParseSigned on many dots).
	// The reference's largest token is under 3 KiB; 16 KiB leaves room for large claim sets.
	maxAccessTokenBytes = 16 << 10
	// maxJWKSBytes caps a JWK set before it is parsed: a few dozen RSA keys fit in 64 KiB.
	maxJWKSBytes = 256 << 10
)

// jwtAccessTokenTypes are the typ values RFC 9068 §2.1 and §4 accept, compared
// case-insensitively (the RFC's own §3 example writes at+JWT).
var jwtAccessTokenTypes = []string{"at+jwt", "application/at+jwt"}

// asymmetricAlgs are the JWS algorithms a public JWK set can verify (RFC 7518 §3.1, RFC 8037):
// the allow-list every parse of a provider's token names. HS* tokens are not verifiable with a
// published key, so they are never parsed as verifiable.
var asymmetricAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// isAsymmetric reports whether a JWS algorithm is one of asymmetricAlgs.
func isAsymmetric(alg string) bool {
	return slices.ContainsFunc(asymmetricAlgs, func(a jose.SignatureAlgorithm) bool { return string(a) == alg })
}

// jwtToken is a token in JWS compact serialization, decoded but not verified.
type jwtToken struct {
	// Raw is the token as issued.
	Raw string
	// Header and Claims are the decoded protected header and claim set (numbers as json.Number).
	Header, Claims map[string]any
	// payload is the decoded payload, byte for byte.
	payload []byte
}

// decodeJWT decodes a token that is a JWS in compact serialization whose payload is a JSON
// object (RFC 7515 §7.1, RFC 7519 §7.2); ok is false for anything else (an opaque token, a JWE,
// a token larger than maxAccessTokenBytes).
func decodeJWT(tok string) (jwtToken, bool) {
	if len(tok) > maxAccessTokenBytes || strings.Count(tok, ".") != 2 {
		return jwtToken{}, false
	}
	parts := strings.Split(tok, ".")
	decode := func(s string) ([]byte, map[string]any, bool) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return nil, nil, false
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) != nil || m == nil {
			return nil, nil, false
		}
		return b, m, true
	}
	_, header, ok := decode(parts[0])
	if _, isString := header["alg"].(string); !ok || !isString {
		return jwtToken{}, false
	}
	payload, claims, ok := decode(parts[1])
	if !ok {
		return jwtToken{}, false
	}
	return jwtToken{Raw: tok, Header: header, Claims: claims, payload: payload}, true
}

// alg, kid and typ are header members ("" when absent or not strings).
func (t jwtToken) alg() string { s, _ := t.Header["alg"].(string); return s }
func (t jwtToken) kid() string { s, _ := t.Header["kid"].(string); return s }
func (t jwtToken) typ() string { s, _ := t.Header["typ"].(string); return s }

// claims9068 reports whether the token claims to be an RFC 9068 access token: its typ is at+jwt
// or application/at+jwt, in any letter case.
func (t jwtToken) claims9068() bool {
	return slices.ContainsFunc(jwtAccessTokenTypes, func(s string) bool { return strings.EqualFold(s, t.typ()) })
}

// audiences is the aud claim as a list; ok is false when it is absent or neither a string nor
// an array of strings (RFC 7519 §4.1.3).
func (t jwtToken) audiences() ([]string, bool) {
	switch v := t.Claims["aud"].(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// stringClaim is a claim that is a string ("" and false otherwise).
func (t jwtToken) stringClaim(name string) (string, bool) {
	s, ok := t.Claims[name].(string)
	return s, ok
}

// numericDate is a claim that is a NumericDate (RFC 7519 §2: a JSON number of seconds).
func (t jwtToken) numericDate(name string) (float64, bool) {
	n, ok := t.Claims[name].(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// jwtAccess is a JWT access token and how it was asked for.
type jwtAccess struct {
	jwtToken
	// Issued is the token response.
	Issued issuedToken
	// Client asked for it, for Scope ("" for none) and Resource ("" for none: the default
	// audience).
	Client          Credentials
	Scope, Resource string
}

// route is the protected route the token is meant for: the resource's path when it was asked
// for a resource, else the read path. Empty when there is none.
func (a jwtAccess) route() string {
	if a.Resource == "" {
		return target.ReadPath
	}
	for _, r := range target.ResourceIndicators {
		if r.Resource == a.Resource {
			return r.Path
		}
	}
	return ""
}

// requestToken asks for a token of client c with the form's parameters besides grant_type and
// the client's credentials; it returns the response as it came.
func requestToken(ctx context.Context, note string, c Credentials, f url.Values) *http.Response {
	GinkgoHelper()
	needTokenPath()
	body := url.Values{"grant_type": {"client_credentials"}}
	for k, vs := range f {
		body[k] = vs
	}
	authorization, body := c.authenticate(body)
	return send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: note, Form: body, Authorization: authorization})
}

// tokenFor gets a Bearer token of client c for scope and, when resource is not empty, that
// resource (RFC 8707 §2.2). A provider that will not give one leaves the spec not judged: the
// specs of the token endpoint and of RFC 8707 report why.
func tokenFor(ctx context.Context, c Credentials, scope, resource string) issuedToken {
	GinkgoHelper()
	if resource == "" {
		return issueToken(ctx, c, scope)
	}
	f := url.Values{"resource": {resource}}
	if scope != "" {
		f.Set("scope", scope)
	}
	res := requestToken(ctx, "get a token for a resource", c, f)
	tok, why := parseTokenResponse(res)
	if why != "" {
		judge.Skip("no token for the resource %s could be obtained, which this spec needs: %s (C-8707-2-a reports it)", resource, why)
	}
	if !strings.EqualFold(tok.TokenType, "Bearer") {
		judge.Skip("the provider issues %s tokens, not Bearer tokens, so this spec does not apply", tok.TokenType)
	}
	return tok
}

// resourceIndicator returns F-RES's resource i (0 is R1, 1 is R2), or leaves the spec not
// judged, saying what the target description lacks. withPath also needs a route for it.
func resourceIndicator(i int, withPath bool) ResourceIndicator {
	GinkgoHelper()
	name := fmt.Sprintf("R%d", i+1)
	if len(target.ResourceIndicators) <= i {
		judge.Skip("the target declares no resource %s (F-RES: resource_indicators in --target-config lists the resources the provider accepts, R1 first)", name)
	}
	r := target.ResourceIndicators[i]
	if withPath && r.Path == "" {
		judge.Skip("the target declares no protected route of resource %s (the path of its entry in resource_indicators), where the token would be shown", name)
	}
	return r
}

// jwtAccessTokenOf gets a JWT access token of client c: one asked for without resource when
// the provider issues JWTs for that, else one asked for R1 when the target declares F-RES (the
// reference and oidc-provider issue JWTs only for a resource). With neither, the spec is not
// judged: cap:jwt-at is "the access token is a JWS, or declared".
func jwtAccessTokenOf(ctx context.Context, c Credentials, scope string) jwtAccess {
	GinkgoHelper()
	tok := issueToken(ctx, c, scope)
	if t, ok := decodeJWT(tok.AccessToken); ok {
		return jwtAccess{jwtToken: t, Issued: tok, Client: c, Scope: scope}
	}
	if len(target.ResourceIndicators) > 0 {
		r := target.ResourceIndicators[0].Resource
		tok = tokenFor(ctx, c, scope, r)
		if t, ok := decodeJWT(tok.AccessToken); ok {
			return jwtAccess{jwtToken: t, Issued: tok, Client: c, Scope: scope, Resource: r}
		}
	}
	if hasCap(config.CapJWTAccessTokens) {
		judge.Skip("the provider is declared to issue JWT access tokens (jwt-at), but its tokens are not JWS in compact serialization that the suite can read (an encrypted JWT needs the resource server's key)")
	}
	judge.Skip("the provider's access tokens are not JWTs (JWS in compact serialization)%s, so RFC 9068 does not apply; declare --capabilities=jwt-at if it issues them on other terms",
		map[bool]string{true: ", not even for resource R1", false: ""}[len(target.ResourceIndicators) > 0])
	panic("unreachable")
}

// jwtAccessToken is jwtAccessTokenOf for the main client and its first scope.
func jwtAccessToken(ctx context.Context) jwtAccess {
	GinkgoHelper()
	return jwtAccessTokenOf(ctx, target.Client, target.allowedScopes()[0])
}

// asRow is the judge of an authorization server row of RFC 9068 for token a. Outside
// --profile=rfc9068, a JWT whose typ does not claim RFC 9068 is not held to it: the checklist
// (2.K preamble) runs the AS rows as WARN then, which is each row's lenient case in the registry
// (grading_9068_8707.go). A token that claims RFC 9068, or any JWT under the profile, is judged
// at the row's own grade.
func asRow(a jwtToken, id string) judge.Judge {
	GinkgoHelper()
	j := row(id)
	if _, lenient := registry.MustLookup(id).Lenient(); lenient && !a.claims9068() && !judge.Current().Profile.Has(registry.RFC9068) {
		return j.Lenient()
	}
	return j
}

// jwksKey is a key of the provider's JWK set and the JSON it was published as.
type jwksKey struct {
	Key jose.JSONWebKey
	Raw json.RawMessage
}

// fetchJWKS GETs the JWK set at target.JWKSURI (one request, under the run's deadline) and
// returns its keys; why says what made it unusable. Keys of a type go-jose does not know are
// left out, as RFC 7517 §5 says a set's unsupported keys are.
func fetchJWKS(ctx context.Context) ([]jwksKey, string) {
	GinkgoHelper()
	if target.JWKSURI == "" {
		return nil, "the provider publishes no jwks_uri in its metadata and none is configured (--jwks-uri)"
	}
	res, err := trySend(ctx, request{Path: target.JWKSURI, Note: "JWK set"})
	if err != nil {
		return nil, err.Error()
	}
	body := bodyOf(res)
	switch {
	case res.StatusCode != http.StatusOK:
		return nil, "the JWK set at jwks_uri answered " + res.Status
	case len(body) > maxJWKSBytes:
		return nil, fmt.Sprintf("the JWK set is %d bytes, more than the suite reads (%d)", len(body), maxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, "the JWK set is not a JSON object with a keys array (RFC 7517 §5): " + quoteBody(body)
	}
	var keys []jwksKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) == nil && k.Valid() {
			keys = append(keys, jwksKey{Key: k, Raw: raw})
		}
	}
	return keys, ""
}

// candidateKeys are the keys that may have signed the token: those whose kid is the token's, or
// every key when the token has no kid (RFC 7515 §4.1.4).
func candidateKeys(t jwtToken, keys []jwksKey) []jwksKey {
	if t.kid() == "" {
		return keys
	}
	var out []jwksKey
	for _, k := range keys {
		if k.Key.KeyID == t.kid() {
			out = append(out, k)
		}
	}
	return out
}

// verifyJWT checks the token's signature with the candidate keys, through go-jose with the
// asymmetric allow-list; it returns the key that verified it, or why none did.
func verifyJWT(t jwtToken, keys []jwksKey) (*jwksKey, string) {
	jws, err := jose.ParseSignedCompact(t.Raw, asymmetricAlgs)
	if err != nil {
		return nil, fmt.Sprintf("the token does not parse as a JWS signed with an asymmetric algorithm (alg %q): %v", t.alg(), err)
	}
	candidates := candidateKeys(t, keys)
	if len(candidates) == 0 {
		return nil, fmt.Sprintf("the JWK set has no key with the token's kid %q", t.kid())
	}
	for i := range candidates {
		if _, err := jws.Verify(candidates[i].Key.Public()); err == nil {
			return &candidates[i], ""
		}
	}
	return nil, fmt.Sprintf("the signature verifies with none of the %d candidate keys of the JWK set (kid %q)", len(candidates), t.kid())
}

// forgery is a token the resource server must refuse, made from a real one.
type forgery struct {
	// what says how it was made, for the messages.
	what  string
	token string
}

// suiteKeys are the suite's own signing keys, one per key type, made once per process.
var suiteKeys struct {
	once sync.Once
	rsa  *rsa.PrivateKey
	ec   map[jose.SignatureAlgorithm]*ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	err  error
}

// suiteSigningKey is a key of the suite's that signs with alg (RS256 for an alg the suite has
// no key for).
func suiteSigningKey(alg jose.SignatureAlgorithm) (jose.SignatureAlgorithm, any, error) {
	suiteKeys.once.Do(func() {
		if suiteKeys.rsa, suiteKeys.err = rsa.GenerateKey(rand.Reader, 2048); suiteKeys.err != nil {
			return
		}
		suiteKeys.ec = map[jose.SignatureAlgorithm]*ecdsa.PrivateKey{}
		for a, c := range map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()} {
			if suiteKeys.ec[a], suiteKeys.err = ecdsa.GenerateKey(c, rand.Reader); suiteKeys.err != nil {
				return
			}
		}
		_, suiteKeys.ed, suiteKeys.err = ed25519.GenerateKey(rand.Reader)
	})
	switch {
	case suiteKeys.err != nil:
		return "", nil, suiteKeys.err
	case suiteKeys.ec[alg] != nil:
		return alg, suiteKeys.ec[alg], nil
	case alg == jose.EdDSA:
		return alg, suiteKeys.ed, nil
	case slices.Contains([]jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}, alg):
		return alg, suiteKeys.rsa, nil
	}
	return jose.RS256, suiteKeys.rsa, nil
}

// forge makes the forgeries of RFC 9068 §4 bullet 5 from a real token (checklist forgery rule):
// (a) re-encoded with alg none and no signature; (b) re-signed by a suite key, embedded as jwk,
// with the token's kid and typ; (c) HS256 keyed with the provider's public key, as the JWK set
// publishes it and as PEM; (d) one byte of the payload changed, the signature kept. asKey is the
// provider's key that verified the token (nil when none did: (c) is then left out).
func forge(t jwtToken, asKey *jwksKey) ([]forgery, error) {
	b64 := base64.RawURLEncoding
	parts := strings.Split(t.Raw, ".")
	var out []forgery

	// (a) alg none: the header with alg replaced, the payload as it is, an empty signature.
	header := map[string]any{}
	for k, v := range t.Header {
		header[k] = v
	}
	header["alg"] = "none"
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	out = append(out, forgery{"re-encoded with alg none and no signature", b64.EncodeToString(h) + "." + parts[1] + "."})

	// The token's own header members that a forgery keeps, so that only the key differs.
	kept := map[jose.HeaderKey]any{}
	for _, name := range []string{"kid", "typ"} {
		if v, ok := t.Header[name]; ok {
			kept[jose.HeaderKey(name)] = v
		}
	}
	sign := func(alg jose.SignatureAlgorithm, key any, embed bool) (string, error) {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, &jose.SignerOptions{EmbedJWK: embed, ExtraHeaders: kept})
		if err != nil {
			return "", err
		}
		jws, err := signer.Sign(t.payload)
		if err != nil {
			return "", err
		}
		return jws.CompactSerialize()
	}

	// (b) the suite's key, embedded as jwk, the kid reused.
	alg, key, err := suiteSigningKey(jose.SignatureAlgorithm(t.alg()))
	if err != nil {
		return nil, err
	}
	resigned, err := sign(alg, key, true)
	if err != nil {
		return nil, err
	}
	out = append(out, forgery{fmt.Sprintf("re-signed (%s) by a key of the suite's, embedded as jwk, with the token's kid", alg), resigned})

	// (c) HS256 keyed with the provider's public key (RFC 8725 §2.1's algorithm confusion).
	if asKey != nil {
		secrets := []struct {
			what string
			key  []byte
		}{{"the public JWK as the JWK set publishes it", asKey.Raw}}
		if der, err := x509.MarshalPKIXPublicKey(asKey.Key.Public().Key); err == nil {
			secrets = append(secrets, struct {
				what string
				key  []byte
			}{"the public key as PEM", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})})
		}
		for _, s := range secrets {
			hs, err := sign(jose.HS256, s.key, false)
			if err != nil {
				return nil, err
			}
			out = append(out, forgery{"HS256 keyed with " + s.what, hs})
		}
	}

	// (d) one payload byte changed, the JSON still valid and the signature the original's.
	changed := changeOnePayloadByte(t.payload)
	out = append(out, forgery{"one byte of the payload changed, the signature kept", parts[0] + "." + b64.EncodeToString(changed) + "." + parts[2]})
	for _, f := range out {
		redactor.add(f.token)
	}
	return out, nil
}

// changeOnePayloadByte changes one byte of a JSON claim set and keeps it valid JSON: a
// character of the jti value when there is one (a letter or digit becomes another), else the
// space inserted after the opening brace.
func changeOnePayloadByte(payload []byte) []byte {
	out := bytes.Clone(payload)
	if i := bytes.Index(out, []byte(`"jti":"`)); i >= 0 {
		j := i + len(`"jti":"`)
		if j < len(out) && out[j] != '"' && out[j] != '\\' {
			if out[j] == 'A' {
				out[j] = 'B'
			} else {
				out[j] = 'A'
			}
			return out
		}
	}
	if i := bytes.IndexByte(out, '{'); i >= 0 {
		return slices.Insert(out, i+1, ' ')
	}
	return append(out, ' ')
}

// resourceIndicatorsProbe is what a token asked for R1 showed, once per process: whether
// resource has a visible effect.
var resourceIndicatorsProbe struct {
	done    bool
	visible bool
	why     string
}

// needResourceIndicators leaves the spec not judged unless the provider honours resource
// indicators (checklist 2.L preamble): the capability is declared, or a token asked for R1 is a
// JWT whose aud contains R1. RFC 6749 §3.2 lets a provider ignore parameters it does not know,
// so a provider on which resource has no visible effect is not judged on RFC 8707's rows.
func needResourceIndicators(ctx context.Context) {
	GinkgoHelper()
	r1 := resourceIndicator(0, false)
	if hasCap(config.CapResourceIndicators) {
		return
	}
	p := &resourceIndicatorsProbe
	if !p.done {
		res := requestToken(ctx, "does resource have an effect?", target.Client, url.Values{"resource": {r1.Resource}, "scope": {target.allowedScopes()[0]}})
		tok, why := parseTokenResponse(res)
		t, isJWT := decodeJWT(tok.AccessToken)
		aud, _ := t.audiences()
		switch {
		case why != "":
			p.why = "a token request with resource=R1 got no token (" + why + ")"
		case !isJWT:
			p.why = "the token issued for resource=R1 is not a JWT, so its audience cannot be seen"
		case !slices.Contains(aud, r1.Resource):
			p.why = "the JWT issued for resource=R1 does not name R1 in aud"
		default:
			p.visible = true
		}
		p.done = true
	}
	if !p.visible {
		judge.Skip("the provider is not declared to support resource indicators (--capabilities=resource-indicators) and resource has no visible effect: %s; RFC 6749 §3.2 lets it ignore the parameter", p.why)
	}
}
