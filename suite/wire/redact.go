package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// minSecret is the shortest secret registered: masking shorter strings would mask everything.
const minSecret = 4

// secretParams are the form and query parameters whose values are always masked.
var secretParams = map[string]bool{
	"client_secret": true, "access_token": true, "refresh_token": true, "client_assertion": true, "token": true,
}

// secretMembers are the JSON members whose string values are always masked.
var secretMembers = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "client_secret": true, "client_assertion": true,
}

// Redactor keeps secrets out of everything the suite prints: client secrets, HTTP Basic
// credentials and the tokens the provider issued, wherever they appear and however they are
// encoded (raw, percent-encoded, base64, escaped inside JSON strings). Every text it returns is
// also escaped (see Escape), so that what a provider sends cannot forge log lines or colours.
// It is safe for concurrent use.
type Redactor struct {
	mu       sync.Mutex
	secrets  map[string]bool // registered values, in every encoding
	replacer *strings.Replacer
	dirty    bool // replacer is out of date
}

// NewRedactor returns a Redactor that knows no secret yet.
func NewRedactor() *Redactor { return &Redactor{secrets: map[string]bool{}} }

// AddSecret registers s to be masked wherever it appears: raw, in its url.QueryEscape and
// url.PathEscape forms, in base64 (standard and URL alphabets, padded and raw), and escaped in
// any way inside a JSON string. Secrets shorter than 4 bytes are ignored.
func (r *Redactor) AddSecret(s string) {
	if len(s) < minSecret {
		return
	}
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(s)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	for _, f := range forms {
		if !r.secrets[f] {
			r.secrets[f], r.dirty = true, true
		}
	}
}

// AddCredentials registers a client's secret and its HTTP Basic credentials (RFC 6749 §2.3.1):
// base64 of the form-encoded "id:secret" and of the raw one. The client ID alone is not secret.
func (r *Redactor) AddCredentials(id, secret string) {
	if secret == "" {
		return
	}
	r.AddSecret(secret)
	r.AddSecret(url.QueryEscape(id) + ":" + url.QueryEscape(secret))
	r.AddSecret(id + ":" + secret)
}

// Learn registers the tokens a response body carries: the string access_token, refresh_token
// and id_token members of a JSON object, as decoded (so any escaping counts). Whatever follows
// the object is ignored.
func (r *Redactor) Learn(body []byte) {
	var members map[string]any
	if json.NewDecoder(bytes.NewReader(body)).Decode(&members) != nil {
		return
	}
	for _, name := range []string{"access_token", "refresh_token", "id_token"} {
		if s, ok := members[name].(string); ok {
			r.AddSecret(s)
		}
	}
}

// String returns s with every secret masked, in JSON strings too, and escaped.
func (r *Redactor) String(s string) string {
	return Escape(r.mask(r.maskJSON(s, false)))
}

// Body returns a message body for printing: for an application/x-www-form-urlencoded body the
// values of client_secret, access_token, refresh_token, client_assertion and token are
// masked; for any other body the string values of access_token, refresh_token, id_token,
// client_secret and client_assertion members; then as String.
func (r *Redactor) Body(b []byte, contentType string) string {
	if mediaType, _, _ := mime.ParseMediaType(contentType); mediaType == "application/x-www-form-urlencoded" {
		return Escape(r.mask(r.maskForm(string(b))))
	}
	return Escape(r.mask(r.maskJSON(string(b), true)))
}

// Header returns a header value for printing: the credentials of Authorization and
// Proxy-Authorization masked but for the scheme, Cookie and Set-Cookie masked whole, others as
// String.
func (r *Redactor) Header(name, value string) string {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization":
		scheme, rest, _ := strings.Cut(value, " ")
		if rest == "" {
			return r.String(value)
		}
		return r.String(scheme) + " " + redacted(len(rest))
	case "cookie", "set-cookie":
		return "[redacted]"
	}
	return r.String(value)
}

// URL returns the path and query of u for a request line, the values of secret parameters
// (as Body masks them in a form) and every secret masked, escaped.
func (r *Redactor) URL(u *url.URL) string {
	s := u.EscapedPath()
	if s == "" {
		s = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + r.maskForm(u.RawQuery)
	}
	return Escape(r.mask(s))
}

func redacted(n int) string { return fmt.Sprintf("[redacted, %d chars]", n) }

// mask replaces every registered secret in s, longest first.
func (r *Redactor) mask(s string) string {
	r.mu.Lock()
	if r.dirty || r.replacer == nil {
		forms := make([]string, 0, len(r.secrets))
		for f := range r.secrets {
			forms = append(forms, f)
		}
		sort.Slice(forms, func(i, j int) bool {
			if len(forms[i]) != len(forms[j]) {
				return len(forms[i]) > len(forms[j])
			}
			return forms[i] < forms[j]
		})
		pairs := make([]string, 0, 2*len(forms))
		for _, f := range forms {
			pairs = append(pairs, f, redacted(len(f)))
		}
		r.replacer, r.dirty = strings.NewReplacer(pairs...), false
	}
	rep := r.replacer
	r.mu.Unlock()
	return rep.Replace(s)
}

// maskForm masks the values of secret parameters in a form or query, and every value that
// holds a secret once percent-decoded (however it was encoded).
func (r *Redactor) maskForm(s string) string {
	pairs := strings.Split(s, "&")
	for i, pair := range pairs {
		name, value, hasValue := strings.Cut(pair, "=")
		decodedName, err := url.QueryUnescape(name)
		if err != nil {
			decodedName = name
		}
		decoded, err := url.QueryUnescape(value)
		switch {
		case !hasValue:
		case secretParams[decodedName]:
			pairs[i] = name + "=" + redacted(len(value))
		case err == nil && r.mask(decoded) != decoded:
			pairs[i] = name + "=" + r.mask(decoded)
		}
	}
	return strings.Join(pairs, "&")
}

// maskJSON finds the JSON string literals in s, and replaces each one whose decoded value holds a
// secret with a literal of the masked value, whatever escapes the original used. With members,
// the value of a secret member ("access_token": "...") is masked whole.
func (r *Redactor) maskJSON(s string, members bool) string {
	var b strings.Builder
	done := 0     // s[:done] is written to b, or replaced
	valueAt := -1 // where the value of a secret member starts
	for i := 0; i < len(s); {
		if s[i] != '"' {
			i++
			continue
		}
		end := literalEnd(s, i)
		if end < 0 {
			break
		}
		var decoded string
		if json.Unmarshal([]byte(s[i:end]), &decoded) != nil {
			valueAt, i = -1, end
			continue
		}
		replacement := ""
		if i == valueAt {
			replacement = redacted(len(decoded))
		} else if masked := r.mask(decoded); masked != decoded {
			replacement = masked
		}
		if replacement != "" {
			b.WriteString(s[done:i])
			b.WriteString(jsonString(replacement))
			done = end
		}
		valueAt = -1
		if members && secretMembers[decoded] {
			valueAt = afterColon(s, end)
		}
		i = end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// literalEnd returns the index just past the JSON string literal that starts at s[start], or -1
// if it does not end.
func literalEnd(s string, start int) int {
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// afterColon returns where a member's value starts after the name ending at s[i], or -1.
func afterColon(s string, i int) int {
	i += len(s[i:]) - len(strings.TrimLeft(s[i:], " \t\r\n"))
	if i >= len(s) || s[i] != ':' {
		return -1
	}
	i++
	return i + len(s[i:]) - len(strings.TrimLeft(s[i:], " \t\r\n"))
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Escape makes s safe to print: C0 controls but newline and tab (so ESC, CR, NUL...), DEL and
// invalid UTF-8 bytes become \xNN; C1 controls (U+0080–U+009F) and Unicode bidirectional
// controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) become \uNNNN.
func Escape(s string) string {
	var b strings.Builder
	done := 0
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		escaped := ""
		switch {
		case c == utf8.RuneError && size == 1:
			escaped = fmt.Sprintf(`\x%02x`, s[i])
		case c < 0x20 && c != '\n' && c != '\t', c == 0x7f:
			escaped = fmt.Sprintf(`\x%02x`, c)
		case c >= 0x80 && c <= 0x9f, c == 0x061c, c == 0x200e, c == 0x200f,
			c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069:
			escaped = fmt.Sprintf(`\u%04x`, c)
		}
		if escaped != "" {
			b.WriteString(s[done:i])
			b.WriteString(escaped)
			done = i + size
		}
		i += size
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// Clip shortens s to at most limit bytes (at a character boundary) followed by
// "… [N more bytes]".
func Clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := runeStart(s, max(limit, 0))
	return s[:cut] + fmt.Sprintf("… [%d more bytes]", len(s)-cut)
}

// OneLine joins the words of s with single spaces and shortens the result to at most limit
// bytes (at a character boundary) followed by "…".
func OneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= limit {
		return s
	}
	return s[:runeStart(s, max(limit, 0))] + "…"
}

// runeStart returns the start of the character at s[i], or i if that is a start already.
func runeStart(s string, i int) int {
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
