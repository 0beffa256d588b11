package suite

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// RFC 6749 §3.2: the token endpoint as a whole, on the request side: TLS, its URI, the method,
// and how parameters are read (empty ones, unknown ones, repeated ones).
var _ = Describe("RFC 6749 §3.2: the token endpoint", func() {
	// §3.2 (MUST, with §1.6 and §2.3.1): the token endpoint is only reachable over TLS, since
	// client passwords travel in its requests. An https target is probed at its http://
	// equivalent (same host; same port if the URL names one, else 80) with bogus credentials,
	// so nothing real crosses the wire in clear. Accepted: a refused or failed connection, an
	// answer that is not OAuth (the "HTTP request to an HTTPS server" 400 of many TLS servers, an
	// HTML page), or a redirect to https that did not process the request. An OAuth answer (a
	// JSON object with error or access_token) means the endpoint processed credentials in clear.
	It("does not process a token request sent to its http:// equivalent (bogus credentials): no OAuth answer over cleartext",
		specLabels("token", "C-6749-3.2-a"), func(ctx SpecContext) {
			needTokenPath()
			cleartext := cleartextTwin()
			res, err := trySend(ctx, request{Base: cleartext, Method: http.MethodPost, Path: target.TokenPath,
				Note:          "cleartext " + cleartext + ", bogus credentials",
				Form:          validForm(),
				Authorization: httpauth.BasicAuthorization(bogusClientID, "ccconform-bogus-secret")})
			if err != nil {
				GinkgoWriter.Printf("the cleartext probe got no answer, which is what TLS-only means: %v\n", err)
				return
			}
			obj, jsonErr := decodeObject(bodyOf(res))
			oauthShaped := jsonErr == nil && (obj.members["error"] != nil || obj.members["access_token"] != nil)
			Expect(oauthShaped).To(BeFalse(), per("C-6749-3.2-a",
				fmt.Sprintf("the token endpoint answered an OAuth request over cleartext http with %s and an OAuth body", res.Status)))
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2 (MUST): the endpoint URI must not include a fragment component. The suite knows the
	// URI from its configuration (--provider-url plus --token-path), so that is what it checks.
	It("has a configured token endpoint URI without a fragment (--provider-url plus --token-path)",
		specLabels("token", "C-6749-3.2-b"), func(_ SpecContext) {
			needTokenPath()
			endpoint := target.url(target.TokenPath)
			u, err := url.Parse(endpoint)
			Expect(err).NotTo(HaveOccurred(), per("C-6749-3.2-b", "the token endpoint URI does not parse"))
			Expect(u.Fragment == "" && !strings.Contains(endpoint, "#")).To(BeTrue(),
				per("C-6749-3.2-b", fmt.Sprintf("the configured token endpoint %q has a fragment", endpoint)))
		}, SpecTimeout(target.specTimeout(0)))

	// §3.2 (MUST, on the client): token requests use POST. The checklist derives the server's
	// side (kind R, a warning unless --strict): a GET carrying every parameter in the query, with
	// valid HTTP Basic credentials, gets no token. 405 (the method is not allowed) and 400
	// (invalid_request) are both accepted.
	It("answers a GET with the parameters in the query and valid HTTP Basic credentials with 405 or 400 and no token",
		specLabels("token", "C-6749-3.2-c"), func(ctx SpecContext) {
			needTokenPath()
			res := send(ctx, request{Method: http.MethodGet, Path: target.TokenPath, Note: "GET, parameters in the query",
				Query: validForm(), Authorization: target.Client.basic()})
			expectSoftly("C-6749-3.2-c", func(g Gomega) {
				expectNoTokenIn(g, res)
				g.Expect(res).To(HaveHTTPStatus(http.StatusMethodNotAllowed, http.StatusBadRequest))
			})
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2 (MUST): a parameter sent without a value is treated as if it were omitted. An empty
	// scope must therefore get what no scope gets (§3.3 lets that be a default scope or
	// invalid_scope; either is fine, as long as both requests get the same).
	It("answers scope= (empty) as it answers a request without scope",
		specLabels("token", "C-6749-3.2-d"), func(ctx SpecContext) {
			needTokenPath()
			By("scope omitted")
			omitted := postToken(ctx, "scope omitted", target.Client.basic(), form())
			By("scope sent without a value")
			empty := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "scope sent empty",
				RawBody: "grant_type=client_credentials&scope=", Authorization: target.Client.basic()})
			Expect(outcomeClass(empty)).To(Equal(outcomeClass(omitted)), per("C-6749-3.2-d", "an empty scope must count as no scope"))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.2 (MUST): likewise an empty grant_type is a missing grant_type (§4.4.2 then asks for
	// invalid_request; that code is C-6749-4.4.2-a's business, this spec only wants both
	// requests answered alike).
	It("answers grant_type= (empty) as it answers a request without grant_type",
		specLabels("token", "C-6749-3.2-d"), func(ctx SpecContext) {
			needTokenPath()
			By("grant_type omitted")
			omitted := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "grant_type omitted",
				RawBody: "scope=" + url.QueryEscape(askedScope()), Authorization: target.Client.basic()})
			By("grant_type sent without a value")
			empty := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "grant_type sent empty",
				RawBody: "grant_type=&scope=" + url.QueryEscape(askedScope()), Authorization: target.Client.basic()})
			Expect(outcomeClass(empty)).To(Equal(outcomeClass(omitted)), per("C-6749-3.2-d", "an empty grant_type must count as no grant_type"))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.2 (MUST): an empty parameter the server does not know is omitted, and an omitted
	// unknown parameter changes nothing: the request still gets its token.
	It("answers a valid request with an empty unknown parameter (conformance_empty=) with a token",
		specLabels("token", "C-6749-3.2-d"), func(ctx SpecContext) {
			needTokenPath()
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "an empty unknown parameter",
				RawBody: validForm().Encode() + "&conformance_empty=", Authorization: target.Client.basic()})
			if !tokenGranted(res) {
				skipUnlessPlainRequestWorks(ctx)
			}
			Expect(res).To(HaveHTTPStatus(http.StatusOK), per("C-6749-3.2-d", "the empty unknown parameter was not ignored"))
			Expect(tokenGranted(res)).To(BeTrue(), per("C-6749-3.2-d", "the empty unknown parameter was not ignored"))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.2 (MUST): the server ignores request parameters it does not recognize, so an extension
	// the client sends cannot make a valid request fail.
	It("answers a valid request with an unknown parameter (conformance_unknown=1) with a token",
		specLabels("token", "C-6749-3.2-e"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "an unknown parameter", target.Client.basic(), validForm("conformance_unknown", "1"))
			if !tokenGranted(res) {
				skipUnlessPlainRequestWorks(ctx)
			}
			Expect(res).To(HaveHTTPStatus(http.StatusOK), per("C-6749-3.2-e", "the unknown parameter was not ignored"))
			Expect(tokenGranted(res)).To(BeTrue(), per("C-6749-3.2-e", "the unknown parameter was not ignored"))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.2 (MUST): request parameters must not be included more than once, and §5.2 names the
	// error: invalid_request. The checklist grades it so: no token and a 400 are required; any
	// OAuth error code passes that, and a code other than invalid_request is a warning.
	// (resource is not tried: RFC 8707 lets it repeat.)
	It("answers a repeated grant_type with 400, invalid_request and no token",
		specLabels("token", "C-6749-3.2-f"), func(ctx SpecContext) {
			needTokenPath()
			body := validForm()
			body["grant_type"] = []string{"client_credentials", "client_credentials"}
			res := postToken(ctx, "grant_type twice", target.Client.basic(), body)
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectRepeatRefused(res, true)
		}, SpecTimeout(target.specTimeout(1)))

	It("answers a repeated scope with 400, invalid_request and no token",
		specLabels("token", "C-6749-3.2-f"), func(ctx SpecContext) {
			needTokenPath()
			body := validForm()
			body["scope"] = []string{askedScope(), askedScope()}
			res := postToken(ctx, "scope twice", target.Client.basic(), body)
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectRepeatRefused(res, true)
		}, SpecTimeout(target.specTimeout(1)))

	// The same with credentials in the body (which needs a provider that takes them, §2.3.1 MAY):
	// client_id twice, both times the client's own. invalid_client (400 or 401) passes the MUST
	// too, as a failed authentication; it is a warning, as every code but invalid_request is.
	It("answers a repeated client_id in a body-authenticated request with 400, invalid_request and no token",
		specLabels("token", "C-6749-3.2-f"), func(ctx SpecContext) {
			needTokenPath()
			needBodyCredentials(ctx)
			body := bodyCredentials(target.Client)
			raw := "grant_type=client_credentials&scope=" + url.QueryEscape(askedScope()) +
				"&client_id=" + url.QueryEscape(target.Client.ID) + "&client_id=" + url.QueryEscape(target.Client.ID) +
				"&client_secret=" + url.QueryEscape(body.Get("client_secret"))
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "client_id twice in the body", RawBody: raw})
			expectRepeatRefused(res, false)
		}, SpecTimeout(target.specTimeout(2)))
})

// bogusClientID is a client id no provider registers.
const bogusClientID = "ccconform-unknown-client"

// askedScope is the scope the request-side specs ask for: one the default client may be
// granted, so that a refusal can only come from what the spec varies.
func askedScope() string { return target.allowedScopes()[0] }

// validForm is a valid client credentials request body asking for askedScope, with pairs as
// form takes them.
func validForm(pairs ...string) url.Values {
	return form(append([]string{"scope", askedScope()}, pairs...)...)
}

// tokenGranted reports whether the response is a usable access token response.
func tokenGranted(res *http.Response) bool {
	_, why := parseTokenResponse(res)
	return why == ""
}

// skipUnlessPlainRequestWorks is called when a variant of a valid request got no token. It
// sends the plain valid request; if that gets no token either, the variant is not the cause,
// and the spec is skipped (C-6749-2.3.1-a and C-6749-4.4.3-a report the cause once). A proper
// token response is 200, application/json, with access_token and token_type.
func skipUnlessPlainRequestWorks(ctx context.Context) {
	GinkgoHelper()
	By("comparison: the plain valid request, without the variation")
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "plain valid request, for comparison",
		Form: validForm(), Authorization: target.Client.basic()})
	if err != nil {
		Skip("a plain valid token request gets no answer either, so the variation is not the cause: " + err.Error())
	}
	_, why := parseTokenResponse(res)
	if why == "" && mediaType(res) != "application/json" {
		why = "the token response is not sent as application/json"
	}
	if why != "" {
		Skip("a plain valid token request gets no proper token response either (" + why + "), so the variation is not the cause; C-6749-2.3.1-a and C-6749-4.4.3-a report it")
	}
}

// skipWhenTheValidRequestFailsToo is for a spec that sends the client's valid Basic
// credentials with one thing wrong, and expects a §5.2 error other than invalid_client. When
// the answer is no such error (another status, no JSON error, a token, or invalid_client for
// valid credentials), the plain valid request is tried too: if the provider answers that one
// wrongly as well, the spec is skipped, since the cause is not what the spec varies.
func skipWhenTheValidRequestFailsToo(ctx context.Context, res *http.Response) {
	GinkgoHelper()
	if !isJudgeableError(res) {
		skipUnlessPlainRequestWorks(ctx)
	}
}

// isJudgeableError reports whether the answer is a §5.2 error that is not a failed client
// authentication: 400 or 401, a JSON object with an error string and no access token.
func isJudgeableError(res *http.Response) bool {
	if (res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusUnauthorized) || mediaType(res) != "application/json" {
		return false
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		return false
	}
	code, _ := obj.members["error"].(string)
	_, token := obj.members["access_token"]
	return code != "" && code != "invalid_client" && !token
}

// expectWellFormedError checks an error response: an error member first (C-6749-5.2-d), then
// what every §5.2 error must be (expectErrorShape).
func expectWellFormedError(res *http.Response) {
	GinkgoHelper()
	Expect(objectOf(res).members).To(HaveKeyWithValue("error", BeAssignableToTypeOf("")), per("C-6749-5.2-d", "the error response has no error member"))
	expectErrorShape(res)
}

// expectNoTokenIn is expectNoToken for a check graded as a warning.
func expectNoTokenIn(g Gomega, res *http.Response) {
	g.Expect(res.StatusCode).NotTo(BeNumerically("<", 300), "the provider accepted the request with "+res.Status)
	if obj, err := decodeObject(bodyOf(res)); err == nil {
		g.Expect(obj.members).NotTo(HaveKey("access_token"), "the response carries an access token")
	}
}

// expectRepeatRefused checks the answer to a request with a repeated parameter (C-6749-3.2-f):
// no token and 400 (MUST; a 401 with invalid_client too, as §5.2 allows that pair), a
// well-formed error, and invalid_request (a warning otherwise). basic says whether the request
// authenticated with HTTP Basic, which decides the challenge a 401 must carry.
func expectRepeatRefused(res *http.Response, basic bool) {
	GinkgoHelper()
	expectNoToken(res, "C-6749-3.2-f")
	code, _ := objectOf(res).members["error"].(string)
	if code == "invalid_client" {
		Expect(res).To(HaveHTTPStatus(http.StatusBadRequest, http.StatusUnauthorized), per("C-6749-3.2-f"))
		expectChallengeOn401(res, basic)
	} else {
		Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), per("C-6749-3.2-f"))
	}
	expectWellFormedError(res)
	expectSoftly("C-6749-3.2-f", func(g Gomega) { g.Expect(res).To(HaveOAuth2Error("invalid_request")) })
}

// expectChallengeOn401 checks that a 401 from the token endpoint carries a challenge: for a
// client that used HTTP Basic, a Basic one (RFC 6749 §5.2, C-6749-5.2-b); for any other, some
// challenge, since a 401 without WWW-Authenticate breaks HTTP (RFC 9110 §15.5.2; C-6749-5.2-c).
func expectChallengeOn401(res *http.Response, basic bool) {
	GinkgoHelper()
	if res.StatusCode != http.StatusUnauthorized {
		return
	}
	if basic {
		Expect(res).To(HaveChallenge("Basic"), per("C-6749-5.2-b"))
		return
	}
	Expect(res).To(HaveHTTPHeaderWithValue("WWW-Authenticate", Not(BeEmpty())),
		per("C-6749-5.2-c", "a 401 must carry WWW-Authenticate (RFC 9110 §15.5.2)"))
}

// outcomeClass sums up a token endpoint answer for comparing two requests: the status, and the
// error code or the granted scope.
func outcomeClass(res *http.Response) string {
	obj, err := decodeObject(bodyOf(res))
	switch {
	case err != nil:
		return fmt.Sprintf("%s with a body that is not a JSON object", res.Status)
	case obj.members["access_token"] != nil:
		scope, _ := obj.members["scope"].(string)
		return fmt.Sprintf("%s with an access token, scope %q", res.Status, scope)
	default:
		return fmt.Sprintf("%s with error %v", res.Status, obj.members["error"])
	}
}
