package suite

import (
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9068 §2: the header and the claims of a JWT access token. Each spec judges the token the
// provider issues the main client: without resource when that is a JWT, else for resource R1
// (jwtAccessTokenOf). A provider whose tokens are not JWTs is not judged on these rows
// (cap:jwt-at). Outside --profile=rfc9068, a JWT whose typ is not at+jwt is "not an RFC 9068
// token" and the MUST rows warn (asRow, grading_9068_8707.go).
var _ = Describe("RFC 9068 §2: JWT access token header and data structure", func() {
	// §2.1 and §4 (MUST): a JWT access token is signed, never with alg none; the signature
	// verifies with a key of the authorization server's jwks_uri, picked by kid (any key when
	// the token has none). An algorithm other than RS256 is recorded: whether the provider could
	// use RS256, which both sides must support, cannot be forced black-box.
	It("signs its JWT access tokens (alg not none) with a key of its jwks_uri that the kid names",
		append(specLabels("token", "C-9068-2.1-a"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			j := asRow(a.jwtToken, "C-9068-2.1-a")
			signature := a.Raw[strings.LastIndexByte(a.Raw, '.')+1:]
			j.RequireThat(!strings.EqualFold(a.alg(), "none") && signature != "",
				"the token's alg is %q and its signature is %d characters long", a.alg(), len(signature))
			if !isAsymmetric(a.alg()) {
				j.Cannot("the token's alg %q is not an asymmetric one, so it cannot be checked against jwks_uri (C-9068-4-a reports it)", a.alg())
				return
			}
			keys, why := fetchJWKS(ctx)
			if why != "" {
				j.Cannot("the signature cannot be checked: %s", why)
				return
			}
			_, why = verifyJWT(a.jwtToken, keys)
			j.That(why == "", "%s", why)
			if a.alg() != "RS256" {
				row("C-9068-2.1-a").Inform("the token is signed with %s, not RS256 (that both sides support RS256 cannot be checked black-box)", a.alg())
			}
		}, SpecTimeout(target.specTimeout(3)))

	// §2.1 (MUST): the header's typ is at+jwt (recommended) or application/at+jwt, compared
	// case-insensitively (the RFC's own §3 example writes at+JWT). Outside --profile=rfc9068 a
	// JWT with another typ is only reported as not an RFC 9068 token (the registry's grade).
	It("types its JWT access tokens as at+jwt or application/at+jwt in the header's typ",
		append(specLabels("token", "C-9068-2.1-b"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			typ := "absent"
			if v, ok := a.Header["typ"]; ok {
				typ = rsClaimKind(v)
				if s, isString := v.(string); isString {
					typ = fmt.Sprintf("%q", oneLine(s, 60))
				}
			}
			row("C-9068-2.1-b").That(a.claims9068(), "not an RFC 9068 token: the header's typ is %s, not at+jwt or application/at+jwt", typ)
		}, SpecTimeout(target.specTimeout(2)))

	// §2.2 (MUST): iss, exp, aud, sub, client_id, iat and jti are all present: NumericDates for
	// exp and iat, a string or an array of strings for aud, strings otherwise. iss is the
	// issuer identifier exactly (RFC 8414 §2: the metadata's issuer); iat is not in the future
	// and exp after it and not past (a minute's skew either way); jti differs between tokens
	// (three are compared).
	It("puts iss (the issuer), exp, aud, sub, client_id, iat and a unique jti in its JWT access tokens",
		append(specLabels("token", "C-9068-2.2-a"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			j := asRow(a.jwtToken, "C-9068-2.2-a")
			for _, name := range []string{"iss", "sub", "client_id", "jti"} {
				s, ok := a.stringClaim(name)
				j.That(ok && s != "", "the claim %s is %s, not a non-empty string", name, rsClaimKind(a.Claims[name]))
			}
			aud, ok := a.audiences()
			j.That(ok && len(aud) > 0 && !slices.Contains(aud, ""), "the claim aud is %s, not a string or an array of strings", rsClaimKind(a.Claims["aud"]))
			exp, hasExp := a.numericDate("exp")
			iat, hasIat := a.numericDate("iat")
			j.That(hasExp, "the claim exp is %s, not a NumericDate", rsClaimKind(a.Claims["exp"]))
			j.That(hasIat, "the claim iat is %s, not a NumericDate", rsClaimKind(a.Claims["iat"]))
			now, skew := float64(time.Now().Unix()), time.Minute.Seconds()
			if hasExp && hasIat {
				j.That(iat <= now+skew, "iat is %.0f s in the future", iat-now)
				j.That(exp > iat && exp > now-skew, "exp is %.0f s after iat and %.0f s from now", exp-iat, exp-now)
			}
			if iss, ok := a.stringClaim("iss"); ok {
				if want := expectedIssuer(); want != "" {
					j.Expect(iss).To(Equal(want), "iss must be the issuer identifier exactly")
				}
			}
			By("comparing the jti of three tokens")
			// A provider may hand out the same still-valid token again (RFC 6749 sets no rule
			// against it): the same token has the same jti, so only distinct tokens count.
			jtis, seen := []string{}, map[string]bool{}
			for i := range 3 {
				t := a.jwtToken
				if i > 0 {
					t = reissue(ctx, a)
				}
				if seen[t.Raw] {
					continue
				}
				seen[t.Raw] = true
				jti, _ := t.stringClaim("jti")
				j.That(jti == "" || !slices.Contains(jtis, jti), "two tokens have the same jti")
				jtis = append(jtis, jti)
			}
		}, SpecTimeout(target.specTimeout(5)))

	// §2.2 and §5 (SHOULD): with no resource owner (client credentials), sub identifies the
	// client: the same for every token of the client; the client_id is the plain choice, another
	// stable per-client value is recorded. A sub equal to a known user's (user_sub in the target
	// description) could be mistaken for that user.
	It("puts a sub in a client's JWT access tokens that identifies the client, the same in every token",
		append(specLabels("token", "C-9068-2.2-b"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			sub, ok := a.stringClaim("sub")
			if !ok || sub == "" {
				judge.Block("C-9068-2.2-a", "the token has no sub claim")
			}
			j := row("C-9068-2.2-b")
			second, _ := reissue(ctx, a).stringClaim("sub")
			switch {
			case second != sub:
				j.That(false, "two tokens of the same client have different sub claims")
			case target.UserSub != "" && sub == target.UserSub:
				j.That(false, "sub is the subject of a known user (user_sub), so the client's tokens could pass for that user's (RFC 9068 §5)")
			case sub == a.Client.ID:
				j.That(true, "")
			default:
				j.Inform("sub is a stable value other than the client_id")
			}
		}, SpecTimeout(target.specTimeout(3)))

	// §2.2 and RFC 8693 §4.3 (MUST): client_id names the client that asked for the token: the
	// HTTP Basic user, or the client an assertion authenticated.
	It("puts the requesting client's id in the client_id claim of its JWT access tokens",
		append(specLabels("token", "C-9068-2.2-c"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			id, ok := a.stringClaim("client_id")
			if !ok {
				judge.Block("C-9068-2.2-a", "the token's client_id claim is %s", rsClaimKind(a.Claims["client_id"]))
			}
			asRow(a.jwtToken, "C-9068-2.2-c").Expect(id).To(Equal(a.Client.ID), "client_id must name the client that asked for the token")
		}, SpecTimeout(target.specTimeout(2)))

	// §2.2.3 and RFC 8693 §4.2 (SHOULD): a token asked for with scope carries a scope claim, one
	// space-delimited string (an array is a known deviation: Duende's default,
	// spring-authorization-server #877), whose scopes are those granted: the response's scope,
	// or the requested one when the response leaves it out (RFC 6749 §5.1).
	It("puts the granted scope in a space-delimited scope string claim when scope was requested",
		append(specLabels("token", "C-9068-2.2.3-a"), "rfc9068", "cap:jwt-at"), func(ctx SpecContext) {
			a := jwtAccessToken(ctx)
			j := row("C-9068-2.2.3-a")
			v, present := a.Claims["scope"]
			j.RequireThat(present, "the token has no scope claim though scope %q was requested", a.Scope)
			s, isString := v.(string)
			j.RequireThat(isString, "the scope claim is %s, not one space-delimited string", rsClaimKind(v))
			granted := a.Scope
			if a.Issued.HasScope {
				granted = a.Issued.Scope
			}
			j.Expect(strings.Fields(s)).To(ConsistOf(strings.Fields(granted)), "the scope claim must hold the granted scope %q", granted)
		}, SpecTimeout(target.specTimeout(2)))
})

// expectedIssuer is the issuer identifier a token's iss must equal: the metadata's issuer, else
// the configured one.
func expectedIssuer() string {
	if iss, ok := discovered.Doc["issuer"].(string); ok && iss != "" {
		return iss
	}
	return target.Issuer
}

// reissue asks for another token the way a was asked for, and decodes it; the spec is not
// judged when the provider then gives something else than a JWT.
func reissue(ctx SpecContext, a jwtAccess) jwtToken {
	GinkgoHelper()
	tok := tokenFor(ctx, a.Client, a.Scope, a.Resource)
	t, ok := decodeJWT(tok.AccessToken)
	if !ok {
		judge.Skip("the provider gave a JWT access token once and then a token that is not a JWT, for the same request")
	}
	return t
}
