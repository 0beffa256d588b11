package suite

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// RFC 6750 §5.3: what limits the damage of a stolen Bearer token.
var _ = Describe("RFC 6750 §5.3: summary of recommendations", func() {
	// §5.3 (SHOULD): Bearer tokens are short-lived, an hour or less. The lifetime is read from
	// expires_in; a response without a whole-number expires_in says nothing about it (C-6749-5.1-d
	// and 5.1-e judge that), so the row is then not judged, with that reason.
	It("issues access tokens that live an hour or less (expires_in ≤ 3600)",
		specLabels("token", "C-6750-5.3-a"), func(ctx SpecContext) {
			tok := issueToken(ctx, target.Client, target.allowedScopes()[0])
			if !tok.HasExpiresIn {
				row("C-6750-5.3-a").Cannot("the token response has no whole-number expires_in, so how long the tokens live cannot be seen")
				return
			}
			row("C-6750-5.3-a").Expect(tok.ExpiresIn).To(BeNumerically("<=", 3600), "expires_in is %d seconds", tok.ExpiresIn)
		}, SpecTimeout(target.specTimeout(1)))

	// §5.3 (SHOULD): Bearer tokens are restricted to their intended audience. Only a token that
	// is a signed JWT (RFC 7519: three base64url parts, a JSON header with alg) shows its
	// audience, in the aud claim, which must then be present and name at least one audience. A
	// provider whose default tokens are opaque may issue JWTs for a resource (RFC 8707: the
	// reference and oidc-provider do), so with F-RES declared a token for R1 is looked at too. An
	// opaque or encrypted token may well be audience-restricted on the server; the row is then
	// not judged, with that reason, never passed.
	It("issues JWT access tokens that name their audience in aud",
		specLabels("token", "C-6750-5.3-b"), func(ctx SpecContext) {
			tok := issueToken(ctx, target.Client, target.allowedScopes()[0])
			claims, ok := rsJWTClaims(tok.AccessToken)
			if !ok && len(target.ResourceIndicators) > 0 {
				By("the token is opaque: a token for resource R1 (RFC 8707) may be a JWT")
				tok = tokenFor(ctx, target.Client, target.allowedScopes()[0], target.ResourceIndicators[0].Resource)
				claims, ok = rsJWTClaims(tok.AccessToken)
			}
			if !ok {
				row("C-6750-5.3-b").Cannot("the tokens are not signed JWTs whose claims can be read, so whether they are audience-restricted cannot be seen")
				return
			}
			row("C-6750-5.3-b").That(rsNamesAudience(claims["aud"]), "the JWT access token's aud claim (%s) names no audience", rsClaimKind(claims["aud"]))
		}, SpecTimeout(target.specTimeout(2)))
})

// rsJWTClaims returns the claims of a token that is a JWS in compact serialization (RFC 7515,
// RFC 7519): three base64url parts, the first a JSON object with alg, the second a JSON object.
func rsJWTClaims(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	decode := func(s string) (map[string]any, bool) {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, false
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil, false
		}
		return m, true
	}
	header, ok := decode(parts[0])
	if _, hasAlg := header["alg"]; !ok || !hasAlg {
		return nil, false
	}
	return decode(parts[1])
}

// rsNamesAudience: aud is a non-empty string, or an array holding one (RFC 7519 §4.1.3).
func rsNamesAudience(aud any) bool {
	switch v := aud.(type) {
	case string:
		return v != ""
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok && s != "" {
				return true
			}
		}
	}
	return false
}

// rsClaimKind describes a claim's value without printing it.
func rsClaimKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "absent or null"
	case string:
		return fmt.Sprintf("a string of %d characters", len(v))
	case []any:
		return fmt.Sprintf("an array of %d elements", len(v))
	default:
		return fmt.Sprintf("a %T", v)
	}
}
