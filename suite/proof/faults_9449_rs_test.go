package proof

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ccconform/ccconform/reference/provider"
)

// Faults of RFC 9449's resource server rows (checklist 2.M, §7 and §9): the reference's DPoP
// route (F-RS-DPOP, provider.PathResourceDPoP) and read route made to take what §7 forbids, or
// to answer in ways §7.1 and §9 advise against. A faulty route that takes a request answers
// 200 with a resource body, as the reference's read route does. Each runs its row's specs only.

var (
	rsDPoPGET = at(http.MethodGet, provider.PathResourceDPoP)
	// rsServed is a faulty route's answer to a request it should have refused.
	rsServed = func(match func(*http.Request) bool) func(http.Handler) http.Handler {
		return answer(match, http.StatusOK, "application/json", `{"resource":null}`)
	}
)

// rsRowFilter runs the row's specs, with F-RS-DPOP named.
func rsRowFilter(id string) []string {
	return rowFilter(id, "-dpop-resource-path="+provider.PathResourceDPoP)
}

// rsScheme is a request's Authorization scheme as sent and its credentials.
func rsScheme(r *http.Request) (scheme, credentials string) {
	scheme, credentials, _ = strings.Cut(r.Header.Get("Authorization"), " ")
	return scheme, strings.TrimSpace(credentials)
}

// rsProofParts decodes a request's DPoP proof without verifying it: its header and claims.
func rsProofParts(r *http.Request) (header, claims map[string]any, ok bool) {
	header, claims, _, ok = splitJWT(r.Header.Get("DPoP"))
	return header, claims, ok
}

// rsBoundJKT is the cnf.jkt of the token a request presents, read without verifying the JWT.
func rsBoundJKT(r *http.Request) string {
	_, token := rsScheme(r)
	_, claims, _, ok := splitJWT(token)
	if !ok {
		return ""
	}
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// rsProofJKT is the RFC 7638 thumbprint of a request's proof key (go-jose computes it).
func rsProofJKT(r *http.Request) string {
	header, _, ok := rsProofParts(r)
	if !ok {
		return ""
	}
	raw, err := json.Marshal(header["jwk"])
	if err != nil {
		return ""
	}
	var k jose.JSONWebKey
	if k.UnmarshalJSON(raw) != nil {
		return ""
	}
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// rsProofHas reports whether the request's DPoP proof carries the claim.
func rsProofHas(claim string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		_, claims, ok := rsProofParts(r)
		_, has := claims[claim]
		return ok && has
	}
}

// rsDPoPScheme: the request presents its token with the DPoP scheme, in any case.
func rsDPoPScheme(r *http.Request) bool {
	scheme, _ := rsScheme(r)
	return strings.EqualFold(scheme, "DPoP")
}

// rsBearerBound: the request presents a DPoP-bound token with the Bearer scheme.
func rsBearerBound(r *http.Request) bool {
	scheme, _ := rsScheme(r)
	return strings.EqualFold(scheme, "Bearer") && rsBoundJKT(r) != ""
}

// rsEditChallenges rewrites the WWW-Authenticate fields of the DPoP route's refusals.
func rsEditChallenges(edit func(string) string) func(http.Handler) http.Handler {
	return editResponses(rsDPoPGET, func(_ *http.Request, r *response) {
		vs := r.header.Values("WWW-Authenticate")
		r.header.Del("WWW-Authenticate")
		for _, v := range vs {
			r.header.Add("WWW-Authenticate", edit(v))
		}
	})
}

// rsErrorParams are a challenge's error and error_description parameters with the comma after
// each.
var rsErrorParams = regexp.MustCompile(`error(_description)?="[^"]*",?\s*`)

// rsAlgsParam is a challenge's algs parameter with the comma before it.
var rsAlgsParam = regexp.MustCompile(`,?\s*algs="[^"]*"`)

var _ = register([]fault{
	// §7.1 with RFC 9110 §11.1: the scheme is case-insensitive; the lower-case one is turned
	// into a scheme the route does not know.
	{name: "2.M RS: the DPoP route takes the scheme DPoP but not dpop", breaks: "C-9449-7-a", args: rsRowFilter("C-9449-7-a"),
		wrap: editRequests(and(rsDPoPGET, func(r *http.Request) bool { s, _ := rsScheme(r); return s == "dpop" }), func(r *http.Request) {
			_, token := rsScheme(r)
			r.Header.Set("Authorization", "Unknown "+token)
		})},

	// §7.1: the proof's ath, and its key against the token's cnf.jkt, are checked.
	{name: "2.M RS: the DPoP route serves a proof without ath", breaks: "C-9449-7.1-a", args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsServed(and(rsDPoPGET, rsDPoPScheme, func(r *http.Request) bool { return r.Header.Get("DPoP") != "" && !rsProofHas("ath")(r) }))},
	{name: "2.M RS: the DPoP route serves a proof whose key does not match cnf.jkt", breaks: "C-9449-7.1-a", args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsServed(and(rsDPoPGET, rsDPoPScheme, func(r *http.Request) bool {
			jkt := rsBoundJKT(r)
			return jkt != "" && rsProofJKT(r) != "" && rsProofJKT(r) != jkt
		}))},
	{name: "2.M RS: the DPoP route serves a bound token without a proof", breaks: "C-9449-7.1-a", args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsServed(and(rsDPoPGET, rsDPoPScheme, func(r *http.Request) bool { return r.Header.Get("DPoP") == "" }))},
	{name: "2.M RS: the DPoP route serves a proof whose ath is another token's", breaks: "C-9449-7.1-a", args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsServed(and(rsDPoPGET, rsDPoPScheme, func(r *http.Request) bool {
			_, claims, ok := rsProofParts(r)
			ath, has := claims["ath"].(string)
			_, token := rsScheme(r)
			sum := sha256.Sum256([]byte(token))
			return ok && has && ath != base64.RawURLEncoding.EncodeToString(sum[:])
		}))},
	{name: "2.M RS: the DPoP route serves a proof made for another method and URL", breaks: "C-9449-7.1-a", args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsServed(and(rsDPoPGET, rsDPoPScheme, func(r *http.Request) bool {
			_, claims, ok := rsProofParts(r)
			htu, _ := claims["htu"].(string)
			return ok && (claims["htm"] != r.Method || !strings.HasSuffix(htu, r.URL.Path))
		}))},
	{name: "2.M RS: the DPoP route serves a proof an hour old", breaks: "C-9449-7.1-a", args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsServed(and(rsDPoPGET, rsDPoPScheme, func(r *http.Request) bool {
			_, claims, ok := rsProofParts(r)
			n, _ := claims["iat"].(json.Number)
			iat, err := n.Int64()
			return ok && err == nil && iat < time.Now().Add(-10*time.Minute).Unix()
		}))},
	// §7.1 names invalid_dpop_proof for a proof §4.3 rejects and invalid_token for a key that
	// does not match: swapped, the checklist's lenient case.
	{name: "2.M RS: the DPoP route swaps invalid_token and invalid_dpop_proof", breaks: "C-9449-7.1-a", soft: true, args: rsRowFilter("C-9449-7.1-a"),
		wrap: rsEditChallenges(func(v string) string {
			return strings.NewReplacer(`error="invalid_token"`, `error="invalid_dpop_proof"`, `error="invalid_dpop_proof"`, `error="invalid_token"`).Replace(v)
		})},

	// §7.2: a DPoP-bound token is no bearer token, at the DPoP route (giantswarm/mcp-oauth
	// #383: no check keyed on cnf) or at a route that takes both schemes.
	{name: "2.M RS: the DPoP route serves a bound token sent as a bearer token", breaks: "C-9449-7.2-a", args: rsRowFilter("C-9449-7.2-a"),
		wrap: rsServed(and(rsDPoPGET, rsBearerBound))},
	{name: "2.M RS: the read route serves a bound token sent as a bearer token", breaks: "C-9449-7.2-a", args: rsRowFilter("C-9449-7.2-a"),
		wrap: rsServed(and(readGET, rsBearerBound))},

	// §7.1 (SHOULD): the DPoP challenge names the algorithms taken for proofs.
	{name: "2.M RS: the DPoP route's challenges carry no algs", breaks: "C-9449-7.1-b", soft: true, args: rsRowFilter("C-9449-7.1-b"),
		wrap: rsEditChallenges(func(v string) string { return strings.TrimSpace(rsAlgsParam.ReplaceAllString(v, "")) })},

	// §7.1 (SHOULD), §7.2 and RFC 6750 §3.1: error information only when a token was
	// presented, and then an error.
	{name: "2.M RS: the DPoP route's challenge to a request without credentials carries an error", breaks: "C-9449-7.1-b", soft: true,
		args: rsRowFilter("C-9449-7.1-b"),
		wrap: editResponses(and(rsDPoPGET, withoutAuthorization), setHeader("WWW-Authenticate", `DPoP error="invalid_token", algs="ES256 PS256"`))},
	{name: "2.M RS: the DPoP route's challenges carry no error", breaks: "C-9449-7.1-b", soft: true, args: rsRowFilter("C-9449-7.1-b"),
		wrap: rsEditChallenges(func(v string) string { return rsErrorParams.ReplaceAllString(v, "") })},

	// §9: the resource server demands nonces (Config.DPoPNonces), then refuses every proof
	// that carries one with a new demand: the nonce it asked for leads nowhere.
	{name: "2.M RS: the DPoP route demands a nonce and refuses the retry that carries it", breaks: "C-9449-9-a", soft: true, args: rsRowFilter("C-9449-9-a"),
		config: func(c *provider.Config) { c.DPoPNonces = true },
		wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !rsDPoPGET(r) || !rsProofHas("nonce")(r) {
					next.ServeHTTP(w, r)
					return
				}
				w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="a new nonce", algs="ES256"`)
				w.Header().Set("DPoP-Nonce", hex.EncodeToString(ctlRandom(16)))
				w.WriteHeader(http.StatusUnauthorized)
			})
		}},
})
