package suite

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ccconform/ccconform/suite/judge"
)

// RFC 6749 §10.10: the chance of guessing an access token is at most 2^-128 (MUST) and should
// be at most 2^-160 (SHOULD). From outside, the suite can only estimate how unpredictable the
// tokens are from a handful of samples, so the registry grades both rules as warnings (as the
// checklist does; OIDF's EnsureMinimumAccessTokenEntropy allows itself slack for the same
// reason). No RFC requires a new token for every request: a provider may hand out the same
// still-valid token again (a cache per client and scope), or JWTs that only change from one
// second to the next. The estimate is made over the distinct tokens; when too few come back,
// the rows are not judged, and the reason says why.
var _ = Describe("RFC 6749 §10.10: guessing access tokens", func() {
	// §10.10 (MUST): at least 128 bits of unpredictability per token, estimated from
	// entropySamples distinct tokens of the default client; see estimateTokenEntropy for how,
	// and what it cannot see.
	It(fmt.Sprintf("collects %d distinct tokens and finds at least 128 bits of entropy in what varies between them", entropySamples),
		specLabels("token", "C-6749-10.10-a"), func(ctx SpecContext) {
			judgeTokenEntropy(ctx, "C-6749-10.10-a", 128)
		}, SpecTimeout(entropySpecTimeout()))

	// §10.10 (SHOULD): preferably at least 160 bits; the same estimate.
	It(fmt.Sprintf("collects %d distinct tokens and finds at least 160 bits of entropy in what varies between them", entropySamples),
		specLabels("token", "C-6749-10.10-b"), func(ctx SpecContext) {
			judgeTokenEntropy(ctx, "C-6749-10.10-b", 160)
		}, SpecTimeout(entropySpecTimeout()))
})

const (
	// entropySamples is how many distinct tokens the estimate looks at.
	entropySamples = 12
	// entropySlack is how far below a threshold an estimate may fall and still pass. A
	// position that carries only part of a character (the last of a base64url encoding: 2 bits
	// for 16 bytes, 4 for 20) shows few distinct values in 12 samples and is estimated from
	// them, noisily: over 20000 sets of samples, tokens of exactly 128 random bits scored 127 to
	// 128.05 bits, and tokens of exactly 160 random bits 158.05 to 162.
	entropySlack = 2.0
	// entropyAlpha is the chance, for a truly random position, that it shows so few distinct
	// characters that it is taken for a less random one.
	entropyAlpha = 1e-5
	// entropyExtraRequests bounds the requests sent, entropyPause apart, after the first
	// entropySamples when some tokens came back twice: a provider whose tokens change with the
	// clock gets a little time, and the spec stays fast (at most about 1.2 s more).
	entropyExtraRequests = entropySamples
	entropyPause         = 100 * time.Millisecond
)

// entropySpecTimeout is the timeout of an entropy spec: every request it may send, and the
// pauses between the extra ones.
func entropySpecTimeout() time.Duration {
	return target.specTimeout(entropySamples+entropyExtraRequests) + entropyExtraRequests*entropyPause
}

// judgeTokenEntropy judges the row id: the estimated entropy of the provider's distinct tokens
// is at least threshold bits (less entropySlack). Too few distinct tokens to estimate from is
// not a failure: the row is not judged, and the reason says so.
func judgeTokenEntropy(ctx SpecContext, id string, threshold float64) {
	GinkgoHelper()
	tokens, requests := collectDistinctTokens(ctx, entropySamples)
	if len(tokens) < entropySamples {
		if len(tokens) == 1 {
			row(id).Cannot("the provider returned the same token for %d requests (reuse is allowed); too few distinct tokens to estimate entropy", requests)
		} else {
			row(id).Cannot("the provider returned %d distinct tokens for %d requests (reuse is allowed); too few distinct tokens to estimate entropy (%d needed)",
				len(tokens), requests, entropySamples)
		}
		return
	}
	e := estimateTokenEntropy(tokens)
	GinkgoWriter.Printf("entropy estimate: %s\n", e)
	row(id).Expect(e.bits).To(BeNumerically(">=", threshold-entropySlack), e.String())
}

// collectDistinctTokens asks for tokens with the default client until n distinct access_token
// values came back: n requests, then at most entropyExtraRequests more, entropyPause apart. It
// returns the distinct tokens in the order they came (fewer than n when the provider kept
// returning tokens it had returned before) and the number of requests sent. A request that gets
// no token blocks the spec: an estimate needs tokens, and the token endpoint's specs report why
// there are none. The tokens are never printed.
func collectDistinctTokens(ctx SpecContext, n int) (tokens []string, requests int) {
	GinkgoHelper()
	needTokenPath()
	seen := map[string]bool{}
	for requests < n || (len(tokens) < n && requests < n+entropyExtraRequests) {
		if requests >= n {
			select {
			case <-ctx.Done():
				return tokens, requests
			case <-time.After(entropyPause):
			}
		}
		requests++
		res := postToken(ctx, fmt.Sprintf("token %d", requests), target.Client.basic(), form("scope", target.allowedScopes()[0]))
		tok, why := parseTokenResponse(res)
		if why != "" {
			judge.Block("C-6749-4.4.3-a", "no token could be obtained, which this estimate needs: %s", why)
		}
		if !seen[tok.AccessToken] {
			seen[tok.AccessToken] = true
			tokens = append(tokens, tok.AccessToken)
		}
	}
	return tokens, requests
}

// tokenEntropy is an estimate of how unpredictable a provider's tokens are.
type tokenEntropy struct {
	// bits is the estimated entropy of one token.
	bits float64
	// samples and distinct count the tokens looked at and the different ones among them.
	samples, distinct int
	// positions and varying count the character positions looked at and those that vary.
	positions, varying int
	// jwt says the tokens are JWTs, whose header was left out.
	jwt bool
}

func (e tokenEntropy) String() string {
	kind := "tokens"
	if e.jwt {
		kind = "JWTs (header left out)"
	}
	return fmt.Sprintf("%d %s, %d of them distinct: %d of %d character positions vary, worth about %.1f bits per token",
		e.samples, kind, e.distinct, e.varying, e.positions, e.bits)
}

// estimateTokenEntropy estimates the entropy of one token from a few samples of the same kind.
//
// A token is cut into segments at its dots when every sample has as many (a JWT's header,
// payload and signature; the reference's payload and MAC). A JWT's header (alg, typ, kid) is
// configuration, not randomness, and is left out; a signed JWT's payload is decoded first, so
// that its claims are compared as the JSON text they are (a hex jti is then worth 4 bits a
// character, not the 6 of the base64url characters that encode it). Within a segment the
// samples are compared position by position: a position where all samples agree is worth
// nothing; one that varies is worth at most log2 of the segment's alphabet. That alphabet is
// the set of characters seen at the varying positions, rounded up to the smallest usual token
// alphabet that holds it (digits, hex, base32, alphanumerics, base64, base64url, b64token), since
// 12 samples of a random base64url position miss a character or two of the 64; an unusual mix
// counts as the characters seen.
//
// A varying position gets that maximum only if it shows as many distinct characters as a truly
// random one plausibly would (all but entropyAlpha of random positions do: for 12 samples of
// base64url, 6 distinct or more). Otherwise it is taken for what its distinct count says: the
// size A of the uniform alphabet that would show that many distinct characters on average
// (A·(1-(1-1/A)^n) = d), so a digit that takes 2 values is worth about a bit, and the low digits
// of a counter or a clock a few bits each.
//
// Why not cap each position at log2(n), what n samples can show at most: 12 samples would cap a
// base64url position at 3.6 bits instead of 6, scoring a token of 256 random bits at about 150
// and one of 128 random bits at about 75, and failing providers that are right. The cap on
// distinct counts above serves the same purpose without that bias: a position never counts more
// than its alphabet allows, nor more than the variety it showed supports.
//
// What it cannot see, and so may overestimate: a value that only looks random, such as a hash
// of a counter, or a MAC over a predictable payload (a MAC does stop guessing, so counting it is
// fair as long as it is keyed; over a payload that does not change, it does not change either,
// and counts nothing); a position drawn from a smaller alphabet than the rest of its segment
// (hex text inside base64url: at most 2 bits a position too many); and, when the lengths of a
// segment differ, alignment. Samples of
// different lengths are compared over their common length only, aligned at the start and at
// the end, and the smaller of the two estimates is kept, since a length change early in a
// segment shifts every later character.
func estimateTokenEntropy(tokens []string) tokenEntropy {
	e := tokenEntropy{samples: len(tokens)}
	seen := map[string]bool{}
	for _, t := range tokens {
		seen[t] = true
	}
	e.distinct = len(seen)
	if len(tokens) < 2 {
		return e
	}
	segments := tokenSegments(tokens)
	if areJWTs(tokens) {
		e.jwt = true
		segments = segments[1:]
		if len(segments) == 2 {
			segments[0] = decodedPayloads(segments[0])
		}
	}
	for _, seg := range segments {
		bits, positions, varying := segmentEntropy(seg)
		e.bits += bits
		e.positions += positions
		e.varying += varying
	}
	return e
}

// tokenSegments returns the tokens' dot-separated segments, segment by segment, when every token
// has as many; otherwise the whole tokens as one segment.
func tokenSegments(tokens []string) [][]string {
	parts := make([][]string, len(tokens))
	for i, t := range tokens {
		parts[i] = strings.Split(t, ".")
		if len(parts[i]) != len(parts[0]) {
			return [][]string{tokens}
		}
	}
	segments := make([][]string, len(parts[0]))
	for j := range segments {
		for i := range parts {
			segments[j] = append(segments[j], parts[i][j])
		}
	}
	return segments
}

// areJWTs reports whether every token is a JWS or JWE in compact form: three or five segments,
// the first a base64url JSON object with an alg member.
func areJWTs(tokens []string) bool {
	for _, t := range tokens {
		parts := strings.Split(t, ".")
		if len(parts) != 3 && len(parts) != 5 {
			return false
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
		if err != nil {
			return false
		}
		var header map[string]any
		if json.Unmarshal(raw, &header) != nil || header["alg"] == nil {
			return false
		}
	}
	return true
}

// decodedPayloads returns the JWS payloads as the text they encode, or as they are when one of
// them is not base64url.
func decodedPayloads(payloads []string) []string {
	decoded := make([]string, len(payloads))
	for i, p := range payloads {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			return payloads
		}
		decoded[i] = string(raw)
	}
	return decoded
}

// segmentEntropy estimates the entropy of one segment from its samples.
func segmentEntropy(values []string) (bits float64, positions, varying int) {
	common, same := len(values[0]), true
	for _, v := range values {
		common = min(common, len(v))
		same = same && len(v) == len(values[0])
	}
	left := make([]string, len(values))
	right := make([]string, len(values))
	for i, v := range values {
		left[i], right[i] = v[:common], v[len(v)-common:]
	}
	bits, varying = alignedEntropy(left)
	if !same {
		if b, n := alignedEntropy(right); b < bits {
			bits, varying = b, n
		}
	}
	return bits, common, varying
}

// alignedEntropy estimates the entropy of samples of equal length, position by position.
func alignedEntropy(values []string) (bits float64, varying int) {
	n := len(values)
	distinct := make([]int, len(values[0]))
	alphabet := map[byte]bool{}
	for pos := range distinct {
		chars := map[byte]bool{}
		for _, v := range values {
			chars[v[pos]] = true
		}
		distinct[pos] = len(chars)
		if len(chars) > 1 {
			varying++
			for c := range chars {
				alphabet[c] = true
			}
		}
	}
	if varying == 0 {
		return 0, 0
	}
	a := tokenAlphabetSize(alphabet)
	full := math.Log2(float64(a))
	plausible := leastPlausibleDistinct(a, n)
	for _, d := range distinct {
		switch {
		case d <= 1:
		case d >= plausible:
			bits += full
		default:
			bits += math.Log2(uniformAlphabetFor(d, n, a))
		}
	}
	return bits, varying
}

// tokenAlphabets are the usual alphabets of tokens, smallest first.
var tokenAlphabets = []string{
	"0123456789",
	"0123456789abcdef",
	"0123456789ABCDEF",
	"abcdefghijklmnopqrstuvwxyz",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
	"0123456789abcdefghijklmnopqrstuvwxyz",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._~+/=",
}

// tokenAlphabetSize is the size of the smallest usual alphabet that holds the characters seen,
// or, for an unusual mix, the number of characters seen (at most the 95 of visible ASCII).
func tokenAlphabetSize(seen map[byte]bool) int {
	for _, alphabet := range tokenAlphabets {
		holds := true
		for c := range seen {
			holds = holds && strings.IndexByte(alphabet, c) >= 0
		}
		if holds {
			return len(alphabet)
		}
	}
	return len(seen)
}

// leastPlausibleDistinct is the smallest number of distinct characters that n uniform draws from
// an alphabet of a characters show, except with probability entropyAlpha.
func leastPlausibleDistinct(a, n int) int {
	// p[k] is the probability of k distinct characters after the draws so far.
	p := make([]float64, n+1)
	p[0] = 1
	for draw := 0; draw < n; draw++ {
		next := make([]float64, n+1)
		for k := 0; k <= draw; k++ {
			seenAgain := float64(k) / float64(a)
			next[k] += p[k] * seenAgain
			next[k+1] += p[k] * (1 - seenAgain)
		}
		p = next
	}
	below := 0.0
	for k := 0; k <= n; k++ {
		if below+p[k] > entropyAlpha {
			return k
		}
		below += p[k]
	}
	return n
}

// uniformAlphabetFor is the size A, between d and a, of the uniform alphabet whose n draws show
// d distinct characters on average: A·(1-(1-1/A)^n) = d.
func uniformAlphabetFor(d, n, a int) float64 {
	expected := func(size float64) float64 { return size * (1 - math.Pow(1-1/size, float64(n))) }
	lo, hi := float64(d), float64(a)
	if expected(hi) <= float64(d) {
		return hi
	}
	for range 60 {
		mid := (lo + hi) / 2
		if expected(mid) < float64(d) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// The estimator's own tests, on synthetic tokens (plain Go tests: they judge no provider).

// entropyOf is the estimate for entropySamples tokens made by mint.
func entropyOf(mint func(i int) string) tokenEntropy {
	tokens := make([]string, entropySamples)
	for i := range tokens {
		tokens[i] = mint(i)
	}
	return estimateTokenEntropy(tokens)
}

// randomBytes returns n bytes from a seeded generator, so that the tests are repeatable.
func randomBytes(r *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// entropyTrials is how many independent sets of samples each random case is estimated from:
// the estimate must hold for every one, not on average.
const entropyTrials = 200

func TestTokenEntropyEstimatorScoresRandomTokensHigh(t *testing.T) {
	b64 := base64.RawURLEncoding
	cases := []struct {
		name     string
		mint     func(r *rand.ChaCha8) string
		min, max float64
	}{
		{"32 random bytes, base64url", func(r *rand.ChaCha8) string { return b64.EncodeToString(randomBytes(r, 32)) }, 160, 258.5},
		{"32 random bytes, hex", func(r *rand.ChaCha8) string { return fmt.Sprintf("%x", randomBytes(r, 32)) }, 160, 256.5},
		{"20 random bytes, base64url", func(r *rand.ChaCha8) string { return b64.EncodeToString(randomBytes(r, 20)) }, 160 - entropySlack, 162.5},
		{"16 random bytes, base64url", func(r *rand.ChaCha8) string { return b64.EncodeToString(randomBytes(r, 16)) }, 128 - entropySlack, 128.5},
		{"16 random bytes, hex, with a prefix", func(r *rand.ChaCha8) string { return fmt.Sprintf("at_%x", randomBytes(r, 16)) }, 128 - entropySlack, 128.5},
		{"the reference's form: base64url(version, time, 256-bit nonce, client, scope) . base64url(HMAC-SHA256)", func(r *rand.ChaCha8) string {
			payload := append([]byte{1, 0, 0, 1, 0x9a, 0x3c, 0x55}, randomBytes(r, 2)...)
			payload = append(payload, 0, 0, 0, 0, 0, 0x36, 0xee, 0x80)
			payload = append(payload, randomBytes(r, 32)...)
			payload = append(payload, []byte("\x1fthis-client-id-is-for-demo-onlyread")...)
			return b64.EncodeToString(payload) + "." + b64.EncodeToString(randomBytes(r, 32))
		}, 160, 600},
		{"an unsigned JWT with a 128-bit jti in hex", func(r *rand.ChaCha8) string {
			header := b64.EncodeToString([]byte(`{"alg":"none"}`))
			payload := b64.EncodeToString([]byte(fmt.Sprintf(`{"iss":"https://as.example","iat":1700000000,"jti":"%x"}`, randomBytes(r, 16))))
			return header + "." + payload + "."
		}, 128 - entropySlack, 128.5},
		{"a JWT with a 128-bit jti and an HS256 signature", func(r *rand.ChaCha8) string {
			header := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`))
			payload := b64.EncodeToString([]byte(fmt.Sprintf(`{"iss":"https://as.example","iat":1700000000,"jti":"%x"}`, randomBytes(r, 16))))
			return header + "." + payload + "." + b64.EncodeToString(randomBytes(r, 32))
		}, 160, 600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.NewChaCha8([32]byte{1})
			lowest, highest := math.Inf(1), math.Inf(-1)
			for range entropyTrials {
				e := entropyOf(func(int) string { return c.mint(r) })
				lowest, highest = min(lowest, e.bits), max(highest, e.bits)
			}
			if lowest < c.min || highest > c.max {
				t.Errorf("estimates from %.1f to %.1f bits, want them within [%.1f, %.1f]", lowest, highest, c.min, c.max)
			}
		})
	}
}

func TestTokenEntropyEstimatorScoresPredictableTokensLow(t *testing.T) {
	b64 := base64.RawURLEncoding
	r := rand.NewChaCha8([32]byte{2})
	cases := []struct {
		name string
		mint func(i int) string
		max  float64
	}{
		{"a counter", func(i int) string { return fmt.Sprintf("tok-%06d", 4711+i) }, 8},
		{"a counter without padding, crossing a power of ten", func(i int) string { return fmt.Sprintf("tok-%d-suffix", 5+i) }, 16},
		{"a counter in base64url", func(i int) string { return b64.EncodeToString([]byte(fmt.Sprintf("client:read:%d", 1000+i))) }, 16},
		{"a millisecond clock in hex", func(i int) string { return fmt.Sprintf("%x", 1700000000000+int64(i)*3+int64(i*i%7)) }, 24},
		{"the same token every time", func(int) string { return "c3RhdGljLXRva2Vu" }, 0},
		{"a JWT that differs only in iat, signed", func(i int) string {
			header := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
			payload := b64.EncodeToString([]byte(fmt.Sprintf(`{"sub":"client","iat":%d}`, 1700000000+i/6)))
			return header + "." + payload + "." + b64.EncodeToString([]byte(fmt.Sprintf("%032d", i/6)))
		}, 24},
		{"a UUIDv4 (122 random bits)", func(int) string {
			u := randomBytes(r, 16)
			u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
			return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
		}, 128 - entropySlack - 0.01},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := entropyOf(c.mint)
			t.Log(e)
			if e.bits > c.max {
				t.Errorf("%s: want at most %.1f bits", e, c.max)
			}
		})
	}
}
