package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Each check returns what is wrong with a value as the end of a sentence that starts with the
// option's name, or "" when nothing is.

func notEmpty(s string) string {
	if s == "" {
		return "must not be empty"
	}
	return ""
}

func positive(d time.Duration) string {
	if d <= 0 {
		return fmt.Sprintf("must be positive, not %s", d)
	}
	return ""
}

// inRange checks lo <= n and, unless hi is negative, n <= hi.
func inRange(n, lo, hi int) string {
	switch {
	case hi < 0 && n < lo:
		return fmt.Sprintf("must be at least %d, not %d", lo, n)
	case hi >= 0 && (n < lo || n > hi):
		return fmt.Sprintf("must be between %d and %d, not %d", lo, hi, n)
	}
	return ""
}

// oneOf checks that s is one of the values, and lists them when it is not.
func oneOf(s, what string, values ...string) string {
	if slices.Contains(values, s) {
		return ""
	}
	return fmt.Sprintf("%q is not %s: give %s or %s", s, what,
		strings.Join(values[:len(values)-1], ", "), values[len(values)-1])
}

func checkAuthMethod(m string) string {
	return oneOf(m, "a client authentication method", AuthClientSecretBasic, AuthClientSecretPost, AuthNone)
}

// checkSecret wants a secret for the methods that send one and none for a public client. An
// unknown method is checkAuthMethod's to report.
func checkSecret(c Client) string {
	switch {
	case c.AuthMethod == AuthNone && c.Secret != "":
		return "must be empty for a client that authenticates with none"
	case c.AuthMethod != AuthNone && checkAuthMethod(c.AuthMethod) == "" && c.Secret == "":
		return "must not be empty for a client that authenticates with " + c.AuthMethod
	}
	return ""
}

// httpMethods are the methods a protected resource may be declared with.
var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func checkMethod(m string) string {
	return oneOf(m, "an HTTP method", httpMethods...)
}

// checkBaseURL wants an absolute URL of one of the schemes, without a query or fragment.
func checkBaseURL(s string, schemes ...string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return fmt.Sprintf("%q is not an absolute %s:// URL", s, strings.Join(schemes, ":// or "))
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#") {
		return fmt.Sprintf("%q has a query or fragment; give the base URL and the paths separately", s)
	}
	return ""
}

// checkRoute wants an empty path (the route's specs are off) or one that starts with /, with a
// query only where query allows one (RFC 6749 §3.2 lets the token endpoint URI carry one), and
// never a fragment (RFC 6749 §3.1, §3.2).
func checkRoute(p string, query bool) string {
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		return checkPath(p) + " (or be empty to switch its specs off)"
	}
	if msg := checkPath(p); msg != "" {
		return msg
	}
	path, q, hasQuery := strings.Cut(p, "?")
	if _, err := url.ParseQuery(q); err != nil || (hasQuery && !query) {
		if query {
			return fmt.Sprintf("%q has a malformed query", p)
		}
		return fmt.Sprintf("%q must be a path, without a query", p)
	}
	if _, err := url.Parse(path); err != nil {
		return fmt.Sprintf("%q is not a URL path", p)
	}
	return ""
}

// checkPath wants a path that starts with / and has no fragment.
func checkPath(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q must start with /", p)
	case strings.Contains(p, "#"):
		return fmt.Sprintf("%q has a fragment, which a request never carries", p)
	}
	return ""
}

// scopeToken reports whether s is a scope-token (RFC 6749 §3.3):
// 1*( %x21 / %x23-5B / %x5D-7E ).
func scopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

func checkScopes(scopes []string) string {
	if len(scopes) == 0 {
		return "must name at least one scope"
	}
	for _, s := range scopes {
		if !scopeToken(s) {
			return fmt.Sprintf("%q is not a scope (RFC 6749 §3.3)", s)
		}
	}
	return ""
}

func checkForbiddenScope(s Scopes) string {
	switch {
	case s.Forbidden == "":
		return ""
	case !scopeToken(s.Forbidden):
		return fmt.Sprintf("%q is not a scope (RFC 6749 §3.3)", s.Forbidden)
	case slices.Contains(s.Allowed, s.Forbidden):
		return fmt.Sprintf("%q is also an allowed scope", s.Forbidden)
	}
	return ""
}
