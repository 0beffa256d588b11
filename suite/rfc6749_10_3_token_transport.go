package suite

import (
	"net/http"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// RFC 6749 §10.3: access tokens are credentials, so they travel over TLS only.
var _ = Describe("RFC 6749 §10.3: access tokens", func() {
	// §10.3 (MUST): an access token is only sent over TLS with server authentication. The suite
	// already talks to an https target through a verified chain and host name, so what is left
	// to check from outside is the provider's cleartext listener: --cleartext-url when given;
	// for an https URL on the default port, http:// on port 80 of the same host. An https URL
	// on another port is not probed at its http:// twin: any TLS server answers cleartext on its
	// TLS port with a 400 of its own, so that probe would judge the TLS library, not the
	// provider; the row is then not judged, and says to give --cleartext-url. A made-up token is
	// sent, so no real token ever crosses cleartext. If the provider processes it (it serves the
	// resource, or answers in OAuth terms: a Bearer challenge, an OAuth error), it takes tokens
	// over cleartext, which fails. A refused connection, a redirect, or an answer that is not
	// the resource server's (a proxy's 403, a JSON error that is not one of RFC 6750's codes)
	// passes. A plain-http target cannot be checked this way and is not judged.
	It("does not process a made-up token sent to the read path over cleartext http://",
		specLabels("resource", "C-6749-10.3-a"), func(ctx SpecContext) {
			needReadPath()
			cleartextRefused := row("C-6749-10.3-a")
			base, why := cleartextBase()
			if base == "" {
				cleartextRefused.Cannot("%s", why)
				return
			}
			res, err := trySend(ctx, request{Base: base, Path: target.ReadPath, Note: "made-up token over cleartext " + base,
				Authorization: "Bearer " + rsBogusToken()})
			if err != nil {
				By("the cleartext listener gave no answer, so it processed nothing: " + err.Error())
				cleartextRefused.That(true, "")
				return
			}
			cleartextRefused.Expect(rsProcessedToken(res)).To(BeEmpty(), "the resource answered a made-up token sent over cleartext %s", base)
		}, SpecTimeout(target.specTimeout(1)))
})

// rsProcessedToken says how a response shows that the resource server handled the token it was
// sent, or "" when it shows nothing of the kind.
func rsProcessedToken(res *http.Response) string {
	if rsSucceeded(res) {
		return "it served the request: " + res.Status
	}
	for _, v := range res.Header.Values("WWW-Authenticate") {
		cs, err := httpauth.ParseChallenges([]string{v})
		if _, ok := httpauth.Find(cs, "Bearer"); ok || (err != nil && strings.Contains(strings.ToLower(v), "bearer")) {
			return "it answered " + res.Status + " with the Bearer challenge " + v
		}
	}
	if obj, err := decodeObject(bodyOf(res)); err == nil {
		if code, ok := obj.members["error"].(string); ok && slices.Contains(bearerErrorCodes, code) {
			return "it answered " + res.Status + " with the OAuth error " + code
		}
	}
	return ""
}
