package proof

import (
	"net/http"
	"strings"

	"github.com/ccconform/ccconform/reference/provider"
)

// Controls of RFC 9449's resource server rows: the reference's DPoP route, and variations of it
// that RFC 9449 allows. Each runs the resource server rows' specs (cap:rs-dpop) and must pass
// strict with no warning.

// rsDPoPSpecs selects the specs of the resource server rows, with F-RS-DPOP named.
var rsDPoPSpecs = []string{"-ginkgo.label-filter=cap:rs-dpop", "-dpop-resource-path=" + provider.PathResourceDPoP}

func init() {
	controls = append(controls,
		// §9: a resource server may demand nonces of its own (and §8 an authorization server).
		control{name: "2.M RS: the reference with DPoP nonces at its token endpoint and resource routes", args: rsDPoPSpecs,
			config: func(c *provider.Config) { c.DPoPNonces = true }},
		// §7.2, Figure 17: a route may challenge with both schemes, the Bearer one bare.
		control{name: "2.M RS: the DPoP route challenges with Bearer too, as WWW-Authenticate: Bearer, DPoP algs=…", args: rsDPoPSpecs,
			wrap: rsEditChallenges(func(v string) string { return "Bearer, " + v })},
		// RFC 9110 §11.6.1: the challenges may come in separate fields.
		control{name: "2.M RS: the DPoP route's Bearer and DPoP challenges in two WWW-Authenticate fields", args: rsDPoPSpecs,
			wrap: editResponses(rsDPoPGET, func(_ *http.Request, r *response) {
				if vs := r.header.Values("WWW-Authenticate"); len(vs) > 0 {
					r.header["Www-Authenticate"] = append([]string{`Bearer realm="ccconform"`}, vs...)
				}
			})},
		// §7.1: realm, scope and other parameters may come along; the scheme is case-insensitive.
		control{name: "2.M RS: the DPoP route's challenges spell the scheme dpop and carry a realm", args: rsDPoPSpecs,
			wrap: rsEditChallenges(func(v string) string {
				if rest, ok := strings.CutPrefix(v, "DPoP "); ok {
					return `dpop realm="ccconform", ` + rest
				}
				return v
			})},
		// §7.2 ¶3: a route that knows only Bearer presumably takes a bound token as a bearer
		// token; it is no resource that takes both schemes, which §7.2's MUST is about.
		control{name: "2.M RS: the read route knows nothing of DPoP and takes a bound token as a bearer token", args: rsDPoPSpecs,
			wrap: func(next http.Handler) http.Handler {
				serve := rsServed(and(readGET, rsBearerBound))(next)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if readGET(r) && rsDPoPScheme(r) {
						w.Header().Set("WWW-Authenticate", `Bearer realm="ccconform"`)
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					serve.ServeHTTP(w, r)
				})
			}},
	)
}
