package suite

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
)

// RFC 9110: the HTTP rules OAuth's answers must keep (checklist 2.R). They are judged on every
// response the suite receives (judgeHTTPRules), under their own rows, never through an OAuth
// row; these specs make sure each is judged at least once.
var _ = Describe("RFC 9110: HTTP rules the OAuth answers keep", func() {
	// §15.5.2 (MUST): every 401 carries at least one challenge in WWW-Authenticate.
	It("answers a protected read without a token with 401 and a WWW-Authenticate challenge",
		specLabels("resource", "H-9110-15.5.2-a"), func(ctx SpecContext) {
			res := getResource(ctx, "no token", "")
			if res.StatusCode != http.StatusUnauthorized {
				row("H-9110-15.5.2-a").Cannot("the protected read without a token answered %s, not 401 (RFC 6750's specs judge that)", res.Status)
			}
			// judgeHTTPRules has judged the 401.
		}, SpecTimeout(target.specTimeout(1)))

	// §12.5.3 (MAY): a request that says Accept-Encoding: identity asks for no content coding;
	// the suite sends it on every request and records a provider that compresses anyway.
	It("asks for the public route with Accept-Encoding: identity and records the coding of the answer",
		specLabels("public", "H-9110-12.5.3-a"), func(ctx SpecContext) {
			if target.PublicPath == "" {
				row("H-9110-12.5.3-a").Cannot("--public-path is empty")
				return
			}
			res := send(ctx, request{Path: target.PublicPath, Note: "identity coding",
				Header: http.Header{"Accept-Encoding": {"identity"}}})
			if ce := res.Header.Get("Content-Encoding"); ce == "" || strings.EqualFold(ce, "identity") {
				row("H-9110-12.5.3-a").Inform("no content coding, as asked")
			}
		}, SpecTimeout(target.specTimeout(1)))
})
