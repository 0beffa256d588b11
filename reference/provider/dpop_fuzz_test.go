package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FuzzDPoPProof sends a fuzzed DPoP header (two when flags&2) with a valid client authentication
// to the token endpoint, or (flags&1) with a DPoP-bound token to /rs/dpop. The same invariants as
// the other targets: no panic, never a 5xx, every 401 with a DPoP challenge the suite's parser
// accepts; and a token, or access to the resource, only for a proof signed by the key in its
// jwk header (at the resource server: the token's key), with the token bound to that key.
func FuzzDPoPProof(f *testing.F) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	k := &proofKey{priv: priv, alg: jose.ES256}
	clock := time.Now()
	env := func(t testing.TB) *dpopEnv {
		e := newDPoPEnv(t, false)
		e.now = clock
		return e
	}
	e0 := env(f)
	jkt := headerJKT(e0.tokenProof(k))
	tok := e0.boundToken(k) // valid in every env: they share the issuer and the signing key
	tokenProof := e0.tokenProof(k)
	rsProof := e0.rsProof(k, PathResourceDPoP, tok)
	for _, s := range []struct {
		proof string
		flags uint8
	}{
		{tokenProof, 0},
		{rsProof, 1},
		{tokenProof, 1},
		{rsProof, 0},
		{tokenProof, 2},
		{e0.tokenProof(k, "htu", "HTTPS://AS.EXAMPLE:443/token"), 0},
		{k.sign(f, map[string]any{"typ": "JWT"}, e0.claims("POST", caIssuer+PathToken)), 0},
		{k.sign(f, map[string]any{"jwk": jose.JSONWebKey{Key: priv}}, e0.claims("POST", caIssuer+PathToken)), 0},
		{caSegment(`{"typ":"dpop+jwt","alg":"none"}`) + "." + caSegment(`{"jti":"a","htm":"POST","htu":"https://as.example/token","iat":1}`) + ".", 0},
		{"", 0},
		{"a.b.c", 1},
		{tokenProof + "," + tokenProof, 0},
		{strings.Repeat("A", maxDPoPProofBytes+1), 0},
	} {
		f.Add(s.proof, s.flags)
	}
	f.Fuzz(func(t *testing.T, proof string, flags uint8) {
		e := env(t)
		var r *http.Request
		if flags&1 == 0 {
			r = httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "Basic "+demoBasicCredentials())
		} else {
			r = httptest.NewRequest(http.MethodGet, PathResourceDPoP, nil)
			r.Header.Set("Authorization", "DPoP "+tok)
		}
		r.Header["Dpop"] = []string{proof}
		if flags&2 != 0 {
			r.Header["Dpop"] = append(r.Header["Dpop"], proof)
		}
		rec := fuzzServe(e.h, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if flags&1 != 0 {
			switch rec.Code {
			case http.StatusOK:
				if headerJKT(proof) != jkt || flags&2 != 0 {
					t.Fatalf("access with a proof of another key")
				}
			case http.StatusUnauthorized:
				if c := challenge(t, rec, "DPoP"); c["error"] != "invalid_dpop_proof" && c["error"] != "invalid_token" {
					t.Fatalf("challenge %v", c)
				}
			default:
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			return
		}
		switch rec.Code {
		case http.StatusOK:
			var body tokenResponse
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			cnf, _ := jwtClaims(t, body.AccessToken)["cnf"].(map[string]any)
			if body.TokenType != "DPoP" || cnf["jkt"] == nil || cnf["jkt"] != headerJKT(proof) || flags&2 != 0 {
				t.Fatalf("token %q bound to %v for a proof of %q", body.TokenType, cnf, headerJKT(proof))
			}
		case http.StatusBadRequest:
			if e := oauthErrorOf(rec); e != "invalid_dpop_proof" {
				t.Fatalf("error %q", e)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// headerJKT is the thumbprint of the jwk in a compact JWS's header, read without go-jose's
// JWS parser, "" when there is none.
func headerJKT(jws string) string {
	seg, _, _ := strings.Cut(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return ""
	}
	var h struct {
		JWK json.RawMessage `json:"jwk"`
	}
	var key jose.JSONWebKey
	if json.Unmarshal(raw, &h) != nil || key.UnmarshalJSON(h.JWK) != nil {
		return ""
	}
	pub := key.Public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}
