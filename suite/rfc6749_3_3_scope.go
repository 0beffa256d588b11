package suite

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §3.3: the scope of an access token, as the token endpoint reports it. The request side
// (an empty scope parameter, §3.2) is another file's; the error codes of a bad scope are in
// rfc6749_5_2_error_response.go.
var _ = Describe("RFC 6749 §3.3: access token scope", func() {
	// §3.3 (MUST) and Appendix A.4: the scope member is one JSON string of scope tokens
	// (%x21 / %x23-5B / %x5D-7E) separated by single spaces; an array of scopes, doubled or
	// leading spaces, or characters outside the set break it. The member is optional when the
	// granted scope is the one asked for, so a response without it passes.
	It("asks for every allowed scope and gets scope, when present, as one string of space-separated scope tokens",
		specLabels("token", "C-6749-3.3-a"), func(ctx SpecContext) {
			needTokenPath()
			asked := strings.Join(target.allowedScopes(), " ")
			res := postToken(ctx, "every allowed scope", target.Client.basic(), form("scope", asked))
			members := scopeSpecSuccess(res)
			v, ok := members["scope"]
			if !ok {
				return
			}
			row("C-6749-3.3-a").Require(jsonKindOf(v)).To(Equal("string"), "scope is not a JSON string")
			row("C-6749-3.3-a").Expect(v).To(MatchRegexp(scopeSyntax.String()),
				"scope is not scope tokens of %%x21 / %%x23-5B / %%x5D-7E separated by single spaces")
		}, SpecTimeout(target.specTimeout(1)))

	// §3.3 (MUST): when the server grants a scope other than the one asked for, the response
	// says which. Asked for an allowed scope and one the client may not have, a provider may
	// refuse the request with invalid_scope (§5.2), or narrow it (§3.3 lets it) and then must
	// include scope, which then differs from the request: it cannot name the forbidden scope.
	It("asks for an allowed and a forbidden scope and gets 400 invalid_scope, or 200 with the narrower scope named",
		specLabels("token", "C-6749-3.3-b"), func(ctx SpecContext) {
			needTokenPath()
			forbidden := forbiddenScopeOrSkip()
			clientGetsTokenOrBlock(ctx)
			asked := target.allowedScopes()[0] + " " + forbidden
			res := postToken(ctx, "allowed and forbidden scope", target.Client.basic(), form("scope", asked))
			if res.StatusCode != http.StatusOK {
				expectTokenError(res, "C-6749-3.3-b", "invalid_scope")
				return
			}
			// No map in a failure message: it would print the token.
			granted := grantedScopeOrBlock(res)
			row("C-6749-3.3-b").RequireThat(granted.present, "the provider issued a token for a scope it may not grant in full, so it must say which scope it granted")
			row("C-6749-3.3-b").Expect(granted.tokens).NotTo(ContainElement(forbidden),
				"the response says the forbidden scope "+forbidden+" was granted")
		}, SpecTimeout(target.specTimeout(2)))

	// §3.3 (MAY): the server may ignore the requested scope, fully or in part. Recorded, never
	// graded: asked for one allowed scope, does it grant exactly that; asked for an allowed and
	// a forbidden one, does it refuse, narrow or ignore the request.
	It("records whether the provider grants, narrows or ignores the requested scope",
		specLabels("token", "C-6749-3.3-c"), func(ctx SpecContext) {
			needTokenPath()
			one := target.allowedScopes()[0]
			By("asking for one allowed scope")
			res := postToken(ctx, "one allowed scope", target.Client.basic(), form("scope", one))
			row("C-6749-3.3-c").Inform("asked for %q: %s", one, describeScopeOutcome(res, one))
			if target.Scopes.Forbidden == "" {
				return
			}
			asked := one + " " + target.Scopes.Forbidden
			By("asking for an allowed and a forbidden scope")
			res = postToken(ctx, "allowed and forbidden scope", target.Client.basic(), form("scope", asked))
			row("C-6749-3.3-c").Inform("asked for %q: %s", asked, describeScopeOutcome(res, asked))
		}, SpecTimeout(target.specTimeout(2)))

	// §3.3 (MUST): a client that asks for no scope gets the server's documented default, or
	// invalid_scope when there is none. Both are accepted (the suite cannot read the
	// documentation); any other answer, a 500 or invalid_request above all, is not. What a 200
	// carries is the §5.1 specs' business.
	It("asks for no scope and gets 200 (a default scope) or 400 invalid_scope",
		specLabels("token", "C-6749-3.3-d"), func(ctx SpecContext) {
			needTokenPath()
			clientGetsTokenOrBlock(ctx)
			res := postToken(ctx, "no scope", target.Client.basic(), form())
			row("C-6749-3.3-d").Expect(res).To(HaveHTTPStatus(http.StatusOK, http.StatusBadRequest),
				"without scope the provider must use its default scope or answer invalid_scope")
			if res.StatusCode == http.StatusBadRequest {
				row("C-6749-3.3-d").Expect(expectErrorShape(res)).To(Equal("invalid_scope"), "the only error for a missing scope is invalid_scope")
			}
		}, SpecTimeout(target.specTimeout(2)))
})

// scopeSpecSuccess returns the members of a successful token response, or blocks the spec: a
// scope rule has nothing to look at without one, and the §4.4.3 and §5.1 specs report why there
// is none.
func scopeSpecSuccess(res *http.Response) map[string]any {
	GinkgoHelper()
	if res.StatusCode != http.StatusOK {
		judge.Block("C-6749-4.4.3-a", "the token request got %s, not a token", res.Status)
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		judge.Block("C-6749-5.1-f", "the token response is not a JSON object (%v)", err)
	}
	return obj.members
}

// grantedScope is the scope member of a successful token response.
type grantedScope struct {
	present bool
	// tokens are the scope tokens the response names.
	tokens []string
}

// grantedScopeOrBlock reads the scope member of a successful token response. A body that is no
// JSON object, or a scope that is no string, is another row's defect (C-6749-5.1-f,
// C-6749-3.3-a), which blocks a spec that needs to know what was granted.
func grantedScopeOrBlock(res *http.Response) grantedScope {
	GinkgoHelper()
	members := scopeSpecSuccess(res)
	v, ok := members["scope"]
	if !ok {
		return grantedScope{}
	}
	s, isString := v.(string)
	if !isString {
		judge.Block("C-6749-3.3-a", "the granted scope is a JSON %s, not a string", jsonKindOf(v))
	}
	return grantedScope{present: true, tokens: strings.Split(s, " ")}
}

// clientGetsTokenOrBlock checks the precondition of the specs that provoke a refusal with the
// default client's own credentials: that the client gets a token when it asks for an allowed
// scope. Otherwise every such spec would report the same broken endpoint or credentials, which
// the §4.4.3 and §5.1 specs report once: the spec is blocked by C-6749-4.4.3-a.
func clientGetsTokenOrBlock(ctx SpecContext) {
	GinkgoHelper()
	By("checking that the client gets a token for an allowed scope")
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "precondition: a token for an allowed scope",
		Form: form("scope", target.allowedScopes()[0]), Authorization: target.Client.basic()})
	if err != nil {
		judge.Block("C-6749-4.4.3-a", "the client could not get a token, which this spec takes for granted: %v", err)
	}
	if _, why := parseTokenResponse(res); why != "" {
		judge.Block("C-6749-4.4.3-a", "the client could not get a token, which this spec takes for granted: %s", why)
	}
}

// forbiddenScopeOrSkip returns the target's forbidden scope, or skips the spec.
func forbiddenScopeOrSkip() string {
	GinkgoHelper()
	if target.Scopes.Forbidden == "" {
		judge.Skip("the target declares no scope the client may not get (scopes.forbidden in --target-config)")
	}
	return target.Scopes.Forbidden
}

// describeScopeOutcome says in words what a token request asking for scope got.
func describeScopeOutcome(res *http.Response, asked string) string {
	obj, err := decodeObject(bodyOf(res))
	switch {
	case res.StatusCode != http.StatusOK:
		code, _ := obj.members["error"].(string)
		return fmt.Sprintf("refused with %s %q", res.Status, code)
	case err != nil:
		return "200 without a JSON object"
	}
	v, ok := obj.members["scope"]
	if !ok {
		return "granted, scope not stated (so as asked)"
	}
	granted, _ := v.(string)
	want, got := strings.Fields(asked), strings.Fields(granted)
	slices.Sort(want)
	slices.Sort(got)
	switch {
	case slices.Equal(want, got):
		return "granted as asked"
	case scopesWithin(got, want):
		return fmt.Sprintf("narrowed to %q", granted)
	default:
		return fmt.Sprintf("ignored the request and granted %q", granted)
	}
}

func scopesWithin(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}

// jsonKindOf names the JSON type of a value decoded by decodeObject.
func jsonKindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case nil:
		return "null"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "number"
	}
}
