package suite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §7: the client presents its access token to the resource server, which must check
// it. The format of the refusals (challenge, error codes) belongs to RFC 6750 and is checked
// by the rfc6750_* files; here only whether the token was honoured, and that the refusal says
// why (§7.2).
var _ = Describe("RFC 6749 §7: accessing protected resources", func() {
	// §7 (MUST): the resource server validates every token it is shown, so a token it never
	// issued is refused. RFC 6750 §3.1 (SHOULD) adds how: 401 and error="invalid_token".
	It("refuses a random token on the read path, with 401 and invalid_token",
		specLabels("resource", "C-6749-7-a", "C-6750-3.1-c"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			rsExpectError(res, "C-6750-3.1-c", "invalid_token", http.StatusUnauthorized)
		}, SpecTimeout(target.specTimeout(1)))

	// §7 (MUST): a token is checked as a whole: one character changed makes it a token the
	// provider never issued. The character changed is in the middle of the token and is not the
	// last of a base64 run, whose spare bits a decoder may ignore; the new character differs
	// from the old one in any letter case, since a provider may compare tokens case-blind.
	It("refuses its own token with one character changed, with 401 and invalid_token",
		specLabels("resource", "C-6749-7-a", "C-6750-3.1-c"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := getResource(ctx, "token with one character changed", "Bearer "+rsChangeOneCharacter(tok.AccessToken))
			rsExpectRefused(res, "a token with one character changed")
			rsExpectError(res, "C-6750-3.1-c", "invalid_token", http.StatusUnauthorized)
		}, SpecTimeout(target.specTimeout(2)))

	// §7 (MUST): an expired token is no longer valid. The short-lived fixture client's token is
	// used while fresh (so that the later refusal can only be its expiry), then again once its
	// expires_in has passed, with a second's margin for providers that count whole seconds.
	// RFC 6750 §3.1 (SHOULD): an expired token is invalid_token, with 401. The spec waits, so it
	// is labelled slow; it is skipped when the target declares no short-lived client or its
	// tokens outlive the expiry wait (max_expiry_wait in --target-config, 5 s by default).
	It("refuses a short-lived token once it has expired, with 401 and invalid_token",
		// SpecPriority: scheduled first, so that under ginkgo -p its wait overlaps the other specs.
		Label("slow"), SpecPriority(100), specLabels("resource", "C-6749-7-a", "C-6750-3.1-c"), func(ctx SpecContext) {
			if target.Clients.ShortLived == nil {
				judge.Skip("the target declares no short-lived client (clients.short_lived in --target-config), whose token this spec lets expire")
			}
			needReadPath()
			var received time.Time
			issue := func() issuedToken {
				tok := issueToken(ctx, *target.Clients.ShortLived, rsScopeFor(target.ReadPath))
				received = time.Now()
				if !tok.HasExpiresIn {
					judge.Skip("the short-lived client's token response has no whole-number expires_in, so the spec cannot tell when it expires")
				}
				if lifetime := time.Duration(tok.ExpiresIn) * time.Second; lifetime > target.maxExpiryWait() {
					judge.Skip("the short-lived client's tokens live %s, longer than the expiry wait of %s (max_expiry_wait in --target-config)",
						lifetime, target.maxExpiryWait())
				}
				return tok
			}

			By("using the token while it is fresh")
			fresh, tok := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return getResource(ctx, "short-lived token, fresh", t.bearer())
			})
			if !rsSucceeded(fresh) {
				judge.Skip("the short-lived token was refused while fresh (%s), so its expiry cannot be seen; the specs of C-6750-2.1-a judge whether valid tokens are served", fresh.Status)
			}

			By("waiting until it has expired")
			wait := time.Until(received.Add(time.Duration(tok.ExpiresIn)*time.Second + rsExpiryMargin))
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			res := getResource(ctx, "short-lived token, expired", tok.bearer())
			rsExpectRefused(res, "an expired token")
			rsExpectError(res, "C-6750-3.1-c", "invalid_token", http.StatusUnauthorized)
		}, SpecTimeout(target.specTimeout(5)+target.maxExpiryWait()+rsExpiryMargin))

	// §7 (MUST): the token's scope must cover the resource. A token granted another scope than
	// the one a declared resource needs is refused. RFC 6750 §3.1 (SHOULD): with 403 and
	// insufficient_scope; a 401 is a warning. Skipped when no resource declares a scope the
	// default client can be refused.
	It("refuses a token without the scope a resource needs, with 403 and insufficient_scope",
		specLabels("resource", "C-6749-7-a", "C-6750-3.1-d"), func(ctx SpecContext) {
			res := rsRequestWithoutScope(ctx)
			rsExpectRefused(res, "a token without the scope the resource needs")
			rsExpectError(res, "C-6750-3.1-d", "insufficient_scope", http.StatusForbidden)
		}, SpecTimeout(target.specTimeout(4)))

	// §7.2 (SHOULD): a refused request tells the client what went wrong. For Bearer tokens that
	// is the error attribute of the challenge (RFC 6750 §3, checked on its own as C-6750-3-f);
	// an OAuth error member in a JSON body also informs the client, so either is accepted here.
	// A refusal that has neither and no Bearer challenge at all is C-6750-3-a's or 3-b's failure,
	// reported by their specs.
	It("says why it refuses a random token: an error in the challenge or the body",
		specLabels("resource", "C-6749-7.2-a"), func(ctx SpecContext) {
			res := getResource(ctx, "random token", "Bearer "+rsBogusToken())
			rsExpectRefused(res, "a random token")
			_, informed := rsErrorIndication(res)
			if !informed {
				rsBearerChallenges(res)
			}
			row("C-6749-7.2-a").That(informed, "the refusal (%s) has no error attribute in its Bearer challenge (%q) and no error member in its body",
				res.Status, strings.Join(res.Header.Values("WWW-Authenticate"), ", "))
		}, SpecTimeout(target.specTimeout(1)))
})

// Helpers of the resource server's specs (RFC 6749 §7 and §10.3, RFC 6750). Their names start
// with rs so that they do not collide with other sections' helpers.

// rsBogusPrefix starts every made-up token these specs send, so that a transcript shows which
// token was invented (the proof's faults recognise them by it too).
const rsBogusPrefix = "ccconform-bogus-"

// rsExpiryMargin is how long after its expires_in an expired token is tried: a provider that
// counts whole seconds may keep a token up to a second longer than it said.
const rsExpiryMargin = time.Second

// rsBogusToken is a made-up token in the b64token syntax (RFC 6750 §2.1), so that its refusal
// is about its validity, not its form.
func rsBogusToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return rsBogusPrefix + hex.EncodeToString(b)
}

// rsScopeFor is the scope to ask for a token meant for path: the scope the target declares for
// that resource, else the first scope the default client may be granted.
func rsScopeFor(path string) string {
	for _, r := range target.Resources {
		if r.Path == path && r.Scope != "" {
			return r.Scope
		}
	}
	return target.allowedScopes()[0]
}

// rsReadToken gets a token of the default client for the read path.
func rsReadToken(ctx context.Context) issuedToken {
	GinkgoHelper()
	needReadPath()
	return issueToken(ctx, target.Client, rsScopeFor(target.ReadPath))
}

// rsServedWithFreshTokenRetry presents a valid token (first) with present, and returns the
// answer and the token it showed last. A provider may keep only each client's newest token, so
// that issuing one revokes the client's earlier ones (no RFC forbids it): under ginkgo -p, specs
// on other processes ask for tokens of the same client at any time, and the token may be gone
// before this spec shows it. So when the token is refused as invalid_token, a fresh one is had
// from issue and shown at once, once; only a refusal of the fresh token says anything about the
// rule the spec checks.
func rsServedWithFreshTokenRetry(first issuedToken, issue func() issuedToken, present func(issuedToken) *http.Response) (*http.Response, issuedToken) {
	GinkgoHelper()
	res := present(first)
	if rsSucceeded(res) || !rsSaysInvalidToken(res) {
		return res, first
	}
	By(fmt.Sprintf("the valid token was refused as invalid_token (%s): another request for a token of the same client may have revoked it, so a fresh one is shown once", res.Status))
	tok := issue()
	return present(tok), tok
}

// rsSucceeded: the resource was served.
func rsSucceeded(res *http.Response) bool {
	return res.StatusCode >= 200 && res.StatusCode < 300
}

// rsExpectRefused: the request was not served (RFC 6749 §7, MUST). A spec that carries the row
// judges it, and stops when the request was served; any other spec is blocked by it, since a
// served request has no refusal to look at, and the specs of RFC 6749 §7 report the defect.
func rsExpectRefused(res *http.Response, what string) {
	GinkgoHelper()
	if labelled("C-6749-7-a") {
		row("C-6749-7-a").Require(res.StatusCode).To(BeNumerically(">=", 400), "%s was served: %s", what, res.Status)
		return
	}
	if res.StatusCode < 400 {
		judge.Block("C-6749-7-a", "%s was served: %s", what, res.Status)
	}
}

// rsBearerChallenges returns the Bearer challenges of a refusal, which the spec needs to judge
// its rows. A refusal without WWW-Authenticate is C-6750-3-a's failure, one without a
// well-formed Bearer challenge C-6750-3-b's (a stray comma after the scheme, "Bearer, error=…",
// is a malformed challenge): a spec that carries the row judges it here, and stops when it does
// not hold; any other spec is blocked by it, so that one defect is reported once, by its row.
func rsBearerChallenges(res *http.Response) []httpauth.Challenge {
	GinkgoHelper()
	fields := res.Header.Values("WWW-Authenticate")
	present := slices.ContainsFunc(fields, func(v string) bool { return strings.TrimSpace(v) != "" })
	if labelled("C-6750-3-a") {
		row("C-6750-3-a").RequireThat(present, "the refusal (%s) has no WWW-Authenticate", res.Status)
	} else if !present {
		judge.Block("C-6750-3-a", "the refusal (%s) has no WWW-Authenticate", res.Status)
	}
	cs, err := challengesOf(res)
	var bearer []httpauth.Challenge
	for _, c := range cs {
		if c.Is("Bearer") {
			bearer = append(bearer, c)
		}
	}
	if labelled("C-6750-3-b") {
		row("C-6750-3-b").Require(res).To(HaveChallenge("Bearer"))
	} else if err != nil {
		judge.Block("C-6750-3-b", "the refusal's WWW-Authenticate is malformed: %v", err)
	} else if len(bearer) == 0 {
		judge.Block("C-6750-3-b", "the refusal's WWW-Authenticate (%q) has no Bearer challenge", strings.Join(fields, ", "))
	}
	return bearer
}

// rsExpectError judges, for the row id, that a refusal has the status that goes with code
// (RFC 6750 §3.1) and names code in the error attribute of its Bearer challenge, where §3 puts
// it (a refusal without one blocks the spec: rsBearerChallenges).
func rsExpectError(res *http.Response, id, code string, status int) {
	GinkgoHelper()
	rsBearerChallenges(res)
	row(id).Expect(res).To(HaveHTTPStatus(status), "%s goes with %d", code, status)
	row(id).Expect(res).To(HaveBearerAttribute("error", code))
}

// rsErrorIndication returns the error a refusal reports: the error attribute of its Bearer
// challenge, else the error member of a JSON body.
func rsErrorIndication(res *http.Response) (string, bool) {
	if code, ok := bearerParam(res, "error"); ok && code != "" {
		return code, true
	}
	if obj, err := decodeObject(bodyOf(res)); err == nil {
		if code, ok := obj.members["error"].(string); ok && code != "" {
			return code, true
		}
	}
	return "", false
}

// rsSaysInvalidToken: the refusal reports invalid_token, in its challenge or its body.
func rsSaysInvalidToken(res *http.Response) bool {
	code, _ := rsErrorIndication(res)
	return code == "invalid_token"
}

// bearerErrorCodes are RFC 6750 §3.1's codes and the extensions registered for Bearer
// challenges in the OAuth Extensions Error Registry (RFC 9470's step-up code).
var bearerErrorCodes = []string{"invalid_request", "invalid_token", "insufficient_scope", "insufficient_user_authentication"}

// bearerParam returns an attribute of the response's Bearer challenge.
func bearerParam(res *http.Response, name string) (string, bool) {
	cs, err := challengesOf(res)
	if err != nil {
		return "", false
	}
	c, ok := httpauth.Find(cs, "Bearer")
	if !ok {
		return "", false
	}
	return c.Param(name)
}

// rsChangeOneCharacter changes one character of a token: one near the middle that is followed
// by another character of the same base64 run (the last character of a run may carry spare bits
// that a lenient decoder ignores, so changing it may not change the token). The new character
// is a digit, which no letter equals in any case.
func rsChangeOneCharacter(tok string) string {
	isAlnum := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	usable := func(i int) bool {
		return i >= 0 && i+1 < len(tok) && isAlnum(tok[i]) && isAlnum(tok[i+1])
	}
	at := -1
	for d := 0; d <= len(tok)/2+1 && at < 0; d++ {
		for _, i := range []int{len(tok)/2 - d, len(tok)/2 + d} {
			if usable(i) {
				at = i
				break
			}
		}
	}
	if at < 0 {
		at = 0
	}
	replacement := byte('0')
	if at < len(tok) && tok[at] == '0' {
		replacement = '1'
	}
	if tok == "" {
		return string(replacement)
	}
	return tok[:at] + string(replacement) + tok[at+1:]
}

// rsFindScopedResource finds a declared resource that needs a scope, and a scope the default
// client may be granted that is not it. It never picks the write path, which only the
// documented scenario may write to.
func rsFindScopedResource() (Resource, string, bool) {
	for _, r := range target.Resources {
		if r.Scope == "" || r.Path == target.WritePath {
			continue
		}
		needed := strings.Fields(r.Scope)
		for _, s := range target.allowedScopes() {
			if !slices.Contains(needed, s) {
				return r, s, true
			}
		}
	}
	return Resource{}, "", false
}

// rsRequestWithoutScope gets a token of the default client for another scope than a scoped
// resource needs, and requests that resource with it (a token refused as invalid_token is
// replaced once: rsServedWithFreshTokenRetry). The spec is skipped when the target declares no
// such resource, or when the provider grants the needed scope anyway (a target may declare its
// scopes loosely): there is no token without the scope to show.
func rsRequestWithoutScope(ctx context.Context) *http.Response {
	GinkgoHelper()
	r, other, ok := rsFindScopedResource()
	if !ok {
		judge.Skip("no declared resource needs a scope that the default client can be granted a token without " +
			"(declare resources with a scope, and more than one allowed scope, in --target-config)")
	}
	issue := func() issuedToken {
		tok := issueToken(ctx, target.Client, other)
		if rsGrantCovers(tok, r) {
			judge.Skip("asked for scope %s, the provider granted %s, which covers %s; no token without its scope could be had", other, tok.Scope, r.Path)
		}
		return tok
	}
	res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
		return send(ctx, request{Method: r.Method, Path: r.Path, Note: "token without scope " + r.Scope, Authorization: t.bearer()})
	})
	return res
}

// rsGrantCovers: the token response says the provider granted every scope the resource needs.
// (A response without scope granted what was asked, RFC 6749 §5.1.)
func rsGrantCovers(tok issuedToken, r Resource) bool {
	if !tok.HasScope {
		return false
	}
	granted := strings.Fields(tok.Scope)
	return !slices.ContainsFunc(strings.Fields(r.Scope), func(s string) bool { return !slices.Contains(granted, s) })
}

// rsRequestWithScope gets a token granted the scope a declared GET resource needs and requests
// that resource with it (a token refused as invalid_token is replaced once). Only GET resources
// are used: the request must succeed, and a success elsewhere could be a write.
func rsRequestWithScope(ctx context.Context) *http.Response {
	GinkgoHelper()
	for _, r := range target.Resources {
		if r.Scope == "" || !strings.EqualFold(r.Method, http.MethodGet) ||
			slices.ContainsFunc(strings.Fields(r.Scope), func(s string) bool { return !slices.Contains(target.allowedScopes(), s) }) {
			continue
		}
		issue := func() issuedToken { return issueToken(ctx, target.Client, r.Scope) }
		res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
			return send(ctx, request{Path: r.Path, Note: "token with scope " + r.Scope, Authorization: t.bearer()})
		})
		return res
	}
	judge.Skip("no declared GET resource needs a scope the default client may be granted (declare one in --target-config)")
	return nil
}
