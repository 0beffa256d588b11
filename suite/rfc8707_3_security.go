package suite

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// RFC 8707 §3: what resource indicators protect against.
var _ = Describe("RFC 8707 §3: security considerations", func() {
	// §3 (MUST), with RFC 9700 §2.3 and RFC 9068 §4: a token restricted to one resource cannot
	// be used at another. The token asked for R1 is refused at R2's route (F-RES with two
	// resource servers) with 401 and invalid_token (RFC 6750 §3.1), where a token for R2 is
	// served. This is the resource-indicator instance of C-9700-2.3-b, which
	// rfc9700_2_3_audience.go judges under --profile=bcp.
	It("refuses at resource R2 a token issued for resource R1, with 401 and invalid_token",
		append(specLabels("resource", "C-8707-3-a"), "rfc8707", "cap:resource-indicators"), func(ctx SpecContext) {
			res := presentForOtherResource(ctx, resourceIndicator(0, false), resourceIndicator(1, true))
			expectRefusedWrongAudience(res, "C-8707-3-a", "a token for R1 at R2")
		}, SpecTimeout(target.specTimeout(6)))
})

// expectRefusedWrongAudience judges, for the row id, the refusal of a token meant for another
// resource: not served, 401, and invalid_token in the Bearer challenge.
func expectRefusedWrongAudience(res *http.Response, id, what string) {
	GinkgoHelper()
	row(id).RequireThat(!rsSucceeded(res), "%s was served: %s", what, res.Status)
	row(id).Expect(res).To(HaveHTTPStatus(http.StatusUnauthorized), "%s was refused", what)
	row(id).Expect(res).To(HaveBearerAttribute("error", "invalid_token"), "%s was refused", what)
}
