// Package httpauth parses and builds the HTTP authentication values the suite inspects and sends:
// WWW-Authenticate challenges (RFC 9110 §11.6.1, as RFC 6750 §3 uses them) and HTTP Basic
// client credentials (RFC 6749 §2.3.1).
package httpauth

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// Challenge is one challenge of a WWW-Authenticate field.
type Challenge struct {
	// Scheme is the auth-scheme as sent (compare it case-insensitively).
	Scheme string
	// Token68 is the token68 form of the challenge's data, if it used that form.
	Token68 string
	// Params are the auth-params in order. Names are as sent; Param compares them
	// case-insensitively.
	Params []Param
}

// Param is one auth-param.
type Param struct {
	Name, Value string
	// Quoted says whether the value was a quoted-string.
	Quoted bool
}

// Param returns the value of the first parameter with this name, compared case-insensitively.
func (c Challenge) Param(name string) (string, bool) {
	for _, p := range c.Params {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// Count returns how many parameters have this name, compared case-insensitively.
func (c Challenge) Count(name string) int {
	n := 0
	for _, p := range c.Params {
		if strings.EqualFold(p.Name, name) {
			n++
		}
	}
	return n
}

// Is reports whether the challenge uses the scheme, compared case-insensitively.
func (c Challenge) Is(scheme string) bool { return strings.EqualFold(c.Scheme, scheme) }

// Find returns the first challenge of the scheme among cs.
func Find(cs []Challenge, scheme string) (Challenge, bool) {
	for _, c := range cs {
		if c.Is(scheme) {
			return c, true
		}
	}
	return Challenge{}, false
}

// ParseChallenges parses the values of one or more WWW-Authenticate fields. It is strict about
// the grammar (RFC 9110 §11.6.1 and §5.6): an empty list element where a challenge must start
// (as in "Bearer, error=…" read as a scheme followed by a comma), an auth-param without a value,
// or an unterminated quoted-string are errors.
func ParseChallenges(values []string) ([]Challenge, error) {
	var out []Challenge
	for _, v := range values {
		cs, err := parseField(v)
		if err != nil {
			return nil, fmt.Errorf("%w in %q", err, v)
		}
		out = append(out, cs...)
	}
	return out, nil
}

type lexer struct {
	s string
	i int
}

func (l *lexer) skipOWS() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}

func (l *lexer) eof() bool { return l.i >= len(l.s) }

func (l *lexer) peek() byte {
	if l.eof() {
		return 0
	}
	return l.s[l.i]
}

// tchar per RFC 9110 §5.6.2.
func isTchar(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

func isToken68Char(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' ||
		strings.IndexByte("-._~+/", b) >= 0
}

func (l *lexer) token() string {
	start := l.i
	for !l.eof() && isTchar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

func (l *lexer) quoted() (string, error) {
	l.i++ // opening quote
	var b strings.Builder
	for !l.eof() {
		c := l.s[l.i]
		switch {
		case c == '"':
			l.i++
			return b.String(), nil
		case c == '\\':
			if l.i+1 >= len(l.s) {
				return "", fmt.Errorf("a quoted-string ends in a backslash")
			}
			b.WriteByte(l.s[l.i+1])
			l.i += 2
		default:
			b.WriteByte(c)
			l.i++
		}
	}
	return "", fmt.Errorf("a quoted-string is not terminated")
}

func parseField(s string) ([]Challenge, error) {
	l := &lexer{s: s}
	var out []Challenge
	var cur *Challenge
	commaSinceScheme := false
	for {
		l.skipOWS()
		// Empty list elements are allowed (RFC 9110 §5.6.1).
		for l.peek() == ',' {
			commaSinceScheme = true
			l.i++
			l.skipOWS()
		}
		if l.eof() {
			break
		}
		name := l.token()
		if name == "" {
			return nil, fmt.Errorf("unexpected %q at offset %d", l.s[l.i], l.i)
		}
		afterName := l.i
		l.skipOWS()
		if l.peek() == '=' && (l.i+1 >= len(l.s) || l.s[l.i+1] != '=') {
			// auth-param: name BWS "=" BWS ( token / quoted-string )
			switch {
			case cur == nil:
				return nil, fmt.Errorf("the parameter %q comes before any scheme", name)
			case cur.Token68 != "":
				return nil, fmt.Errorf("the parameter %q follows the token68 of %q", name, cur.Scheme)
			case len(cur.Params) == 0 && commaSinceScheme:
				// "Bearer, error=…": the parameters of a challenge follow its scheme after
				// a space; a comma there ends the challenge instead.
				return nil, fmt.Errorf("a comma separates the scheme %q from its parameters", cur.Scheme)
			}
			l.i++
			l.skipOWS()
			p := Param{Name: name}
			if l.peek() == '"' {
				v, err := l.quoted()
				if err != nil {
					return nil, err
				}
				p.Value, p.Quoted = v, true
			} else if p.Value = l.token(); p.Value == "" {
				return nil, fmt.Errorf("the parameter %q has no value", name)
			}
			cur.Params = append(cur.Params, p)
			if err := l.expectListEnd(); err != nil {
				return nil, err
			}
			continue
		}
		// A new challenge: the name is its scheme.
		l.i = afterName
		if !l.eof() && l.peek() != ' ' && l.peek() != '\t' && l.peek() != ',' {
			return nil, fmt.Errorf("unexpected %q after %q", l.peek(), name)
		}
		out = append(out, Challenge{Scheme: name})
		cur, commaSinceScheme = &out[len(out)-1], false
		l.skipOWS()
		if t, ok := l.token68(); ok {
			cur.Token68 = t
			if err := l.expectListEnd(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// token68 reads a token68 if one stands here: token68 characters, optional "=" padding, and then
// the end of the element (a comma or the end of the field). Otherwise it consumes nothing.
func (l *lexer) token68() (string, bool) {
	start, j := l.i, l.i
	for j < len(l.s) && isToken68Char(l.s[j]) {
		j++
	}
	if j == start {
		return "", false
	}
	for j < len(l.s) && l.s[j] == '=' {
		j++
	}
	k := j
	for k < len(l.s) && (l.s[k] == ' ' || l.s[k] == '\t') {
		k++
	}
	if k < len(l.s) && l.s[k] != ',' {
		return "", false // "name=value": an auth-param, not a token68
	}
	l.i = j
	return l.s[start:j], true
}

func (l *lexer) expectListEnd() error {
	l.skipOWS()
	if !l.eof() && l.peek() != ',' {
		return fmt.Errorf("unexpected %q at offset %d", l.peek(), l.i)
	}
	return nil
}

// BasicAuthorization builds the Authorization value for HTTP Basic client authentication as
// RFC 6749 §2.3.1 requires: client id and secret are form-urlencoded (Appendix B) before they
// are joined with a colon and Base64-encoded.
func BasicAuthorization(clientID, clientSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(FormEncode(clientID)+":"+FormEncode(clientSecret)))
}

// BasicAuthorizationUnencoded builds the Authorization value without the form-urlencoding step,
// as many clients do; a provider may accept both.
func BasicAuthorizationUnencoded(clientID, clientSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret))
}

// FormEncode applies the application/x-www-form-urlencoded encoding of RFC 6749 Appendix B.
func FormEncode(s string) string { return url.QueryEscape(s) }
