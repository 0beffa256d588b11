package suite

import (
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// RFC 6750 §3: a refused request gets a Bearer challenge in WWW-Authenticate. The C-6750-3-a
// specs judge that the field is there, and with the 3-b specs that it holds a well-formed Bearer
// challenge; the specs that look at one aspect of the challenge (its parameters, their count,
// their characters, the error attribute) are blocked by those rows when there is no challenge
// to look at, so that a missing or malformed challenge is reported once, by its own row.
var _ = Describe("RFC 6750 §3: the WWW-Authenticate response header field", func() {
	// §3 (MUST): a request without credentials, or whose token does not give access, gets a
	// WWW-Authenticate field with a Bearer challenge. Missing headers were common:
	// mod_auth_openidc #124, authlib #296, doorkeeper #243. (The 400 invalid_request refusals
	// are judged by the specs of §2 and §2.1 that provoke them.)
	It("sends WWW-Authenticate with a Bearer challenge to a request without a token",
		specLabels("resource", "C-6750-3-a", "C-6750-3-b"), func(ctx SpecContext) {
			res := getResource(ctx, "no token", "")
			rsExpectRefused(res, "a request without a token")
			rsBearerChallenges(res)
		}, SpecTimeout(target.specTimeout(1)))

	It("sends WWW-Authenticate with a Bearer challenge to a request with a random token",
		specLabels("resource", "C-6750-3-a", "C-6750-3-b"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			rsBearerChallenges(res)
		}, SpecTimeout(target.specTimeout(1)))

	It("sends WWW-Authenticate with a Bearer challenge to a token without the scope the resource needs",
		specLabels("resource", "C-6750-3-a", "C-6750-3-b"), func(ctx SpecContext) {
			res := rsRequestWithoutScope(ctx)
			rsExpectRefused(res, "a token without the scope the resource needs")
			rsBearerChallenges(res)
		}, SpecTimeout(target.specTimeout(4)))

	// §3 (MUST): the challenge uses the Bearer scheme, even when the client tried another scheme
	// the resource does not take: a resource that answers an HTTP Basic attempt with a Basic
	// challenge invites the client to send passwords where a token belongs. Other challenges may
	// come along; a Bearer one must be among them. The Basic credentials are made up.
	It("challenges a request that tries HTTP Basic with Bearer, the scheme the resource takes",
		specLabels("resource", "C-6750-3-b"), func(ctx SpecContext) {
			res := getResource(ctx, "HTTP Basic instead of a token", rsBogusBasic)
			rsExpectRefused(res, "a request with HTTP Basic credentials and no token")
			rsBearerChallenges(res)
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MUST): the Bearer scheme is followed by at least one auth-param, separated from it by
	// a space. A bare "Bearer" is so common that the checklist grades it leniently: a warning
	// (a failure with --strict). A token68 where the auth-params belong fails. A stray comma
	// after the scheme ("Bearer, error=…", dadi/api PR #34) makes the field a malformed
	// challenge, C-6750-3-b's failure.
	It("follows the Bearer scheme with its auth-params when there is no token",
		specLabels("resource", "C-6750-3-c"), func(ctx SpecContext) {
			rsExpectBearerParams(getResource(ctx, "no token", ""))
		}, SpecTimeout(target.specTimeout(1)))

	It("follows the Bearer scheme with its auth-params when the token is random",
		specLabels("resource", "C-6750-3-c"), func(ctx SpecContext) {
			rsExpectBearerParams(getResource(ctx, "random token", "Bearer "+rsBogusToken()))
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MUST): realm, scope, error, error_description and error_uri each appear at most once
	// in a challenge; a refused token's challenge is the one most likely to carry several.
	It("sends each of realm, scope, error, error_description and error_uri at most once when refusing a random token",
		specLabels("resource", "C-6750-3-d"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			for _, c := range rsBearerChallenges(res) {
				for _, name := range []string{"realm", "scope", "error", "error_description", "error_uri"} {
					row("C-6750-3-d").Expect(c.Count(name)).To(BeNumerically("<=", 1), "%s appears %d times", name, c.Count(name))
				}
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MUST): error and error_description keep to %x20-21 / %x23-5B / %x5D-7E, error_uri is a
	// URI reference in %x21 / %x23-5B / %x5D-7E, and scope is scope tokens separated by single
	// spaces. Once for an invalid token (error and its description), once for a missing scope
	// (where a scope attribute is most likely).
	It("keeps the challenge's attributes in their character sets when refusing a random token",
		specLabels("resource", "C-6750-3-e"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			expectChallengeAttributeSyntax(rsBearerChallenges(res))
		}, SpecTimeout(target.specTimeout(1)))

	It("keeps the challenge's attributes in their character sets when refusing a token without the scope",
		specLabels("resource", "C-6750-3-e"), func(ctx SpecContext) {
			res := rsRequestWithoutScope(ctx)
			rsExpectRefused(res, "a token without the scope the resource needs")
			expectChallengeAttributeSyntax(rsBearerChallenges(res))
		}, SpecTimeout(target.specTimeout(4)))

	// §3 (SHOULD): when the request carried a token and it failed, the challenge says so with an
	// error attribute (whose code §3.1 checks).
	It("puts an error attribute in the challenge that refuses a random token",
		specLabels("resource", "C-6750-3-f"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			rsBearerChallenges(res)
			row("C-6750-3-f").Expect(res).To(rsHaveBearerAttribute("error"))
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MAY): realm, scope, error_description and error_uri are optional; which ones the
	// provider sends is recorded, for a request without a token, a random token and, when the
	// target declares a scoped resource, a token without its scope.
	It("records which optional attributes its challenges carry",
		specLabels("resource", "C-6750-3-g"), func(ctx SpecContext) {
			record := func(what string, res *http.Response) {
				rsExpectRefused(res, "a request with "+what)
				c := rsBearerChallenges(res)[0]
				var present, absent []string
				for _, name := range []string{"realm", "scope", "error_description", "error_uri"} {
					if c.Count(name) > 0 {
						present = append(present, name)
					} else {
						absent = append(absent, name)
					}
				}
				row("C-6750-3-g").Inform("%s: the Bearer challenge carries [%s], not [%s]", what, strings.Join(present, " "), strings.Join(absent, " "))
			}
			record("no token", getResource(ctx, "no token", ""))
			record("random token", getResource(ctx, "random token", "Bearer "+rsBogusToken()))
			if _, _, ok := rsFindScopedResource(); ok {
				record("token without the scope", rsRequestWithoutScope(ctx))
			}
		}, SpecTimeout(target.specTimeout(6)))
})

var _ = Describe("RFC 6750 §3.1: error codes", func() {
	// §3.1 (MUST): the error code of a refusal is one §3.1 defines (invalid_request,
	// invalid_token, insufficient_scope); oauthjs/node-oauth2-server #371 sent invalid_scope,
	// which belongs to the token endpoint. A refusal without an error code is §3's business
	// (C-6750-3-f), not this rule's.
	It("uses one of the defined error codes when refusing a random token",
		specLabels("resource", "C-6750-3.1-a"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectDefinedCode(res, "a random token")
		}, SpecTimeout(target.specTimeout(1)))

	It("uses one of the defined error codes when refusing a token without the scope",
		specLabels("resource", "C-6750-3.1-a"), func(ctx SpecContext) {
			rsExpectDefinedCode(rsRequestWithoutScope(ctx), "a token without the scope the resource needs")
		}, SpecTimeout(target.specTimeout(4)))

	// §3.1 (SHOULD): invalid_request goes with 400. Judged on requests the provider itself calls
	// invalid_request: the token in the header and the query at once, and two tokens in the
	// header. When the provider calls them something else, or serves them (OAuth 2.1 §5.1 has a
	// resource server ignore the query's token), the status that goes with invalid_request
	// cannot be seen here, and the spec says so; the C-6750-2-a and 2.1-d specs judge the code.
	It("answers a token in the header and the query, which it calls invalid_request, with 400",
		specLabels("resource", "C-6750-3.1-b"), func(ctx SpecContext) {
			issue := func() issuedToken { return rsReadToken(ctx) }
			res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return send(ctx, request{Path: target.ReadPath, Note: "token in the header and the query",
					Query: url.Values{"access_token": {t.AccessToken}}, Authorization: t.bearer()})
			})
			if rsSucceeded(res) {
				row("C-6750-3.1-b").Cannot("the provider served the token sent in the header and the query (%s), so it did not call the request invalid_request", res.Status)
				return
			}
			rsExpect400ForInvalidRequest(res)
		}, SpecTimeout(target.specTimeout(4)))

	It("answers Authorization: Bearer a b, which it calls invalid_request, with 400",
		specLabels("resource", "C-6750-3.1-b"), func(ctx SpecContext) {
			res := getResource(ctx, "Bearer with two tokens", "Bearer a b")
			rsExpectRefused(res, "a malformed Authorization value")
			rsExpect400ForInvalidRequest(res)
		}, SpecTimeout(target.specTimeout(1)))

	// §3.1 (SHOULD): a token that is malformed, unknown, expired or revoked is invalid_token,
	// with 401. (The mutated and expired tokens of RFC 6749 §7's specs are checked the same way.)
	It("answers a random token with 401 and error=\"invalid_token\"",
		specLabels("resource", "C-6750-3.1-c"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			rsExpectError(res, "C-6750-3.1-c", "invalid_token", http.StatusUnauthorized)
		}, SpecTimeout(target.specTimeout(1)))

	// §3.1 (SHOULD): a token that lacks the scope the resource needs is insufficient_scope, with
	// 403 (a scope attribute may name what is needed; C-6750-3-g records it). A 401, as
	// doorkeeper #243 and thephpleague/oauth2-server PR #186 sent, is a warning.
	It("answers a token without the scope the resource needs with 403 and error=\"insufficient_scope\"",
		specLabels("resource", "C-6750-3.1-d"), func(ctx SpecContext) {
			res := rsRequestWithoutScope(ctx)
			rsExpectRefused(res, "a token without the scope the resource needs")
			rsExpectError(res, "C-6750-3.1-d", "insufficient_scope", http.StatusForbidden)
		}, SpecTimeout(target.specTimeout(4)))

	// §3.1 (SHOULD NOT): a request with no authentication information, whether it sent nothing
	// or tried a scheme the resource does not take, gets no error code and no other error
	// information (error_description, error_uri) in its challenge: the client made no mistake
	// with a token. The challenge itself is still required (§3, MUST).
	It("challenges a request without Authorization with no error attributes",
		specLabels("resource", "C-6750-3.1-e"), func(ctx SpecContext) {
			rsExpectNoErrorInformation(getResource(ctx, "no token", ""), "a request without a token")
		}, SpecTimeout(target.specTimeout(1)))

	It("challenges a request with Authorization: Basic with no error attributes",
		specLabels("resource", "C-6750-3.1-e"), func(ctx SpecContext) {
			rsExpectNoErrorInformation(getResource(ctx, "HTTP Basic instead of a token", rsBogusBasic), "a request with HTTP Basic credentials and no token")
		}, SpecTimeout(target.specTimeout(1)))
})

// rsBogusBasic is an HTTP Basic Authorization value with made-up credentials: a scheme the
// resource does not take. Never the client's real secret, which has no business at a resource.
var rsBogusBasic = httpauth.BasicAuthorization("ccconform-bogus-client", "not-a-secret")

// rsExpectBearerParams: a refusal whose Bearer challenge has at least one auth-param (RFC 6750
// §3); a bare scheme is the checklist's lenient case of C-6750-3-c, a token68 is not.
func rsExpectBearerParams(res *http.Response) {
	GinkgoHelper()
	rsExpectRefused(res, "the request")
	c := rsBearerChallenges(res)[0]
	if c.Token68 != "" {
		row("C-6750-3-c").That(false, "the Bearer challenge carries a token68 (%d characters) where its auth-params belong", len(c.Token68))
		return
	}
	row("C-6750-3-c").Lenient().That(len(c.Params) > 0, "the Bearer challenge has no auth-params: WWW-Authenticate is %q",
		strings.Join(res.Header.Values("WWW-Authenticate"), ", "))
}

// expectChallengeAttributeSyntax: the attributes of the Bearer challenges keep to their syntax
// (RFC 6750 §3). A challenge with none of the attributes that have one (realm has none) leaves
// the row unjudged.
func expectChallengeAttributeSyntax(cs []httpauth.Challenge) {
	GinkgoHelper()
	checked := false
	for _, c := range cs {
		for _, p := range c.Params {
			switch strings.ToLower(p.Name) {
			case "error", "error_description":
				row("C-6750-3-e").Expect(p.Value).To(MatchRegexp(errorCharset.String()), "%s has characters outside %%x20-21 / %%x23-5B / %%x5D-7E", p.Name)
			case "error_uri":
				_, err := url.Parse(p.Value)
				row("C-6750-3-e").That(errorURICharset.MatchString(p.Value) && err == nil,
					"error_uri %q is not a URI reference in %%x21 / %%x23-5B / %%x5D-7E", p.Value)
			case "scope":
				row("C-6750-3-e").Expect(p.Value).To(MatchRegexp(scopeTokens), "scope is not scope tokens separated by single spaces")
			default:
				continue
			}
			checked = true
		}
	}
	if !checked {
		row("C-6750-3-e").Cannot("the Bearer challenge has no error, error_description, error_uri or scope attribute, the ones with a character set")
	}
}

// rsHaveBearerAttribute: the Bearer challenge has the attribute, whatever its value.
func rsHaveBearerAttribute(name string) types.GomegaMatcher {
	return haveBearerChallengeWhere("with "+name, func(c httpauth.Challenge) bool { return c.Count(name) > 0 })
}

// rsExpectDefinedCode: a refusal whose Bearer challenge's error code, if it has one, is one of
// RFC 6750 §3.1's or a registered extension.
func rsExpectDefinedCode(res *http.Response, what string) {
	GinkgoHelper()
	rsExpectRefused(res, what)
	code, ok := rsBearerChallenges(res)[0].Param("error")
	if !ok {
		row("C-6750-3.1-a").Cannot("the refusal of %s has no error attribute (C-6750-3-f judges that)", what)
		return
	}
	row("C-6750-3.1-a").Expect(code).To(BeElementOf(bearerErrorCodes), "the error code")
}

// rsExpect400ForInvalidRequest: if the refusal's challenge says invalid_request, its status is
// 400 (RFC 6750 §3.1, SHOULD); otherwise the spec says it could not see that status.
func rsExpect400ForInvalidRequest(res *http.Response) {
	GinkgoHelper()
	code, _ := rsBearerChallenges(res)[0].Param("error")
	if code != "invalid_request" {
		row("C-6750-3.1-b").Cannot("the provider did not call this request invalid_request (%s, error %q), so the status that goes with that code was not seen", res.Status, code)
		return
	}
	row("C-6750-3.1-b").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "invalid_request goes with 400")
}

// rsExpectNoErrorInformation: a refusal whose Bearer challenge has no error, error_description or
// error_uri.
func rsExpectNoErrorInformation(res *http.Response, what string) {
	GinkgoHelper()
	rsExpectRefused(res, what)
	rsBearerChallenges(res)
	for _, name := range []string{"error", "error_description", "error_uri"} {
		row("C-6750-3.1-e").Expect(res).To(HaveBearerChallengeWithout(name))
	}
}
