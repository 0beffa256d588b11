package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/httpauth"
	"github.com/ccconform/ccconform/suite/judge"
)

// Helpers for the specs of the token endpoint (RFC 6749) and the protected resources
// (RFC 6750). They keep each spec to what its rule is about: the common shape checks of every
// error response are here, once.

// basic is the Authorization value for HTTP Basic, form-urlencoded as RFC 6749 §2.3.1 says.
func (c Credentials) basic() string { return httpauth.BasicAuthorization(c.ID, c.Secret) }

// specialCharactersClient is the client whose id and secret need form-urlencoding in HTTP
// Basic (RFC 6749 §2.3.1): the special_characters fixture, or the main client when its own
// credentials have such characters (a provider with one client can serve as its own fixture).
func specialCharactersClient() *Credentials {
	if target.Clients.SpecialCharacters != nil {
		return target.Clients.SpecialCharacters
	}
	if url.QueryEscape(target.Client.ID) != target.Client.ID || url.QueryEscape(target.Client.Secret) != target.Client.Secret {
		return &target.Client
	}
	return nil
}

// authenticate adds the client's credentials to a token request the way the client is
// registered to send them (client_secret_basic by default, client_secret_post, none, or a JWT
// assertion): the authorization value to send, and the form with any body credentials added.
func (c Credentials) authenticate(f url.Values) (authorization string, form url.Values) {
	return c.authenticateAt(target.url(target.TokenPath), f)
}

// form is a client credentials request body: grant_type=client_credentials, then the pairs,
// which add parameters or, with an empty value, drop one ("scope", "" leaves scope out).
func form(pairs ...string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			v.Del(pairs[i])
			continue
		}
		v.Set(pairs[i], pairs[i+1])
	}
	return v
}

// needTokenPath skips a spec when the token endpoint is switched off.
func needTokenPath() {
	GinkgoHelper()
	if target.TokenPath == "" {
		judge.Skip("--token-path is empty, so the token endpoint is not tested")
	}
}

// needReadPath skips a spec when the protected read route is switched off.
func needReadPath() {
	GinkgoHelper()
	if target.ReadPath == "" {
		judge.Skip("--read-path is empty, so there is no protected route to call")
	}
}

// cleartextBase is where the TLS-only checks (C-6749-3.2-a, C-6749-10.3-a) probe the
// provider's cleartext listener:
// --cleartext-url when given; for an https URL on the default port, http:// on port 80 of the
// same host. Otherwise it returns "" and why the probe cannot be made.
func cleartextBase() (base, why string) {
	if target.CleartextURL != "" {
		return target.CleartextURL, ""
	}
	u, err := url.Parse(target.ProviderURL)
	switch {
	case err != nil || u.Scheme != "https":
		return "", "the target is a plain http:// URL, so there is no TLS to require; give --provider-url as the https:// endpoint to check that cleartext is refused"
	case u.Port() != "" && u.Port() != "443":
		return "", fmt.Sprintf("the provider's https URL names port %s, where any TLS server answers cleartext with a 400 of its own, so a probe there would judge the TLS library, not the provider; give --cleartext-url to probe the provider's cleartext listener", u.Port())
	}
	u.Scheme, u.Host = "http", u.Hostname()
	if strings.Contains(u.Host, ":") {
		u.Host = "[" + u.Host + "]"
	}
	return u.String(), ""
}

// postToken sends a token request.
func postToken(ctx context.Context, note, authorization string, body url.Values) *http.Response {
	GinkgoHelper()
	return send(ctx, request{Method: http.MethodPost, Path: target.TokenPath, Note: note, Form: body, Authorization: authorization})
}

// issuedToken is an access token response the provider gave.
type issuedToken struct {
	AccessToken string
	TokenType   string
	// ExpiresIn is the expires_in member, if it was a whole number.
	ExpiresIn    int64
	HasExpiresIn bool
	Scope        string
	HasScope     bool
	// Members are all the response's members.
	Members map[string]any
}

// issueToken gets a token for the client, asking for scope ("" asks for none). Specs use it to
// get a token they need; when the provider will not give one, the spec is skipped, since the
// token endpoint's own specs report why.
func issueToken(ctx context.Context, c Credentials, scope string) issuedToken {
	GinkgoHelper()
	needTokenPath()
	authorization, body := c.authenticate(form("scope", scope))
	res, err := trySend(ctx, request{Method: http.MethodPost, Path: c.tokenEndpoint(), Note: "get a token",
		Form: body, Authorization: authorization, Certificate: c.Certificate})
	if err != nil {
		judge.Block("C-6749-4.4.3-a", "no token could be obtained, which this spec needs: %s", err.Error())
	}
	tok, why := parseTokenResponse(res)
	if why != "" {
		judge.Block("C-6749-4.4.3-a", "no usable token could be obtained, which this spec needs: %s", why)
	}
	switch {
	case strings.EqualFold(tok.TokenType, "Bearer"):
	case registeredTokenType(tok.TokenType):
		judge.Skip("the provider issues %s tokens, not Bearer tokens, so RFC 6750's checks do not apply", tok.TokenType)
	default:
		judge.Block("C-6749-5.1-c", "the provider issues token_type %q, which is neither a registered token type nor an absolute URI (RFC 6749 §7.1, §8.1), so no Bearer check can run", tok.TokenType)
	}
	return tok
}

// parseTokenResponse reads a successful token response; why says what made it unusable.
func parseTokenResponse(res *http.Response) (issuedToken, string) {
	if res.StatusCode != http.StatusOK {
		return issuedToken{}, "the token request got " + res.Status
	}
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		return issuedToken{}, err.Error()
	}
	tok := issuedToken{Members: obj.members}
	tok.AccessToken, _ = obj.members["access_token"].(string)
	tok.TokenType, _ = obj.members["token_type"].(string)
	if tok.AccessToken == "" || tok.TokenType == "" {
		return tok, "the response has no access_token or token_type string"
	}
	if n, ok := obj.members["expires_in"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			tok.ExpiresIn, tok.HasExpiresIn = v, true
		}
	}
	tok.Scope, tok.HasScope = obj.members["scope"].(string)
	return tok, ""
}

// registeredTokenType reports whether a token_type other than Bearer is one a client may
// understand: a type of the OAuth Access Token Types registry (RFC 6749 §11.1: N_A, PoP, DPoP)
// or an absolute URI (§8.1).
func registeredTokenType(t string) bool {
	for _, known := range []string{"N_A", "PoP", "DPoP"} {
		if strings.EqualFold(t, known) {
			return true
		}
	}
	u, err := url.Parse(t)
	return err == nil && u.IsAbs()
}

// bearer is the Authorization value that presents the token.
func (t issuedToken) bearer() string { return "Bearer " + t.AccessToken }

// scopeTokens is a scope attribute: scope tokens (%x21 / %x23-5B / %x5D-7E) separated by single
// spaces (RFC 6750 §3, RFC 6749 §3.3).
const scopeTokens = `^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$`

// scopeSyntax is RFC 6749 §3.3's scope syntax, which the scope attribute of RFC 6750 §3 shares.
var scopeSyntax = regexp.MustCompile(scopeTokens)

// errorCharset is the character set of error and error_description: %x20-21 / %x23-5B /
// %x5D-7E (RFC 6749 §5.2, Appendix A.7 and A.8; RFC 6750 §3 uses the same sets).
var errorCharset = regexp.MustCompile(`^[\x20-\x21\x23-\x5B\x5D-\x7E]*$`)

// errorURICharset is the character set of error_uri: %x21 / %x23-5B / %x5D-7E (A.9).
var errorURICharset = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]*$`)

// labelled reports whether the running spec carries the row: shared checks judge the rows a
// spec is about, and treat the others as preconditions.
func labelled(id string) bool { return slices.Contains(CurrentSpecReport().Labels(), id) }

// expectTokenError judges a token endpoint error response for the spec's row id: no token,
// and an error code among codes. The response's shape (§5.2: a JSON object sent as
// application/json, an error member in its character set; §3.2: no member twice) is judged for
// the shape rows the spec carries; a shape the spec's row cannot be read without blocks it by
// that row instead. The status rule (C-6749-5.2-a) is judged only by specs that carry it.
func expectTokenError(res *http.Response, id string, codes ...string) {
	GinkgoHelper()
	expectNoToken(res, id)
	code := expectErrorShape(res)
	row(id).Expect(code).To(BeElementOf(codes), "the error code")
	if labelled("C-6749-5.2-a") && !slices.Contains(codes, "invalid_client") {
		row("C-6749-5.2-a").Expect(res).To(HaveHTTPStatus(http.StatusBadRequest), "for "+code)
	}
}

// expectErrorShape judges what every token endpoint error response must be, for the shape rows
// the spec carries, and returns the error code; a response without a readable error code
// blocks a spec that does not carry the shape rows.
func expectErrorShape(res *http.Response) string {
	GinkgoHelper()
	if labelled("C-6749-5.2-g") {
		row("C-6749-5.2-g").Expect(res).To(HaveJSONMediaType())
		row("C-6749-5.2-g").Require(res).To(BeJSONObject())
	} else if _, err := decodeObject(bodyOf(res)); err != nil {
		judge.Block("C-6749-5.2-g", "the error response is not a JSON object (%v), so its error code cannot be read", err)
	}
	obj := objectOf(res)
	if labelled("C-6749-3.2-g") {
		row("C-6749-3.2-g").Expect(obj.duplicates).To(BeEmpty(), "members sent twice")
	}
	code, isString := obj.members["error"].(string)
	if labelled("C-6749-5.2-d") {
		row("C-6749-5.2-d").Require(obj.members).To(HaveKeyWithValue("error", BeAssignableToTypeOf("")))
		row("C-6749-5.2-d").Expect(code).To(And(Not(BeEmpty()), MatchRegexp(errorCharset.String())), "error has characters outside %%x20-21 / %%x23-5B / %%x5D-7E")
	} else if !isString {
		judge.Block("C-6749-5.2-d", "the error response has no error string: %s", quoteBody(bodyOf(res)))
	}
	if labelled("C-6749-5.2-e") {
		if d, ok := obj.members["error_description"]; ok {
			row("C-6749-5.2-e").Expect(d).To(And(BeAssignableToTypeOf(""), MatchRegexp(errorCharset.String())),
				"error_description has characters outside %%x20-21 / %%x23-5B / %%x5D-7E")
		}
	}
	if labelled("C-6749-5.2-f") {
		if u, ok := obj.members["error_uri"]; ok {
			s, uriIsString := u.(string)
			_, err := url.Parse(s)
			row("C-6749-5.2-f").That(uriIsString && errorURICharset.MatchString(s) && err == nil,
				"error_uri %q is not a URI reference in %%x21 / %%x23-5B / %%x5D-7E", s)
		}
	}
	return code
}

// expectNoToken judges, for the row id, that a refused request got no access token: an error
// status and no access_token member.
func expectNoToken(res *http.Response, id string) {
	GinkgoHelper()
	issued := false
	if obj, err := decodeObject(bodyOf(res)); err == nil {
		_, issued = obj.members["access_token"]
	}
	row(id).RequireThat(!(res.StatusCode < 300 || issued), "the provider answered %s%s", res.Status, map[bool]string{true: " with an access token", false: ""}[issued])
}

// getResource sends a GET to a protected route with the Authorization value (or none).
func getResource(ctx context.Context, note, authorization string) *http.Response {
	GinkgoHelper()
	needReadPath()
	return send(ctx, request{Path: target.ReadPath, Note: note, Authorization: authorization})
}
