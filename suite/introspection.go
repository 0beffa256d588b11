package suite

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// Helpers of the specs of token introspection (RFC 7662) and token revocation (RFC 7009): the
// requests to both endpoints, authenticated the way the calling client is registered to
// authenticate; the shape of their errors, which both take from RFC 6749 §5.2; and whether a
// token still works, which the revocation specs ask of introspection and of the resource
// server, never of a local JWT validation (a revoked self-contained token still verifies
// against jwks_uri).

// tokenForm is the body of an introspection or revocation request: token, and token_type_hint
// when hint is not empty.
func tokenForm(token, hint string) url.Values {
	f := url.Values{"token": {token}}
	if hint != "" {
		f.Set("token_type_hint", hint)
	}
	return f
}

// introspect sends an introspection request (RFC 7662 §2.1: a form-encoded POST) as the caller.
func introspect(ctx context.Context, caller Credentials, note string, body url.Values) *http.Response {
	GinkgoHelper()
	endpoint := target.IntrospectionPath
	if caller.Certificate != nil {
		// A caller that does mutual TLS uses the endpoint's alias, if listed (RFC 8705 §5).
		endpoint = mtlsURL("introspection_endpoint")
	}
	authorization, body := caller.authenticateAt(target.url(endpoint), body)
	return send(ctx, request{Method: http.MethodPost, Path: endpoint, Note: note, Form: body, Authorization: authorization,
		Certificate: caller.Certificate})
}

// revoke sends a revocation request (RFC 7009 §2.1: a form-encoded POST) as the client. A 503
// ends the spec as not judged: §2.2.1 has the client assume that the token still exists and
// retry later, so the answer says nothing yet (a 503 with Retry-After the HTTP layer already
// waits out, as a rate limit).
func revoke(ctx context.Context, c Credentials, note string, body url.Values) *http.Response {
	GinkgoHelper()
	authorization, body := c.authenticateAt(target.url(target.RevocationPath), body)
	return revokeWith(ctx, authorization, note, body)
}

// revokeWith sends a revocation request with the Authorization value as it is (or none).
func revokeWith(ctx context.Context, authorization, note string, body url.Values) *http.Response {
	GinkgoHelper()
	res := send(ctx, request{Method: http.MethodPost, Path: target.RevocationPath, Note: note, Form: body, Authorization: authorization})
	if res.StatusCode == http.StatusServiceUnavailable {
		judge.Skip("the revocation endpoint answered 503: RFC 7009 §2.2.1 has the client assume the token still exists and retry later, so this spec could not judge anything")
	}
	return res
}

// expectHTTPSEndpoint judges, for the row id, that the endpoint's URL is an https URL. A plain
// http:// target is not judged: it has no TLS to require.
func expectHTTPSEndpoint(id, path, what string) {
	GinkgoHelper()
	u, err := url.Parse(target.url(path))
	if err == nil && strings.EqualFold(u.Scheme, "https") {
		row(id).That(true, "")
		return
	}
	if p, err := url.Parse(target.ProviderURL); err == nil && !strings.EqualFold(p.Scheme, "https") {
		judge.Skip("the target is a plain http:// URL, so there is no TLS to require of its %s endpoint; give the https:// URL to check it", what)
	}
	row(id).That(false, "the %s endpoint %s is not an https URL", what, redactor.mask(target.url(path)))
}

// needIntrospector returns the client authorised to introspect, or ends the spec as not judged.
func needIntrospector() Credentials {
	GinkgoHelper()
	needCap(config.CapIntrospection)
	if target.Clients.Introspector == nil {
		judge.Skip("this spec needs a client authorised to introspect tokens (clients.introspector in the target description), and none is declared")
	}
	return *target.Clients.Introspector
}

// canIntrospect reports whether the suite can ask introspection about a token.
func canIntrospect() bool {
	return hasCap(config.CapIntrospection) && target.Clients.Introspector != nil
}

// expectEndpointError judges, for the row id, an error response of the revocation or the
// introspection endpoint by RFC 6749 §5.2, which RFC 7009 §2.2.1 and RFC 7662 §2.3 take over:
// a JSON object sent as application/json with no member twice, an error string in %x20-21 /
// %x23-5B / %x5D-7E, and error_description and error_uri, when present, in their character
// sets (the validators of the token endpoint's errors). It returns the error code.
func expectEndpointError(res *http.Response, id string) string {
	GinkgoHelper()
	r := row(id)
	r.Expect(res).To(HaveJSONMediaType(), "an error response (RFC 6749 §5.2)")
	r.Require(res).To(BeJSONObject(), "an error response (RFC 6749 §5.2)")
	obj := objectOf(res)
	r.Expect(obj.duplicates).To(BeEmpty(), "members sent twice (RFC 6749 §3.2)")
	r.Require(obj.members).To(HaveKeyWithValue("error", BeAssignableToTypeOf("")), "the error member (RFC 6749 §5.2)")
	code := obj.members["error"].(string)
	r.Expect(code).To(And(Not(BeEmpty()), MatchRegexp(errorCharset.String())), "error has characters outside %%x20-21 / %%x23-5B / %%x5D-7E")
	if d, ok := obj.members["error_description"]; ok {
		r.Expect(d).To(And(BeAssignableToTypeOf(""), MatchRegexp(errorCharset.String())),
			"error_description has characters outside %%x20-21 / %%x23-5B / %%x5D-7E")
	}
	if u, ok := obj.members["error_uri"]; ok {
		s, isString := u.(string)
		_, err := url.Parse(s)
		r.That(isString && errorURICharset.MatchString(s) && err == nil, "error_uri %q is not a URI reference in %%x21 / %%x23-5B / %%x5D-7E", s)
	}
	return code
}

// introspectionOf returns the members of an introspection response. RFC 7662 §2.2 makes it a
// 200 with a JSON object sent as application/json whose active member is a boolean: a spec that
// carries C-7662-2.2-a judges that here (and stops when the object cannot be read); any other
// spec is blocked by that row when the answer is not such a response.
func introspectionOf(res *http.Response) map[string]any {
	GinkgoHelper()
	obj, err := decodeObject(bodyOf(res))
	if labelled("C-7662-2.2-a") {
		r := row("C-7662-2.2-a")
		r.Expect(res).To(HaveHTTPStatus(http.StatusOK), "an introspection response")
		r.Expect(res).To(HaveJSONMediaType(), "an introspection response")
		r.Require(res).To(BeJSONObject(), "an introspection response")
		r.Expect(obj.duplicates).To(BeEmpty(), "members sent twice")
		r.Require(obj.members).To(HaveKeyWithValue("active", BeAssignableToTypeOf(true)), "the required boolean active member")
		return obj.members
	}
	_, isBool := obj.members["active"].(bool)
	switch {
	case res.StatusCode != http.StatusOK:
		judge.Block("C-7662-2.2-a", "the introspection endpoint answered %s: %s", res.Status, quoteBody(bodyOf(res)))
	case err != nil:
		judge.Block("C-7662-2.2-a", "the introspection response is not a JSON object: %v", err)
	case !isBool:
		judge.Block("C-7662-2.2-a", "the introspection response has no boolean active member: %s", quoteBody(bodyOf(res)))
	}
	return obj.members
}

// revocableToken is an access token of the client that no other spec holds, for a spec that
// revokes it or may see it revoked: a provider may hand out the same token again for the same
// request (no RFC forbids it), and revoking a token other specs use would break them. The
// token is asked for the scope of the read route, so that the resource server can tell whether
// it still works.
func revocableToken(ctx context.Context, c Credentials) issuedToken {
	GinkgoHelper()
	scope := rsScopeFor(target.ReadPath)
	first := issueToken(ctx, c, scope)
	tok := issueToken(ctx, c, scope)
	if tok.AccessToken == first.AccessToken {
		judge.Skip("the provider gave the same access token to two requests in a row, so other specs may hold it; revoking it could break them")
	}
	return tok
}

// revocableTokenFor is revocableToken asked for the resource (RFC 8707): a JWT access token at
// providers that issue JWTs only for a resource, as the reference and oidc-provider do.
func revocableTokenFor(ctx context.Context, c Credentials, resource string) issuedToken {
	GinkgoHelper()
	scope := target.allowedScopes()[0]
	first := tokenFor(ctx, c, scope, resource)
	tok := tokenFor(ctx, c, scope, resource)
	if tok.AccessToken == first.AccessToken {
		judge.Skip("the provider gave the same access token to two requests in a row, so other specs may hold it; revoking it could break them")
	}
	return tok
}

// tokenCheck is one way to tell whether an access token still works.
type tokenCheck struct {
	// where names it in messages: "at introspection", "at the resource server".
	where string
	// relies is the row a fresh token must hold at the check for its answer to say anything
	// about a revocation (an active token is active; a valid token is served).
	relies string
	// ask returns whether the token works, and whether the answer told (a 500 tells nothing);
	// seen is what was answered, in a few words.
	ask func(ctx context.Context, token string) (works, told bool, seen string)
}

// tokenChecks are the ways the suite can tell whether a token asked for without resource still
// works (tokenChecksAt the read route).
func tokenChecks(tok issuedToken) []tokenCheck { return tokenChecksAt(tok, target.ReadPath) }

// tokenChecksAt are the ways the suite can tell whether the token still works: introspection,
// when it can ask it (active), and the protected route the token is meant for, unless the token
// is a JWT that the resource server validates locally (cap:rs-jwt), which a revocation need not
// reach (RFC 7009 §3: a self-contained token can only be revoked where the resource server asks
// the authorization server).
func tokenChecksAt(tok issuedToken, route string) []tokenCheck {
	var checks []tokenCheck
	if canIntrospect() {
		checks = append(checks, tokenCheck{where: "at introspection", relies: "C-7662-2.2-b", ask: func(ctx context.Context, token string) (bool, bool, string) {
			res := introspect(ctx, *target.Clients.Introspector, "is the token active?", tokenForm(token, ""))
			obj, err := decodeObject(bodyOf(res))
			active, isBool := obj.members["active"].(bool)
			if res.StatusCode != http.StatusOK || err != nil || !isBool {
				return false, false, fmt.Sprintf("%s, not an introspection response", res.Status)
			}
			return active, true, fmt.Sprintf("active: %t", active)
		}})
	}
	if route != "" && !(strings.Count(tok.AccessToken, ".") == 2 && hasCap(config.CapResourceServerJWT)) {
		checks = append(checks, tokenCheck{where: "at the resource server", relies: "C-6750-2.1-a", ask: func(ctx context.Context, token string) (bool, bool, string) {
			res := send(ctx, request{Path: route, Note: "does the token still work?", Authorization: "Bearer " + token})
			switch {
			case rsSucceeded(res):
				return true, true, "served with " + res.Status
			case res.StatusCode == http.StatusUnauthorized:
				return false, true, "refused with " + res.Status
			}
			return false, false, res.Status
		}})
	}
	return checks
}

// needTokenChecks returns the token checks, or ends the spec as not judged when there is none.
func needTokenChecks(tok issuedToken) []tokenCheck {
	GinkgoHelper()
	return needTokenChecksAt(tok, target.ReadPath)
}

// needTokenChecksAt is needTokenChecks for a token meant for the route.
func needTokenChecksAt(tok issuedToken, route string) []tokenCheck {
	GinkgoHelper()
	checks := tokenChecksAt(tok, route)
	if len(checks) == 0 {
		judge.Skip("nothing can tell whether the token still works: introspection needs clients.introspector, and the token's route " +
			"is not configured or validates JWT access tokens locally (rs-jwt), where a revoked self-contained token still verifies")
	}
	return checks
}

// tokenFate is what the token checks last said of a token.
type tokenFate struct {
	where string
	// works and told as the check answered last; seen in words.
	works, told bool
	seen        string
}

// awaitRevoked asks the checks until none says the token works, or the revocation window
// (RFC 7009 §2.1: at once, give or take propagation; --revocation-window) has passed, and
// returns what each said last.
func awaitRevoked(ctx context.Context, tok issuedToken, checks []tokenCheck) []tokenFate {
	GinkgoHelper()
	By(fmt.Sprintf("waiting up to %s for the revoked token to stop working", target.RevocationWindow))
	fates := make([]tokenFate, len(checks))
	deadline := time.Now().Add(target.RevocationWindow)
	for {
		pending := false
		for i, c := range checks {
			if fates[i].told && !fates[i].works {
				continue
			}
			works, told, seen := c.ask(ctx, tok.AccessToken)
			fates[i] = tokenFate{where: c.where, works: works, told: told, seen: seen}
			pending = pending || !told || works
		}
		if !pending || time.Now().After(deadline) {
			return fates
		}
		select {
		case <-ctx.Done():
			return fates
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// workingChecks keeps the checks that say the fresh token works before anything is done to it:
// a check that refuses a valid token says nothing about a revocation. When none is left, the
// spec is blocked by the row the first check relies on (the resource server that refuses every
// token fails C-6750-2.1-a; an introspection that calls a fresh token inactive, C-7662-2.2-b),
// instead of reporting the same cause as a revocation finding.
func workingChecks(ctx context.Context, tok issuedToken, checks []tokenCheck) []tokenCheck {
	GinkgoHelper()
	var working []tokenCheck
	var seen []string
	refusedBy := ""
	for _, c := range checks {
		works, told, answer := c.ask(ctx, tok.AccessToken)
		switch {
		case told && works:
			working = append(working, c)
			continue
		case told && refusedBy == "":
			refusedBy = c.relies
		}
		seen = append(seen, c.where+": "+answer)
	}
	switch {
	case len(working) > 0 || len(checks) == 0:
	case refusedBy != "":
		judge.Block(refusedBy, "a fresh token did not work before the revocation request (%s), so whether it still works afterwards says nothing", strings.Join(seen, "; "))
	default:
		judge.Skip("nothing could tell whether a fresh token works before the revocation request (%s), so nothing can tell whether it works afterwards", strings.Join(seen, "; "))
	}
	return working
}

// stillWorks asks each check once whether the token works.
func stillWorks(ctx context.Context, tok issuedToken, checks []tokenCheck) []tokenFate {
	GinkgoHelper()
	var fates []tokenFate
	for _, c := range checks {
		works, told, seen := c.ask(ctx, tok.AccessToken)
		fates = append(fates, tokenFate{where: c.where, works: works, told: told, seen: seen})
	}
	return fates
}

// survivesRevocationAttempt runs attempt on a fresh token of the default client and asks the
// checks whether the token still works; when one says it does not, it runs once more on another
// fresh token, since a provider may keep only each client's newest token (no RFC forbids it) and
// under ginkgo -p another process may have asked for one in between. Only a token that stops
// working twice says anything about the attempt. It returns the last attempt's answer and what
// the checks said; needChecks ends the spec as not judged when nothing can tell.
func survivesRevocationAttempt(ctx context.Context, needChecks bool, attempt func(tok issuedToken) *http.Response) (*http.Response, []tokenFate) {
	GinkgoHelper()
	for i := 0; ; i++ {
		tok := revocableToken(ctx, target.Client)
		checks := tokenChecks(tok)
		if needChecks {
			checks = needTokenChecks(tok)
		}
		checks = workingChecks(ctx, tok, checks)
		res := attempt(tok)
		fates := stillWorks(ctx, tok, checks)
		stopped := slices.ContainsFunc(fates, func(f tokenFate) bool { return f.told && !f.works })
		if i == 1 || !stopped {
			return res, fates
		}
		By("the token stopped working: another request for a token of the same client may have revoked it, so the attempt is made once more on a fresh token")
	}
}

// introspectFreshToken introspects a fresh token of the default client as the introspector and
// returns the token and the answer's members. A fresh token reported inactive is replaced once
// by another, for the reason survivesRevocationAttempt gives.
func introspectFreshToken(ctx context.Context, introspector Credentials) (issuedToken, map[string]any) {
	GinkgoHelper()
	tok := issueToken(ctx, target.Client, askedScope())
	members := introspectionOf(introspect(ctx, introspector, "introspect a fresh token", tokenForm(tok.AccessToken, "")))
	if members["active"] == false {
		By("the fresh token was reported inactive: another request for a token of the same client may have revoked it, so a fresh one is introspected once")
		tok = issueToken(ctx, target.Client, askedScope())
		members = introspectionOf(introspect(ctx, introspector, "introspect a fresh token", tokenForm(tok.AccessToken, "")))
	}
	return tok, members
}

// revokedEverywhere reports whether every check told that the token no longer works.
func revokedEverywhere(fates []tokenFate) bool {
	for _, f := range fates {
		if !f.told || f.works {
			return false
		}
	}
	return true
}

// expectRevoked judges, for the row id, that the token stopped working wherever a check could
// tell; a check that never told is recorded as not judged.
func expectRevoked(id string, fates []tokenFate) {
	GinkgoHelper()
	for _, f := range fates {
		if !f.told {
			row(id).Cannot("whether the token still works %s could not be told: %s", f.where, f.seen)
			continue
		}
		row(id).That(!f.works, "the revoked access token still works %s %s after its revocation (%s)", f.where, target.RevocationWindow, f.seen)
	}
}

// expectStillWorks judges, for the row id, that the token still works wherever a check could
// tell.
func expectStillWorks(id, why string, fates []tokenFate) {
	GinkgoHelper()
	for _, f := range fates {
		if !f.told {
			row(id).Cannot("whether the token still works %s could not be told: %s", f.where, f.seen)
			continue
		}
		row(id).That(f.works, "the access token no longer works %s (%s) after %s", f.where, f.seen, why)
	}
}

// blockUnlessAccessTokensRevoke is for a spec whose revocation (with a token_type_hint) did not
// take: when a plain revocation of another fresh token does not take either, the provider does
// not revoke access tokens at all, which is C-7009-2-b's finding (a SHOULD), and the spec is
// blocked by it rather than failing its own row for the same cause.
func blockUnlessAccessTokensRevoke(ctx context.Context) {
	GinkgoHelper()
	By("the token was not revoked: does a revocation without a hint work?")
	tok := revocableToken(ctx, target.Client)
	checks := workingChecks(ctx, tok, needTokenChecks(tok))
	res := revoke(ctx, target.Client, "revoke, no hint", tokenForm(tok.AccessToken, ""))
	if res.StatusCode != http.StatusOK {
		judge.Block("C-7009-2-b", "the provider does not revoke access tokens: a revocation without a hint got %s", res.Status)
	}
	if !revokedEverywhere(awaitRevoked(ctx, tok, checks)) {
		judge.Block("C-7009-2-b", "the provider does not revoke access tokens: a token revoked without a hint still works")
	}
}

// revocationSpecTimeout bounds a spec that waits for up to n revocation windows.
func revocationSpecTimeout(n int) time.Duration {
	return target.specTimeout(10) + time.Duration(n)*target.RevocationWindow
}
