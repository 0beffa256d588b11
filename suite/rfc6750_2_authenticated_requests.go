package suite

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
)

// RFC 6750 §2: how a client presents a Bearer token, and what the resource server makes of
// each way.
var _ = Describe("RFC 6750 §2: authenticated requests", func() {
	// §2 binds the client to one way of sending the token per request, and §3.1 names a request
	// that uses more than one invalid_request, which goes with 400 (SHOULD; the checklist grades
	// the row SHOULD). The same valid token goes in the Authorization header and in the
	// access_token query parameter of a GET to the read path. A provider that serves the request
	// anyway gets a warning.
	It("answers a token sent both in the Authorization header and in the query with 400 and invalid_request",
		specLabels("resource", "C-6750-2-a"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := send(ctx, request{Path: target.ReadPath, Note: "token in the header and the query",
				Query: url.Values{"access_token": {tok.AccessToken}}, Authorization: tok.bearer()})
			expectSoftly("C-6750-2-a", func(g Gomega) { rsExpectInvalidRequest(g, res) })
		}, SpecTimeout(target.specTimeout(2)))

	// The same rule with the token in the header and in a form-encoded body. A body token needs a
	// method whose body has a meaning (§2.2), so this is a POST, and the write path is the only
	// route of the scenario that takes one (the read path is a GET, where a body token is out of
	// the question; the reference routes no POST there). The body carries the token and nothing
	// else, no value: a provider that refuses the request, as it should, writes nothing, and one
	// that does not notice hands the write handler a request with no value, which a handler
	// normally refuses. In case one stores an empty value instead, the spec is Serial: Ginkgo
	// runs Serial specs after all the others, so it cannot fall between the scenario's write
	// (step 7) and its read-back (step 8).
	It("answers a token sent both in the Authorization header and in a form body with 400 and invalid_request",
		Serial, specLabels("resource", "C-6750-2-a"), func(ctx SpecContext) {
			if target.WritePath == "" {
				Skip("--write-path is empty, and the scenario has no other route that takes a request body")
			}
			tok := rsReadToken(ctx)
			res := send(ctx, request{Method: http.MethodPost, Path: target.WritePath, Note: "token in the header and a form body",
				Form: url.Values{"access_token": {tok.AccessToken}}, Authorization: tok.bearer()})
			expectSoftly("C-6750-2-a", func(g Gomega) { rsExpectInvalidRequest(g, res) })
		}, SpecTimeout(target.specTimeout(2)))
})

var _ = Describe("RFC 6750 §2.1: the Authorization request header field", func() {
	// §2.1 (MUST): every resource server supports the token in Authorization: Bearer. Any 2xx
	// is the resource served.
	It("serves the read path to a valid token in Authorization: Bearer",
		specLabels("resource", "C-6750-2.1-a"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := getResource(ctx, "authenticated", tok.bearer())
			Expect(res.StatusCode).To(rsBeSuccess(), per("C-6750-2.1-a", "a valid token was refused: "+res.Status))
		}, SpecTimeout(target.specTimeout(2)))

	// The same for a declared resource that needs a scope, with a token granted that scope: the
	// positive twin of the insufficient-scope checks, which would prove nothing if the resource
	// refused every token. Only GET resources are tried, so the success cannot be a write.
	It("serves a resource that needs a scope to a token granted that scope",
		specLabels("resource", "C-6750-2.1-a"), func(ctx SpecContext) {
			res := rsRequestWithScope(ctx)
			Expect(res.StatusCode).To(rsBeSuccess(), per("C-6750-2.1-a", "a token with the scope the resource needs was refused: "+res.Status))
		}, SpecTimeout(target.specTimeout(2)))

	// §2.1 (MUST): the scheme name is case-insensitive, as every HTTP authentication scheme is
	// (RFC 9110 §11.1). Servers that matched "Bearer" exactly: spring-security PR #6150,
	// djangorestframework-simplejwt PR #977, divviup/janus #3107. The token is first shown with
	// "Bearer", so that a refusal can only be the spelling; a resource that refuses it even
	// then is C-6750-2.1-a's failure, reported there, and the spec is skipped.
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		It(fmt.Sprintf("serves the read path to a valid token sent as %q, as it does with Bearer", scheme+" <token>"),
			specLabels("resource", "C-6750-2.1-b"), func(ctx SpecContext) {
				tok := rsReadToken(ctx)
				By("showing the token with the scheme written Bearer")
				if canonical := getResource(ctx, "scheme Bearer", tok.bearer()); !rsSucceeded(canonical) {
					Skip("the token is refused even as Bearer (" + canonical.Status + "); C-6750-2.1-a's specs report that")
				}
				res := getResource(ctx, "scheme "+scheme, scheme+" "+tok.AccessToken)
				Expect(res.StatusCode).To(rsBeSuccess(), per("C-6750-2.1-b", "the scheme "+scheme+" was refused: "+res.Status))
			}, SpecTimeout(target.specTimeout(3)))
	}

	// §2.1 (MUST, on the client; kind R): the Bearer credential is a b64token, so a token the
	// provider issues as Bearer must fit that syntax for a client to send it. RFC 6749 §A.12
	// allows any visible ASCII in an access token, hence the warning (failure with --strict).
	It("issues access tokens in the b64token syntax that the Authorization header carries",
		specLabels("token", "C-6750-2.1-c"), func(ctx SpecContext) {
			tok := issueToken(ctx, target.Client, target.allowedScopes()[0])
			expectSoftly("C-6750-2.1-c", func(g Gomega) {
				g.Expect(rsB64Token.MatchString(tok.AccessToken)).To(BeTrue(),
					"the access token (%d characters) has characters outside A-Z a-z 0-9 - . _ ~ + / or '=' other than at its end", len(tok.AccessToken))
			})
		}, SpecTimeout(target.specTimeout(1)))

	// §2.1 with §3.1 (SHOULD): an Authorization value that is not "Bearer" followed by one
	// b64token is a malformed request: 400 and invalid_request. A 401 with invalid_token (the
	// provider read it as a bad token) is the common departure, and a warning like any other.
	// Whatever the code, the request must not be served (RFC 6749 §7, MUST).
	for _, malformed := range []struct{ what, value string }{
		{"Bearer with no token", "Bearer"},
		{"Bearer with two tokens", "Bearer a b"},
		{"Bearer with characters outside b64token", "Bearer not*a*b64token"},
	} {
		It(fmt.Sprintf("answers Authorization: %s (%s) with 400 and invalid_request", malformed.value, malformed.what),
			specLabels("resource", "C-6750-2.1-d"), func(ctx SpecContext) {
				res := getResource(ctx, malformed.what, malformed.value)
				rsExpectRefused(res, "a malformed Authorization value")
				expectSoftly("C-6750-2.1-d", func(g Gomega) { rsExpectInvalidRequest(g, res) })
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
	// invalid_token to that too cannot be read this way, and the spec records so instead of
	// guessing. The JSON and multipart probes run whatever the form probe found: a provider that
	// reads tokens from a JSON body breaks the rule even if it ignores form bodies. Serial, for
	// the same reason as the header-and-body spec of §2: a provider that wrongly served one of
	// these requests must not do it between the scenario's write and its read-back.
	It("records whether a made-up token in a form body is read, and does not read one in a JSON or multipart body",
		Serial, specLabels("resource", "C-6750-2.2-a", "C-6750-2.2-b"), func(ctx SpecContext) {
			if target.WritePath == "" {
				Skip("--write-path is empty, and the scenario has no other route that takes a request body")
			}
			post := func(note string, r request) *http.Response {
				r.Method, r.Path, r.Note = http.MethodPost, target.WritePath, note
				res := send(ctx, r)
				rsExpectRefused(res, "a request with no token but a made-up one")
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
				observe("C-6750-2.2-a", "cannot tell whether the provider reads tokens from a body: it answers a request with no token at all with invalid_token (%s)", none.Status)
				return
			}
			if rsSaysInvalidToken(inForm) {
				observe("C-6750-2.2-a", "the provider reads access_token from a form-encoded POST body: it refused a made-up one with invalid_token")
			} else {
				observe("C-6750-2.2-a", "the provider does not read access_token from a form-encoded body: a made-up one got %s, as a request with no token got %s", inForm.Status, none.Status)
			}
			expectSoftly("C-6750-2.2-b", func(g Gomega) {
				g.Expect(rsSaysInvalidToken(inJSON)).To(BeFalse(), "the provider reads access_token from a JSON body: it refused a made-up one with invalid_token, which a request with no token does not get")
				g.Expect(rsSaysInvalidToken(inMultipart)).To(BeFalse(), "the provider reads access_token from a multipart body: it refused a made-up one with invalid_token, which a request with no token does not get")
			})
		}, SpecTimeout(target.specTimeout(4)))

	// §2.2 (MUST on the client, kind R: a warning): a GET has no body a token may ride in, so a
	// valid token in the form body of a GET to the read path, with no Authorization header, does
	// not authenticate the request. A read is harmless, so here the token is a real one.
	It("does not serve the read path to a valid token in the form body of a GET",
		specLabels("resource", "C-6750-2.2-b"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := send(ctx, request{Path: target.ReadPath, Note: "token in the body of a GET",
				Form: url.Values{"access_token": {tok.AccessToken}}})
			expectSoftly("C-6750-2.2-b", func(g Gomega) {
				g.Expect(rsSucceeded(res)).To(BeFalse(), "a token in the body of a GET was honoured: "+res.Status)
			})
		}, SpecTimeout(target.specTimeout(2)))
})

var _ = Describe("RFC 6750 §2.3: the URI query parameter", func() {
	// §2.3 (MAY): a resource server may take access_token from the query; (SHOULD) a success for
	// such a request carries Cache-Control: private, so that no shared cache keeps a response
	// whose URI holds a token. no-store is accepted as well: it keeps the response out of every
	// cache, which is what private is for. The probe and the rule it gates share one spec, which
	// passes with the observation when the provider does not take query tokens (the reference
	// does not), rather than being skipped.
	It("records whether a valid token in the query is accepted, and if so answers with Cache-Control: private",
		specLabels("resource", "C-6750-2.3-a", "C-6750-2.3-b"), func(ctx SpecContext) {
			tok := rsReadToken(ctx)
			res := send(ctx, request{Path: target.ReadPath, Note: "token in the query",
				Query: url.Values{"access_token": {tok.AccessToken}}})
			if !rsSucceeded(res) {
				observe("C-6750-2.3-a", "the provider does not accept access_token in the query (%s), so Cache-Control: private (C-6750-2.3-b) does not apply", res.Status)
				return
			}
			observe("C-6750-2.3-a", "the provider accepts access_token in the query")
			expectSoftly("C-6750-2.3-b", func(g Gomega) { g.Expect(res).To(rsHaveCacheDirectiveIn("private", "no-store")) })
		}, SpecTimeout(target.specTimeout(2)))
})

// rsB64Token is the b64token syntax of a Bearer credential (RFC 6750 §2.1).
var rsB64Token = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)

// rsBeSuccess matches a 2xx status code.
func rsBeSuccess() types.GomegaMatcher {
	return And(BeNumerically(">=", 200), BeNumerically("<", 300))
}

// rsExpectInvalidRequest: 400 and error="invalid_request" in the Bearer challenge (RFC 6750
// §3.1).
func rsExpectInvalidRequest(g Gomega, res *http.Response) {
	rsExpectCodeAndStatus(g, res, "invalid_request", http.StatusBadRequest)
}

// rsSaysInvalidToken: the refusal reports invalid_token, in its challenge or its body.
func rsSaysInvalidToken(res *http.Response) bool {
	code, _ := rsErrorIndication(res)
	return code == "invalid_token"
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
