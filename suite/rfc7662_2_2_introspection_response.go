package suite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 7662 §2.2: the introspection response, as the authorised introspecting client gets it
// for a fresh client credentials token of the default client and for a made-up token.
var _ = Describe("RFC 7662 §2.2: the introspection response", func() {
	labels := func(ids ...string) Labels {
		return append(specLabels("introspection", ids...), "cap:introspection")
	}

	// §2.2 (MUST): the answer is a JSON object sent as application/json, with the required
	// boolean active; judged on the answers for an active and for an unknown token.
	It("answers the introspection of a fresh token and of a made-up token with 200 and a JSON object whose active is a boolean",
		labels("C-7662-2.2-a"), func(ctx SpecContext) {
			introspector := needIntrospector()
			tok := issueToken(ctx, target.Client, askedScope())
			introspectionOf(introspect(ctx, introspector, "introspect a fresh token", tokenForm(tok.AccessToken, "")))
			introspectionOf(introspect(ctx, introspector, "introspect a made-up token", tokenForm(rsBogusToken(), "")))
		}, SpecTimeout(target.specTimeout(3)))

	// §2.2 (MUST): a token that is active gets active: true (a fresh token reported inactive is
	// replaced once: introspectFreshToken).
	It("answers the introspection of a fresh client credentials token with active: true",
		labels("C-7662-2.2-b"), func(ctx SpecContext) {
			introspector := needIntrospector()
			_, members := introspectFreshToken(ctx, introspector)
			row("C-7662-2.2-b").Expect(members["active"]).To(BeTrue(), "the introspection of a token issued a moment ago")
		}, SpecTimeout(target.specTimeout(2)))

	// §2.2 and §2.3 (MUST): a properly authorised request about a token that is not active
	// (unknown, expired, revoked) is no error: 200 with active: false.
	It("answers the introspection of a made-up token with 200 and active: false, not an error",
		labels("C-7662-2.2-c"), func(ctx SpecContext) {
			introspector := needIntrospector()
			res := introspect(ctx, introspector, "introspect a made-up token", tokenForm(rsBogusToken(), ""))
			row("C-7662-2.2-c").Require(res.StatusCode).To(Equal(200), "an unknown token is no error (RFC 7662 §2.3), but it got %s", res.Status)
			members := introspectionOf(res)
			row("C-7662-2.2-c").Expect(members["active"]).To(BeFalse(), "the introspection of a made-up token")
		}, SpecTimeout(target.specTimeout(1)))

	// The same for a token the provider revoked (RFC 7009), once introspection no longer says
	// it is active; a provider that does not revoke it is C-7009-2-b's finding.
	It("answers the introspection of a token it revoked with 200 and active: false, not an error",
		append(labels("C-7662-2.2-c"), "cap:revocation"), func(ctx SpecContext) {
			introspector := needIntrospector()
			needCap(config.CapRevocation)
			tok := revocableToken(ctx, target.Client)
			if res := revoke(ctx, target.Client, "revoke a fresh token", tokenForm(tok.AccessToken, "")); res.StatusCode != http.StatusOK {
				judge.Block("C-7009-2-b", "the provider did not revoke the access token: %s", res.Status)
			}
			By(fmt.Sprintf("introspecting the revoked token until it is not active, for up to %s", target.RevocationWindow))
			deadline := time.Now().Add(target.RevocationWindow)
			var res *http.Response
			for {
				res = introspect(ctx, introspector, "introspect the revoked token", tokenForm(tok.AccessToken, ""))
				if objectOf(res).members["active"] != true || time.Now().After(deadline) {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
			}
			row("C-7662-2.2-c").Require(res.StatusCode).To(Equal(200), "a revoked token is no error (RFC 7662 §2.3), but it got %s", res.Status)
			members := introspectionOf(res)
			if members["active"] == true {
				judge.Block("C-7009-2-b", "the revoked token is still active at introspection %s after its revocation", target.RevocationWindow)
			}
			row("C-7662-2.2-c").Expect(members["active"]).To(BeFalse(), "the introspection of a revoked token")
		}, SpecTimeout(revocationSpecTimeout(1)))

	// §2.2 and §4 (SHOULD NOT): the answer for an inactive token carries nothing but active,
	// not even why it is inactive, so as not to disclose the server's state (Inferno PR #111).
	It("answers the introspection of a made-up token with active alone and no other member",
		labels("C-7662-2.2-d"), func(ctx SpecContext) {
			introspector := needIntrospector()
			members := introspectionOf(introspect(ctx, introspector, "introspect a made-up token", tokenForm(rsBogusToken(), "")))
			if members["active"] != false {
				row("C-7662-2.2-d").Cannot("the made-up token was reported active (C-7662-2.2-c's finding), so there is no inactive answer to look at")
				return
			}
			var extra []string
			for name := range members {
				if name != "active" {
					extra = append(extra, name)
				}
			}
			sort.Strings(extra)
			row("C-7662-2.2-d").Expect(extra).To(BeEmpty(), "members of the answer for an inactive token besides active")
		}, SpecTimeout(target.specTimeout(1)))

	// §2.2 (MUST): the optional members have their types: scope a string of space-separated
	// scopes (§3.3 of RFC 6749; an array fails, SimpleIdServer #957); exp, iat and nbf whole
	// seconds; client_id, username, token_type, sub, iss and jti strings; aud a string or an
	// array of strings.
	It("answers the introspection of a fresh token with members of the types RFC 7662 gives them",
		labels("C-7662-2.2-e"), func(ctx SpecContext) {
			introspector := needIntrospector()
			_, members := introspectFreshToken(ctx, introspector)
			row("C-7662-2.2-e").Expect(introspectionTypeProblems(members)).To(BeEmpty(), "members of the wrong type")
		}, SpecTimeout(target.specTimeout(2)))

	// §2.2 (MAY; derived): client_id is optional; when present for a client credentials token
	// it names the client the token was issued to, and scope agrees with the token response
	// (inferno-reference-server PR #211 left both out). Recorded: the row is a MAY.
	It("records whether the introspection of a fresh token names its client and the scope the token response granted",
		labels("C-7662-2.2-f"), func(ctx SpecContext) {
			introspector := needIntrospector()
			asked := askedScope()
			tok, members := introspectFreshToken(ctx, introspector)
			r := row("C-7662-2.2-f")
			if id, ok := members["client_id"]; ok {
				r.That(id == target.Client.ID, "client_id is %s, not the client the token was issued to", jsonText(id))
			} else {
				r.Inform("the introspection response has no client_id")
			}
			granted := asked
			if tok.HasScope {
				granted = tok.Scope
			}
			if scope, ok := members["scope"].(string); ok {
				r.That(sameScopes(scope, granted), "scope is %q, but the token response granted %q", scope, granted)
			} else {
				r.Inform("the introspection response has no scope string")
			}
		}, SpecTimeout(target.specTimeout(2)))
})

// introspectionTypeProblems lists the members of an introspection response whose type is not
// the one RFC 7662 §2.2 gives them.
func introspectionTypeProblems(members map[string]any) []string {
	var problems []string
	for name, v := range members {
		switch name {
		case "scope":
			s, ok := v.(string)
			if !ok || (s != "" && !scopeSyntax.MatchString(s)) {
				problems = append(problems, fmt.Sprintf("scope is %s, not a string of space-separated scope tokens", jsonText(v)))
			}
		case "exp", "iat", "nbf":
			n, ok := v.(json.Number)
			if _, err := n.Int64(); !ok || err != nil {
				problems = append(problems, fmt.Sprintf("%s is %s, not an integer number of seconds", name, jsonText(v)))
			}
		case "client_id", "username", "token_type", "sub", "iss", "jti":
			if _, ok := v.(string); !ok {
				problems = append(problems, fmt.Sprintf("%s is %s, not a string", name, jsonText(v)))
			}
		case "aud":
			if !isStringOrStrings(v) {
				problems = append(problems, fmt.Sprintf("aud is %s, not a string or an array of strings", jsonText(v)))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// isStringOrStrings: a JSON string, or an array of strings.
func isStringOrStrings(v any) bool {
	switch x := v.(type) {
	case string:
		return true
	case []any:
		return !slices.ContainsFunc(x, func(e any) bool { _, ok := e.(string); return !ok })
	}
	return false
}

// sameScopes: two scope strings name the same set of scopes (RFC 6749 §3.3: order does not
// matter).
func sameScopes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// jsonText is a JSON value as a message shows it: its JSON text, cut short, escaped.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return redactor.mask(oneLine(string(b), 80))
}
