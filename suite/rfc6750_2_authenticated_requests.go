package suite

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6750 §2: how a client presents a Bearer token, and what the resource server makes of
// each way.
var _ = Describe("RFC 6750 §2: authenticated requests", func() {
	// §2 binds the client to one way of sending the token per request, and §3.1 names a request
	// that uses more than one invalid_request, which goes with 400 (SHOULD; the checklist grades
	// the row SHOULD). OAuth 2.1 §5.1 instead has resource servers ignore query tokens, so a
	// provider that serves the request with the header's token, ignoring the query's, passes
	// too, if it really ignores it: the header carries a valid token and the query a made-up one;
	// when that is served, the query's copy was not used, and a made-up token in the header with
	// the valid one in the query must then be refused. Any other answer is a warning, unless the
	// header's token is refused even alone (C-6750-2.1-a's failure). A 400 invalid_request is a
	// refusal, so it carries a challenge (RFC 6750 §3, MUST: C-6750-3-a).
	It("answers a token sent both in the Authorization header and in the query with 400 and invalid_request, or ignores the query's",
		specLabels("resource", "C-6750-2-a", "C-6750-3-a"), func(ctx SpecContext) {
			needReadPath()
			issue := func() issuedToken { return rsReadToken(ctx) }
			twoWays := func(note, header, query string) *http.Response {
				return send(ctx, request{Path: target.ReadPath, Note: note,
					Query: url.Values{"access_token": {query}}, Authorization: "Bearer " + header})
			}
			bogus := rsBogusToken()
			res, tok := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return twoWays("valid token in the header, made-up token in the query", t.AccessToken, bogus)
			})
			rsJudgeTwoWays(res, "query",
				func() *http.Response {
					return twoWays("made-up token in the header, valid token in the query", rsBogusToken(), tok.AccessToken)
				},
				func() *http.Response {
					alone, _ := rsServedWithFreshTokenRetry(tok, issue, func(t issuedToken) *http.Response {
						return getResource(ctx, "the header's token alone", t.bearer())
					})
					return alone
				})
		}, SpecTimeout(target.specTimeout(7)))

	// The same rule with the token in the header and in a form-encoded body. A body token needs a
	// method whose body has a meaning (§2.2), so this is a POST, and the write path is the only
	// route of the scenario that takes one (the read path is a GET, where a body token is out of
	// the question; the reference routes no POST there). The body carries a value besides the
	// token, so that a provider that ignores the body's token serves the write, which shows it;
	// the value is unique to this run. The spec is Serial: Ginkgo runs Serial specs after all the
	// others, so its write cannot fall between the scenario's write (step 7) and its read-back
	// (step 8).
	It("answers a token sent both in the Authorization header and in a form body with 400 and invalid_request, or ignores the body's",
		Serial, specLabels("resource", "C-6750-2-a", "C-6750-3-a"), func(ctx SpecContext) {
			if target.WritePath == "" {
				judge.Skip("--write-path is empty, and the scenario has no other route that takes a request body")
			}
			issue := func() issuedToken { return issueToken(ctx, target.Client, rsScopeFor(target.WritePath)) }
			write := func(note, header string, body url.Values) *http.Response {
				body.Set("value", uniqueValue())
				return send(ctx, request{Method: http.MethodPost, Path: target.WritePath, Note: note, Form: body, Authorization: "Bearer " + header})
			}
			bogus := rsBogusToken()
			res, tok := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return write("valid token in the header, made-up token in a form body", t.AccessToken, url.Values{"access_token": {bogus}})
			})
			rsJudgeTwoWays(res, "body",
				func() *http.Response {
					return write("made-up token in the header, valid token in a form body", rsBogusToken(), url.Values{"access_token": {tok.AccessToken}})
				},
				func() *http.Response {
					alone, _ := rsServedWithFreshTokenRetry(tok, issue, func(t issuedToken) *http.Response {
						return write("the header's token alone, with a form body", t.AccessToken, url.Values{})
					})
					return alone
				})
		}, SpecTimeout(target.specTimeout(7)))
})

var _ = Describe("RFC 6750 §2.1: the Authorization request header field", func() {
	// §2.1 (MUST): every resource server supports the token in Authorization: Bearer. Any 2xx
	// is the resource served.
	It("serves the read path to a valid token in Authorization: Bearer",
		specLabels("resource", "C-6750-2.1-a"), func(ctx SpecContext) {
			issue := func() issuedToken { return rsReadToken(ctx) }
			res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return getResource(ctx, "authenticated", t.bearer())
			})
			row("C-6750-2.1-a").Expect(res.StatusCode).To(rsBeSuccess(), "a valid token was refused: %s", res.Status)
		}, SpecTimeout(target.specTimeout(4)))

	// The same for a declared resource that needs a scope, with a token granted that scope: the
	// positive twin of the insufficient-scope checks, which would prove nothing if the resource
	// refused every token. Only GET resources are tried, so the success cannot be a write.
	It("serves a resource that needs a scope to a token granted that scope",
		specLabels("resource", "C-6750-2.1-a"), func(ctx SpecContext) {
			res := rsRequestWithScope(ctx)
			row("C-6750-2.1-a").Expect(res.StatusCode).To(rsBeSuccess(), "a token with the scope the resource needs was refused: %s", res.Status)
		}, SpecTimeout(target.specTimeout(4)))

	// §2.1 (MUST): the scheme name is case-insensitive, as every HTTP authentication scheme is
	// (RFC 9110 §11.1). Servers that matched "Bearer" exactly: spring-security PR #6150,
	// djangorestframework-simplejwt PR #977, divviup/janus #3107. The token is first shown with
	// "Bearer", so that a refusal can only be the spelling; a resource that refuses it even
	// then is C-6750-2.1-a's failure, reported there, and the spec is blocked by it.
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		It(fmt.Sprintf("serves the read path to a valid token sent as %q, as it does with Bearer", scheme+" <token>"),
			specLabels("resource", "C-6750-2.1-b"), func(ctx SpecContext) {
				issue := func() issuedToken { return rsReadToken(ctx) }
				By("showing the token with the scheme written Bearer")
				canonical, tok := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
					return getResource(ctx, "scheme Bearer", t.bearer())
				})
				if !rsSucceeded(canonical) {
					judge.Block("C-6750-2.1-a", "the token is refused even with the scheme written Bearer (%s)", canonical.Status)
				}
				res, _ := rsServedWithFreshTokenRetry(tok, issue, func(t issuedToken) *http.Response {
					return getResource(ctx, "scheme "+scheme, scheme+" "+t.AccessToken)
				})
				row("C-6750-2.1-b").Expect(res.StatusCode).To(rsBeSuccess(), "the scheme %s was refused: %s", scheme, res.Status)
			}, SpecTimeout(target.specTimeout(6)))
	}

	// §2.1 (MUST, on the client; kind R): the Bearer credential is a b64token, so a token the
	// provider issues as Bearer must fit that syntax for a client to send it. RFC 6749 §A.12
	// allows any visible ASCII in an access token, hence the warning (failure with --strict).
	It("issues access tokens in the b64token syntax that the Authorization header carries",
		specLabels("token", "C-6750-2.1-c"), func(ctx SpecContext) {
			tok := issueToken(ctx, target.Client, target.allowedScopes()[0])
			row("C-6750-2.1-c").That(rsB64Token.MatchString(tok.AccessToken),
				"the access token (%d characters) has characters outside A-Z a-z 0-9 - . _ ~ + / or '=' other than at its end", len(tok.AccessToken))
		}, SpecTimeout(target.specTimeout(1)))

	// §2.1 with §3.1 (SHOULD): an Authorization value that is not "Bearer" followed by one
	// b64token is a malformed request: 400 and invalid_request. A 401 with invalid_token (the
	// provider read it as a bad token) is the common departure, and a warning like any other.
	// Whatever the code, the request must not be served (RFC 6749 §7, MUST), and the refusal
	// carries a challenge (RFC 6750 §3, MUST), a 400 as much as a 401.
	for _, malformed := range []struct{ what, value string }{
		{"Bearer with no token", "Bearer"},
		{"Bearer with two tokens", "Bearer a b"},
		{"Bearer with characters outside b64token", "Bearer not*a*b64token"},
	} {
		It(fmt.Sprintf("answers Authorization: %s (%s) with 400 and invalid_request", malformed.value, malformed.what),
			specLabels("resource", "C-6750-2.1-d", "C-6750-3-a", "C-6749-7-a"), func(ctx SpecContext) {
				res := getResource(ctx, malformed.what, malformed.value)
				rsExpectRefused(res, "a malformed Authorization value")
				rsExpectError(res, "C-6750-2.1-d", "invalid_request", http.StatusBadRequest)
			}, SpecTimeout(target.specTimeout(1)))
	}
})

var _ = Describe("RFC 6750 §2.2: the form-encoded body parameter", func() {
	// §2.2 (MAY): a resource server may read access_token from an application/x-www-form-urlencoded
	// body; (MUST on the client, kind R, a warning) only from such a body, single-part, of a
	// method whose body has a meaning. The capability is probed and recorded, and the rule is
	// checked in the same spec, which passes with the observation when the provider reads no body
	// tokens at all (the reference does not), rather than being skipped.
	//
	// The probes carry made-up tokens and go to the write path, the scenario's only POST route;
	// they carry no value, so nothing can be written by a provider that refuses them. A provider
	// that reads a token from where it was put refuses a made-up one as invalid_token; one that
	// does not look there answers as it answers a request with no token at all (401, no error
	// code, §3.1). So a request with no token is sent first, to compare: a provider that says
	// invalid_token to that too cannot be read this way, and the spec says so instead of
	// guessing. The JSON and multipart probes run whatever the form probe found: a provider that
	// reads tokens from a JSON body breaks the rule even if it ignores form bodies. Serial, for
	// the same reason as the header-and-body spec of §2: a provider that wrongly served one of
	// these requests must not do it between the scenario's write and its read-back.
	It("records whether a made-up token in a form body is read, and does not read one in a JSON or multipart body",
		Serial, specLabels("resource", "C-6750-2.2-a", "C-6750-2.2-b"), func(ctx SpecContext) {
			if target.WritePath == "" {
				judge.Skip("--write-path is empty, and the scenario has no other route that takes a request body")
			}
			post := func(note string, r request) *http.Response {
				r.Method, r.Path, r.Note = http.MethodPost, target.WritePath, note
				res := send(ctx, r)
				rsExpectRefused(res, "a request with "+note)
				return res
			}
			By("sending no token at all, to compare with")
			none := post("no token", request{})
			By("sending a made-up token in a form body")
			inForm := post("made-up token in a form body", request{Form: url.Values{"access_token": {rsBogusToken()}}})
			By("sending a made-up token in a JSON body")
			inJSON := post("made-up token in a JSON body", request{JSON: map[string]string{"access_token": rsBogusToken()}})
			By("sending a made-up token in a multipart body")
			body, contentType := rsMultipartBody("access_token", rsBogusToken())
			inMultipart := post("made-up token in a multipart body", request{RawBody: body, Header: http.Header{"Content-Type": {contentType}}})

			if rsSaysInvalidToken(none) {
				why := fmt.Sprintf("the provider answers a request with no token at all with invalid_token (%s), so a made-up token it read cannot be told from one it did not", none.Status)
				row("C-6750-2.2-a").Cannot("%s", why)
				row("C-6750-2.2-b").Cannot("%s", why)
				return
			}
			if rsSaysInvalidToken(inForm) {
				row("C-6750-2.2-a").Inform("the provider reads access_token from a form-encoded POST body: it refused a made-up one with invalid_token")
			} else {
				row("C-6750-2.2-a").Inform("the provider does not read access_token from a form-encoded body: a made-up one got %s, as a request with no token got %s", inForm.Status, none.Status)
			}
			row("C-6750-2.2-b").That(!rsSaysInvalidToken(inJSON), "the provider reads access_token from a JSON body: it refused a made-up one with invalid_token, which a request with no token does not get")
			row("C-6750-2.2-b").That(!rsSaysInvalidToken(inMultipart), "the provider reads access_token from a multipart body: it refused a made-up one with invalid_token, which a request with no token does not get")
		}, SpecTimeout(target.specTimeout(4)))

	// §2.2 (MUST on the client, kind R: a warning): a GET has no body a token may ride in, so a
	// valid token in the form body of a GET to the read path, with no Authorization header, does
	// not authenticate the request. A read is harmless, so here the token is a real one. A read
	// path that serves requests with no token at all honours nothing: RFC 6749 §7's failure.
	It("does not serve the read path to a valid token in the form body of a GET",
		specLabels("resource", "C-6750-2.2-b"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := send(ctx, request{Path: target.ReadPath, Note: "token in the body of a GET",
				Form: url.Values{"access_token": {tok.AccessToken}}})
			if rsSucceeded(res) {
				rsNeedProtectedReadPath(ctx)
			}
			row("C-6750-2.2-b").That(!rsSucceeded(res), "a token in the body of a GET was honoured: %s", res.Status)
		}, SpecTimeout(target.specTimeout(3)))
})

var _ = Describe("RFC 6750 §2.3: the URI query parameter", func() {
	// §2.3 (MAY): a resource server may take access_token from the query; (SHOULD) a success for
	// such a request carries Cache-Control: private, so that no shared cache keeps a response
	// whose URI holds a token. no-store is accepted as well: it keeps the response out of every
	// cache, which is what private is for. The probe and the rule it gates share one spec; when
	// the provider does not take query tokens (the reference does not), the capability is
	// recorded and the rule is not judged, since it does not apply.
	It("records whether a valid token in the query is accepted, and if so answers with Cache-Control: private",
		specLabels("resource", "C-6750-2.3-a", "C-6750-2.3-b"), func(ctx SpecContext) {
			issue := func() issuedToken { return rsReadToken(ctx) }
			res, _ := rsServedWithFreshTokenRetry(issue(), issue, func(t issuedToken) *http.Response {
				return send(ctx, request{Path: target.ReadPath, Note: "token in the query",
					Query: url.Values{"access_token": {t.AccessToken}}})
			})
			if !rsSucceeded(res) {
				row("C-6750-2.3-a").Inform("the provider does not accept access_token in the query (%s)", res.Status)
				row("C-6750-2.3-b").Cannot("the provider does not accept access_token in the query (%s), so Cache-Control: private on such a success does not apply", res.Status)
				return
			}
			rsNeedProtectedReadPath(ctx)
			row("C-6750-2.3-a").Inform("the provider accepts access_token in the query")
			row("C-6750-2.3-b").Expect(res).To(rsHaveCacheDirectiveIn("private", "no-store"))
		}, SpecTimeout(target.specTimeout(5)))
})

// rsJudgeTwoWays judges C-6750-2-a on the answer (first) to a request that carried a valid token
// in the Authorization header and a made-up one in the query or body (where). RFC 6750 §2
// forbids the client to send a token more than one way, and §3.1 names such a request
// invalid_request, with 400 (SHOULD); OAuth 2.1 §5.1 has resource servers ignore query tokens.
// So either passes: 400 invalid_request, with the challenge every refusal carries (judged with
// C-6750-3-a), or the request served with the header's token, if the other copy was really
// ignored: a valid token there must not stand in for a made-up one in the header (swapped).
// Any other answer fails the row, unless the header's token alone is not served either (alone),
// which is C-6750-2.1-a's failure, not this rule's.
func rsJudgeTwoWays(first *http.Response, where string, swapped, alone func() *http.Response) {
	GinkgoHelper()
	code, _ := rsErrorIndication(first)
	switch {
	case rsSucceeded(first):
		By("the header's token was used and the " + where + "'s made-up one ignored; checking that a valid token in the " + where + " does not stand in for a made-up one in the header")
		res := swapped()
		row("C-6750-2-a").That(!rsSucceeded(res), "with a valid token in the header and a made-up one in the %s the request was served, and with a made-up token in the header and the valid one in the %s it was served too (%s): the %s's token is used, not ignored",
			where, where, res.Status, where)
	case first.StatusCode == http.StatusBadRequest || code == "invalid_request":
		rsExpectError(first, "C-6750-2-a", "invalid_request", http.StatusBadRequest)
	default:
		if res := alone(); !rsSucceeded(res) {
			judge.Block("C-6750-2.1-a", "the header's valid token is not served even alone (%s)", res.Status)
		}
		row("C-6750-2-a").That(false, "with a valid token in the header and a made-up one in the %s the request was refused with %s (error %q), though the header's token alone is served: "+
			"a token sent two ways is invalid_request (400), or the %s's copy is ignored", where, first.Status, code, where)
	}
}

// rsNeedProtectedReadPath blocks a spec whose request the read path served when it serves a
// request with no token too: then it took no token from where the spec put one, and the route's
// protection is RFC 6749 §7's failure.
func rsNeedProtectedReadPath(ctx context.Context) {
	GinkgoHelper()
	if res := getResource(ctx, "no token, to compare with", ""); rsSucceeded(res) {
		judge.Block("C-6749-7-a", "the read path serves a request without any token too (%s)", res.Status)
	}
}

// rsB64Token is the b64token syntax of a Bearer credential (RFC 6750 §2.1).
var rsB64Token = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)

// rsBeSuccess matches a 2xx status code.
func rsBeSuccess() types.GomegaMatcher {
	return And(BeNumerically(">=", 200), BeNumerically("<", 300))
}

// rsMultipartBody is a multipart/form-data body with one field, and its Content-Type.
func rsMultipartBody(name, value string) (string, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField(name, value)
	_ = w.Close()
	return b.String(), w.FormDataContentType()
}

// rsHaveCacheDirectiveIn: a Cache-Control field carries one of the directives.
func rsHaveCacheDirectiveIn(directives ...string) types.GomegaMatcher {
	return explain("carry Cache-Control: "+strings.Join(directives, " or "), func(res *http.Response) (bool, string) {
		for _, d := range directives {
			if ok, _ := HaveCacheDirective(d).Match(res); ok {
				return true, ""
			}
		}
		if vs := res.Header.Values("Cache-Control"); len(vs) > 0 {
			return false, fmt.Sprintf("its Cache-Control is %q", strings.Join(vs, ", "))
		}
		return false, "it has no Cache-Control header"
	})
}
