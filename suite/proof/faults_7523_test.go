package proof

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults of JWT client authentication (checklist 2.J). The reference checks every rule; a fault
// is a provider that skips one check. Most are made the honest way: the middleware repairs what
// the skipped check would have refused (re-signing the repaired claims with the fixture client's
// own key, through go-jose) and hands the reference an assertion it accepts, so the suite sees a
// real token. Each runs only the specs of its row (and the audience probe they start with).

// jwtArgs runs the specs of one row of 2.J.
func jwtArgs(id string, more ...string) []string {
	return append([]string{"-ginkgo.label-filter=" + id}, more...)
}

var _ = register([]fault{
	{name: "2.J: a valid client assertion is refused", breaks: "C-7523-2.2-a", args: jwtArgs("C-7523-2.2-a"),
		wrap: answer(jwtRequest(func(*clientAssertion) bool { return true }), http.StatusBadRequest, "application/json",
			`{"error":"invalid_client","error_description":"client assertions are not taken here"}`)},
	{name: "2.J: client_assertion_type is not checked", breaks: "C-7521-4.2-a", args: jwtArgs("C-7521-4.2-a"),
		wrap: rqEditForm(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("client_assertion") })), func(v url.Values) {
			v.Set("client_assertion_type", provider.JWTBearerAssertionType)
		})},
	// §2.2 binds the client (kind R): a warning.
	{name: "2.J: client_assertion's first JWT is taken, and the JSON serialization too", breaks: "C-7523-2.2-b", soft: true,
		args: jwtArgs("C-7523-2.2-b"),
		wrap: rqEditForm(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("client_assertion") })), func(v url.Values) {
			raw := v.Get("client_assertion")
			if strings.HasPrefix(raw, "{") {
				if jws, err := jose.ParseSignedJSON(raw, fixtureAlgs); err == nil {
					raw, _ = jws.CompactSerialize()
				}
			}
			v.Set("client_assertion", strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' })[0])
		})},
	{name: "2.J: client_id is not compared with the assertion's client", breaks: "C-7521-4.2-b", args: jwtArgs("C-7521-4.2-b"),
		wrap: rqEditForm(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("client_assertion") })), func(v url.Values) {
			v.Del("client_id")
		})},
	{name: "2.J: iss and sub are not checked", breaks: "C-7523-3-a", args: jwtArgs("C-7523-3-a"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			if a.signer == "" {
				return false
			}
			a.claims["iss"], a.claims["sub"] = a.signer, a.signer
			return true
		})},
	{name: "2.J: aud is not checked", breaks: "C-7523-3-b", args: jwtArgs("C-7523-3-b"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			a.claims["aud"] = a.issuer
			return a.signer != ""
		})},
	{name: "2.J: the token endpoint's URL is taken as the audience (RFC 10070 forbids it)", breaks: "C-10070-4-a",
		args: jwtArgs("C-10070-4-a", "-profile=rfc10070"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			if a.signer == "" || a.claims["aud"] != a.issuer+provider.PathToken {
				return false
			}
			a.claims["aud"] = a.issuer
			return true
		})},
	// RFC 10070 §4 is a SHOULD on the client and a NOT RECOMMENDED on the server: a warning.
	{name: "2.J: typ client-authentication+jwt is refused", breaks: "C-10070-4-b", soft: true, args: jwtArgs("C-10070-4-b"),
		wrap: answer(jwtRequest(func(a *clientAssertion) bool { return a.header["typ"] == "client-authentication+jwt" }),
			http.StatusBadRequest, "application/json", `{"error":"invalid_client","error_description":"unknown typ"}`)},
	{name: "2.J: exp is not checked", breaks: "C-7523-3-c", args: jwtArgs("C-7523-3-c"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			a.claims["exp"] = time.Now().Add(time.Minute).Unix()
			return a.signer != ""
		})},
	{name: "2.J: nbf is not checked", breaks: "C-7523-3-d", args: jwtArgs("C-7523-3-d"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			_, has := a.claims["nbf"]
			delete(a.claims, "nbf")
			a.claims["exp"] = time.Now().Add(time.Minute).Unix()
			return a.signer != "" && has
		})},
	// OpenID Connect Core §9 makes jti single use; RFC 7523 leaves it optional: a warning by
	// default, a failure under profile:oidcc.
	{name: "2.J: a replayed assertion is accepted (default profile)", breaks: "C-OIDCC-9-a", soft: true,
		args: jwtArgs("C-OIDCC-9-a"), wrap: resignAssertions(freshJTI)},
	{name: "2.J: a replayed assertion is accepted (profile oidcc)", breaks: "C-OIDCC-9-a",
		args: jwtArgs("C-OIDCC-9-a", "-profile=oidcc"), wrap: resignAssertions(freshJTI)},
	{name: "2.J: signatures are not verified", breaks: "C-7523-3-e", args: jwtArgs("C-7523-3-e"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			sub, _ := a.claims["sub"].(string)
			if a.signer == sub || fixtureKeys[sub].key == nil {
				return false
			}
			a.signer = sub
			return true
		})},
	{name: `2.J: {"alg":"none"} is accepted`, breaks: "C-7523-3-f", args: jwtArgs("C-7523-3-f"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			sub, _ := a.claims["sub"].(string)
			a.signer = sub
			return a.header["alg"] == "none" && fixtureKeys[sub].key != nil
		})},
	// An algorithm the provider does not advertise (F-PKJ2's key, RS384) taken: the checklist
	// grades the acceptance leniently, a warning.
	{name: "2.J: an algorithm the provider does not advertise is accepted", breaks: "C-7523-3-f", soft: true,
		args: jwtArgs("C-7523-3-f"),
		wrap: resignAssertions(func(a *clientAssertion) bool {
			sub, _ := a.claims["sub"].(string)
			a.signer = sub
			return a.header["alg"] == "RS384" && fixtureKeys[sub].key != nil
		})},
	// A decoder that takes = padding in base64url (RFC 7515 §2 has none) accepts a padded
	// signature whatever its bytes.
	{name: "2.J: = padding after the signature is ignored", breaks: "C-7523-3-g", args: jwtArgs("C-7523-3-g"),
		wrap: rqEditForm(and(tokenPOST, rqFormHas(func(v url.Values) bool { return strings.HasSuffix(v.Get("client_assertion"), "=") })), func(v url.Values) {
			v.Set("client_assertion", strings.TrimRight(v.Get("client_assertion"), "="))
		})},
	{name: "2.J: a fourth JWS segment is ignored", breaks: "C-7523-3-g", args: jwtArgs("C-7523-3-g"),
		wrap: rqEditForm(and(tokenPOST, rqFormHas(func(v url.Values) bool { return strings.Count(v.Get("client_assertion"), ".") == 3 })), func(v url.Values) {
			raw := v.Get("client_assertion")
			v.Set("client_assertion", raw[:strings.LastIndex(raw, ".")])
		})},
	// keycloak-oauth-sig #12: a wrong-key assertion answered 400 unauthorized_client.
	{name: "2.J: a refused assertion is 400 unauthorized_client", breaks: "C-7523-3.2-a", args: jwtArgs("C-7523-3.2-a"),
		wrap: editResponses(jwtRequest(func(*clientAssertion) bool { return true }), when(http.StatusUnauthorized, func(_ *http.Request, r *response) {
			r.status = http.StatusBadRequest
			r.header.Del("WWW-Authenticate")
			r.setObject(map[string]any{"error": "unauthorized_client"})
		}))},
	{name: "2.J: claims the provider does not know are refused", breaks: "C-OIDCC-9-b", args: jwtArgs("C-OIDCC-9-b"),
		wrap: answer(jwtRequest(func(a *clientAssertion) bool { _, has := a.claims["nonce"]; return has }),
			http.StatusBadRequest, "application/json", `{"error":"invalid_client","error_description":"unexpected claim nonce"}`)},
	// RFC 7523 §2.2's one method binds the client (kind R): a warning.
	{name: "2.J: a secret sent with an assertion is ignored", breaks: "C-7523-2.2-c", soft: true, args: jwtArgs("C-7523-2.2-c"),
		wrap: editRequests(and(tokenPOST, rqFormHas(func(v url.Values) bool { return v.Has("client_assertion") })), func(r *http.Request) {
			v := formOf(r)
			r.Header.Del("Authorization")
			v.Del("client_secret")
			v.Del("client_id")
			setForm(r, v)
		})},
	// OpenID Connect Core §9 with RFC 7591 §2 is a SHOULD: a warning.
	{name: "2.J: a client_secret_jwt client's secret is taken in HTTP Basic", breaks: "C-OIDCC-9-c", soft: true,
		args: jwtArgs("C-OIDCC-9-c"),
		wrap: editRequests(and(tokenPOST, func(r *http.Request) bool {
			id, _ := basicClientID(r)
			return id == provider.FixtureClientSecretJWT.ID
		}), func(r *http.Request) {
			v := formOf(r)
			r.Header.Del("Authorization")
			v.Set("client_assertion_type", provider.JWTBearerAssertionType)
			v.Set("client_assertion", signFixture(provider.FixtureClientSecretJWT.ID, map[string]any{
				"iss": provider.FixtureClientSecretJWT.ID, "sub": provider.FixtureClientSecretJWT.ID,
				"aud": issuerOf(r), "exp": time.Now().Add(time.Minute).Unix(), "jti": randomJTI()}))
			setForm(r, v)
		})},
})

// freshJTI gives every validly signed assertion a new jti, so a replay or a missing jti passes.
func freshJTI(a *clientAssertion) bool {
	a.claims["jti"] = randomJTI()
	return a.signer != ""
}

// clientAssertion is the client assertion of a token request, read without trusting it.
type clientAssertion struct {
	raw    string
	header map[string]any
	claims map[string]any
	// signer is the fixture client whose key verifies the signature or MAC; "" for none.
	signer string
	// issuer is the reference's issuer, as the request reached it.
	issuer string
}

// readAssertion reads the request's client assertion: a compact JWS whose header and claims
// are JSON objects.
func readAssertion(r *http.Request) (*clientAssertion, bool) {
	raw := formOf(r).Get("client_assertion")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	a := &clientAssertion{raw: raw, issuer: issuerOf(r)}
	for i, dst := range []*map[string]any{&a.header, &a.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil || *dst == nil {
			return nil, false
		}
	}
	if jws, err := jose.ParseSignedCompact(raw, fixtureAlgs); err == nil {
		for id, k := range fixtureKeys {
			if _, err := jws.Verify(k.verify); err == nil {
				a.signer = id
				break
			}
		}
	}
	return a, true
}

// jwtRequest matches token requests whose client assertion pred likes.
func jwtRequest(pred func(*clientAssertion) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !tokenPOST(r) {
			return false
		}
		a, ok := readAssertion(r)
		return ok && pred(a)
	}
}

// resignAssertions hands the reference, for each token request whose assertion fix changes
// (it returns true), the fixed claims signed again with the key that verified them (fix may
// name another fixture client as signer): the provider that skipped the check fix stands for.
func resignAssertions(fix func(*clientAssertion) bool) func(http.Handler) http.Handler {
	return editRequests(tokenPOST, func(r *http.Request) {
		a, ok := readAssertion(r)
		if !ok || !fix(a) {
			return
		}
		v := formOf(r)
		v.Set("client_assertion", signFixture(a.signer, a.claims))
		setForm(r, v)
	})
}

// fixtureKey is a fixture client's signing key, and what verifies it.
type fixtureKey struct {
	key    any
	verify any
	alg    jose.SignatureAlgorithm
	kid    string
}

var (
	fixtureAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.HS256}
	fixtureKeys = map[string]fixtureKey{
		provider.FixturePrivateKeyJWT.ID:   pemFixtureKey(provider.FixturePrivateKeyJWTKeyPEM, jose.ES256, provider.FixturePrivateKeyJWTKeyID),
		provider.FixturePrivateKeyJWT2.ID:  pemFixtureKey(provider.FixturePrivateKeyJWT2KeyPEM, jose.RS256, provider.FixturePrivateKeyJWT2KeyID),
		provider.FixtureClientSecretJWT.ID: {key: []byte(provider.FixtureClientSecretJWT.Secret), verify: []byte(provider.FixtureClientSecretJWT.Secret), alg: jose.HS256},
	}
)

func pemFixtureKey(pemBytes []byte, alg jose.SignatureAlgorithm, kid string) fixtureKey {
	s, err := provider.FixtureSigner(pemBytes)
	if err != nil {
		panic(err)
	}
	return fixtureKey{key: s, verify: s.Public(), alg: alg, kid: kid}
}

// signFixture signs the claims with the fixture client's key (go-jose).
func signFixture(id string, claims map[string]any) string {
	k := fixtureKeys[id]
	opts := &jose.SignerOptions{}
	if k.kid != "" {
		opts = opts.WithHeader("kid", k.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, opts)
	if err != nil {
		return ""
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		return ""
	}
	s, _ := jws.CompactSerialize()
	return s
}

// issuerOf is the reference's issuer as the request reached it (the proof's reference takes the
// URL of its first request as its issuer).
func issuerOf(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// randomJTI is a fresh jti.
func randomJTI() string { return base64.RawURLEncoding.EncodeToString(ctlRandom(16)) }
