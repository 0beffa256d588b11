package provider

import (
	"errors"
	"net/http"
	"net/url"

	oauth2errors "github.com/go-oauth2/oauth2/v4/errors"
)

// What the introspection and revocation endpoints share with the token endpoint: POST only, a
// form body read as readForm reads it, and the client authenticated by authenticateRequest, with
// errors shaped as RFC 6749 §5.2 says (RFC 7009 §2.2.1, RFC 7662 §2.3).

// authenticatedForm reads the form of a POST to an endpoint named what, and authenticates its
// client. On failure it has written the error response and returns nil.
func (p *Provider) authenticatedForm(w http.ResponseWriter, r *http.Request, what string) (url.Values, *registeredClient) {
	form, ok := p.postForm(w, r, what, readForm)
	if !ok {
		return nil, nil
	}
	c, err := p.authenticateRequest(r, form)
	if err != nil {
		p.writeTokenError(w, err, 0)
		return nil, nil
	}
	return form, c
}

// postForm reads the form of a POST to the endpoint named what with read (readForm, or
// readTokenForm at the token endpoint). Another method is 405 with an invalid_request body (the
// client must POST, RFC 6749 §3.2, and a GET would carry tokens in the URI, RFC 7662 §4); a body
// too large is 413; one that cannot be read, or that read refuses, is 400: never a 5xx. On
// failure it has written the error response.
func (p *Provider) postForm(w http.ResponseWriter, r *http.Request, what string, read func(http.ResponseWriter, *http.Request) (url.Values, error)) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		p.writeTokenError(w, newOAuthError(oauth2errors.ErrInvalidRequest, "the "+what+" endpoint accepts POST only"), http.StatusMethodNotAllowed)
		return nil, false
	}
	form, err := read(w, r)
	if err == nil {
		return form, true
	}
	status := 0
	var tooBig *http.MaxBytesError
	var oe *oauthError
	switch {
	case errors.As(err, &tooBig):
		status = http.StatusRequestEntityTooLarge
		err = newOAuthError(oauth2errors.ErrInvalidRequest, "the request body is too large")
	case errors.Is(err, oauth2errors.ErrUnsupportedGrantType), errors.As(err, &oe):
	default: // the body could not be read: the client's fault, not the server's
		err = newOAuthError(oauth2errors.ErrInvalidRequest, "the request body could not be read")
	}
	p.writeTokenError(w, err, status)
	return nil, false
}
