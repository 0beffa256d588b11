package suite

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §2.3 and §2.3.1: how a confidential client authenticates at the token endpoint.
var _ = Describe("RFC 6749 §2.3: client authentication", func() {
	// §2.3 (MUST, on the client): one authentication method per request; §5.2 gives the error
	// for using more than one, invalid_request. The checklist derives the server's side (kind R):
	// valid credentials sent both ways get no token. invalid_client is accepted as well, since
	// the server may see ambiguous credentials as a failed authentication. A provider that takes
	// no body credentials (§2.3.1 makes them optional) may rightly ignore client_id and
	// client_secret as unknown parameters (§3.2), so the spec needs one that takes them and is
	// skipped otherwise. The error's shape and status are the §5.2 specs' business.
	It("answers valid credentials sent both with HTTP Basic and in the body with no token and invalid_request",
		specLabels("token", "C-6749-2.3-a"), func(ctx SpecContext) {
			needTokenPath()
			needBodyCredentials(ctx)
			res := postToken(ctx, "HTTP Basic and body credentials at once", target.Client.basic(), bodyCredentials(target.Client))
			if !isJudgeableError(res) && !isInvalidClient(res) {
				skipUnlessPlainRequestWorks(ctx)
			}
			expectTokenError(res, "C-6749-2.3-a", "invalid_request", "invalid_client")
		}, SpecTimeout(target.specTimeout(2)))
})

var _ = Describe("RFC 6749 §2.3.1: client password", func() {
	// §2.3.1 (MUST): the authorization server supports HTTP Basic for clients that were issued
	// a password. The client credentials grant with Basic gets a token: 200 and an access_token
	// (the rest of the §5.1 response is the §5.1 and §4.4.3 specs' business).
	It("answers valid client credentials sent with HTTP Basic with 200 and an access token",
		specLabels("token", "C-6749-2.3.1-a"), func(ctx SpecContext) {
			needTokenPath()
			res := postToken(ctx, "valid credentials, HTTP Basic", target.Client.basic(), validForm())
			basic := row("C-6749-2.3.1-a")
			basic.Expect(res).To(HaveHTTPStatus(http.StatusOK))
			if basic.Expect(res).To(BeJSONObject()) {
				basic.Expect(objectOf(res).members).To(HaveKeyWithValue("access_token", And(BeAssignableToTypeOf(""), Not(BeEmpty()))),
					"the response has no access_token")
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §2.3.1 and Appendix B (MUST): Basic's user and password are the client id and secret
	// form-urlencoded (UTF-8, then escaped), so the server splits the decoded header at its
	// first colon and then form-urldecodes both halves. The special-characters fixture has
	// space, +, %, /, =, &, : and a non-ASCII letter in both; its colons are escaped, so a
	// server that decodes before splitting, or does not decode, fails it. Asked without scope,
	// so invalid_scope (§3.3 allows it) also shows the credentials were accepted.
	//
	// Then the same credentials without the form-urlencoding, as many clients send them. §2.3.1
	// does not ask the server to take them, and with colons in the id they are ambiguous anyway;
	// whether the server takes them ("lenient decoding") is recorded, never graded, as the
	// checklist's row asks.
	It("answers a client id and secret with special characters, form-urlencoded in HTTP Basic, as authenticated; records whether unencoded ones are too",
		specLabels("token", "C-6749-2.3.1-b"), func(ctx SpecContext) {
			needTokenPath()
			c := specialCharactersClient()
			if c == nil {
				judge.Skip("no special_characters fixture client is declared in --target-config, and the main client's credentials need no encoding, so Basic's form-urlencoding cannot be checked")
			}
			decoding := row("C-6749-2.3.1-b")
			By("form-urlencoded, as §2.3.1 says")
			res := postToken(ctx, "special characters, form-urlencoded HTTP Basic", c.basic(), form())
			if !authenticatedBy(res) {
				skipUnlessPlainRequestWorks(ctx)
			}
			decoding.That(authenticatedBy(res),
				"the form-urlencoded credentials were refused (%s); the server must split at the first colon, then form-urldecode", outcomeClass(res))

			By("not form-urlencoded, as many clients send them")
			res = postToken(ctx, "special characters, HTTP Basic without form-urlencoding",
				httpauth.BasicAuthorizationUnencoded(c.ID, c.Secret), form())
			if authenticatedBy(res) {
				decoding.Inform("lenient decoding: Basic credentials sent without form-urlencoding are accepted too (%s)", outcomeClass(res))
			} else {
				decoding.Inform("strict decoding: Basic credentials sent without form-urlencoding are refused (%s)", outcomeClass(res))
			}
		}, SpecTimeout(target.specTimeout(3)))

	// §2.3.1 (MAY): the server may take client_id and client_secret in the request body. What
	// the provider does is recorded; the specs that need body credentials are skipped without
	// them.
	It("records whether client_id and client_secret in the request body are accepted",
		specLabels("token", "C-6749-2.3.1-c"), func(ctx SpecContext) {
			needTokenPath()
			accepted, outcome := probeBodyCredentials(ctx)
			if accepted {
				row("C-6749-2.3.1-c").Inform("client credentials in the request body are accepted (%s)", outcome)
			} else {
				row("C-6749-2.3.1-c").Inform("client credentials in the request body are not accepted (%s); the specs that need them are skipped", outcome)
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §2.3.1 (MUST, on the client): client credentials never go in the request URI. The
	// checklist derives the server's side (kind R): credentials offered only in the query get no
	// token. Both a 400 (parameters in the URI refused) and a 401 (the query ignored, so no
	// credentials) are accepted.
	It("answers client_id and client_secret sent only in the URI query with 400 or 401 and no token",
		specLabels("token", "C-6749-2.3.1-d"), func(ctx SpecContext) {
			needTokenPath()
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "client credentials in the query only",
				Query: url.Values{"client_id": {target.Client.ID}, "client_secret": {target.Client.Secret}}, Form: validForm()})
			expectRefusedWith(res, "C-6749-2.3.1-d", http.StatusBadRequest, http.StatusUnauthorized)
		}, SpecTimeout(target.specTimeout(1)))

	// The same with everything in the query: a POST whose parameters and credentials are all in
	// the URI, with an empty form body. A server that reads parameters from wherever it finds
	// them (many frameworks merge the query into the form) would issue a token; the URI must
	// not carry credentials, so no token, and 400 (parameters in the URI refused, or none in the
	// body) or 401 (no credentials in the body) are accepted.
	It("answers a POST with every parameter and the client credentials in the URI query and an empty body with 400 or 401 and no token",
		specLabels("token", "C-6749-2.3.1-d"), func(ctx SpecContext) {
			needTokenPath()
			res := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "everything in the query, empty body",
				Query:  bodyCredentials(target.Client),
				Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
			expectRefusedWith(res, "C-6749-2.3.1-d", http.StatusBadRequest, http.StatusUnauthorized)
		}, SpecTimeout(target.specTimeout(1)))

	// §2.3.1 (MUST): an endpoint that takes client passwords is protected against brute force.
	// Opt-in through the brute_force fixture, a throwaway client (the main client is never
	// hammered): up to bruteForceAttempts wrong secrets in a row. Throttling is any of: a 429, a
	// lockout that refuses even the right secret afterwards, or a marked slowdown (two attempts
	// in a row at least a second and four times slower than the first ones). No answer at all
	// is no sign of protection, so the row is then not judged. How much protection is enough the RFC does not say; the checklist asks for a
	// warning when none is seen, and the registry's grade of the row decides.
	//
	// Serial: the attempts may trip a throttle keyed on the client's address rather than on the
	// client id, which would refuse the specs running beside it in a parallel run.
	It("throttles a throwaway client after repeated wrong secrets: 429, lockout or marked slowdown within 30 attempts",
		Serial, Label("disruptive"), specLabels("token", "C-6749-2.3.1-e"), func(ctx SpecContext) {
			needTokenPath()
			c := target.Clients.BruteForce
			if c == nil {
				judge.Skip("no brute_force fixture client is declared in --target-config; this check only ever hammers such a throwaway client")
			}
			By("the throwaway client's own secret authenticates")
			// NoRetry: the throttling is what this check looks for, so a 429 is not waited out.
			first := send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "throwaway client, right secret",
				Form: form(), Authorization: c.basic(), NoRetry: true})
			verdict := ""
			switch {
			case first.StatusCode == http.StatusTooManyRequests:
				verdict = "the throwaway client is still locked out (429) from an earlier run"
			case isInvalidClient(first):
				judge.Skip("the brute_force fixture's own credentials are refused (%s), so a lockout could not be told from a wrong fixture", outcomeClass(first))
			}
			why := fmt.Sprintf("%d wrong secrets in a row met no 429, no lockout of the right secret and no marked slowdown", bruteForceAttempts)
			var fastest time.Duration
			slowInARow := 0
			started := time.Now()
			for i := 1; i <= bruteForceAttempts && verdict == ""; i++ {
				t0 := time.Now()
				res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: fmt.Sprintf("wrong secret, attempt %d", i),
					Form: form(), Authorization: httpauth.BasicAuthorization(c.ID, fmt.Sprintf("wrong-secret-%d", i)), NoRetry: true})
				took := time.Since(t0)
				if ctx.Err() != nil {
					Fail("the brute-force check ran out of time: " + ctx.Err().Error())
				}
				if i <= 3 && (fastest == 0 || took < fastest) {
					fastest = took
				}
				if i > 3 && took >= fastest+time.Second && took >= 4*fastest {
					slowInARow++
				} else {
					slowInARow = 0
				}
				switch {
				case err != nil:
					// No answer is not throttling: a provider that fell over says nothing of its
					// protection (issue 9, finding 9).
					row("C-6749-2.3.1-e").Cannot("attempt %d got no answer (%v), which is no sign of throttling, so the check could not tell", i, err)
					return
				case res.StatusCode == http.StatusTooManyRequests:
					verdict = fmt.Sprintf("attempt %d was answered with 429", i)
				case slowInARow >= 2:
					verdict = fmt.Sprintf("attempt %d took %s, against %s for the first ones", i, took.Round(time.Millisecond), fastest.Round(time.Millisecond))
				case tokenGranted(res):
					why = fmt.Sprintf("attempt %d, with a wrong secret, got a token: nothing is protected", i)
					i = bruteForceAttempts
				case time.Since(started) > bruteForceBudget:
					why = fmt.Sprintf("%d wrong secrets in %s met no 429, no lockout and no marked slowdown", i, bruteForceBudget)
					i = bruteForceAttempts
				}
			}
			if verdict == "" {
				By("the right secret, after the wrong ones")
				res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "throwaway client, right secret again",
					Form: form(), Authorization: c.basic(), NoRetry: true})
				switch {
				case err != nil:
					row("C-6749-2.3.1-e").Cannot("the right secret then got no answer (%v), which is no sign of throttling, so the check could not tell", err)
					return
				case res.StatusCode == http.StatusTooManyRequests || isInvalidClient(res):
					verdict = "the right secret was then refused too (" + outcomeClass(res) + "): a lockout"
				}
			}
			if verdict != "" {
				GinkgoWriter.Printf("brute-force protection seen: %s\n", verdict)
			}
			row("C-6749-2.3.1-e").That(verdict != "", "%s", why)
		}, SpecTimeout(target.specTimeout(bruteForceAttempts+3)))
})

const (
	// bruteForceAttempts bounds the wrong secrets the brute-force check sends.
	bruteForceAttempts = 30
	// bruteForceBudget bounds how long it keeps trying.
	bruteForceBudget = 20 * time.Second
)

// bodyCredentials is a valid request body that carries the client's credentials (§2.3.1).
func bodyCredentials(c Credentials, pairs ...string) url.Values {
	return validForm(append([]string{"client_id", c.ID, "client_secret", c.Secret}, pairs...)...)
}

// bodyCredentialsProbe remembers, per process, whether the provider takes body credentials.
var bodyCredentialsProbe struct {
	done, accepted bool
	outcome        string
}

// probeBodyCredentials sends the default client's credentials in the body and says whether the
// provider took them: a 2xx answer (the §5.1 specs judge its shape).
func probeBodyCredentials(ctx context.Context) (bool, string) {
	GinkgoHelper()
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: "credentials in the body",
		Form: bodyCredentials(target.Client)})
	p := &bodyCredentialsProbe
	p.done = true
	if err != nil {
		p.accepted, p.outcome = false, err.Error()
	} else {
		p.accepted, p.outcome = res.StatusCode >= 200 && res.StatusCode < 300, outcomeClass(res)
	}
	return p.accepted, p.outcome
}

// needBodyCredentials skips the spec when the provider does not take body credentials, which
// RFC 6749 §2.3.1 makes optional. The probe runs once per process.
func needBodyCredentials(ctx context.Context) {
	GinkgoHelper()
	if !bodyCredentialsProbe.done {
		By("probe: does the provider take client credentials in the request body (RFC 6749 §2.3.1, MAY)?")
		probeBodyCredentials(ctx)
	}
	if !bodyCredentialsProbe.accepted {
		judge.Skip("the provider does not take client credentials in the request body (%s), which RFC 6749 §2.3.1 makes optional and this spec needs",
			bodyCredentialsProbe.outcome)
	}
}

// authenticatedBy reports whether the token endpoint accepted the client's credentials: it
// answered with success or an access token (whatever else is wrong with the answer is for the
// §5.1 specs), or refused only what it checks after authentication (the omitted scope, the
// grant).
func authenticatedBy(res *http.Response) bool {
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return true
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		return false
	}
	if token, _ := obj.members["access_token"].(string); token != "" {
		return true
	}
	return obj.members["error"] == "invalid_scope" || obj.members["error"] == "unauthorized_client"
}

// isInvalidClient reports whether the answer is a failed client authentication.
func isInvalidClient(res *http.Response) bool {
	return res.StatusCode == http.StatusUnauthorized || objectOf(res).members["error"] == "invalid_client"
}
