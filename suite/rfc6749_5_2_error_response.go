package suite

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §5.2: the token endpoint's error response. The rules every error response keeps (its
// status, its shape, no member twice) are judged over each kind of error the suite provokes
// (tokenErrorCases); the rules of one error are judged on the request that provokes it. Failed
// authentications use a client id no provider has registered, never the default client's, so
// that no spec moves the default client towards a brute-force lockout (§2.3.1).
var _ = Describe("RFC 6749 §5.2: the error response", func() {
	// §5.2 (MUST): every error but invalid_client has status 400; invalid_client has 400, or
	// 401 to advertise the authentication schemes the server supports (a client that used the
	// Authorization header gets 401: the 5.2-b spec judges that case). These specs check the
	// status the provider chose for the code it chose (which code is right is the rule of the
	// case): a 401 for any other code fails (OpenLiberty #11773; go-oauth2 does this for three
	// of them), and so does a 403 or a 500 for invalid_client.
	forEachTokenError(tokenErrorCases, "C-6749-5.2-a", func(c tokenErrorCase) string {
		if c.basic {
			return "" // C-6749-5.2-b's
		}
		return "400, or 401 only for invalid_client"
	}, expectStatusForItsCode)

	// §5.2 (MUST): a client that authenticated with HTTP Basic and failed gets 401 and a
	// WWW-Authenticate challenge for Basic. The checklist grades a 400 leniently (as OIDF and
	// Inferno do); a 401 whose challenge names another scheme fails, as does any other status.
	// A 401 without any challenge breaks HTTP itself (RFC 9110 §15.5.2, MUST; wso2/api-manager
	// #1604), and is reported under that rule: every response the suite gets is judged by it
	// (judgeHTTPRules).
	It("answers an unknown client sent with HTTP Basic with 401 and a Basic challenge",
		specLabels("token", "C-6749-5.2-b"), func(ctx SpecContext) {
			res := unknownClientWithBasic.provoke(ctx)
			unknownClientWithBasic.refusedOrBlock(res)
			switch res.StatusCode {
			case http.StatusUnauthorized:
				if len(res.Header.Values("WWW-Authenticate")) == 0 {
					row("C-6749-5.2-b").Cannot("the 401 carries no challenge at all, which H-9110-15.5.2-a reports, so there is no scheme to compare")
					return
				}
				row("C-6749-5.2-b").Expect(res).To(HaveChallenge("Basic"), "a 401 must challenge with the scheme the client used")
			case http.StatusBadRequest:
				row("C-6749-5.2-b").Lenient().Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized))
			default:
				row("C-6749-5.2-b").Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized))
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §5.2 (MAY): a client that failed authentication with credentials in the body may get 401
	// (to advertise the schemes the server supports) or 400, both with invalid_client: recorded,
	// not graded. A 401 must carry WWW-Authenticate whatever the scheme (RFC 9110 §15.5.2, MUST),
	// which is that rule's (judgeHTTPRules judges every response by it); any other status is
	// C-6749-5.2-a's, and the code C-6749-5.2-d's. Body credentials are themselves optional
	// (§2.3.1, MAY): a provider that does not take them is skipped.
	It("records whether an unknown client sent in the body gets 400 or 401",
		specLabels("token", "C-6749-5.2-c"), func(ctx SpecContext) {
			res := unknownClientInBody.provoke(ctx)
			unknownClientInBody.refusedOrBlock(res)
			switch res.StatusCode {
			case http.StatusBadRequest, http.StatusUnauthorized:
				row("C-6749-5.2-c").Inform("a failed body authentication gets %s", res.Status)
			default:
				row("C-6749-5.2-c").Inform("a failed body authentication gets %s, neither 400 nor 401 (C-6749-5.2-a reports it)", res.Status)
			}
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 (MUST) and Appendix A.7: the error member is required, a string of %x20-21 /
	// %x23-5B / %x5D-7E, and, for a client the server does not know, invalid_client (the code
	// of the other cases is the rule of the case).
	forEachTokenError(tokenErrorCases, "C-6749-5.2-d", func(c tokenErrorCase) string {
		if c.code != "" {
			return "an error member: a string in its character set, " + c.code
		}
		return "an error member: a string in its character set"
	}, func(c tokenErrorCase, _ *http.Response, code string) {
		if c.code != "" {
			row("C-6749-5.2-d").Expect(code).To(Equal(c.code), "the error code of "+c.what)
		}
	})

	// §5.2 (MUST) and Appendix A.8: error_description, when present, is a string of %x20-21 /
	// %x23-5B / %x5D-7E: no quote, backslash, control character or non-ASCII, even when it
	// echoes what the client sent. The scope and the grant_type carry such characters, where a
	// provider is likely to echo them.
	forEachTokenError(append(slices.Clone(tokenErrorCases), unknownGrantWithOddCharacters), "C-6749-5.2-e", func(c tokenErrorCase) string {
		if c.echoed {
			return "" // repeated with odd characters
		}
		return "an error_description, if any, in its character set"
	}, func(c tokenErrorCase, res *http.Response, _ string) {
		if _, ok := objectOf(res).members["error_description"]; !ok {
			row("C-6749-5.2-e").Cannot("the error response to %s has no error_description (it is optional)", c.what)
		}
	})

	// §5.2 (MUST) and Appendix A.9: error_uri, when present, is a URI reference in %x21 /
	// %x23-5B / %x5D-7E (no space, quote or backslash), in a JSON string. Its absence is fine:
	// it is optional.
	forEachTokenError(tokenErrorCases, "C-6749-5.2-f", func(tokenErrorCase) string {
		return "an error_uri, if any, that is a URI reference in its character set"
	}, func(c tokenErrorCase, res *http.Response, _ string) {
		v, ok := objectOf(res).members["error_uri"]
		if !ok {
			row("C-6749-5.2-f").Cannot("the error response to %s has no error_uri (it is optional)", c.what)
			return
		}
		row("C-6749-5.2-f").Expect(jsonKindOf(v)).To(Equal("string"), "error_uri is not a JSON string")
	})

	// §5.2 (MUST): the error parameters are the members of a JSON object sent as
	// application/json (a charset parameter is fine). kanidm #4470 sent text/plain, which
	// golang.org/x/oauth2 then misread.
	forEachTokenError(tokenErrorCases, "C-6749-5.2-g", func(tokenErrorCase) string {
		return "a JSON object sent as application/json"
	}, nil)

	// §3.2 (MUST): response parameters are not repeated, in an error response either.
	forEachTokenError(tokenErrorCases, "C-6749-3.2-g", func(tokenErrorCase) string {
		return "a JSON object that has no member twice"
	}, nil)

	// §5.2 (MUST): a client that authenticates but may not use the grant it asks for gets
	// unauthorized_client (its status is the 5.2-a specs').
	It("answers a client registered without the client credentials grant with unauthorized_client and no token",
		specLabels("token", "C-6749-5.2-h"), func(ctx SpecContext) {
			res := clientWithoutTheGrant.provoke(ctx)
			expectTokenError(res, "C-6749-5.2-h", "unauthorized_client")
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 and §3.3 (MUST): a malformed scope (a quote or a backslash is no scope-token
	// character) is invalid_scope and gets no token for it. The checklist accepts
	// invalid_request leniently, since the request is malformed too. §3.3 lets the server
	// ignore what was asked, fully or in part, so a 200 is fine when its scope member names
	// what was granted without the malformed token; a token whose scope is not named (§3.3:
	// C-6749-3.3-b) or that names the malformed token is not.
	It("answers a scope with a quote and a backslash with invalid_scope, or a token whose named scope leaves it out",
		specLabels("token", "C-6749-5.2-i", "C-6749-3.3-b"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrBlock(ctx)
			malformed := `ccconform"quote\backslash`
			res := postToken(ctx, "malformed scope", target.Client.basic(), form("scope", malformed))
			if res.StatusCode == http.StatusOK {
				expectNarrowedScope(res, malformed)
				return
			}
			expectNoToken(res, "C-6749-5.2-i")
			code := expectErrorShape(res)
			j := row("C-6749-5.2-i")
			if code == "invalid_request" {
				j = j.Lenient()
			}
			j.Expect(code).To(Equal("invalid_scope"), "a malformed scope is invalid_scope")
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 and §3.3 (MUST): a well-formed scope the client may not have is invalid_scope, unless
	// the provider uses its §3.3 right to narrow the request, and then it names the scope it
	// granted (C-6749-3.3-b), which cannot be the forbidden one.
	It("answers a forbidden scope with invalid_scope, or a narrowed token whose scope is named",
		specLabels("token", "C-6749-5.2-i", "C-6749-3.3-b"), func(ctx SpecContext) {
			needTokenPath()
			forbidden := forbiddenScopeOrSkip()
			clientGetsTokenOrBlock(ctx)
			res := postToken(ctx, "forbidden scope", target.Client.basic(), form("scope", forbidden))
			if res.StatusCode == http.StatusOK {
				expectNarrowedScope(res, forbidden)
				return
			}
			expectTokenError(res, "C-6749-5.2-i", "invalid_scope")
		}, SpecTimeout(target.specTimeout(2)))
})

// expectNarrowedScope judges a token issued for a scope the client could not be granted: §3.3
// lets the provider narrow the request, and then the response must name the granted scope
// (C-6749-3.3-b), which must leave out the scope token refused (C-6749-5.2-i).
func expectNarrowedScope(res *http.Response, refused string) {
	GinkgoHelper()
	// No map in a failure message: it would print the token.
	granted := grantedScopeOrBlock(res)
	row("C-6749-3.3-b").RequireThat(granted.present, "the provider issued a token for a scope other than the one asked for without saying which scope it granted")
	row("C-6749-5.2-i").Expect(granted.tokens).NotTo(ContainElement(refused), "the provider granted the scope "+refused)
}

// tokenErrorCase is one kind of error the suite provokes at the token endpoint, for the rules
// every error response keeps.
type tokenErrorCase struct {
	// what is what is sent, for the It text: "a request without grant_type".
	what string
	// row is the rule that says the request must be refused: a provider that did not refuse
	// blocks the specs of the response's shape by it. Empty when the provider may answer
	// with a token instead (§3.3 lets it narrow a scope).
	row string
	// code is the error code §5.2 names for the case, judged under C-6749-5.2-d; empty when
	// the code is the rule of the case (row).
	code string
	// basic marks a failed HTTP Basic authentication, whose status is C-6749-5.2-b's rule.
	basic bool
	// echoed marks a case that another case repeats with characters outside error_description's
	// set, for the C-6749-5.2-e specs.
	echoed bool
	// provoke sends the request, after its preconditions.
	provoke func(ctx SpecContext) *http.Response
}

// forEachTokenError registers a spec of the row id for each kind of error that expects gives
// words to (the It text's "with …"; "" leaves the case out): the spec provokes the error, has
// its shape judged (expectErrorShape judges the shape rows the spec carries, and blocks it by
// them when the error code cannot be read), then check judges the rest, if any.
func forEachTokenError(cases []tokenErrorCase, id string, expects func(tokenErrorCase) string,
	check func(c tokenErrorCase, res *http.Response, code string)) {
	for _, c := range cases {
		what := expects(c)
		if what == "" {
			continue
		}
		It("answers "+c.what+" with "+what, specLabels("token", id), func(ctx SpecContext) {
			res := c.provoke(ctx)
			c.refusedOrBlock(res)
			code := expectErrorShape(res)
			if check != nil {
				check(c, res, code)
			}
		}, SpecTimeout(target.specTimeout(3)))
	}
}

// refusedOrBlock blocks a spec about the shape of a refusal when the provider did not refuse:
// the rule that the request breaks reports that, once. Where a token may be the answer, the
// spec is skipped.
func (c tokenErrorCase) refusedOrBlock(res *http.Response) {
	GinkgoHelper()
	switch {
	case res.StatusCode >= 400:
	case c.row != "":
		judge.Block(c.row, "the provider did not refuse %s (%s)", c.what, res.Status)
	default:
		judge.Skip("the provider did not refuse %s (%s), which §3.3 allows when it narrows the scope; the 5.2-i specs judge the grant", c.what, res.Status)
	}
}

// The kinds of error the suite provokes: one of each code of §5.2 (invalid_grant needs a grant
// that the client credentials grant does not have), and each way a client authentication fails.
var (
	requestWithoutGrantType = tokenErrorCase{what: "a request without grant_type", row: "C-6749-4.4.2-a",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			clientGetsTokenOrBlock(ctx)
			body := form("scope", target.allowedScopes()[0])
			body.Del("grant_type")
			return postToken(ctx, "no grant_type", target.Client.basic(), body)
		}}
	unknownGrant = tokenErrorCase{what: "an unknown grant_type", row: "C-6749-4.4.2-b", echoed: true,
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			clientGetsTokenOrBlock(ctx)
			return postToken(ctx, "unknown grant type", target.Client.basic(), unknownGrantForm("urn:ccconform:no-such-grant"))
		}}
	unknownGrantWithOddCharacters = tokenErrorCase{what: "a grant_type with a quote, a backslash and an é", row: "C-6749-4.4.2-b",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			clientGetsTokenOrBlock(ctx)
			return postToken(ctx, "grant type with odd characters", target.Client.basic(), unknownGrantForm(`urn:ccconform:"quote\backslash-é`))
		}}
	malformedScope = tokenErrorCase{what: "a scope with a quote, a backslash and an é",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			clientGetsTokenOrBlock(ctx)
			return postToken(ctx, "scope with odd characters", target.Client.basic(), form("scope", `ccconform"quote\backslash-é`))
		}}
	forbiddenScope = tokenErrorCase{what: "a scope the client may not have",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			forbidden := forbiddenScopeOrSkip()
			clientGetsTokenOrBlock(ctx)
			return postToken(ctx, "forbidden scope", target.Client.basic(), form("scope", forbidden))
		}}
	clientWithoutTheGrant = tokenErrorCase{what: "a client registered without the client credentials grant", row: "C-6749-5.2-h",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			c := declaredFixture(target.Clients.WithoutClientCredentials, "without_client_credentials",
				"a client registered without the client credentials grant")
			clientGetsTokenOrBlock(ctx)
			return postToken(ctx, "client without the grant", c.basic(), form())
		}}
	unknownClientWithBasic = tokenErrorCase{what: "an unknown client sent with HTTP Basic", row: "C-6749-4.4.2-c",
		code: "invalid_client", basic: true,
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			return postToken(ctx, "unknown client, Basic", unregisteredClientBasic(), form("scope", target.allowedScopes()[0]))
		}}
	unknownClientInBody = tokenErrorCase{what: "an unknown client sent in the body", row: "C-6749-4.4.2-c", code: "invalid_client",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			bodyCredentialsOrSkip(ctx)
			By("sending an unknown client in the body")
			id, secret := unregisteredClient()
			return postToken(ctx, "unknown client, body", "", form("scope", target.allowedScopes()[0], "client_id", id, "client_secret", secret))
		}}
	requestWithoutClient = tokenErrorCase{what: "a request without client credentials", row: "C-6749-4.4.2-c",
		provoke: func(ctx SpecContext) *http.Response {
			needTokenPath()
			return postToken(ctx, "no client credentials", "", form("scope", target.allowedScopes()[0]))
		}}

	tokenErrorCases = []tokenErrorCase{requestWithoutGrantType, unknownGrant, malformedScope, forbiddenScope,
		clientWithoutTheGrant, unknownClientWithBasic, unknownClientInBody, requestWithoutClient}
)

// bodyCredentialsOrSkip skips a spec about body credentials when the provider does not take
// them: §2.3.1 makes them optional.
func bodyCredentialsOrSkip(ctx SpecContext) {
	GinkgoHelper()
	By("checking that the provider takes client credentials in the body")
	probe := postToken(ctx, "valid credentials in the body", "", form("scope", target.allowedScopes()[0],
		"client_id", target.Client.ID, "client_secret", target.Client.Secret))
	if probe.StatusCode != http.StatusOK {
		judge.Skip("the provider does not take client credentials in the body (§2.3.1 makes that optional; it answered %s)", probe.Status)
	}
}

// expectStatusForItsCode judges §5.2's status rule against the code the provider chose: each of
// §5.2's codes but invalid_client goes with 400; invalid_client with 400, or 401 to advertise
// the schemes the server supports. A refusal without a readable code was blocked by the rule of
// the shape (expectErrorShape); a code of another kind (server_error says the server failed,
// not the request) is not this rule's business, and the rule of the case reports it.
func expectStatusForItsCode(_ tokenErrorCase, res *http.Response, code string) {
	GinkgoHelper()
	switch {
	case code == "invalid_client":
		row("C-6749-5.2-a").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest, http.StatusUnauthorized), "for invalid_client")
	case slices.Contains([]string{"invalid_request", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"}, code):
		row("C-6749-5.2-a").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "for "+code)
	default:
		judge.Skip("the provider answered %q, which is not one of §5.2's codes; the rule of the case reports it", code)
	}
}

// unknownGrantForm is a token request body whose grant_type is grant.
func unknownGrantForm(grant string) url.Values {
	body := form("scope", target.allowedScopes()[0])
	body.Set("grant_type", grant)
	return body
}

// unregisteredClient returns a client id and secret no provider has registered.
func unregisteredClient() (id, secret string) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ccconform-unknown-client-" + hex.EncodeToString(b), "not-a-secret-" + hex.EncodeToString(b)
}

// unregisteredClientBasic is the HTTP Basic Authorization value of an unknown client.
func unregisteredClientBasic() string {
	return httpauth.BasicAuthorization(unregisteredClient())
}

// declaredFixture returns a fixture client, or skips the spec when the target does not declare it.
func declaredFixture(c *Credentials, key, what string) Credentials {
	GinkgoHelper()
	if c == nil {
		judge.Skip("the target declares no %s (clients.%s in --target-config)", what, key)
	}
	return *c
}
