package suite

import (
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 9449 §8 and §11.3: nonces the authorization server provides. A server may demand them
// or not (§8: MAY); one that does is judged on how it demands them, whether it takes them, and
// whether it still takes proofs without one. A provider that declines binding is not judged
// (needDPoPBinding).
var _ = Describe("RFC 9449 §8: authorization server nonces", func() {
	// §8, §8.1, §8.2 (MUST): a server that demands a nonce answers 400 use_dpop_nonce with
	// exactly one DPoP-Nonce header field of 1*NQCHAR; a retry whose proof carries the nonce
	// gets a token; a proof whose nonce is one character off the one provided is refused
	// (use_dpop_nonce with a fresh nonce is preferred, danielfett/draft-dpop #91: recorded).
	// Five nonces are collected and looked at for a counter (nonces are to be unpredictable:
	// recorded). A server that never demands one is recorded.
	It("demands a nonce, if at all, with 400 use_dpop_nonce and one DPoP-Nonce field; takes it in a retry and refuses a nonce one character off",
		dpopASLabels("token", "C-9449-8-a"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			j := row("C-9449-8-a")
			key, u := newDPoPKey(), dpopTokenURL(target.Client)
			first := postTokenWithDPoP(ctx, "a valid proof without a nonce", target.Client, key.proof(http.MethodPost, u).sign())
			if code := errorCodeOf(first); code != "use_dpop_nonce" {
				if tokenGranted(first) {
					j.Inform("the provider does not demand DPoP nonces: a valid proof without one got a token")
					return
				}
				j.That(false, "a valid proof without a nonce was refused with %s, not 400 use_dpop_nonce with a DPoP-Nonce header (RFC 9449 §8)",
					refusalText(first, first.Status))
				return
			}
			j.Expect(first).To(HaveHTTPStatus(http.StatusBadRequest), "a use_dpop_nonce answer of the token endpoint (RFC 9449 §8)")
			values := first.Header.Values("DPoP-Nonce")
			j.RequireThat(len(values) == 1, "the use_dpop_nonce answer has %d DPoP-Nonce header fields, not exactly one", len(values))
			nonce := values[0]
			j.RequireThat(nqchars.MatchString(nonce), "the DPoP-Nonce %q is not 1*NQCHAR (%%x21 / %%x23-5B / %%x5D-7E)", nonce)
			rememberDPoPNonce("as", u, first)

			By("a retry whose proof carries the nonce")
			retry := postTokenWithDPoP(ctx, "the proof again, with the nonce", target.Client, key.proof(http.MethodPost, u).nonce(nonce).sign())
			_, why := parseTokenResponse(retry)
			j.RequireThat(why == "", "a retry whose proof carries the nonce the provider demanded got no token: %s", refusalText(retry, why))
			rememberDPoPNonce("as", u, retry) // a DPoP-Nonce on the 200 replaces the nonce (§8.2)

			By("a proof whose nonce is one character off")
			current := dpopNonceFor("as", u)
			off := oneCharacterOff(current)
			wrong := postTokenWithDPoP(ctx, "a proof whose nonce is one character off", target.Client, newDPoPKey().proof(http.MethodPost, u).nonce(off).sign())
			j.RequireThat(!proofGotToken(wrong), "a proof whose nonce %q is one character off the provided %q got %s and a token", off, current, wrong.Status)
			if errorCodeOf(wrong) == "use_dpop_nonce" && len(wrong.Header.Values("DPoP-Nonce")) == 1 {
				j.Inform("a nonce one character off is answered with use_dpop_nonce and a fresh nonce, as preferred")
			} else {
				j.Inform("a nonce one character off is refused with %s (use_dpop_nonce with a fresh nonce is preferred: danielfett/draft-dpop #91)",
					refusalText(wrong, wrong.Status))
			}
			rememberDPoPNonce("as", u, wrong)

			By("five nonces, each demanded by a proof without one")
			var nonces []string
			for range 5 {
				res := postTokenWithDPoP(ctx, "a proof without a nonce, for a new nonce", target.Client, newDPoPKey().proof(http.MethodPost, u).sign())
				rememberDPoPNonce("as", u, res)
				if n := res.Header.Get("DPoP-Nonce"); n != "" {
					nonces = append(nonces, n)
				}
			}
			j.Inform("%s", describeNonces(nonces))
		}, SpecTimeout(target.specTimeout(12)))

	// §11.3 (MUST): once the server has provided a nonce (with use_dpop_nonce, or on a 200), it
	// accepts no proof without one.
	It("refuses a valid proof without a nonce once the provider has provided one",
		dpopASLabels("token", "C-9449-11.3-a"), func(ctx SpecContext) {
			needDPoPBinding(ctx)
			u := dpopTokenURL(target.Client)
			provided := dpopNonceFor("as", u)
			if provided == "" {
				judge.Skip("the provider has provided no DPoP nonce (neither with use_dpop_nonce nor on a 200), so there is no nonce to leave out")
			}
			res := postTokenWithDPoP(ctx, "a valid proof without the nonce provided", target.Client, newDPoPKey().proof(http.MethodPost, u).sign())
			rememberDPoPNonce("as", u, res)
			row("C-9449-11.3-a").That(!proofGotToken(res), "a valid proof without a nonce got %s and a token, though the provider had provided the nonce %q",
				res.Status, provided)
		}, SpecTimeout(target.specTimeout(4)))
})

// nqchars is a DPoP-Nonce value: 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 9449 §8.1).
var nqchars = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// errorCodeOf is the error member of a JSON error response, "" when there is none.
func errorCodeOf(res *http.Response) string {
	obj, err := decodeObject(bodyOf(res))
	if err != nil {
		return ""
	}
	code, _ := obj.members["error"].(string)
	return code
}

// oneCharacterOff is n with its last character replaced by another NQCHAR.
func oneCharacterOff(n string) string {
	if n == "" {
		return "x"
	}
	last := n[len(n)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return n[:len(n)-1] + string(repl)
}

// describeNonces says what the collected nonces look like: how many are distinct, and whether
// they read as a counter (decimal or hexadecimal numbers a constant step apart), which would be
// predictable (RFC 9449 §8, §11.1).
func describeNonces(nonces []string) string {
	if len(nonces) < 2 {
		return "fewer than two further nonces were provided, so their predictability cannot be looked at"
	}
	distinct := map[string]bool{}
	for _, n := range nonces {
		distinct[n] = true
	}
	s := "of " + strconv.Itoa(len(nonces)) + " nonces demanded in a row, " + strconv.Itoa(len(distinct)) + " are distinct"
	for _, base := range []int{10, 16} {
		if counterLike(nonces, base) {
			return s + "; they read as a counter (base " + strconv.Itoa(base) + "), which is predictable: " + strings.Join(nonces, " ")
		}
	}
	return s + "; they do not read as a counter"
}

// counterLike reports whether the nonces are numbers in base that step by the same non-zero
// amount.
func counterLike(nonces []string, base int) bool {
	var prev, step *big.Int
	for _, n := range nonces {
		v, ok := new(big.Int).SetString(n, base)
		if !ok {
			return false
		}
		if prev != nil {
			d := new(big.Int).Sub(v, prev)
			if d.Sign() == 0 || (step != nil && d.Cmp(step) != 0) {
				return false
			}
			step = d
		}
		prev = v
	}
	return true
}
