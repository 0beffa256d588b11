package suite

import (
	"fmt"
	"strings"
)

// requirement is one row of the project's checklist (sections 2.A and 2.B, RFC 6749 and
// RFC 6750), or one step of the documented scenario (S2S-n). Specs carry its ID as a label, and
// their failure messages quote String().
type requirement struct {
	ID string
	// Doc is the document: "RFC 6749", "RFC 6750", "scenario" for the documented
	// server-to-server scenario, or "load" for the project's load checks.
	Doc string
	// Section is the primary section; the label is "rfc6749:5.2" and so on.
	Section string
	// Level is MUST, SHOULD or MAY.
	Level string
	// Derived marks the checklist's kind R: the RFC binds the client, or the rule is implied by
	// an error definition, so the server-side check is an inference, graded like a SHOULD
	// unless --strict.
	Derived bool
	// Summary paraphrases the requirement.
	Summary string
}

// String is how a failure names the rule: document, section, level, ID and the requirement.
func (r requirement) String() string {
	doc := r.Doc
	switch doc {
	case "scenario":
		return fmt.Sprintf("documented scenario, step %s (%s, %s): %s", r.Section, r.Level, r.ID, r.Summary)
	case "load":
		return fmt.Sprintf("load check (%s, %s): %s", r.Level, r.ID, r.Summary)
	}
	return fmt.Sprintf("%s §%s (%s, %s): %s", doc, r.Section, r.Level, r.ID, r.Summary)
}

// per describes an assertion by the requirement it enforces, for Gomega's description argument;
// notes say what in particular was wrong.
func per(id string, notes ...string) func() string {
	r := rule(id)
	return func() string {
		if len(notes) == 0 {
			return r.String()
		}
		return r.String() + " (" + strings.Join(notes, "; ") + ")"
	}
}

// perAll describes an assertion that enforces several rows at once (a §5.1 check made on
// behalf of §4.4.3 names both), so that the failure names whichever row the provider breaks.
func perAll(ids []string, notes ...string) func() string {
	rules := make([]string, len(ids))
	for i, id := range ids {
		rules[i] = rule(id).String()
	}
	return func() string {
		s := strings.Join(rules, "; and ")
		if len(notes) > 0 {
			s += " (" + strings.Join(notes, "; ") + ")"
		}
		return s
	}
}

func (r requirement) sectionLabel() string {
	return strings.ToLower(strings.ReplaceAll(r.Doc, " ", "")) + ":" + r.Section
}

// rule returns the requirement with this ID. An unknown ID is a bug in the suite, caught when
// the spec tree is built.
func rule(id string) requirement {
	r, ok := requirements[id]
	if !ok {
		panic("ccconform: unknown requirement ID " + id)
	}
	return r
}

var requirements = func() map[string]requirement {
	m := map[string]requirement{}
	for _, r := range requirementList {
		m[r.ID] = r
	}
	return m
}()

var requirementList = []requirement{
	// The documented scenario (../shared/seed/server2server-README.md), one row per step.
	{ID: "S2S-1", Doc: "scenario", Section: "1", Level: "MUST", Summary: "GET /public needs no token and answers 200 with the body moo"},
	{ID: "S2S-2", Doc: "scenario", Section: "2", Level: "MUST", Summary: "a protected read without a token is refused with 401 and a Bearer challenge"},
	{ID: "S2S-3", Doc: "scenario", Section: "3", Level: "MUST", Summary: "a token request with bad client credentials is refused with invalid_client"},
	{ID: "S2S-4", Doc: "scenario", Section: "4", Level: "MUST", Summary: "a token request with the client's credentials and scope read gets a Bearer token, its lifetime and its scope"},
	{ID: "S2S-5", Doc: "scenario", Section: "5", Level: "MUST", Summary: "an authenticated read answers 200 with a JSON object that has a resource member"},
	{ID: "S2S-6", Doc: "scenario", Section: "6", Level: "MUST", Summary: "a write with a made-up token is refused with 401 and invalid_token"},
	{ID: "S2S-7", Doc: "scenario", Section: "7", Level: "MUST", Summary: "an authenticated write, even with a token granted only read, answers 200 and resource created"},
	{ID: "S2S-8", Doc: "scenario", Section: "8", Level: "MUST", Summary: "an authenticated read returns the value the write stored"},

	// The project's load checks (label load): not RFC rules, but what any provider must survive.
	{ID: "L-1", Doc: "load", Section: "token", Level: "MUST", Summary: "concurrent token requests all succeed, never with a 5xx, and every token issued is distinct"},
	{ID: "L-2", Doc: "load", Section: "resource", Level: "MUST", Summary: "concurrent requests with valid Bearer tokens are all served, never with a 5xx"},

	// 2.A RFC 6749.
	{ID: "C-6749-2.3-a", Doc: "RFC 6749", Section: "2.3", Level: "MUST", Derived: true, Summary: "a client uses one authentication method per request; two at once is invalid_request"},
	{ID: "C-6749-2.3.1-a", Doc: "RFC 6749", Section: "2.3.1", Level: "MUST", Summary: "the token endpoint supports HTTP Basic client authentication"},
	{ID: "C-6749-2.3.1-b", Doc: "RFC 6749", Section: "2.3.1", Level: "MUST", Summary: "Basic user and password are the form-urlencoded client id and secret, decoded by the server"},
	{ID: "C-6749-2.3.1-c", Doc: "RFC 6749", Section: "2.3.1", Level: "MAY", Summary: "the server may accept client_id and client_secret in the request body"},
	{ID: "C-6749-2.3.1-d", Doc: "RFC 6749", Section: "2.3.1", Level: "MUST", Derived: true, Summary: "client credentials are never accepted from the request URI"},
	{ID: "C-6749-2.3.1-e", Doc: "RFC 6749", Section: "2.3.1", Level: "MUST", Summary: "endpoints that take client passwords are protected against brute force"},
	{ID: "C-6749-3.2-a", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Summary: "the token endpoint requires TLS"},
	{ID: "C-6749-3.2-b", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Summary: "the token endpoint URI has no fragment"},
	{ID: "C-6749-3.2-c", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Derived: true, Summary: "token requests use POST; a GET gets no token"},
	{ID: "C-6749-3.2-d", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Summary: "a parameter sent without a value is treated as omitted"},
	{ID: "C-6749-3.2-e", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Summary: "unrecognized request parameters are ignored"},
	{ID: "C-6749-3.2-f", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Summary: "a repeated request parameter is invalid_request"},
	{ID: "C-6749-3.2-g", Doc: "RFC 6749", Section: "3.2", Level: "MUST", Summary: "response parameters are not repeated"},
	{ID: "C-6749-3.2-h", Doc: "RFC 6749", Section: "4.4.2", Level: "MUST", Derived: true, Summary: "the server accepts application/x-www-form-urlencoded bodies, with or without charset=UTF-8"},
	{ID: "C-6749-3.3-a", Doc: "RFC 6749", Section: "3.3", Level: "MUST", Summary: "scope is one string of space-delimited scope tokens"},
	{ID: "C-6749-3.3-b", Doc: "RFC 6749", Section: "3.3", Level: "MUST", Summary: "when the granted scope differs from the requested one, the response includes scope"},
	{ID: "C-6749-3.3-c", Doc: "RFC 6749", Section: "3.3", Level: "MAY", Summary: "the server may ignore the requested scope fully or partly"},
	{ID: "C-6749-3.3-d", Doc: "RFC 6749", Section: "3.3", Level: "MUST", Summary: "without scope, the server uses a documented default or answers invalid_scope"},
	{ID: "C-6749-4.4-a", Doc: "RFC 6749", Section: "4.4", Level: "MUST", Derived: true, Summary: "the client credentials grant is for confidential clients only"},
	{ID: "C-6749-4.4.2-a", Doc: "RFC 6749", Section: "4.4.2", Level: "MUST", Summary: "grant_type is required; without it the request is invalid_request"},
	{ID: "C-6749-4.4.2-b", Doc: "RFC 6749", Section: "4.4.2", Level: "MUST", Summary: "an unknown grant type is unsupported_grant_type"},
	{ID: "C-6749-4.4.2-c", Doc: "RFC 6749", Section: "4.4.2", Level: "MUST", Summary: "the server authenticates the client; bad, missing or id-only credentials get no token and invalid_client"},
	{ID: "C-6749-4.4.3-a", Doc: "RFC 6749", Section: "4.4.3", Level: "MUST", Summary: "a valid request gets a section 5.1 access token response"},
	{ID: "C-6749-4.4.3-b", Doc: "RFC 6749", Section: "4.4.3", Level: "SHOULD", Summary: "a client credentials response does not include a refresh token"},
	{ID: "C-6749-5.1-a", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "a successful token response has status 200"},
	{ID: "C-6749-5.1-b", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "access_token is a non-empty string of visible ASCII"},
	{ID: "C-6749-5.1-c", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "token_type is present and compared case-insensitively"},
	{ID: "C-6749-5.1-d", Doc: "RFC 6749", Section: "5.1", Level: "SHOULD", Summary: "expires_in is included"},
	{ID: "C-6749-5.1-e", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "expires_in, when present, is a JSON number: a non-negative whole number of seconds"},
	{ID: "C-6749-5.1-f", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "the token response is a JSON object sent as application/json"},
	{ID: "C-6749-5.1-g", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "a response carrying a token has Cache-Control: no-store"},
	{ID: "C-6749-5.1-h", Doc: "RFC 6749", Section: "5.1", Level: "MUST", Summary: "a response carrying a token has Pragma: no-cache (deprecated by RFC 9111, so graded as a warning)"},
	{ID: "C-6749-5.2-a", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "token endpoint errors other than invalid_client use status 400"},
	{ID: "C-6749-5.2-b", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "a client that failed HTTP Basic authentication gets 401 and a Basic challenge"},
	{ID: "C-6749-5.2-c", Doc: "RFC 6749", Section: "5.2", Level: "MAY", Summary: "a client that failed body authentication gets 400 or 401, and a 401 carries a challenge"},
	{ID: "C-6749-5.2-d", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "an error response has an error member with the right code in the allowed characters"},
	{ID: "C-6749-5.2-e", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "error_description, when present, uses only the allowed characters"},
	{ID: "C-6749-5.2-f", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "error_uri, when present, is a URI reference in the allowed characters"},
	{ID: "C-6749-5.2-g", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "an error response is a JSON object sent as application/json"},
	{ID: "C-6749-5.2-h", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "an authenticated client that may not use the grant gets unauthorized_client"},
	{ID: "C-6749-5.2-i", Doc: "RFC 6749", Section: "5.2", Level: "MUST", Summary: "an invalid, unknown or malformed scope gets invalid_scope, unless the server narrows it"},
	{ID: "C-6749-7-a", Doc: "RFC 6749", Section: "7", Level: "MUST", Summary: "the resource server validates every token: genuine, unexpired, and with the scope the resource needs"},
	{ID: "C-6749-7.2-a", Doc: "RFC 6749", Section: "7.2", Level: "SHOULD", Summary: "the resource server tells the client why access failed"},
	{ID: "C-6749-10.3-a", Doc: "RFC 6749", Section: "10.3", Level: "MUST", Summary: "access tokens only travel over TLS with server authentication"},
	{ID: "C-6749-10.10-a", Doc: "RFC 6749", Section: "10.10", Level: "MUST", Summary: "the chance of guessing an access token is at most 2^-128"},
	{ID: "C-6749-10.10-b", Doc: "RFC 6749", Section: "10.10", Level: "SHOULD", Summary: "the chance of guessing an access token is at most 2^-160"},

	// 2.B RFC 6750.
	{ID: "C-6750-2-a", Doc: "RFC 6750", Section: "2", Level: "SHOULD", Summary: "a token sent more than one way at once is invalid_request, with 400"},
	{ID: "C-6750-2.1-a", Doc: "RFC 6750", Section: "2.1", Level: "MUST", Summary: "the resource server accepts Authorization: Bearer"},
	{ID: "C-6750-2.1-b", Doc: "RFC 6750", Section: "2.1", Level: "MUST", Summary: "the Bearer scheme name is case-insensitive"},
	{ID: "C-6750-2.1-c", Doc: "RFC 6750", Section: "2.1", Level: "MUST", Derived: true, Summary: "a Bearer access token fits the b64token syntax"},
	{ID: "C-6750-2.1-d", Doc: "RFC 6750", Section: "2.1", Level: "SHOULD", Summary: "a malformed Authorization value is invalid_request, with 400"},
	{ID: "C-6750-2.2-a", Doc: "RFC 6750", Section: "2.2", Level: "MAY", Summary: "the resource server may accept access_token in a form body"},
	{ID: "C-6750-2.2-b", Doc: "RFC 6750", Section: "2.2", Level: "MUST", Derived: true, Summary: "a body token counts only in a single-part form body of a non-GET request"},
	{ID: "C-6750-2.3-a", Doc: "RFC 6750", Section: "2.3", Level: "MAY", Summary: "the resource server may accept access_token in the query"},
	{ID: "C-6750-2.3-b", Doc: "RFC 6750", Section: "2.3", Level: "SHOULD", Summary: "a success for a query token carries Cache-Control: private"},
	{ID: "C-6750-3-a", Doc: "RFC 6750", Section: "3", Level: "MUST", Summary: "a request without credentials, or with a token that does not grant access, gets WWW-Authenticate"},
	{ID: "C-6750-3-b", Doc: "RFC 6750", Section: "3", Level: "MUST", Summary: "the challenge uses the Bearer scheme"},
	{ID: "C-6750-3-c", Doc: "RFC 6750", Section: "3", Level: "MUST", Summary: "the Bearer scheme is followed by at least one auth-param"},
	{ID: "C-6750-3-d", Doc: "RFC 6750", Section: "3", Level: "MUST", Summary: "realm, scope, error, error_description and error_uri each appear at most once"},
	{ID: "C-6750-3-e", Doc: "RFC 6750", Section: "3", Level: "MUST", Summary: "challenge attribute values keep to their character sets"},
	{ID: "C-6750-3-f", Doc: "RFC 6750", Section: "3", Level: "SHOULD", Summary: "a request whose token failed gets an error attribute"},
	{ID: "C-6750-3-g", Doc: "RFC 6750", Section: "3", Level: "MAY", Summary: "realm, scope, error_description and error_uri are optional"},
	{ID: "C-6750-3.1-a", Doc: "RFC 6750", Section: "3.1", Level: "MUST", Summary: "a failed request carries one of the defined error codes"},
	{ID: "C-6750-3.1-b", Doc: "RFC 6750", Section: "3.1", Level: "SHOULD", Summary: "invalid_request goes with 400"},
	{ID: "C-6750-3.1-c", Doc: "RFC 6750", Section: "3.1", Level: "SHOULD", Summary: "invalid_token (expired, revoked, malformed, invalid) goes with 401"},
	{ID: "C-6750-3.1-d", Doc: "RFC 6750", Section: "3.1", Level: "SHOULD", Summary: "insufficient_scope goes with 403"},
	{ID: "C-6750-3.1-e", Doc: "RFC 6750", Section: "3.1", Level: "SHOULD", Summary: "a request without authentication information gets no error code"},
	{ID: "C-6750-5.3-a", Doc: "RFC 6750", Section: "5.3", Level: "SHOULD", Summary: "Bearer tokens are short-lived, an hour or less"},
	{ID: "C-6750-5.3-b", Doc: "RFC 6750", Section: "5.3", Level: "SHOULD", Summary: "Bearer tokens are restricted to an audience"},
}
