package suite

import (
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 7523 §2.2: a client authenticates at the token endpoint with client_assertion_type set to
// the JWT bearer URN and one JWT in client_assertion (OpenID Connect Core §9 names the two ways
// of signing it, private_key_jwt and client_secret_jwt).
var _ = Describe("RFC 7523 §2.2: client authentication with a JWT", func() {
	// §2.2 and §3 (MUST): the AS validates the JWT and, when it is valid, treats the client as
	// authenticated. F-PKJ sends no secret, only an assertion with iss = sub = client_id, the
	// aud the probe found, exp a minute ahead, iat and a random jti. The probe's findings at
	// every endpoint that takes assertions are recorded (which aud forms work is information:
	// RFC 7523 and RFC 10070 disagree, C-10070-4-a judges that).
	It("authenticates F-PKJ by a private_key_jwt assertion alone with a token, and records the aud each endpoint accepts",
		jwtAuthLabels("C-7523-2.2-a"), func(ctx SpecContext) {
			c := needPKJ()
			m, ok, why := probeAudience(ctx, atToken)
			if !ok {
				judge.Skip("the client assertion audience probe could not finish: %s", why)
			}
			j := row("C-7523-2.2-a")
			j.RequireThat(m.Audience != "", "the token endpoint refused F-PKJ's valid assertion with every audience tried: %s", strings.Join(m.Tried, "; "))
			res := postAssertion(ctx, assertionRequest{Note: "a valid private_key_jwt assertion", JWT: signed(c.newAssertion(m.Audience))})
			expectAssertionAccepted(res, "C-7523-2.2-a", "a valid private_key_jwt assertion")
			j.Inform("aud-mode at the token endpoint: %s, %s", m.Form, m.Audience)
			for _, kind := range []string{atRevocation, atIntrospection} {
				if endpointURL(kind) == "" {
					continue
				}
				switch o, ok, why := probeAudience(ctx, kind); {
				case !ok:
					j.Inform("aud-mode at the %s endpoint: not found (%s)", kind, why)
				case o.Audience == "":
					j.Inform("aud-mode at the %s endpoint: no audience accepted (%s)", kind, strings.Join(o.Tried, "; "))
				default:
					j.Inform("aud-mode at the %s endpoint: %s, %s", kind, o.Form, o.Audience)
				}
			}
			if algs, listed := metadataStrings("token_endpoint_auth_signing_alg_values_supported"); listed && !slices.Contains(algs, c.Alg) {
				j.Inform("F-PKJ signs with %s, which token_endpoint_auth_signing_alg_values_supported does not list (%s)", c.Alg, strings.Join(algs, " "))
			}
		}, jwtSpecTimeout(9)) // the probe may try four audiences at each of three endpoints

	// §2.2 and §3 (MUST): the same with F-CSJ, whose assertion is MACed with HS256 keyed with its
	// secret (OpenID Connect Core §9, client_secret_jwt).
	It("authenticates F-CSJ by a client_secret_jwt assertion (HS256) alone with a token",
		jwtAuthLabels("C-7523-2.2-a"), func(ctx SpecContext) {
			c := needCSJ()
			a := c.newAssertion(acceptedAudience(ctx, atToken))
			a.Alg = string(jose.HS256)
			res := postAssertion(ctx, assertionRequest{Note: "a valid client_secret_jwt assertion", JWT: signed(a)})
			expectAssertionAccepted(res, "C-7523-2.2-a", "a valid client_secret_jwt assertion")
		}, jwtSpecTimeout(1))

	// §2.2 (MUST, on the client; kind R): client_assertion carries a single JWT. Two JWTs in one
	// parameter, or a JWS in JSON serialization (JWTs use the compact one, RFC 7519 §1), are no
	// JWT and must not authenticate. A syntax error: invalid_request is accepted too.
	twoJWTs := []struct {
		what string
		jwt  func(c *Credentials, aud string) string
	}{
		{"two valid assertions joined with a comma", func(c *Credentials, aud string) string {
			return signed(c.newAssertion(aud)) + "," + signed(c.newAssertion(aud))
		}},
		{"two valid assertions joined with a space", func(c *Credentials, aud string) string {
			return signed(c.newAssertion(aud)) + " " + signed(c.newAssertion(aud))
		}},
		{"a valid assertion in JWS JSON serialization", func(c *Credentials, aud string) string {
			jws, err := jose.ParseSignedCompact(signed(c.newAssertion(aud)), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(c.Alg)})
			Expect(err).NotTo(HaveOccurred())
			return jws.FullSerialize()
		}},
	}
	for _, k := range twoJWTs {
		It("answers "+k.what+" in client_assertion with no token and invalid_client or invalid_request",
			jwtAuthLabels("C-7523-2.2-b", "C-7523-3.2-a"), func(ctx SpecContext) {
				c := needPKJ()
				res := postAssertion(ctx, assertionRequest{Note: k.what, JWT: k.jwt(c, acceptedAudience(ctx, atToken))})
				expectAssertionRefused(res, "C-7523-2.2-b", true)
			}, jwtSpecTimeout(1))
	}

	// §2.2 with RFC 6749 §2.3 and §5.2 (MUST, on the client; kind R): a request uses one way of
	// authenticating only. A valid assertion sent with the client's secret too, in HTTP Basic or
	// in the body, gets no token (keycloak #50997 let a secret pass a "signed JWT required"
	// policy), and the error §5.2 names for it is invalid_request; invalid_client is what many
	// providers answer, a deviation (a warning; --strict fails it).
	mixed := []struct {
		what  string
		basic bool
	}{
		{"a valid assertion and the client's secret in HTTP Basic", true},
		{"a valid assertion and the client's secret in the body", false},
	}
	for _, k := range mixed {
		It("answers "+k.what+" with no token and invalid_request",
			jwtAuthLabels("C-7523-2.2-c"), func(ctx SpecContext) {
				c := jwtClientWithSecret()
				r := assertionRequest{Note: k.what, JWT: signed(c.newAssertion(acceptedAudience(ctx, atToken)))}
				if k.basic {
					r.Authorization = c.basic()
				} else {
					r.Pairs = []string{"client_id", c.ID, "client_secret", c.Secret}
				}
				res := postAssertion(ctx, r)
				expectNoToken(res, "C-7523-2.2-c")
				code := expectErrorShape(res)
				row("C-7523-2.2-c").Expect(code).To(Equal("invalid_request"), "RFC 6749 §5.2: more than one authentication method is invalid_request")
			}, jwtSpecTimeout(1))
	}
})

// jwtClientWithSecret is a JWT client that has a secret too: F-CSJ, else F-PKJ if it has one;
// a skip when there is none.
func jwtClientWithSecret() *Credentials {
	GinkgoHelper()
	needCap(config.CapJWTClientAuth)
	needTokenPath()
	for _, c := range []*Credentials{csjClient(), pkjClient()} {
		if c != nil && c.Secret != "" {
			return c
		}
	}
	judge.Skip("the target declares no JWT client with a secret (F-CSJ: clients.client_secret_jwt)")
	return nil
}
