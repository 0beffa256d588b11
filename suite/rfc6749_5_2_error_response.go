package suite

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// RFC 6749 §5.2: the token endpoint's error response. Each spec provokes one error. Failed
// authentications use a client id no provider has registered, never the default client's, so
// that no spec moves the default client towards a brute-force lockout (§2.3.1).
var _ = Describe("RFC 6749 §5.2: the error response", func() {
	// §5.2 (MUST): every error but invalid_client has status 400. These four specs provoke
	// invalid_request, unsupported_grant_type, invalid_scope and unauthorized_client, and check
	// the status the provider chose for the code it chose (which code is right is the rule of
	// the section that provokes it): a 401 for any of them fails (OpenLiberty #11773; go-oauth2
	// does this for three of them).
	It("answers a request without grant_type with 400, whatever its error code other than invalid_client",
		specLabels("token", "C-6749-5.2-a"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			body := form()
			body.Del("grant_type")
			body.Set("scope", target.allowedScopes()[0])
			res := postToken(ctx, "no grant_type", target.Client.basic(), body)
			expectStatus400ForItsCode(res)
		}, SpecTimeout(target.specTimeout(2)))

	It("answers an unknown grant_type with 400, whatever its error code other than invalid_client",
		specLabels("token", "C-6749-5.2-a"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "unknown grant type", target.Client.basic(), unknownGrantForm("urn:ccconform:no-such-grant"))
			expectStatus400ForItsCode(res)
		}, SpecTimeout(target.specTimeout(2)))

	It("answers a malformed scope with 400, whatever its error code other than invalid_client",
		specLabels("token", "C-6749-5.2-a"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "malformed scope", target.Client.basic(), form("scope", `ccconform"quoted`))
			expectStatus400ForItsCode(res)
		}, SpecTimeout(target.specTimeout(2)))

	It("answers a client not allowed the grant with 400, whatever its error code other than invalid_client",
		specLabels("token", "C-6749-5.2-a"), func(ctx SpecContext) {
			needTokenPath()
			c := declaredFixture(target.Clients.WithoutClientCredentials, "without_client_credentials",
				"a client registered without the client credentials grant")
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "client without the grant", c.basic(), form())
			expectStatus400ForItsCode(res)
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 (MUST): a client that authenticated with HTTP Basic and failed gets 401 and a
	// WWW-Authenticate challenge for Basic. The checklist grades a 400 leniently (as OIDF and
	// Inferno do), never a 401 without the challenge (wso2/api-manager #1604) nor any other
	// status.
	It("answers an unknown client sent with HTTP Basic with 401 and a Basic challenge",
		specLabels("token", "C-6749-5.2-b"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "unknown client, Basic", unregisteredClientBasic(), form("scope", target.allowedScopes()[0]))
			refusedOrSkip(res, "C-6749-4.4.2-c")
			Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized, http.StatusBadRequest), per("C-6749-5.2-b"))
			if res.StatusCode == http.StatusUnauthorized {
				Expect(res).To(HaveChallenge("Basic"), per("C-6749-5.2-b", "a 401 must challenge with the scheme the client used"))
			}
			expectSoftly("C-6749-5.2-b", func(g Gomega) { g.Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized)) })
		}, SpecTimeout(target.specTimeout(1)))

	// §5.2 (MAY): a client that failed authentication with credentials in the body may get 401
	// (to advertise the schemes the server supports) or 400, both with invalid_client; a 401
	// must carry WWW-Authenticate whatever the scheme (RFC 9110 §15.5.2, MUST). Body credentials
	// are themselves optional (§2.3.1, MAY): a provider that does not take them is skipped.
	It("answers an unknown client sent in the body with 400 or 401 invalid_client, a 401 with a challenge",
		specLabels("token", "C-6749-5.2-c"), func(ctx SpecContext) {
			needTokenPath()
			By("checking that the provider takes client credentials in the body")
			probe := postToken(ctx, "valid credentials in the body", "", form("scope", target.allowedScopes()[0],
				"client_id", target.Client.ID, "client_secret", target.Client.Secret))
			if probe.StatusCode != http.StatusOK {
				Skip("the provider does not take client credentials in the body (§2.3.1 makes that optional; it answered " + probe.Status + ")")
			}
			By("sending an unknown client in the body")
			id, secret := unregisteredClient()
			res := postToken(ctx, "unknown client, body", "", form("scope", target.allowedScopes()[0], "client_id", id, "client_secret", secret))
			refusedOrSkip(res, "C-6749-4.4.2-c")
			Expect(res).To(HaveHTTPStatus(http.StatusBadRequest, http.StatusUnauthorized), per("C-6749-5.2-c"))
			if res.StatusCode == http.StatusUnauthorized {
				Expect(res).To(HaveHTTPHeaderWithValue("WWW-Authenticate", Not(BeEmpty())),
					per("C-6749-5.2-c", "RFC 9110 §15.5.2: a 401 must carry WWW-Authenticate"))
			}
			Expect(res).To(HaveOAuth2Error("invalid_client"), per("C-6749-5.2-d", "an unknown client is invalid_client"))
			observe("C-6749-5.2-c", "a failed body authentication gets %s", res.Status)
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 (MUST) and Appendix A.7: the error member is required, a string of %x20-21 /
	// %x23-5B / %x5D-7E, and the code fits the case: a client the server does not know is
	// invalid_client.
	It("answers an unknown client with an error member: a string in its character set, invalid_client",
		specLabels("token", "C-6749-5.2-d"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "unknown client, Basic", unregisteredClientBasic(), form("scope", target.allowedScopes()[0]))
			refusedOrSkip(res, "C-6749-4.4.2-c")
			Expect(res).To(BeJSONObject(), per("C-6749-5.2-d", "the error response is not a JSON object"))
			v, ok := objectOf(res).members["error"]
			Expect(ok).To(BeTrue(), per("C-6749-5.2-d", "the error member is missing"))
			Expect(jsonKindOf(v)).To(Equal("string"), per("C-6749-5.2-d", "error is not a JSON string"))
			Expect(v).To(MatchRegexp(`^[\x20-\x21\x23-\x5B\x5D-\x7E]+$`), per("C-6749-5.2-d", "error is empty or has characters outside %x20-21 / %x23-5B / %x5D-7E"))
			Expect(v).To(Equal("invalid_client"), per("C-6749-5.2-d", "an unknown client is invalid_client"))
		}, SpecTimeout(target.specTimeout(1)))

	// §5.2 (MUST) and Appendix A.8: error_description, when present, is a string of %x20-21 /
	// %x23-5B / %x5D-7E: no quote, backslash, control character or non-ASCII, even when it
	// echoes what the client sent. These two requests send such characters where a provider
	// is likely to echo them.
	It("answers a scope with a quote, a backslash and an é with an error_description, if any, in its character set",
		specLabels("token", "C-6749-5.2-e"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "scope with odd characters", target.Client.basic(), form("scope", `ccconform"quote\backslash-é`))
			expectDescriptionCharset(res)
		}, SpecTimeout(target.specTimeout(2)))

	It("answers a grant_type with a quote, a backslash and an é with an error_description, if any, in its character set",
		specLabels("token", "C-6749-5.2-e"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "grant type with odd characters", target.Client.basic(), unknownGrantForm(`urn:ccconform:"quote\backslash-é`))
			expectDescriptionCharset(res)
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 (MUST) and Appendix A.9: error_uri, when present, is a URI reference in %x21 /
	// %x23-5B / %x5D-7E (no space, quote or backslash). Its absence is fine: it is optional.
	It("answers an unknown client with an error_uri, if any, that is a URI reference in its character set",
		specLabels("token", "C-6749-5.2-f"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "unknown client, Basic", unregisteredClientBasic(), form("scope", target.allowedScopes()[0]))
			refusedOrSkip(res, "C-6749-4.4.2-c")
			obj, err := decodeObject(bodyOf(res))
			if err != nil {
				Skip("the error response is not a JSON object (" + err.Error() + "); the 5.2-g spec reports it")
			}
			v, ok := obj.members["error_uri"]
			if !ok {
				return
			}
			Expect(jsonKindOf(v)).To(Equal("string"), per("C-6749-5.2-f", "error_uri is not a JSON string"))
			Expect(v).To(MatchRegexp(`^[\x21\x23-\x5B\x5D-\x7E]+$`), per("C-6749-5.2-f", "error_uri is empty or has characters outside %x21 / %x23-5B / %x5D-7E"))
			_, err = url.Parse(v.(string))
			Expect(err).NotTo(HaveOccurred(), per("C-6749-5.2-f", "error_uri is not a URI reference"))
		}, SpecTimeout(target.specTimeout(1)))

	// §5.2 (MUST): the error parameters are the members of a JSON object sent as
	// application/json (a charset parameter is fine). kanidm #4470 sent text/plain, which
	// golang.org/x/oauth2 then misread.
	It("answers an unknown grant_type with a JSON object sent as application/json",
		specLabels("token", "C-6749-5.2-g"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "unknown grant type", target.Client.basic(), unknownGrantForm("urn:ccconform:no-such-grant"))
			refusedOrSkip(res, "C-6749-4.4.2-b")
			Expect(res).To(HaveJSONMediaType(), per("C-6749-5.2-g"))
			Expect(res).To(BeJSONObject(), per("C-6749-5.2-g"))
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 (MUST): a client that authenticates but may not use the grant it asks for gets
	// unauthorized_client, with 400.
	It("answers a client registered without the client credentials grant with 400 unauthorized_client",
		specLabels("token", "C-6749-5.2-h"), func(ctx SpecContext) {
			needTokenPath()
			c := declaredFixture(target.Clients.WithoutClientCredentials, "without_client_credentials",
				"a client registered without the client credentials grant")
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "client without the grant", c.basic(), form())
			expectNoToken(res, "C-6749-5.2-h")
			expectErrorShape(res)
			Expect(res).To(HaveOAuth2Error("unauthorized_client"), per("C-6749-5.2-h"))
			Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), per("C-6749-5.2-a", "for unauthorized_client"))
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 and §3.3 (MUST): a malformed scope (a quote or a backslash is no scope-token
	// character) is invalid_scope, with 400, and never gets a token. The checklist accepts
	// invalid_request leniently, since the request is malformed too.
	It("answers a scope with a quote and a backslash with 400 invalid_scope",
		specLabels("token", "C-6749-5.2-i"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "malformed scope", target.Client.basic(), form("scope", `ccconform"quote\backslash`))
			expectNoToken(res, "C-6749-5.2-i")
			expectErrorShape(res)
			Expect(res).To(Or(HaveOAuth2Error("invalid_scope"), HaveOAuth2Error("invalid_request")), per("C-6749-5.2-i"))
			Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), per("C-6749-5.2-a", "for a malformed scope"))
			expectSoftly("C-6749-5.2-i", func(g Gomega) { g.Expect(res).To(HaveOAuth2Error("invalid_scope")) })
		}, SpecTimeout(target.specTimeout(2)))

	// §5.2 and §3.3 (MUST): a well-formed scope the client may not have is invalid_scope, unless
	// the provider uses its §3.3 right to narrow the request, and then it names the scope it
	// granted, which cannot be the forbidden one.
	It("answers a forbidden scope with 400 invalid_scope, or a narrowed token whose scope is named",
		specLabels("token", "C-6749-5.2-i"), func(ctx SpecContext) {
			needTokenPath()
			forbidden := forbiddenScopeOrSkip()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "forbidden scope", target.Client.basic(), form("scope", forbidden))
			if res.StatusCode != http.StatusOK {
				expectTokenError(res, "C-6749-5.2-i", "invalid_scope")
				return
			}
			Expect(res).To(BeJSONObject(), per("C-6749-5.2-i"))
			v, ok := objectOf(res).members["scope"]
			Expect(ok).To(BeTrue(), per("C-6749-5.2-i", "the provider issued a token for a scope the client may not have, without saying which scope it granted"))
			Expect(jsonKindOf(v)).To(Equal("string"), per("C-6749-3.3-a", "scope is not a JSON string"))
			granted, _ := v.(string)
			Expect(strings.Split(granted, " ")).NotTo(ContainElement(forbidden), per("C-6749-5.2-i", "the provider granted the forbidden scope "+forbidden))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.2 (MUST): response parameters are not repeated, in an error response either.
	It("answers an unknown grant_type with a JSON object that has no member twice",
		specLabels("token", "C-6749-3.2-g"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrSkip(ctx)
			res := postToken(ctx, "unknown grant type", target.Client.basic(), unknownGrantForm("urn:ccconform:no-such-grant"))
			refusedOrSkip(res, "C-6749-4.4.2-b")
			obj, err := decodeObject(bodyOf(res))
			if err != nil {
				Skip("the error response is not a JSON object (" + err.Error() + "); the 5.2-g spec reports it")
			}
			Expect(obj.duplicates).To(BeEmpty(), per("C-6749-3.2-g", "members sent twice"))
		}, SpecTimeout(target.specTimeout(2)))
})

// expectStatus400ForItsCode checks §5.2's status rule against the code the provider chose: each of
// §5.2's codes but invalid_client goes with 400. A response that is no error, invalid_client, or
// a code of another kind (server_error says the server failed, not the request) is not this
// rule's business: the spec is skipped, and the rule of the case reports it.
func expectStatus400ForItsCode(res *http.Response) {
	GinkgoHelper()
	obj, err := decodeObject(bodyOf(res))
	code, _ := obj.members["error"].(string)
	switch {
	case res.StatusCode < 400:
		Skip("the provider did not refuse the request (" + res.Status + "); the rule of the case reports it")
	case err != nil || code == "":
		Skip("the refusal carries no error code to judge its status by; the 5.2-d and 5.2-g specs report it")
	case code == "invalid_client":
		Skip("the provider answered invalid_client, whose status the 5.2-b and 5.2-c specs judge")
	case !slices.Contains([]string{"invalid_request", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"}, code):
		Skip(fmt.Sprintf("the provider answered %q, which is not one of §5.2's codes that go with 400; the rule of the case reports it", code))
	}
	Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), per("C-6749-5.2-a", "for "+code))
}

// refusedOrSkip skips a spec about the shape of a refusal when the provider did not refuse: the
// rule that the request breaks (id) reports that, once.
func refusedOrSkip(res *http.Response, id string) {
	GinkgoHelper()
	if res.StatusCode < 400 {
		Skip(fmt.Sprintf("the provider did not refuse the request (%s); the %s specs report it", res.Status, strings.TrimPrefix(id, "C-6749-")))
	}
}

// expectDescriptionCharset checks the error_description of a refusal, if it has one.
func expectDescriptionCharset(res *http.Response) {
	GinkgoHelper()
	if res.StatusCode < 400 {
		Skip("the provider did not refuse the request (" + res.Status + "); the rule of the case reports it")
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		Skip("the error response is not a JSON object (" + err.Error() + "); the 5.2-g spec reports it")
	}
	v, ok := obj.members["error_description"]
	if !ok {
		return
	}
	Expect(jsonKindOf(v)).To(Equal("string"), per("C-6749-5.2-e", "error_description is not a JSON string"))
	Expect(v).To(MatchRegexp(errorCharset.String()), per("C-6749-5.2-e", "error_description has characters outside %x20-21 / %x23-5B / %x5D-7E"))
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
		Skip(fmt.Sprintf("the target declares no %s (clients.%s in --target-config)", what, key))
	}
	return *c
}
