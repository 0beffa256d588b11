package suite

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §4.4: the client credentials grant, its request (§4.4.2) and its response (§4.4.3).
var _ = Describe("RFC 6749 §4.4: the client credentials grant", func() {
	// §4.4 (MUST, on the client): only confidential clients use this grant. The checklist
	// derives the server's side (kind R): a public client, which has no secret to authenticate
	// with, gets no token, but unauthorized_client or invalid_client.
	// Two ways of presenting it: HTTP Basic with an empty password, and its id alone in the body.
	It("answers a public client presenting its id with HTTP Basic and an empty password with no token and unauthorized_client or invalid_client",
		specLabels("token", "C-6749-4.4-a"), func(ctx SpecContext) {
			needTokenPath()
			pub := needPublicClient()
			res := postToken(ctx, "public client, HTTP Basic with an empty password", httpauth.BasicAuthorization(pub.ID, ""), form())
			expectTokenError(res, "C-6749-4.4-a", "unauthorized_client", "invalid_client")
		}, SpecTimeout(target.specTimeout(1)))

	It("answers a public client sending only its client_id in the body with no token and unauthorized_client or invalid_client",
		specLabels("token", "C-6749-4.4-a"), func(ctx SpecContext) {
			needTokenPath()
			pub := needPublicClient()
			res := postToken(ctx, "public client, client_id in the body", "", form("client_id", pub.ID))
			expectTokenError(res, "C-6749-4.4-a", "unauthorized_client", "invalid_client")
		}, SpecTimeout(target.specTimeout(1)))
})

var _ = Describe("RFC 6749 §4.4.2: the access token request", func() {
	// §4.4.2 (MUST): grant_type is required; a request without it is malformed, which §5.2
	// calls invalid_request (400). The credentials are valid, so nothing else can be wrong.
	It("answers a request without grant_type (valid HTTP Basic credentials) with 400 and invalid_request",
		specLabels("token", "C-6749-4.4.2-a"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "no grant_type", target.Client.basic(), url.Values{"scope": {askedScope()}})
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectTokenError(res, "C-6749-4.4.2-a", "invalid_request")
		}, SpecTimeout(target.specTimeout(1)))

	// §4.4.2 and §5.2 (MUST): a grant type the server does not support is
	// unsupported_grant_type (400).
	It("answers grant_type=urn:example:bogus (valid HTTP Basic credentials) with 400 and unsupported_grant_type",
		specLabels("token", "C-6749-4.4.2-b"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "unknown grant type", target.Client.basic(), validForm("grant_type", "urn:example:bogus"))
			skipWhenTheValidRequestFailsToo(ctx, res)
			expectTokenError(res, "C-6749-4.4.2-b", "unsupported_grant_type")
		}, SpecTimeout(target.specTimeout(1)))

	// §4.4.2 with §3.2.1 and §2.2 (MUST): the server authenticates the client, and an id is not
	// authentication. Five ways of failing it, each with no token and invalid_client, which §5.2
	// answers with 400 or 401 (which of the two, and the challenge a 401 carries, are the §5.2
	// specs' business: C-6749-5.2-b and C-6749-5.2-c). A 200 that carries an error body is a
	// success as far as HTTP goes, and fails.
	It("answers the client's id with a wrong secret in HTTP Basic with 400 or 401, invalid_client and no token",
		specLabels("token", "C-6749-4.4.2-c"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "wrong secret, HTTP Basic", httpauth.BasicAuthorization(target.Client.ID, "not-"+target.Client.Secret), validForm())
			expectClientAuthFailure(res, "invalid_client")
		}, SpecTimeout(target.specTimeout(1)))

	It("answers an unknown client id in HTTP Basic with 400 or 401, invalid_client and no token",
		specLabels("token", "C-6749-4.4.2-c"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "unknown client, HTTP Basic", httpauth.BasicAuthorization(bogusClientID, target.Client.Secret), validForm())
			expectClientAuthFailure(res, "invalid_client")
		}, SpecTimeout(target.specTimeout(1)))

	It("answers a request with no client credentials at all with 400 or 401, invalid_client and no token",
		specLabels("token", "C-6749-4.4.2-c"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "no client credentials", "", validForm())
			expectClientAuthFailure(res, "invalid_client")
		}, SpecTimeout(target.specTimeout(1)))

	// The client's own id, in the body, without its secret: whether or not the provider takes
	// body credentials, an id alone authenticates nothing.
	It("answers the client's client_id alone in the body, without a secret, with 400 or 401, invalid_client and no token",
		specLabels("token", "C-6749-4.4.2-c"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "client_id only, in the body", "", validForm("client_id", target.Client.ID))
			expectClientAuthFailure(res, "invalid_client")
		}, SpecTimeout(target.specTimeout(1)))

	// The client's valid id and secret, Base64-encoded as for Basic, under a scheme word that is
	// not Basic (wso2/product-is #3321 issued tokens for any scheme word). The server does not
	// know the scheme, so the client is not authenticated: no token; invalid_client, or
	// invalid_request for a malformed Authorization header.
	It("answers valid credentials under the scheme word Foo instead of Basic with no token",
		specLabels("token", "C-6749-4.4.2-c"), func(ctx SpecContext) {
			needTokenPath()
			encoded := base64.StdEncoding.EncodeToString([]byte(httpauth.FormEncode(target.Client.ID) + ":" + httpauth.FormEncode(target.Client.Secret)))
			res := postToken(ctx, "valid credentials under the scheme Foo", "Foo "+encoded, validForm())
			expectClientAuthFailure(res, "invalid_client", "invalid_request")
		}, SpecTimeout(target.specTimeout(1)))

	// §4.4.2 and Appendix B (MUST, on the client): the body is application/x-www-form-urlencoded
	// in UTF-8. The checklist derives the server's side (kind R): it takes that media type with
	// an explicit charset=UTF-8 parameter too.
	It("answers a valid request sent as application/x-www-form-urlencoded; charset=UTF-8 with 200 and a token",
		specLabels("token", "C-6749-3.2-h"), func(ctx SpecContext) {
			needTokenPath()
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "form with charset=UTF-8",
				Form: validForm(), Authorization: target.Client.basic(),
				Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=UTF-8"}}})
			if !tokenGranted(res) {
				skipUnlessPlainRequestWorks(ctx)
			}
			row("C-6749-3.2-h").That(tokenGranted(res), "a valid request sent with charset=UTF-8 got %s, not a token", outcomeClass(res))
		}, SpecTimeout(target.specTimeout(2)))
})

var _ = Describe("RFC 6749 §4.4.3: the access token response", func() {
	// §4.4.3 (MUST): a valid request gets a §5.1 access token response: 200; a JSON object
	// sent as application/json, with no member twice; access_token a non-empty string of
	// visible ASCII; token_type a string (any type: §5.1 does not require Bearer);
	// expires_in, when present, a whole number; scope, when present, one string;
	// Cache-Control: no-store. The §5.1 specs judge these rules by their own rows; here they
	// judge that this grant's answer is such a response. The SHOULD-level parts (expires_in
	// present, Pragma) are the §5.1 specs' business.
	It("answers valid client credentials sent with HTTP Basic with a §5.1 access token response",
		specLabels("token", "C-6749-4.4.3-a"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "valid credentials, HTTP Basic", target.Client.basic(), validForm())
			expectAccessTokenResponse(res)
		}, SpecTimeout(target.specTimeout(1)))

	// The same with the credentials in the body, where the provider takes them (§2.3.1, MAY).
	It("answers valid client credentials sent in the body with a §5.1 access token response",
		specLabels("token", "C-6749-4.4.3-a"), func(ctx SpecContext) {
			needTokenPath()
			needBodyCredentials(ctx)
			res := postToken(ctx, "valid credentials in the body", "", bodyCredentials(target.Client))
			expectAccessTokenResponse(res)
		}, SpecTimeout(target.specTimeout(2)))

	// §4.4.3 (SHOULD NOT): no refresh token in a client credentials response; the client can
	// always ask again with its own credentials. A warning, as OIDF and OAuch grade it.
	It("answers valid client credentials with a token response that has no refresh_token",
		specLabels("token", "C-6749-4.4.3-b"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "valid credentials, HTTP Basic", target.Client.basic(), validForm())
			tok, why := parseTokenResponse(res)
			if why != "" {
				judge.Block("C-6749-4.4.3-a", "no token response to inspect: %s", why)
			}
			row("C-6749-4.4.3-b").Expect(tok.Members).NotTo(HaveKey("refresh_token"))
		}, SpecTimeout(target.specTimeout(1)))
})

// needPublicClient returns the public fixture client, or skips the spec.
func needPublicClient() Credentials {
	GinkgoHelper()
	if target.Clients.Public == nil {
		judge.Skip("no public fixture client is declared in --target-config, so the refusal of public clients cannot be checked")
	}
	return *target.Clients.Public
}

// expectClientAuthFailure judges a failed client authentication (C-6749-4.4.2-c): no token, an
// error among codes in a §5.2 error, and 400 or 401, the statuses §5.2 gives invalid_client (a
// 5xx is a server error, not a refusal of the client).
func expectClientAuthFailure(res *http.Response, codes ...string) {
	GinkgoHelper()
	expectTokenError(res, "C-6749-4.4.2-c", codes...)
	row("C-6749-4.4.2-c").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest, http.StatusUnauthorized), "a failed client authentication is 400 or 401")
}

// expectAccessTokenResponse judges that the response is a §5.1 access token response
// (C-6749-4.4.3-a).
func expectAccessTokenResponse(res *http.Response) {
	GinkgoHelper()
	response := row("C-6749-4.4.3-a")
	response.Expect(res).To(HaveHTTPStatus(http.StatusOK))
	response.Expect(res).To(HaveJSONMediaType())
	response.Require(res).To(BeJSONObject())
	obj := objectOf(res)
	response.Expect(obj.duplicates).To(BeEmpty(), "members sent twice")
	m := obj.members
	if response.Expect(m).To(HaveKeyWithValue("access_token", And(BeAssignableToTypeOf(""), Not(BeEmpty())))) {
		response.Expect(m["access_token"]).To(MatchRegexp(`^[\x20-\x7E]+$`), "access_token has characters outside VSCHAR")
	}
	response.Expect(m).To(HaveKeyWithValue("token_type", And(BeAssignableToTypeOf(""), Not(BeEmpty()))))
	if v, ok := m["expires_in"]; ok {
		n, isNumber := v.(json.Number)
		if response.That(isNumber, "expires_in is not a JSON number: %v", v) {
			response.Expect(string(n)).To(MatchRegexp(`^[0-9]+$`), "expires_in is not a whole number of seconds")
		}
	}
	if v, ok := m["scope"]; ok {
		response.Expect(v).To(BeAssignableToTypeOf(""), "scope is not one string")
	}
	response.Expect(res).To(HaveCacheDirective("no-store"))
}
