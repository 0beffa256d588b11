package suite

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 8414 §3: where an authorization server's metadata lives and how it is answered.
// Discovery (discovery.go) reads the document once, before the specs, from --issuer; these
// specs judge what it found, and GET the document again where the answer itself is judged.
var _ = Describe("RFC 8414 §3: obtaining authorization server metadata", func() {
	// §3 and §3.1 (MUST): the metadata is at the issuer with /.well-known/oauth-authorization-server
	// inserted between the host and the issuer's path (its trailing / removed first). Appending
	// the suffix to the issuer's path is the common mistake (wso2/product-is #26966,
	// modelcontextprotocol/inspector #700): it fails, with a hint. Metadata found only at
	// OpenID Connect Discovery's openid-configuration, which §5 recognizes for compatibility, is
	// the checklist's milder case: an observation, a warning under --strict (registry: the
	// row's lenient case).
	It("serves the metadata at the issuer with /.well-known/oauth-authorization-server inserted before the issuer's path, with 200 and a JSON object",
		metadataLabels("C-8414-3-a"), func(ctx SpecContext) {
			needCap(config.CapMetadata)
			inserted := wellKnownURL(target.Issuer, "oauth-authorization-server")
			r := row("C-8414-3-a")
			switch {
			case discovered.Doc != nil && discovered.URL == inserted:
				r.That(true, "")
			case discovered.Appended:
				r.That(false, "the metadata is at %s, the suffix appended to the issuer's path; RFC 8414 §3.1 inserts it between the host and the path: %s (tried%s)",
					discovered.URL, inserted, triedText())
			case discovered.ViaOpenID && judge.Current().Strict:
				r.Lenient().That(false, "the metadata was found only at %s (OpenID Connect Discovery), not at RFC 8414's %s (tried%s)",
					discovered.URL, inserted, triedText())
			case discovered.ViaOpenID:
				r.Inform("the metadata was found only at %s (OpenID Connect Discovery, which RFC 8414 §5 recognizes), not at %s (tried%s)",
					discovered.URL, inserted, triedText())
			default:
				r.That(false, "the metadata capability is declared, but no metadata document was found (tried%s)", triedText())
			}
		}, SpecTimeout(target.specTimeout(1)))

	// §3 (MUST): the well-known URL uses https. A target served over plain http is not judged:
	// the user chose to test without TLS.
	It("builds the metadata URL on an https issuer",
		metadataLabels("C-8414-3-b"), func(ctx SpecContext) {
			needCap(config.CapMetadata)
			if plainHTTPTarget() {
				judge.Skip("the target is a plain http:// URL, so there is no TLS to require of the metadata URL")
			}
			u := discovered.URL
			if u == "" {
				u = wellKnownURL(target.Issuer, "oauth-authorization-server")
			}
			row("C-8414-3-b").That(strings.HasPrefix(strings.ToLower(u), "https://"), "the metadata URL %s is not https", u)
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2 (MUST): a successful answer is 200 with a JSON object (RFC 8259) as application/json.
	It("answers a GET of the metadata URL with 200 and a JSON object as application/json",
		metadataLabels("C-8414-3.2-a"), func(ctx SpecContext) {
			needMetadata()
			res := send(ctx, request{Path: discovered.URL, Note: "metadata"})
			r := row("C-8414-3.2-a")
			r.Expect(res).To(HaveHTTPStatus(http.StatusOK))
			r.Expect(res).To(HaveJSONMediaType())
			r.Expect(res).To(BeJSONObject())
		}, SpecTimeout(target.specTimeout(1)))

	// §3.2 (MUST): a claim with several values is a JSON array, and a claim with none is left
	// out rather than sent as []. The array members are §2's, and those of RFC 9449 and
	// OpenID Connect Discovery a client-credentials provider may publish; any member sent as []
	// breaks the rule, whatever it is.
	It("lists multi-valued metadata as non-empty JSON arrays, and leaves out those with no value",
		metadataLabels("C-8414-3.2-b"), func(ctx SpecContext) {
			needMetadata()
			r := row("C-8414-3.2-b")
			var empty, notArrays []string
			for name, v := range discovered.Doc {
				if a, ok := v.([]any); ok && len(a) == 0 {
					empty = append(empty, name)
				}
				if _, ok := v.([]any); !ok && slices.Contains(metadataArrayMembers, name) {
					notArrays = append(notArrays, fmt.Sprintf("%s (a JSON %s)", name, jsonKindOf(v)))
				}
			}
			sort.Strings(empty)
			sort.Strings(notArrays)
			r.That(len(empty) == 0, "members sent as an empty array, which §3.2 says to leave out: %s", strings.Join(empty, ", "))
			r.That(len(notArrays) == 0, "multi-valued members that are not JSON arrays: %s", strings.Join(notArrays, ", "))
		}, SpecTimeout(target.specTimeout(1)))

	// §3.3 (MUST): the issuer member is identical to the issuer the URL was built from, a
	// trailing / included (modelcontextprotocol/python-sdk PR #3398); otherwise the client must
	// not use the document. OpenID Connect Discovery §4.3 has the same rule.
	It("names in issuer exactly the issuer the metadata URL was built from",
		metadataLabels("C-8414-3.3-a"), func(ctx SpecContext) {
			needMetadata()
			iss, ok := discovered.Doc["issuer"].(string)
			row("C-8414-3.3-a").That(ok && iss == target.Issuer, "the metadata's issuer is %s, the URL was built from the issuer %q", metadataValue(discovered.Doc["issuer"]), target.Issuer)
		}, SpecTimeout(target.specTimeout(1)))
})

// metadataArrayMembers are the metadata members that are JSON arrays: RFC 8414 §2's, RFC
// 9449's (DPoP), RFC 8705's none, and OpenID Connect Discovery §3's that a client-credentials
// provider often publishes.
var metadataArrayMembers = []string{
	"scopes_supported", "response_types_supported", "response_modes_supported", "grant_types_supported",
	"token_endpoint_auth_methods_supported", "token_endpoint_auth_signing_alg_values_supported", "ui_locales_supported",
	"revocation_endpoint_auth_methods_supported", "revocation_endpoint_auth_signing_alg_values_supported",
	"introspection_endpoint_auth_methods_supported", "introspection_endpoint_auth_signing_alg_values_supported",
	"code_challenge_methods_supported", "dpop_signing_alg_values_supported",
	"subject_types_supported", "id_token_signing_alg_values_supported", "claims_supported",
}
