package provider

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/server"
)

// maxTokenRequestBytes bounds a token request body. A client credentials request is a few
// short parameters; 8 KiB leaves room for long client ids and scopes.
const maxTokenRequestBytes = 8 << 10

// oauthError is an RFC 6749 §5.2 error with a description that says what was wrong with this
// request. go-oauth2 only knows its own fixed descriptions; InternalErrorHandler turns this type
// into the library's errors.Response.
type oauthError struct {
	code        error // one of go-oauth2's errors.Err* codes
	description string
	// status and retryAfter, when set, override the status the code maps to (used for 429).
	status     int
	retryAfter time.Duration
}

func (e *oauthError) Error() string { return e.code.Error() + ": " + e.description }

func newOAuthError(code error, description string) error {
	return &oauthError{code: code, description: description}
}

// Descriptions for the codes go-oauth2 raises itself. Its own texts speak of authorization
// codes and contain characters §5.2 does not allow in error_description.
var descriptions = map[error]string{
	oauth2errors.ErrInvalidRequest:       "the request is malformed",
	oauth2errors.ErrInvalidClient:        "client authentication failed",
	oauth2errors.ErrUnauthorizedClient:   "this client may not use the client_credentials grant",
	oauth2errors.ErrUnsupportedGrantType: "only the client_credentials grant is supported",
	oauth2errors.ErrInvalidScope:         "the requested scope is invalid, unknown or not allowed for this client",
	oauth2errors.ErrServerError:          "the server could not handle the request",
}

// wireOAuth2Server connects the go-oauth2 server to this provider's policy through its hooks.
func (p *Provider) wireOAuth2Server(srv *server.Server) {
	srv.Config.AllowedGrantTypes = []oauth2.GrantType{oauth2.ClientCredentials}
	srv.Config.AllowedResponseTypes = nil
	srv.ClientInfoHandler = p.authenticateClient
	srv.ClientAuthorizedHandler = p.clientMayUseGrant
	srv.ClientScopeHandler = p.grantScope
	srv.InternalErrorHandler = p.internalError
	srv.ResponseErrorHandler = p.shapeError
	srv.ResponseTokenHandler = writeTokenResponse
}

// handleToken is the token endpoint (RFC 6749 §3.2). It checks what go-oauth2 does not check
// (or checks wrongly) and then hands the request to the library.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	// §3.2: the client must use POST. 405 says so in HTTP terms; the body says it in OAuth's.
	form, ok := p.postForm(w, r, "token", readTokenForm)
	if !ok {
		return
	}
	// The library reads parameters with r.FormValue, which uses r.Form when it is set.
	r.Form, r.PostForm = form, form
	// What go-oauth2's HandleTokenRequest does, with the token's binding (dpop.go, mtls.go)
	// decided between the client's authentication and the making of the token.
	if err := p.issueToken(w, r); err != nil {
		p.log("token response not written", "error", err.Error())
	}
}

// issueToken authenticates the client (ValidationTokenRequest calls authenticateClient), then
// checks its DPoP proof and decides what the token is bound to (tokenBinding), then has the
// token made (GetAccessToken: the grant and scope checks, then accessGenerator, which reads the
// binding from the context).
func (p *Provider) issueToken(w http.ResponseWriter, r *http.Request) error {
	gt, tgr, err := p.oauth.ValidationTokenRequest(r)
	if err != nil {
		return p.writeTokenErrorResponse(w, err)
	}
	b, err := p.tokenBinding(w, r, tgr.ClientID)
	if err != nil {
		return p.writeTokenErrorResponse(w, err)
	}
	ctx := r.Context()
	if b.bound() {
		ctx = withBinding(ctx, b)
	}
	ti, err := p.oauth.GetAccessToken(ctx, gt, tgr)
	if err != nil {
		return p.writeTokenErrorResponse(w, err)
	}
	data := p.oauth.GetTokenData(ti)
	if b.JKT != "" {
		data["token_type"] = "DPoP" // RFC 9449 §5
		if p.dpop.nonces {
			// §8.2: a fresh nonce with the token, for the client's next request.
			w.Header().Set("DPoP-Nonce", p.dpop.newNonce(nonceForToken))
		}
	}
	return writeTokenResponse(w, data, nil)
}

// writeTokenErrorResponse is writeTokenError that returns the write's error.
func (p *Provider) writeTokenErrorResponse(w http.ResponseWriter, err error) error {
	data, code, header := p.oauth.GetErrorData(err)
	return writeTokenResponse(w, data, header, code)
}

// readTokenForm parses and checks a token request body.
func readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	form, err := readForm(w, r)
	if err != nil {
		return nil, err
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		// §3.2: an empty parameter counts as omitted, and grant_type is required (§4.4.2).
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "grant_type is missing")
	case string(oauth2.ClientCredentials):
	default:
		return nil, oauth2errors.ErrUnsupportedGrantType
	}
	return form, nil
}

// readForm parses and checks the body of a request to an endpoint that authenticates clients
// (token, introspection, revocation): form-encoded UTF-8 in the body, nothing in the URI, no
// parameter twice.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.URL.RawQuery != "" {
		// §3.2 and §2.3.1: parameters, credentials above all, belong in the body, where they
		// stay out of logs and caches.
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "parameters must be sent in the request body, not in the URI")
	}
	// The usual Content-Type, exactly, needs no parsing (which allocates a map).
	if ct := r.Header.Get("Content-Type"); !strings.EqualFold(ct, "application/x-www-form-urlencoded") {
		mediaType, params, err := mime.ParseMediaType(ct)
		if err != nil || mediaType != "application/x-www-form-urlencoded" {
			return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "the body must be application/x-www-form-urlencoded")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			// Appendix B: the body is UTF-8.
			return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "the body must be UTF-8")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenRequestBytes))
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "the body is not valid form encoding")
	}
	for name, values := range form {
		// resource may repeat (RFC 8707 §2): one per audience.
		if len(values) > 1 && name != "resource" {
			// §3.2: request parameters must not be included more than once.
			return nil, newOAuthError(oauth2errors.ErrInvalidRequest, "the parameter "+safeForDescription(name)+" is repeated")
		}
	}
	return form, nil
}

// authenticateClient is go-oauth2's ClientInfoHandler. It authenticates the client here
// (authenticateRequest: exactly one of HTTP Basic, body credentials and a JWT assertion), so
// that nothing later (the scope check above all) answers before the client is authenticated.
// What it returns is checked again by the library's manager: the secret the client proved, or,
// for a client that sent an assertion, its internal pass (clients.go).
func (p *Provider) authenticateClient(r *http.Request) (string, string, error) {
	c, err := p.authenticateRequest(r, r.Form)
	if err != nil {
		return "", "", err
	}
	if c.pass != "" {
		// A JWT or certificate client: the library checks the internal pass (clients.go).
		return c.ID, c.pass, nil
	}
	return c.ID, c.Secret, nil
}

// parseBasic decodes HTTP Basic credentials. The scheme name is case-insensitive (RFC 9110
// §11.1); the user and password are form-urlencoded before Base64 (RFC 6749 §2.3.1), so they
// are split at the first colon and then decoded.
func parseBasic(header string) (id, secret string, ok bool) {
	scheme, credentials, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(credentials, " "))
	if err != nil {
		return "", "", false
	}
	encodedID, encodedSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(encodedID)
	secret, err2 := url.QueryUnescape(encodedSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, secret, true
}

// clientMayUseGrant is go-oauth2's ClientAuthorizedHandler.
func (p *Provider) clientMayUseGrant(clientID string, grant oauth2.GrantType) (bool, error) {
	c, ok := p.clients.byID[clientID]
	return ok && grant == oauth2.ClientCredentials && !c.NoClientCredentials, nil
}

// grantScope is go-oauth2's ClientScopeHandler, the one hook that sees the token request after
// the client is authenticated and before the token is made. It validates the requested scope
// (RFC 6749 §3.3), substitutes the client's default when none was asked for, and sets the
// client's token lifetime. It rewrites the request in place; the library issues what it holds.
func (p *Provider) grantScope(tgr *oauth2.TokenGenerateRequest) (bool, error) {
	c := p.clients.byID[tgr.ClientID]
	requested := tgr.Scope
	if requested == "" {
		if len(c.DefaultScopes) == 0 {
			return false, newOAuthError(oauth2errors.ErrInvalidScope, "no scope was requested and this client has no default scope")
		}
		requested = strings.Join(c.DefaultScopes, " ")
	}
	var granted []string
	for _, s := range strings.Split(requested, " ") {
		switch {
		case !validScopeToken(s):
			return false, newOAuthError(oauth2errors.ErrInvalidScope, "the scope is malformed: scope tokens are separated by single spaces and use printable ASCII without quotes or backslashes")
		case !c.mayUse(s):
			return false, newOAuthError(oauth2errors.ErrInvalidScope, "the scope "+s+" is unknown or not allowed for this client")
		case !slices.Contains(granted, s):
			granted = append(granted, s)
		}
	}
	tgr.Scope = strings.Join(granted, " ")
	if tgr.Request != nil {
		// RFC 8707 §2: a resource that is malformed or not served here is invalid_target
		// (resources.go); the token is made for the valid ones (jwtat.go).
		if _, err := p.requestedResources(tgr.Request.Form); err != nil {
			return false, err
		}
	}
	tgr.AccessTokenExp = p.cfg.TokenLifetime
	if c.TokenLifetime > 0 {
		tgr.AccessTokenExp = c.TokenLifetime
	}
	return true, nil
}

// validScopeToken reports whether s is a scope-token: 1*( %x21 / %x23-5B / %x5D-7E ), RFC 6749 §3.3.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// safeForDescription keeps what a client sent from breaking the error_description character set
// (RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E).
func safeForDescription(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// internalError is go-oauth2's InternalErrorHandler: it receives every error the library has no
// description for. oauthError values become their RFC code; anything else is a server_error,
// logged without detail that could carry a credential.
func (p *Provider) internalError(err error) *oauth2errors.Response {
	var oe *oauthError
	if errors.As(err, &oe) {
		re := &oauth2errors.Response{Error: oe.code, Description: oe.description, StatusCode: oe.status}
		if oe.retryAfter > 0 {
			re.SetHeader("Retry-After", strconv.Itoa(int(oe.retryAfter.Round(time.Second)/time.Second)+1))
		}
		return re
	}
	p.log("token endpoint internal error", "error_type", fmt.Sprintf("%T", err))
	return &oauth2errors.Response{Error: oauth2errors.ErrServerError}
}

// shapeError is go-oauth2's ResponseErrorHandler. The library answers unauthorized_client,
// unsupported_grant_type and invalid_grant with 401 and sends no WWW-Authenticate at all;
// RFC 6749 §5.2 wants 400 for all of them and 401 with a challenge for invalid_client.
func (p *Provider) shapeError(re *oauth2errors.Response) {
	if re.Description == "" || re.Description == oauth2errors.Descriptions[re.Error] {
		re.Description = descriptions[re.Error]
	}
	switch {
	case re.StatusCode == http.StatusTooManyRequests: // a lockout (throttle.go), set by internalError
	case re.Error == oauth2errors.ErrInvalidClient:
		re.StatusCode = http.StatusUnauthorized
		re.SetHeader("WWW-Authenticate", "Basic realm="+quote(p.realm)+`, charset="UTF-8"`)
	case re.Error == oauth2errors.ErrServerError:
		re.StatusCode = http.StatusInternalServerError
	case re.Error == oauth2errors.ErrTemporarilyUnavailable:
		re.StatusCode = http.StatusServiceUnavailable
	default:
		re.StatusCode = http.StatusBadRequest
	}
}

// writeTokenError writes err as a §5.2 error response; status, when not zero, replaces the
// status the error maps to.
func (p *Provider) writeTokenError(w http.ResponseWriter, err error, status int) {
	data, code, header := p.oauth.GetErrorData(err)
	if status != 0 {
		code = status
	}
	_ = writeTokenResponse(w, data, header, code)
}

var (
	headerJSON    = []string{"application/json"}[:1:1]
	headerNoStore = []string{"no-store"}[:1:1]
	headerNoCache = []string{"no-cache"}[:1:1]
)

// writeTokenResponse is go-oauth2's ResponseTokenHandler: every token endpoint response, success
// or error, is JSON and must not be cached (RFC 6749 §5.1).
func writeTokenResponse(w http.ResponseWriter, data map[string]interface{}, header http.Header, statusCode ...int) error {
	h := w.Header()
	// Shared, full-capacity value slices: net/http copies header values before writing them, and
	// an Add would append into a new array; Set would allocate one slice per header per response.
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["Pragma"] = headerNoCache
	for k, v := range header {
		h[k] = v
	}
	status := http.StatusOK
	if len(statusCode) > 0 && statusCode[0] > 0 {
		status = statusCode[0]
	}
	body := appendJSONObject(make([]byte, 0, 512), data)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// appendJSONObject appends data as encoding/json's Encoder writes it (keys sorted, a newline at
// the end), without its reflection: a token response is a handful of strings and integers, and
// encoding it through encoding/json was a fifth of the token endpoint's own time. A value of any
// other type, and a string that needs escaping, goes through encoding/json.
func appendJSONObject(b []byte, data map[string]interface{}) []byte {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		switch v := data[k].(type) {
		case string:
			b = appendJSONString(b, v)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		default:
			enc, err := json.Marshal(v)
			if err != nil {
				enc = []byte("null")
			}
			b = append(b, enc...)
		}
	}
	return append(b, '}', '\n')
}

// appendJSONString appends s as a JSON string, as encoding/json would (HTML characters escaped).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
