package suite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §5.1: the successful access token response, one spec per rule, each on a token
// request of its own: the default client, HTTP Basic, the first allowed scope. A spec about one
// member or header skips when there is no successful JSON response to look at; the status and
// body specs (§5.1 a and f) report that.
var _ = Describe("RFC 6749 §5.1: the successful token response", func() {
	// §5.1 (MUST): success is status 200; not 201, not 204, not a redirect.
	It("answers a valid client credentials request with 200",
		specLabels("token", "C-6749-5.1-a"), func(ctx SpecContext) {
			res := askForValidToken(ctx)
			row("C-6749-5.1-a").Expect(res).To(HaveHTTPStatus(http.StatusOK))
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (MUST) and Appendix A.12: access_token is required, a non-empty string of visible
	// ASCII characters and spaces (VSCHAR, %x20-7E).
	It("answers a valid request with access_token, a non-empty string of %x20-7E",
		specLabels("token", "C-6749-5.1-b"), func(ctx SpecContext) {
			members := successfulMembers(askForValidToken(ctx))
			// The assertions never print the token: no map or token value in a failure message.
			v, ok := members["access_token"]
			j := row("C-6749-5.1-b")
			j.RequireThat(ok, "access_token is missing")
			j.Require(jsonKindOf(v)).To(Equal("string"), "access_token is not a JSON string")
			j.RequireThat(v.(string) != "", "access_token is empty")
			j.That(vschars.MatchString(v.(string)), "access_token has characters outside %%x20-7E")
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (MUST), §7.1 and Appendix A.13: token_type is required: a type name (letters,
	// digits, "-", ".", "_") or an absolute URI. Its value is case-insensitive, so "bearer" is
	// as good as "Bearer" (keycloak PR #7384); whether the type is Bearer is the scenario's
	// business, not this rule's. §8.1: a type is either registered (the Access Token Types
	// registry of §11.1: Bearer, N_A, PoP, DPoP) or named by an absolute URI, so a client can
	// know what it is (§7.1: a client must not use a token whose type it does not understand);
	// a made-up short name ("mac") is neither.
	It("answers a valid request with token_type, a type name compared case-insensitively",
		specLabels("token", "C-6749-5.1-c"), func(ctx SpecContext) {
			members := successfulMembers(askForValidToken(ctx))
			v, ok := members["token_type"]
			j := row("C-6749-5.1-c")
			j.RequireThat(ok, "token_type is missing")
			j.Require(jsonKindOf(v)).To(Equal("string"), "token_type is not a JSON string")
			if j.Expect(v).To(Or(MatchRegexp(`^[A-Za-z0-9._-]+$`), MatchRegexp(`^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7E]+$`)),
				"token_type is neither a type name (ALPHA, DIGIT, -, ., _) nor an absolute URI") {
				t := v.(string)
				j.That(strings.EqualFold(t, "Bearer") || registeredTokenType(t),
					"token_type %q is neither a registered access token type (Bearer, N_A, PoP, DPoP) nor an absolute URI (RFC 6749 §8.1)", t)
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (SHOULD): expires_in is recommended; without it the lifetime must be documented,
	// which the suite cannot see, so its absence is a warning (the registry grades the row).
	It("answers a valid request with expires_in",
		specLabels("token", "C-6749-5.1-d"), func(ctx SpecContext) {
			members := successfulMembers(askForValidToken(ctx))
			_, ok := members["expires_in"]
			row("C-6749-5.1-d").That(ok, "the response has no expires_in: it does not say how long the token lives")
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (MUST) and Appendix A.14: expires_in, when present, is a JSON number written as
	// digits only: a whole, non-negative number of seconds. A string "3600" (Azure AD v1,
	// NetDocuments), a negative, fractional or exponent form fails. 0 is well-formed but says
	// the token is dead on arrival: the checklist's lenient case of the row (a warning, a
	// failure under --strict).
	It("answers a valid request with expires_in, when present, as a non-negative whole JSON number",
		specLabels("token", "C-6749-5.1-e"), func(ctx SpecContext) {
			members := successfulMembers(askForValidToken(ctx))
			v, ok := members["expires_in"]
			if !ok {
				return // optional (§5.1 d)
			}
			n, isNumber := v.(json.Number)
			j := row("C-6749-5.1-e")
			j.RequireThat(isNumber, "%s", fmt.Sprintf("expires_in is a JSON %s, not a number", jsonKindOf(v)))
			j.Require(string(n)).To(MatchRegexp(`^[0-9]+$`), "expires_in is not a whole non-negative number of seconds written as digits")
			j.Lenient().Expect(strings.TrimLeft(string(n), "0")).NotTo(BeEmpty(), "expires_in is 0: the token is expired when it is issued")
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (MUST): the parameters are the members of one JSON object, sent as application/json
	// (a charset parameter is fine). That strings are strings and numbers numbers is checked
	// member by member, under each member's rule (§5.1 b, c and e; §3.3 a).
	It("answers a valid request with one JSON object sent as application/json",
		specLabels("token", "C-6749-5.1-f"), func(ctx SpecContext) {
			res := askForSuccessfulToken(ctx)
			row("C-6749-5.1-f").Expect(res).To(HaveJSONMediaType())
			row("C-6749-5.1-f").Expect(res).To(BeJSONObject())
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (MUST): a response carrying a token has Cache-Control: no-store. Every Cache-Control
	// field is read as a comma-separated list of case-insensitive directives (RFC 9111 §5.2),
	// quoted arguments included, so "private, NO-STORE" passes and "no-cache, private"
	// (pixelfed PR #6553) does not. An ETag on a token response hints that something caches
	// it (idenplane #219): recorded, not graded.
	It("answers a valid request with Cache-Control: no-store",
		specLabels("token", "C-6749-5.1-g"), func(ctx SpecContext) {
			res := askForSuccessfulToken(ctx)
			row("C-6749-5.1-g").Expect(res).To(HaveCacheDirective("no-store"))
			if res.Header.Get("ETag") != "" {
				row("C-6749-5.1-g").Inform("the token response carries an ETag, as if something cached it")
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §5.1 (MUST): a response carrying a token has Pragma: no-cache too. RFC 9111 deprecates
	// Pragma and OAuth 2.1 drops the rule, so the registry regrades the row: a warning, and
	// information under the oauth2.1 profile.
	It("answers a valid request with Pragma: no-cache",
		specLabels("token", "C-6749-5.1-h"), func(ctx SpecContext) {
			res := askForSuccessfulToken(ctx)
			row("C-6749-5.1-h").Expect(res).To(HavePragmaNoCache())
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2 (MUST): response parameters are not repeated. A JSON object with a member twice is
	// one that parsers read differently (most keep the last, some the first, some refuse it).
	It("answers a valid request with a JSON object that has no member twice",
		specLabels("token", "C-6749-3.2-g"), func(ctx SpecContext) {
			res := askForSuccessfulToken(ctx)
			obj, err := decodeObject(bodyOf(res))
			if err != nil {
				judge.Block("C-6749-5.1-f", "the token response is not a JSON object (%v)", err)
			}
			row("C-6749-3.2-g").Expect(obj.duplicates).To(BeEmpty(), "members sent twice")
		}, SpecTimeout(target.specTimeout(1)))
})

// vschars is RFC 6749 Appendix A's VSCHAR, one or more.
var vschars = regexp.MustCompile(`^[\x20-\x7E]+$`)

// askForValidToken sends the request every §5.1 spec looks at: the default client with HTTP
// Basic, client_credentials, the first allowed scope.
func askForValidToken(ctx SpecContext) *http.Response {
	GinkgoHelper()
	needTokenPath()
	return postToken(ctx, "valid credentials", target.Client.basic(), form("scope", target.allowedScopes()[0]))
}

// askForSuccessfulToken is askForValidToken for the specs of one part of a success: a response
// that is not a 200 is the 5.1-a spec's to report, and blocks them.
func askForSuccessfulToken(ctx SpecContext) *http.Response {
	GinkgoHelper()
	res := askForValidToken(ctx)
	if res.StatusCode != http.StatusOK {
		judge.Block("C-6749-5.1-a", "the token request got %s, not a token", res.Status)
	}
	return res
}

// successfulMembers returns the members of a successful token response, or blocks the spec by
// the row that reports a response that is not one (5.1-a, 5.1-f).
func successfulMembers(res *http.Response) map[string]any {
	GinkgoHelper()
	if res.StatusCode != http.StatusOK {
		judge.Block("C-6749-5.1-a", "the token request got %s, not a token", res.Status)
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		judge.Block("C-6749-5.1-f", "the token response is not a JSON object (%v)", err)
	}
	return obj.members
}
