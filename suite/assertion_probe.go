package suite

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/config"
	"github.com/ccconform/ccconform/suite/judge"
	"github.com/ccconform/ccconform/suite/wire"
)

// JWT client authentication (checklist 2.J): the audience probe, the fixture clients, and what
// every spec of RFC 7523, RFC 7521 §4.2, RFC 10070 and OpenID Connect Core §9 shares.
//
// The probe. Providers disagree on the aud of a client assertion: RFC 10070 and FAPI 2.0 want
// the issuer identifier, Okta the URL of the endpoint invoked, others the token endpoint's URL
// everywhere (checklist 2.O item 1). So before any negative, the suite learns, once per
// endpoint that takes assertions (token, revocation, introspection), which audience the provider
// accepts there: the issuer as published, the issuer with its trailing / toggled, the
// endpoint's own URL, the token endpoint's URL, in that order; the first accepted is that
// endpoint's aud-mode. Every negative then uses it, so that a refusal says something about the
// rule broken and nothing about the audience. C-7523-2.2-a records the modes.

// audienceMode is what the probe found at one endpoint.
type audienceMode struct {
	// Endpoint is the endpoint's URL.
	Endpoint string
	// Audience is the accepted aud; Form says which candidate it is ("the issuer"). Both are
	// empty when no candidate was accepted.
	Audience, Form string
	// Tried says what each candidate got, for the reasons of rows that cannot be judged.
	Tried []string
}

// Endpoints that take assertions, as the probe names them.
const (
	atToken         = "token"
	atRevocation    = "revocation"
	atIntrospection = "introspection"
)

// audienceModes caches the probe's findings in this process (each Ginkgo process probes on
// its own, once per endpoint). A probe that could not finish (no answer, a rate limit) is not
// cached.
var (
	audienceModesMu sync.Mutex
	audienceModes   = map[string]audienceMode{}
)

// endpointURL is the absolute URL of the endpoint, or "" when the provider has none.
func endpointURL(kind string) string {
	path := map[string]string{atToken: target.TokenPath, atRevocation: target.RevocationPath,
		atIntrospection: target.IntrospectionPath}[kind]
	if path == "" {
		return ""
	}
	return target.url(path)
}

// publishedIssuer is the issuer as the metadata spells it, else as configured.
func publishedIssuer() string {
	if s, ok := discovered.Doc["issuer"].(string); ok && s != "" {
		return s
	}
	return target.Issuer
}

// audienceCandidates are the auds the probe tries at an endpoint, in order, with their names.
func audienceCandidates(kind string) [][2]string {
	var out [][2]string
	add := func(aud, form string) {
		if aud != "" && !slices.ContainsFunc(out, func(c [2]string) bool { return c[0] == aud }) {
			out = append(out, [2]string{aud, form})
		}
	}
	if iss := publishedIssuer(); iss != "" {
		add(iss, "the issuer")
		if strings.HasSuffix(iss, "/") {
			add(strings.TrimRight(iss, "/"), "the issuer without its trailing /")
		} else {
			add(iss+"/", "the issuer with a trailing /")
		}
	}
	add(endpointURL(kind), "the "+kind+" endpoint's URL")
	add(endpointURL(atToken), "the token endpoint's URL")
	return out
}

// probeClient is the client the probe signs with at an endpoint: for introspection the
// introspecting fixture when it uses assertions, else the first JWT client there is.
func probeClient(kind string) *Credentials {
	if c := target.Clients.Introspector; kind == atIntrospection && c != nil && c.usesAssertion() {
		return c
	}
	for _, c := range []*Credentials{pkjClient(), csjClient(), target.Clients.Introspector, target.Clients.Second} {
		if c != nil && c.usesAssertion() {
			return c
		}
	}
	return nil
}

// probeAudience returns the endpoint's aud-mode, probing it on first use. ok is false when the
// probe could not finish (why says what stopped it); a finished probe that found no accepted
// audience is ok with an empty Audience.
func probeAudience(ctx context.Context, kind string) (mode audienceMode, ok bool, why string) {
	audienceModesMu.Lock()
	defer audienceModesMu.Unlock()
	if m, cached := audienceModes[kind]; cached {
		return m, true, ""
	}
	endpoint := endpointURL(kind)
	c := probeClient(kind)
	switch {
	case endpoint == "":
		return audienceMode{}, false, "the provider has no " + kind + " endpoint"
	case c == nil:
		return audienceMode{}, false, "no client is configured to authenticate with a JWT assertion"
	}
	mode = audienceMode{Endpoint: endpoint}
	for _, cand := range audienceCandidates(kind) {
		jwt, err := c.newAssertion(cand[0]).sign()
		if err != nil {
			return audienceMode{}, false, "the suite cannot sign an assertion for " + c.ID + ": " + err.Error()
		}
		x := httpClient.Do(ctx, probeRequest(kind, endpoint, jwt))
		if x.Err != nil {
			return audienceMode{}, false, "the probe got no answer: " + wire.Describe(x.Err, target.RequestTimeout)
		}
		if x.RateLimited {
			return audienceMode{}, false, fmt.Sprintf("the provider kept answering %s (Retry-After: %q)", x.Response.Status, x.RetryAfter)
		}
		accepted, answer := probeAccepted(kind, x)
		mode.Tried = append(mode.Tried, fmt.Sprintf("%s (%s): %s", cand[1], cand[0], answer))
		if accepted {
			mode.Audience, mode.Form = cand[0], cand[1]
			break
		}
	}
	audienceModes[kind] = mode
	return mode, true, ""
}

// probeRequest is a request to the endpoint that a client authenticated by the assertion gets
// a positive answer to: a client credentials grant; the revocation or introspection of a
// made-up token (RFC 7009 §2.2: 200 for a token that is not valid; RFC 7662 §2.2: inactive).
func probeRequest(kind, endpoint, jwt string) *wire.Request {
	redactor.add(jwt)
	f := url.Values{"client_assertion_type": {assertionType}, "client_assertion": {jwt}}
	if kind == atToken {
		f.Set("grant_type", "client_credentials")
	} else {
		f.Set("token", "ccconform-probe-"+randomID())
	}
	return &wire.Request{Method: http.MethodPost, URL: endpoint, Note: "client assertion audience probe",
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte(f.Encode())}
}

// probeAccepted reads the probe's answer: at the token endpoint only a token says the client
// was authenticated; at the others, so does a refusal that is not about authentication (a
// client that may not introspect gets 403 unauthorized_client, say).
func probeAccepted(kind string, x *wire.Exchange) (bool, string) {
	res := x.Response
	obj, _ := decodeObject(x.Body)
	code, _ := obj.members["error"].(string)
	answer := res.Status
	if code != "" {
		answer += " " + code
	}
	if kind == atToken {
		_, issued := obj.members["access_token"]
		return res.StatusCode == http.StatusOK && issued, answer
	}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return true, answer
	case res.StatusCode >= 500, code == "", code == "invalid_client", code == "invalid_request":
		return false, answer
	}
	return true, answer
}

// probedAudience is assertionAudience once the probe has run: the aud the endpoint accepted.
// Inside a spec it probes an endpoint not probed yet (a helper that authenticates a JWT client
// at the revocation endpoint, say); elsewhere (the preflight) it uses the default.
func probedAudience(endpoint string) any {
	for _, kind := range []string{atToken, atRevocation, atIntrospection} {
		if endpointURL(kind) != endpoint {
			continue
		}
		if judge.InSpec() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(len(audienceCandidates(kind)))*target.RequestTimeout)
			defer cancel()
			if m, ok, _ := probeAudience(ctx, kind); ok && m.Audience != "" {
				return m.Audience
			}
		} else {
			audienceModesMu.Lock()
			m := audienceModes[kind]
			audienceModesMu.Unlock()
			if m.Audience != "" {
				return m.Audience
			}
		}
		break
	}
	return defaultAssertionAudience(endpoint)
}

// acceptedAudience is the aud the endpoint accepted from a valid assertion: what every
// negative there uses. When the probe could not finish the spec is not judged; when the
// provider accepted no valid assertion, the spec is blocked by C-7523-2.2-a, which reports that
// once (checklist 2.J: the negatives are never failed one by one).
func acceptedAudience(ctx context.Context, kind string) string {
	GinkgoHelper()
	m, ok, why := probeAudience(ctx, kind)
	switch {
	case !ok:
		judge.Skip("the client assertion audience probe at the %s endpoint could not finish: %s", kind, why)
	case m.Audience == "":
		judge.Block("C-7523-2.2-a", "the %s endpoint accepted no valid client assertion (%s), so a refusal would say nothing about the rule",
			kind, strings.Join(m.Tried, "; "))
	}
	return m.Audience
}

// The fixture clients of checklist 2.J.

// pkjClient is F-PKJ: the private_key_jwt fixture, or the main client when it authenticates
// with private_key_jwt.
func pkjClient() *Credentials {
	if c := target.Clients.PrivateKeyJWT; c != nil && c.Key != nil {
		return c
	}
	if target.Client.AuthMethod == config.AuthPrivateKeyJWT && target.Client.Key != nil {
		return &target.Client
	}
	return nil
}

// pkj2Client is F-PKJ2: a second private_key_jwt client, with another key.
func pkj2Client() *Credentials {
	if c := target.Clients.PrivateKeyJWT2; c != nil && c.Key != nil {
		return c
	}
	return nil
}

// csjClient is F-CSJ: the client_secret_jwt fixture, or the main client when it authenticates
// with client_secret_jwt.
func csjClient() *Credentials {
	if c := target.Clients.ClientSecretJWT; c != nil && c.Secret != "" {
		return c
	}
	if target.Client.AuthMethod == config.AuthClientSecretJWT && target.Client.Secret != "" {
		return &target.Client
	}
	return nil
}

// needJWTClient is needCap for JWT client authentication, then the fixture the spec signs
// with (judge.Skip naming it when it is missing).
func needJWTClient(c *Credentials, name, how string) *Credentials {
	GinkgoHelper()
	needCap(config.CapJWTClientAuth)
	needTokenPath()
	if c == nil {
		judge.Skip("the target declares no %s fixture (%s)", name, how)
	}
	return c
}

// needPKJ is F-PKJ, or a skip.
func needPKJ() *Credentials {
	GinkgoHelper()
	return needJWTClient(pkjClient(), "F-PKJ", "clients.private_key_jwt: a client registered for private_key_jwt, with its private key")
}

// needPKJ2 is F-PKJ2, or a skip.
func needPKJ2() *Credentials {
	GinkgoHelper()
	return needJWTClient(pkj2Client(), "F-PKJ2", "clients.private_key_jwt_2: a second private_key_jwt client with another key")
}

// needCSJ is F-CSJ, or a skip.
func needCSJ() *Credentials {
	GinkgoHelper()
	return needJWTClient(csjClient(), "F-CSJ", "clients.client_secret_jwt: a client registered for client_secret_jwt, with its secret")
}

// otherClientID is the id of a registered client other than c: F-PKJ2's, else the main
// client's; a skip when there is none.
func otherClientID(c *Credentials) string {
	GinkgoHelper()
	for _, o := range []*Credentials{pkj2Client(), &target.Client, csjClient()} {
		if o != nil && o.ID != "" && o.ID != c.ID {
			return o.ID
		}
	}
	judge.Skip("the target declares no second client (F-PKJ2) whose id another client's assertion could name")
	return ""
}

// jwtAuthLabels labels a spec of checklist 2.J: its rows, their sections, the section label
// rfc7523 (so that one label selects them all), oidcc for OpenID Connect Core's rows, and the
// capability.
func jwtAuthLabels(ids ...string) Labels {
	ls := append(specLabels(atToken, ids...), "rfc7523", "cap:jwt-client-auth")
	if slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, "C-OIDCC-") }) {
		ls = append(ls, "oidcc")
	}
	return ls
}

// jwtSpecTimeout bounds a 2.J spec that sends n requests, besides the probe's.
func jwtSpecTimeout(n int) SpecTimeout {
	return SpecTimeout(target.specTimeout(n + 4))
}

// signed is the compact JWS of the assertion; a failure to sign is a bug in the suite.
func signed(a assertion) string {
	GinkgoHelper()
	jwt, err := a.sign()
	if err != nil {
		Fail("ccconform: cannot sign the assertion: " + err.Error())
	}
	return jwt
}

// assembled is a JWS in compact serialization put together by hand: what no JOSE library
// produces (alg none, a malformed segment). header and claims are marshalled as JSON; a
// []byte is taken as it is.
func assembled(header, claims any, signature []byte) string {
	segment := func(v any) string {
		b, ok := v.([]byte)
		if !ok {
			b, _ = json.Marshal(v)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return segment(header) + "." + segment(claims) + "." + base64.RawURLEncoding.EncodeToString(signature)
}

// presentClaims are an assertion's claims without the members set to nil, as sign sends them.
func presentClaims(a assertion) map[string]any {
	out := map[string]any{}
	for k, v := range a.Claims {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// randomSecret is a fresh 32-byte HMAC key that no client has.
func randomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// assertionRequest is a token request authenticated (or not) by a client assertion.
type assertionRequest struct {
	// Note names the request in the transcript.
	Note string
	// JWT is the client_assertion; "" leaves it out.
	JWT string
	// Type is the client_assertion_type; "" is the JWT bearer URN, "-" leaves it out.
	Type string
	// Pairs are more form parameters (client_id, client_secret, …).
	Pairs []string
	// Authorization is an Authorization header to send too.
	Authorization string
}

// postAssertion sends a client credentials request with the assertion.
func postAssertion(ctx context.Context, r assertionRequest) *http.Response {
	GinkgoHelper()
	f := form(r.Pairs...)
	switch r.Type {
	case "":
		f.Set("client_assertion_type", assertionType)
	case "-":
	default:
		f.Set("client_assertion_type", r.Type)
	}
	if r.JWT != "" {
		redactor.add(r.JWT)
		f.Set("client_assertion", r.JWT)
	}
	return postToken(ctx, r.Note, r.Authorization, f)
}

// expectAssertionAccepted judges, for the row id, that a valid assertion got a token.
func expectAssertionAccepted(res *http.Response, id, what string) bool {
	GinkgoHelper()
	_, why := parseTokenResponse(res)
	return row(id).That(why == "", "%s was not accepted: %s", what, refusalText(res, why))
}

// informAcceptance records, for a case the RFC leaves to the provider, whether the assertion
// was accepted.
func informAcceptance(res *http.Response, id, what string) {
	GinkgoHelper()
	if tokenGranted(res) {
		row(id).Inform("%s was accepted", what)
		return
	}
	row(id).Inform("%s was refused: %s", what, refusalText(res, res.Status))
}

// refusalText is a refusal in a few words: the status, the error code and its description.
func refusalText(res *http.Response, why string) string {
	obj, _ := decodeObject(bodyOf(res))
	code, _ := obj.members["error"].(string)
	desc, _ := obj.members["error_description"].(string)
	if code == "" {
		return why
	}
	s := res.Status + " " + code
	if desc != "" {
		s += " (" + oneLine(desc, 200) + ")"
	}
	return s
}

// expectAssertionRefused judges a refused assertion: no token, for the row id (the rule
// broken); then, for C-7523-3.2-a (RFC 7523 §3.2, RFC 7521 §4.2.1), the error: invalid_client
// with 400 or 401 (RFC 6749 §5.2 lets a body authentication's failure have either, C-6749-5.2-c),
// in the shape of an RFC 6749 §5.2 error. For syntactically broken input (an unparseable JWT, a
// missing or wrong client_assertion_type) invalid_request is accepted too (checklist 2.J's
// client-assertion error expectation, after openid/connect #1121). A 5xx is a failure:
// nothing the client sent excuses it.
func expectAssertionRefused(res *http.Response, id string, syntax bool) {
	GinkgoHelper()
	expectNoToken(res, id)
	codes := []string{"invalid_client"}
	if syntax {
		codes = append(codes, "invalid_request")
	}
	if !labelled("C-7523-3.2-a") {
		return
	}
	j := row("C-7523-3.2-a")
	j.RequireThat(res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusUnauthorized,
		"a refused client assertion got %s; an invalid_client error has 400, or 401 (RFC 6749 §5.2)", res.Status)
	code := expectErrorShape(res)
	j.Expect(code).To(BeElementOf(codes), "the error code of a refused client assertion")
}
