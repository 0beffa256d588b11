package suite

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// RFC 6750 §3: a refused request gets a Bearer challenge in WWW-Authenticate. The specs that
// look at one aspect of the challenge (its parameters, their count, their characters, the error
// attribute) skip when there is no Bearer challenge to look at: the C-6750-3-a and 3-b specs
// report that once.
var _ = Describe("RFC 6750 §3: the WWW-Authenticate response header field", func() {
	// §3 (MUST): a request without credentials, or whose token does not give access, gets a
	// WWW-Authenticate field, with a Bearer challenge whose attributes appear at most once, in
	// their character sets, with one of §3.1's error codes: the shape expectBearerRefusal checks.
	// Missing headers were common: mod_auth_openidc #124, authlib #296, doorkeeper #243.
	It("sends WWW-Authenticate with a Bearer challenge to a request without a token",
		specLabels("resource", "C-6750-3-a"), func(ctx SpecContext) {
			expectBearerRefusal(getResource(ctx, "no token", ""))
		}, SpecTimeout(target.specTimeout(1)))

	It("sends WWW-Authenticate with a Bearer challenge to a request with a random token",
		specLabels("resource", "C-6750-3-a"), func(ctx SpecContext) {
			expectBearerRefusal(getResource(ctx, "random token", "Bearer "+rsBogusToken()))
		}, SpecTimeout(target.specTimeout(1)))

	It("sends WWW-Authenticate with a Bearer challenge to a token without the scope the resource needs",
		specLabels("resource", "C-6750-3-a"), func(ctx SpecContext) {
			res, _ := rsRequestWithoutScope(ctx)
			expectBearerRefusal(res)
		}, SpecTimeout(target.specTimeout(2)))

	// §3 (MUST): the challenge uses the Bearer scheme, even when the client tried another scheme
	// the resource does not take: a resource that answers an HTTP Basic attempt with a Basic
	// challenge invites the client to send passwords where a token belongs. Other challenges may
	// come along; a Bearer one must be among them. The Basic credentials are made up.
	It("challenges a request that tries HTTP Basic with Bearer, the scheme the resource takes",
		specLabels("resource", "C-6750-3-b"), func(ctx SpecContext) {
			res := getResource(ctx, "HTTP Basic instead of a token", rsBogusBasic)
			rsExpectRefused(res, "a request with HTTP Basic credentials and no token")
			Expect(res).To(HaveHTTPHeaderWithValue("WWW-Authenticate", Not(BeEmpty())), per("C-6750-3-a"))
			Expect(res).To(HaveChallenge("Bearer"), per("C-6750-3-b"))
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MUST): the Bearer scheme is followed by at least one auth-param, separated from it by
	// a space. A stray comma after the scheme ("Bearer, error=…", dadi/api PR #34) makes the
	// field unreadable for a strict parser: a failure. A bare "Bearer" is so common that the
	// checklist grades it leniently: a warning.
	It("follows the Bearer scheme with its auth-params, not a comma, when there is no token",
		specLabels("resource", "C-6750-3-c"), func(ctx SpecContext) {
			rsExpectBearerParams(getResource(ctx, "no token", ""))
		}, SpecTimeout(target.specTimeout(1)))

	It("follows the Bearer scheme with its auth-params, not a comma, when the token is random",
		specLabels("resource", "C-6750-3-c"), func(ctx SpecContext) {
			rsExpectBearerParams(getResource(ctx, "random token", "Bearer "+rsBogusToken()))
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MUST): realm, scope, error, error_description and error_uri each appear at most once
	// in a challenge; a refused token's challenge is the one most likely to carry several.
	It("sends each of realm, scope, error, error_description and error_uri at most once when refusing a random token",
		specLabels("resource", "C-6750-3-d"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			for _, c := range rsBearerChallengesOrSkip(res) {
				for _, name := range []string{"realm", "scope", "error", "error_description", "error_uri"} {
					Expect(c.Count(name)).To(BeNumerically("<=", 1), per("C-6750-3-d", fmt.Sprintf("%s appears %d times", name, c.Count(name))))
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
			for _, c := range rsBearerChallengesOrSkip(res) {
				expectChallengeAttributeSyntax(c)
			}
		}, SpecTimeout(target.specTimeout(1)))

	It("keeps the challenge's attributes in their character sets when refusing a token without the scope",
		specLabels("resource", "C-6750-3-e"), func(ctx SpecContext) {
			res, _ := rsRequestWithoutScope(ctx)
			rsExpectRefused(res, "a token without the scope the resource needs")
			for _, c := range rsBearerChallengesOrSkip(res) {
				expectChallengeAttributeSyntax(c)
			}
		}, SpecTimeout(target.specTimeout(2)))

	// §3 (SHOULD): when the request carried a token and it failed, the challenge says so with an
	// error attribute (whose code §3.1 checks).
	It("puts an error attribute in the challenge that refuses a random token",
		specLabels("resource", "C-6750-3-f"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			rsBearerChallengesOrSkip(res)
			expectSoftly("C-6750-3-f", func(g Gomega) { g.Expect(res).To(rsHaveBearerAttribute("error")) })
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MAY): realm, scope, error_description and error_uri are optional; which ones the
	// provider sends is recorded, for a request without a token, a random token and, when the
	// target declares a scoped resource, a token without its scope.
	It("records which optional attributes its challenges carry",
		specLabels("resource", "C-6750-3-g"), func(ctx SpecContext) {
			record := func(what string, res *http.Response) {
				expectBearerRefusal(res)
				cs, _ := challengesOf(res)
				c, _ := httpauth.Find(cs, "Bearer")
				var present, absent []string
				for _, name := range []string{"realm", "scope", "error_description", "error_uri"} {
					if c.Count(name) > 0 {
						present = append(present, name)
					} else {
						absent = append(absent, name)
					}
				}
				observe("C-6750-3-g", "%s: the Bearer challenge carries [%s], not [%s]", what, strings.Join(present, " "), strings.Join(absent, " "))
			}
			record("no token", getResource(ctx, "no token", ""))
			record("random token", getResource(ctx, "random token", "Bearer "+rsBogusToken()))
			if res, ok := rsTryRequestWithoutScope(ctx); ok {
				record("token without the scope", res)
			}
		}, SpecTimeout(target.specTimeout(4)))
})

var _ = Describe("RFC 6750 §3.1: error codes", func() {
	// §3.1 (MUST): the error code of a refusal is one §3.1 defines (invalid_request,
	// invalid_token, insufficient_scope); oauthjs/node-oauth2-server #371 sent invalid_scope,
	// which belongs to the token endpoint. A refusal without an error code is §3's business
	// (C-6750-3-f), not this rule's.
	It("uses one of the defined error codes when refusing a random token",
		specLabels("resource", "C-6750-3.1-a"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectDefinedCode(res)
		}, SpecTimeout(target.specTimeout(1)))

	It("uses one of the defined error codes when refusing a token without the scope",
		specLabels("resource", "C-6750-3.1-a"), func(ctx SpecContext) {
			res, _ := rsRequestWithoutScope(ctx)
			rsExpectDefinedCode(res)
		}, SpecTimeout(target.specTimeout(2)))

	// §3.1 (SHOULD): invalid_request goes with 400. Judged on requests the provider itself calls
	// invalid_request: the token in the header and the query at once, and two tokens in the
	// header. When the provider calls them something else (or serves them), the status that goes
	// with invalid_request cannot be seen here; the C-6750-2-a and 2.1-d specs judge the code, and
	// this spec records what it saw.
	It("answers a token in the header and the query, which it calls invalid_request, with 400",
		specLabels("resource", "C-6750-3.1-b"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := send(ctx, request{Path: target.ReadPath, Note: "token in the header and the query",
				Query: url.Values{"access_token": {tok.AccessToken}}, Authorization: tok.bearer()})
			rsExpect400ForInvalidRequest(res)
		}, SpecTimeout(target.specTimeout(2)))

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
			expectSoftly("C-6750-3.1-c", func(g Gomega) { rsExpectInvalidToken(g, res) })
		}, SpecTimeout(target.specTimeout(1)))

	// §3.1 (SHOULD): a token that lacks the scope the resource needs is insufficient_scope, with
	// 403 (a scope attribute may name what is needed; C-6750-3-g records it). A 401, as
	// doorkeeper #243 and thephpleague/oauth2-server PR #186 sent, is a warning.
	It("answers a token without the scope the resource needs with 403 and error=\"insufficient_scope\"",
		specLabels("resource", "C-6750-3.1-d"), func(ctx SpecContext) {
			res, _ := rsRequestWithoutScope(ctx)
			rsExpectRefused(res, "a token without the scope the resource needs")
			expectSoftly("C-6750-3.1-d", func(g Gomega) { rsExpectInsufficientScope(g, res) })
		}, SpecTimeout(target.specTimeout(2)))

	// §3.1 (SHOULD NOT): a request with no authentication information, whether it sent nothing
	// or tried a scheme the resource does not take, gets no error code and no other error
	// information (error_description, error_uri) in its challenge: the client made no mistake
	// with a token. The challenge itself is still required (§3, MUST).
	It("challenges a request without Authorization with no error attributes",
		specLabels("resource", "C-6750-3.1-e"), func(ctx SpecContext) {
			res := getResource(ctx, "no token", "")
			expectBearerRefusal(res)
			expectSoftly("C-6750-3.1-e", func(g Gomega) { rsExpectNoErrorInformation(g, res) })
		}, SpecTimeout(target.specTimeout(1)))

	It("challenges a request with Authorization: Basic with no error attributes",
		specLabels("resource", "C-6750-3.1-e"), func(ctx SpecContext) {
			res := getResource(ctx, "HTTP Basic instead of a token", rsBogusBasic)
			expectBearerRefusal(res)
			expectSoftly("C-6750-3.1-e", func(g Gomega) { rsExpectNoErrorInformation(g, res) })
		}, SpecTimeout(target.specTimeout(1)))
})

// rsBogusBasic is an HTTP Basic Authorization value with made-up credentials: a scheme the
// resource does not take. Never the client's real secret, which has no business at a resource.
var rsBogusBasic = httpauth.BasicAuthorization("ccconform-bogus-client", "not-a-secret")

// rsBearerChallengesOrSkip returns the Bearer challenges of a refusal, or skips the spec when
// there is none to look at: no WWW-Authenticate field, a field that does not parse, or no Bearer
// challenge in it. The C-6750-3-a, 3-b and 3-c specs report those, once.
func rsBearerChallengesOrSkip(res *http.Response) []httpauth.Challenge {
	GinkgoHelper()
	values := res.Header.Values("WWW-Authenticate")
	if len(values) == 0 {
		Skip("the refusal has no WWW-Authenticate field to inspect; the C-6750-3-a specs report that")
	}
	cs, err := challengesOf(res)
	if err != nil {
		Skip("the refusal's WWW-Authenticate does not parse (" + err.Error() + "); the C-6750-3-c specs report that")
	}
	var bearer []httpauth.Challenge
	for _, c := range cs {
		if c.Is("Bearer") {
			bearer = append(bearer, c)
		}
	}
	if len(bearer) == 0 {
		Skip("the refusal has no Bearer challenge to inspect; the C-6750-3-b specs report that")
	}
	return bearer
}

// rsExpectBearerParams: a refusal whose WWW-Authenticate field parses (RFC 9110 §11.6.1: a
// scheme, then its auth-params after a space), with a Bearer challenge that has at least one
// auth-param (RFC 6750 §3; a bare scheme is graded as a warning).
func rsExpectBearerParams(res *http.Response) {
	GinkgoHelper()
	rsExpectRefused(res, "the request")
	Expect(res).To(HaveHTTPHeaderWithValue("WWW-Authenticate", Not(BeEmpty())), per("C-6750-3-a"))
	_, err := challengesOf(res)
	Expect(err).NotTo(HaveOccurred(), per("C-6750-3-c", "WWW-Authenticate does not parse as a scheme followed by its auth-params"))
	Expect(res).To(HaveChallenge("Bearer"), per("C-6750-3-b"))
	expectSoftly("C-6750-3-c", func(g Gomega) { g.Expect(res).To(HaveBearerChallengeWithParams()) })
}

// rsHaveBearerAttribute: the Bearer challenge has the attribute, whatever its value.
func rsHaveBearerAttribute(name string) types.GomegaMatcher {
	return haveBearerChallengeWhere("with "+name, func(c httpauth.Challenge) bool { return c.Count(name) > 0 })
}

// rsExpectDefinedCode: a Bearer refusal (expectBearerRefusal) whose error code, if any, is one of
// RFC 6750 §3.1's.
func rsExpectDefinedCode(res *http.Response) {
	GinkgoHelper()
	expectBearerRefusal(res)
	if code, ok := bearerParam(res, "error"); ok {
		Expect(code).To(BeElementOf(bearerErrorCodes), per("C-6750-3.1-a", fmt.Sprintf("the error code is %q", code)))
	}
}

// rsExpect400ForInvalidRequest: if the refusal is invalid_request (in its challenge or its body),
// its status is 400 (RFC 6750 §3.1, SHOULD); otherwise what was seen is recorded.
func rsExpect400ForInvalidRequest(res *http.Response) {
	GinkgoHelper()
	code, _ := rsErrorIndication(res)
	if code != "invalid_request" {
		observe("C-6750-3.1-b", "the provider did not call this request invalid_request (%s, error %q), so the status that goes with that code was not seen", res.Status, code)
		return
	}
	expectSoftly("C-6750-3.1-b", func(g Gomega) {
		g.Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "invalid_request goes with 400")
	})
}

// rsExpectNoErrorInformation: the Bearer challenge has no error, error_description or error_uri.
func rsExpectNoErrorInformation(g Gomega, res *http.Response) {
	for _, name := range []string{"error", "error_description", "error_uri"} {
		g.Expect(res).To(HaveBearerChallengeWithout(name))
	}
}

// rsTryRequestWithoutScope is rsRequestWithoutScope for a spec that only records what it sees:
// it reports false, instead of skipping, when the target has no scoped resource or no such token
// can be had.
func rsTryRequestWithoutScope(ctx context.Context) (*http.Response, bool) {
	GinkgoHelper()
	r, other, ok := rsFindScopedResource()
	if !ok || target.TokenPath == "" {
		return nil, false
	}
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "get a token",
		Form: form("scope", other), Authorization: target.Client.basic()})
	if err != nil {
		return nil, false
	}
	tok, why := parseTokenResponse(res)
	if why != "" || !strings.EqualFold(tok.TokenType, "Bearer") || rsGrantCovers(tok, r) {
		return nil, false
	}
	return send(ctx, request{Method: r.Method, Path: r.Path, Note: "token without scope " + r.Scope, Authorization: tok.bearer()}), true
}
