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
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §3.2: the token endpoint as a whole, on the request side: TLS, its URI, the method,
// and how parameters are read (empty ones, unknown ones, repeated ones).
var _ = Describe("RFC 6749 §3.2: the token endpoint", func() {
	// §3.2 (MUST, with §1.6 and §2.3.1): the token endpoint is only reachable over TLS, since
	// client passwords travel in its requests. The probe sends a token request with bogus
	// credentials, so nothing real crosses the wire in clear, to the provider's cleartext
	// listener: --cleartext-url when given; for an https URL on the default port, http:// on
	// port 80 of the same host. An https URL on another port is not probed at its http:// twin:
	// any TLS server answers cleartext on its TLS port with a 400 of its own, so that probe would
	// judge the TLS library, not the provider. Accepted: a refused or failed connection, an
	// answer that is not OAuth (an HTML page, a plain 403), or a redirect to https that did not
	// process the request. An OAuth answer (a JSON object with error or access_token) means the
	// endpoint processed credentials in clear.
	It("does not process a token request sent to its cleartext listener (bogus credentials): no OAuth answer over http://",
		specLabels("token", "C-6749-3.2-a"), func(ctx SpecContext) {
			needTokenPath()
			cleartextRefused := row("C-6749-3.2-a")
			cleartext, why := cleartextBase()
			if cleartext == "" {
				cleartextRefused.Cannot("%s", why)
				return
			}
			res, err := trySend(ctx, request{Base: cleartext, Method: http.MethodPost, Path: target.TokenPath,
				Note:          "cleartext " + cleartext + ", bogus credentials",
				Form:          validForm(),
				Authorization: httpauth.BasicAuthorization(bogusClientID, "ccconform-bogus-secret")})
			oauthShaped, answer := false, "no answer"
			if err != nil {
				By("the cleartext probe got no answer, which is what TLS-only means: " + err.Error())
			} else {
				obj, jsonErr := decodeObject(bodyOf(res))
				oauthShaped, answer = jsonErr == nil && (obj.members["error"] != nil || obj.members["access_token"] != nil), res.Status
			}
			cleartextRefused.That(!oauthShaped, "the token endpoint answered an OAuth request over cleartext %s with %s and an OAuth body", cleartext, answer)
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2 (MUST): the endpoint URI must not include a fragment component. The URI the provider
	// publishes is its RFC 8414 metadata's token_endpoint; without metadata the suite was given
	// the URI (--provider-url plus --token-path), and nothing the provider does can break this.
	It("publishes a token endpoint URI without a fragment in its metadata",
		specLabels("token", "C-6749-3.2-b"), func(_ SpecContext) {
			published, ok := discovered.Doc["token_endpoint"].(string)
			if !ok {
				row("C-6749-3.2-b").Cannot("the suite was given the token endpoint's URL; without metadata (RFC 8414) with a token_endpoint, nothing the provider publishes can be checked for a fragment")
				return
			}
			row("C-6749-3.2-b").That(!strings.Contains(published, "#"), "the metadata's token_endpoint %q has a fragment", redactor.mask(published))
		}, SpecTimeout(target.specTimeout(0)))

	// §3.2 (MUST, on the client): token requests use POST. The checklist derives the server's
	// side (kind R): a GET carrying every parameter in the query, with valid HTTP Basic
	// credentials, gets no token. 405 (the method is not allowed) and 400 (invalid_request) are
	// both accepted.
	It("answers a GET with the parameters in the query and valid HTTP Basic credentials with 405 or 400 and no token",
		specLabels("token", "C-6749-3.2-c"), func(ctx SpecContext) {
			needTokenPath()
			res := send(ctx, request{Method: http.MethodGet, Path: target.TokenPath, Note: "GET, parameters in the query",
				Query: validForm(), Authorization: target.Client.basic()})
			expectRefusedWith(res, "C-6749-3.2-c", http.StatusMethodNotAllowed, http.StatusBadRequest)
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
			expectSameOutcome("scope", empty, omitted)
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
			expectSameOutcome("grant_type", empty, omitted)
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
			row("C-6749-3.2-d").That(tokenGranted(res),
				"a valid request with an empty unknown parameter got %s, not a token: the empty parameter was not ignored", outcomeClass(res))
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
			row("C-6749-3.2-e").That(tokenGranted(res),
				"a valid request with an unknown parameter got %s, not a token: the unknown parameter was not ignored", outcomeClass(res))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.2 (MUST): request parameters must not be included more than once, and §5.2 names the
	// error: invalid_request. The rule binds the client; the server's side is implied by §5.2's
	// definition of invalid_request, so the registry grades the row as a derived one: no token,
	// 400 and invalid_request (a 401 goes with invalid_client only, as §5.2 allows that pair).
	// (resource is not tried: RFC 8707 lets it repeat.)
	It("answers a repeated grant_type with 400, invalid_request and no token",
		specLabels("token", "C-6749-3.2-f"), func(ctx SpecContext) {
			needTokenPath()
			body := validForm()
			body["grant_type"] = []string{"client_credentials", "client_credentials"}
			res := postToken(ctx, "grant_type twice", target.Client.basic(), body)
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectRepeatRefused(res)
		}, SpecTimeout(target.specTimeout(1)))

	It("answers a repeated scope with 400, invalid_request and no token",
		specLabels("token", "C-6749-3.2-f"), func(ctx SpecContext) {
			needTokenPath()
			body := validForm()
			body["scope"] = []string{askedScope(), askedScope()}
			res := postToken(ctx, "scope twice", target.Client.basic(), body)
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectRepeatRefused(res)
		}, SpecTimeout(target.specTimeout(1)))

	// The same with credentials in the body (which needs a provider that takes them, §2.3.1 MAY):
	// client_id twice, both times the client's own. invalid_client (400 or 401), a failed
	// authentication, gets no token, but is not the code §5.2 gives a repeated parameter.
	It("answers a repeated client_id in a body-authenticated request with 400, invalid_request and no token",
		specLabels("token", "C-6749-3.2-f"), func(ctx SpecContext) {
			needTokenPath()
			needBodyCredentials(ctx)
			body := bodyCredentials(target.Client)
			raw := "grant_type=client_credentials&scope=" + url.QueryEscape(askedScope()) +
				"&client_id=" + url.QueryEscape(target.Client.ID) + "&client_id=" + url.QueryEscape(target.Client.ID) +
				"&client_secret=" + url.QueryEscape(body.Get("client_secret"))
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "client_id twice in the body", RawBody: raw})
			expectRepeatRefused(res)
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
// and the spec is blocked by C-6749-4.4.3-a, which reports the cause once. A proper token
// response is 200, application/json, with access_token and token_type.
func skipUnlessPlainRequestWorks(ctx context.Context) {
	GinkgoHelper()
	By("comparison: the plain valid request, without the variation")
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "plain valid request, for comparison",
		Form: validForm(), Authorization: target.Client.basic()})
	if err != nil {
		judge.Skip("a plain valid token request gets no answer either, so the variation is not the cause: %v", err)
	}
	_, why := parseTokenResponse(res)
	if why == "" && mediaType(res) != "application/json" {
		why = "the token response is not sent as application/json"
	}
	if why != "" {
		judge.Block("C-6749-4.4.3-a", "a plain valid token request gets no proper token response either (%s), so the variation is not the cause", why)
	}
}

// skipWhenTheValidRequestFailsToo is for a spec that sends the client's valid Basic
// credentials with one thing wrong, and expects a §5.2 error other than invalid_client. When
// the answer is no such error (another status, no JSON error, a token, or invalid_client for
// valid credentials), the plain valid request is tried too: if the provider answers that one
// wrongly as well, the spec is blocked, since the cause is not what the spec varies.
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

// expectRepeatRefused judges the answer to a request with a repeated parameter (C-6749-3.2-f):
// no token, invalid_request in a §5.2 error, and 400 (or 401, which §5.2 allows only with
// invalid_client, a failed authentication; the code is then judged wrong, the status not).
func expectRepeatRefused(res *http.Response) {
	GinkgoHelper()
	repeat := row("C-6749-3.2-f")
	expectNoToken(res, "C-6749-3.2-f")
	code := expectErrorShape(res)
	repeat.Expect(code).To(Equal("invalid_request"), "a repeated parameter is invalid_request (§5.2)")
	statuses := []any{http.StatusBadRequest}
	if code == "invalid_client" {
		statuses = append(statuses, http.StatusUnauthorized)
	}
	repeat.Expect(res).To(HaveHTTPStatus(statuses...))
}

// expectRefusedWith judges, for the row id, that a request the provider must not serve got no
// token and one of the statuses.
func expectRefusedWith(res *http.Response, id string, statuses ...any) {
	GinkgoHelper()
	expectNoToken(res, id)
	row(id).Expect(res).To(HaveHTTPStatus(statuses...))
}

// expectSameOutcome judges C-6749-3.2-d for a parameter sent empty and omitted: both requests
// must get the same outcome, whatever it is (a status, an error code, a granted scope).
func expectSameOutcome(param string, empty, omitted *http.Response) {
	GinkgoHelper()
	got, want := outcomeClass(empty), outcomeClass(omitted)
	row("C-6749-3.2-d").That(got == want,
		"%s= (empty) got %s, no %s got %s; §3.2 says an empty parameter counts as omitted, so both must have the same outcome",
		param, got, param, want)
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
