package suite

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 7523 §3: the claims of a JWT that authenticates a client, and how the AS validates it.
// Each spec breaks one rule of a valid F-PKJ assertion (F-CSJ's where a MAC is the point) for
// the audience the probe found, and expects no token and invalid_client (§3.2, judged under
// C-7523-3.2-a; invalid_request too where the JWT cannot be parsed).
var _ = Describe("RFC 7523 §3: the JWT's claims and their validation", func() {
	// §3 items 1-2 (MUST; OpenID Connect Core §9): iss and sub are required, and for client
	// authentication both are the client_id. Each variant is signed with F-PKJ's key.
	refuseEach("C-7523-3-a", false, needPKJ, []assertionCase{
		{"an F-PKJ assertion whose sub is another client's id", func(c *Credentials, a assertion) string {
			a.Claims["sub"] = otherClientID(c)
			return signed(a)
		}},
		{"an F-PKJ assertion whose iss is another client's id", func(c *Credentials, a assertion) string {
			a.Claims["iss"] = otherClientID(c)
			return signed(a)
		}},
		{"an F-PKJ assertion without sub", func(_ *Credentials, a assertion) string {
			a.Claims["sub"] = nil
			return signed(a)
		}},
		{"an F-PKJ assertion without iss", func(_ *Credentials, a assertion) string {
			a.Claims["iss"] = nil
			return signed(a)
		}},
		{"an assertion signed with F-PKJ's key whose iss and sub are both another client's id", func(c *Credentials, a assertion) string {
			other := otherClientID(c)
			a.Claims["iss"], a.Claims["sub"] = other, other
			return signed(a)
		}},
	})

	// §3 item 3 (MUST): aud is required and identifies this AS, compared as simple strings (RFC
	// 3986 §6.2.1): a missing aud, a stranger's, or the accepted value with its trailing /
	// toggled or its letters in another case is not this AS.
	refuseEach("C-7523-3-b", false, needPKJ, []assertionCase{
		{"an F-PKJ assertion without aud", func(_ *Credentials, a assertion) string {
			a.Claims["aud"] = nil
			return signed(a)
		}},
		{"an F-PKJ assertion whose aud is https://attacker.example/", func(_ *Credentials, a assertion) string {
			a.Claims["aud"] = "https://attacker.example/"
			return signed(a)
		}},
		{"an F-PKJ assertion whose aud is the accepted one with its trailing / toggled", func(_ *Credentials, a assertion) string {
			aud := a.Claims["aud"].(string)
			if strings.HasSuffix(aud, "/") {
				a.Claims["aud"] = strings.TrimRight(aud, "/")
			} else {
				a.Claims["aud"] = aud + "/"
			}
			return signed(a)
		}},
		{"an F-PKJ assertion whose aud is the accepted one in other letter case (the host's, else the scheme's)", func(_ *Credentials, a assertion) string {
			a.Claims["aud"] = otherCase(a.Claims["aud"].(string))
			return signed(a)
		}},
	})

	// §3 item 4 (MUST; OpenID Connect Core §9): exp is required, and an expired JWT is refused
	// (five minutes is beyond any clock skew a server allows).
	refuseEach("C-7523-3-c", false, needPKJ, []assertionCase{
		{"an F-PKJ assertion without exp", func(_ *Credentials, a assertion) string {
			a.Claims["exp"] = nil
			return signed(a)
		}},
		{"an F-PKJ assertion that expired five minutes ago", func(_ *Credentials, a assertion) string {
			a.Claims["exp"] = time.Now().Add(-5 * time.Minute).Unix()
			a.Claims["iat"] = time.Now().Add(-6 * time.Minute).Unix()
			return signed(a)
		}},
	})

	// §3 item 4 (MAY): an exp unreasonably far ahead may be refused; either answer is recorded.
	It("records whether an F-PKJ assertion that expires in a year is accepted",
		jwtAuthLabels("C-7523-3-c"), func(ctx SpecContext) {
			c := needPKJ()
			a := c.newAssertion(acceptedAudience(ctx, atToken))
			a.Claims["exp"] = time.Now().AddDate(1, 0, 0).Unix()
			res := postAssertion(ctx, assertionRequest{Note: "exp a year ahead", JWT: signed(a)})
			informAcceptance(res, "C-7523-3-c", "an assertion that expires in a year")
		}, jwtSpecTimeout(1))

	// §3 item 5 (MUST): with nbf, the JWT is not accepted before that time. Its exp is after the
	// nbf and within a quarter of an hour, so that nothing but the nbf is wrong.
	refuseEach("C-7523-3-d", false, needPKJ, []assertionCase{
		{"an F-PKJ assertion whose nbf is ten minutes ahead", func(_ *Credentials, a assertion) string {
			a.Claims["nbf"] = time.Now().Add(10 * time.Minute).Unix()
			a.Claims["exp"] = time.Now().Add(10*time.Minute + 15*time.Second).Unix()
			return signed(a)
		}},
	})

	// §3 item 6 (MAY): an iat unreasonably far in the past may be refused; either is recorded.
	It("records whether an F-PKJ assertion issued a day ago (exp still ahead) is accepted",
		jwtAuthLabels("C-7523-3-d"), func(ctx SpecContext) {
			c := needPKJ()
			a := c.newAssertion(acceptedAudience(ctx, atToken))
			a.Claims["iat"] = time.Now().Add(-24 * time.Hour).Unix()
			res := postAssertion(ctx, assertionRequest{Note: "iat a day ago", JWT: signed(a)})
			informAcceptance(res, "C-7523-3-d", "an assertion issued a day ago")
		}, jwtSpecTimeout(1))

	// §3 item 9 (MUST): the JWT is signed or MACed, and an invalid signature or MAC is refused: a
	// flipped signature byte; F-PKJ's claims signed with F-PKJ2's key, with F-PKJ2's kid and
	// without one; F-CSJ's claims MACed with a secret that is not F-CSJ's. A 400
	// unauthorized_client is a failure of C-7523-3.2-a (keycloak-oauth-sig #12).
	refuseEach("C-7523-3-e", false, needPKJ, []assertionCase{
		{"an F-PKJ assertion with one signature byte flipped", func(_ *Credentials, a assertion) string {
			parts := strings.Split(signed(a), ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			Expect(err).NotTo(HaveOccurred())
			sig[len(sig)/2] ^= 0xff
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}},
		{"F-PKJ's claims signed with F-PKJ2's key and F-PKJ2's kid", func(_ *Credentials, a assertion) string {
			other := needPKJ2()
			a.Key, a.Alg, a.KeyID = other.Key.Key, other.Alg, other.Key.KeyID
			return signed(a)
		}},
		{"F-PKJ's claims signed with F-PKJ2's key and no kid", func(_ *Credentials, a assertion) string {
			other := needPKJ2()
			a.Key, a.Alg, a.KeyID = other.Key.Key, other.Alg, ""
			return signed(a)
		}},
	})
	refuseEach("C-7523-3-e", false, needCSJ, []assertionCase{
		{"F-CSJ's claims MACed (HS256) with a secret that is not F-CSJ's", func(_ *Credentials, a assertion) string {
			a.Key, a.Alg = randomSecret(), string(jose.HS256)
			return signed(a)
		}},
	})

	// §3 items 9-10 with RFC 7518 §3.6 and RFC 8725 §3.1-3.2 (MUST): an unsecured JWT (alg
	// none) never authenticates, nor does algorithm confusion: F-PKJ's claims MACed with HS256
	// keyed with F-PKJ's public key, as PEM and as DER (go-jose's HMAC with those bytes as the
	// secret), under F-PKJ's kid.
	refuseEach("C-7523-3-f", false, needPKJ, []assertionCase{
		{`an F-PKJ assertion with {"alg":"none"} and an empty signature`, func(_ *Credentials, a assertion) string {
			return assembled(map[string]any{"alg": "none"}, presentClaims(a), nil)
		}},
		{"F-PKJ's claims MACed with HS256 keyed with F-PKJ's public key in PEM", func(c *Credentials, a assertion) string {
			der := publicKeyDER(c)
			a.Key, a.Alg = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), string(jose.HS256)
			return signed(a)
		}},
		{"F-PKJ's claims MACed with HS256 keyed with F-PKJ's public key in DER", func(c *Credentials, a assertion) string {
			a.Key, a.Alg = publicKeyDER(c), string(jose.HS256)
			return signed(a)
		}},
	})

	// §3 item 9 with RFC 8725 §3.1 (MUST): an algorithm the AS does not advertise
	// (token_endpoint_auth_signing_alg_values_supported), signed with F-PKJ's own key, is
	// refused. The checklist grades an acceptance leniently (a warning; --strict fails it).
	It("answers an F-PKJ (or F-PKJ2) assertion signed with an algorithm the provider does not advertise with no token and invalid_client",
		jwtAuthLabels("C-7523-3-f", "C-7523-3.2-a"), func(ctx SpecContext) {
			needPKJ()
			c, alg := unadvertisedAlg()
			a := c.newAssertion(acceptedAudience(ctx, atToken))
			a.Alg = alg
			res := postAssertion(ctx, assertionRequest{Note: "an algorithm not advertised: " + alg, JWT: signed(a)})
			if !row("C-7523-3-f").Lenient().That(!tokenGranted(res), "an assertion signed with %s, which the provider does not advertise, got a token", alg) {
				return
			}
			expectAssertionRefused(res, "C-7523-3-f", false)
		}, jwtSpecTimeout(1))

	// §3 item 10 with RFC 7519 §7.2 and RFC 7515 §4.1.11 (MUST): a JWT that is invalid in any
	// other way is refused: two or four segments, a segment that is not base64url (the
	// signature in standard base64 with padding, which a lax decoder would read as the right
	// bytes), claims that are not JSON, an exp that is a string, a crit header naming an
	// extension nobody knows. Unparseable input may be invalid_request.
	refuseEach("C-7523-3-g", true, needPKJ, []assertionCase{
		{"an F-PKJ assertion cut to two segments", func(_ *Credentials, a assertion) string {
			parts := strings.Split(signed(a), ".")
			return parts[0] + "." + parts[1]
		}},
		{"an F-PKJ assertion with a fourth segment", func(_ *Credentials, a assertion) string {
			return signed(a) + ".e30"
		}},
		{"an F-PKJ assertion whose signature is in standard base64 with padding", func(_ *Credentials, a assertion) string {
			parts := strings.Split(signed(a), ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			Expect(err).NotTo(HaveOccurred())
			return parts[0] + "." + parts[1] + "." + stdBase64WithPadding(sig)
		}},
		// base64url in JWS has no padding (RFC 7515 §2); a decoder that takes "=" accepts this
		// one whatever the signature's bytes, which the case above catches only when its
		// standard base64 differs from base64url (a + or / in it).
		{"an F-PKJ assertion whose base64url signature has = padding added", func(_ *Credentials, a assertion) string {
			return signed(a) + "="
		}},
		{"an F-PKJ JWS whose payload is not JSON", func(c *Credentials, a assertion) string {
			jwt, err := a.signPayload([]byte(fmt.Sprintf("iss=%s&sub=%s", url.QueryEscape(c.ID), url.QueryEscape(c.ID))))
			Expect(err).NotTo(HaveOccurred())
			return jwt
		}},
		{"an F-PKJ assertion whose exp is a string", func(_ *Credentials, a assertion) string {
			a.Claims["exp"] = fmt.Sprint(a.Claims["exp"])
			return signed(a)
		}},
		{"an F-PKJ assertion with a crit header naming an unknown extension", func(_ *Credentials, a assertion) string {
			a.Header["crit"] = []string{"urn:ccconform:unknown-extension"}
			a.Header["urn:ccconform:unknown-extension"] = true
			return signed(a)
		}},
	})
})

// assertionCase is one broken assertion: what it is, for the It text, and how it is made from
// a valid one of the spec's client for the accepted audience.
type assertionCase struct {
	what string
	jwt  func(c *Credentials, a assertion) string
}

// refuseEach registers a spec per case: the client's broken assertion gets no token (row id)
// and invalid_client (C-7523-3.2-a; syntax accepts invalid_request too).
func refuseEach(id string, syntax bool, client func() *Credentials, cases []assertionCase) {
	codes := "invalid_client"
	if syntax {
		codes = "invalid_client or invalid_request"
	}
	for _, k := range cases {
		It("answers "+k.what+" with no token and "+codes, jwtAuthLabels(id, "C-7523-3.2-a"), func(ctx SpecContext) {
			c := client()
			jwt := k.jwt(c, c.newAssertion(acceptedAudience(ctx, atToken)))
			res := postAssertion(ctx, assertionRequest{Note: k.what, JWT: jwt})
			expectAssertionRefused(res, id, syntax)
		}, jwtSpecTimeout(1))
	}
}

// otherCase is the URL with the letters of its host in upper case, or, when the host has none
// (an IP address), those of its scheme.
func otherCase(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return strings.ToUpper(u)
	}
	if host := strings.ToUpper(p.Host); host != p.Host {
		return strings.Replace(u, p.Host, host, 1)
	}
	return strings.ToUpper(p.Scheme) + strings.TrimPrefix(u, p.Scheme)
}

// stdBase64WithPadding is standard base64 with padding: the alphabet and the = that base64url
// in JWS leaves out (RFC 7515 §2).
func stdBase64WithPadding(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	if !strings.ContainsAny(s, "+/=") {
		s += "=" // a multiple of three bytes: padding where none belongs
	}
	return s
}

// publicKeyDER is the client's public key in DER (SubjectPublicKeyInfo).
func publicKeyDER(c *Credentials) []byte {
	GinkgoHelper()
	der, err := x509.MarshalPKIXPublicKey(c.Key.Public().Key)
	Expect(err).NotTo(HaveOccurred())
	return der
}

// unadvertisedAlg is a private_key_jwt fixture client (F-PKJ, else F-PKJ2: an EC key has one
// algorithm, an RSA key six) and an algorithm its key can sign with that the metadata's
// token_endpoint_auth_signing_alg_values_supported does not list; a skip when there is none.
func unadvertisedAlg() (*Credentials, string) {
	GinkgoHelper()
	advertised, listed := metadataStrings("token_endpoint_auth_signing_alg_values_supported")
	if !listed {
		judge.Skip("the metadata has no token_endpoint_auth_signing_alg_values_supported, so no algorithm is known not to be advertised")
	}
	for _, c := range []*Credentials{pkjClient(), pkj2Client()} {
		if c == nil || c.Key == nil {
			continue
		}
		var possible []jose.SignatureAlgorithm
		switch k := c.Key.Key.(type) {
		case *rsa.PrivateKey:
			possible = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
		case *ecdsa.PrivateKey:
			possible = []jose.SignatureAlgorithm{map[elliptic.Curve]jose.SignatureAlgorithm{elliptic.P256(): jose.ES256,
				elliptic.P384(): jose.ES384, elliptic.P521(): jose.ES512}[k.Curve]}
		case ed25519.PrivateKey:
			possible = []jose.SignatureAlgorithm{jose.EdDSA}
		}
		for _, alg := range possible {
			if alg != "" && !slices.Contains(advertised, string(alg)) {
				return c, string(alg)
			}
		}
	}
	judge.Skip("the provider advertises every algorithm the keys of F-PKJ and F-PKJ2 can sign with (%s)", strings.Join(advertised, " "))
	return nil, ""
}
