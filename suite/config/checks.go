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
	return oneOf(m, "a client authentication method", AuthClientSecretBasic, AuthClientSecretPost, AuthNone,
		AuthPrivateKeyJWT, AuthClientSecretJWT, AuthTLSClientAuth, AuthSelfSignedTLSClientAuth)
}

// checkMainAuthMethod is checkAuthMethod for the main client, which cannot use mutual TLS
// (only fixture clients carry certificates).
func checkMainAuthMethod(m string) string {
	if IsMTLSMethod(m) {
		return fmt.Sprintf("%q needs a client certificate, which only the fixture clients mtls and mtls_2 carry", m)
	}
	return oneOf(m, "a client authentication method", AuthClientSecretBasic, AuthClientSecretPost, AuthNone,
		AuthPrivateKeyJWT, AuthClientSecretJWT)
}

// sendsSecret reports whether the method sends or signs with a shared secret.
func sendsSecret(m string) bool {
	return m == "" || m == AuthClientSecretBasic || m == AuthClientSecretPost || m == AuthClientSecretJWT
}

// checkSecret wants a secret for the methods that send one and none for a public client. An
// unknown method is checkAuthMethod's to report.
func checkSecret(c Client) string {
	switch {
	case c.AuthMethod == AuthNone && c.Secret != "":
		return "must be empty for a client that authenticates with none"
	case sendsSecret(c.AuthMethod) && checkAuthMethod(c.AuthMethod) == "" && c.Secret == "":
		return "must not be empty for a client that authenticates with " + c.AuthMethod
	}
	return ""
}

// checkKey wants a private key, inline or in a file, exactly for a private_key_jwt client.
func checkKey(c Client) string {
	switch {
	case c.AuthMethod == AuthPrivateKeyJWT && c.PrivateKey == "" && c.PrivateKeyFile == "":
		return "needs a private_key or private_key_file for private_key_jwt"
	case c.PrivateKey != "" && c.PrivateKeyFile != "":
		return "has both a private_key and a private_key_file; give one"
	case c.PrivateKeyFile != "":
		return checkInputFile(c.PrivateKeyFile)
	}
	return checkCertificate(c)
}

// checkCertificate wants a certificate and its private key exactly for a mutual TLS client.
func checkCertificate(c Client) string {
	hasKey := c.PrivateKey != "" || c.PrivateKeyFile != ""
	hasCert := c.Certificate != "" || c.CertificateFile != ""
	switch {
	case IsMTLSMethod(c.AuthMethod) && (!hasCert || !hasKey):
		return "needs a certificate (or certificate_file) and its private_key (or private_key_file) for " + c.AuthMethod
	case hasCert && !IsMTLSMethod(c.AuthMethod):
		return "has a certificate, which only a client with tls_client_auth or self_signed_tls_client_auth uses"
	case c.Certificate != "" && c.CertificateFile != "":
		return "has both a certificate and a certificate_file; give one"
	case c.CertificateFile != "":
		return checkInputFile(c.CertificateFile)
	}
	return ""
}

// checkEndpoint wants an empty value, a path as checkRoute does, or an absolute http(s) URL
// without a fragment.
func checkEndpoint(p string, query bool) string {
	if strings.HasPrefix(p, "/") || p == "" {
		return checkRoute(p, query)
	}
	u, err := url.Parse(p)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Sprintf("%q is neither a path starting with / nor an absolute http:// or https:// URL", p)
	case strings.Contains(p, "#"):
		return fmt.Sprintf("%q has a fragment, which a request never carries", p)
	case u.RawQuery != "" && !query:
		return fmt.Sprintf("%q must not carry a query", p)
	}
	return ""
}

// checkIssuer wants an absolute http(s) URL. Whether the provider's issuer obeys RFC 8414 §2
// (https, no query or fragment) is for the specs to judge, not a configuration error.
func checkIssuer(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Sprintf("%q is not an absolute http:// or https:// URL", s)
	}
	return ""
}

// checkWords wants every word to be one of the values.
func checkWords(words []string, what string, values ...string) string {
	for _, w := range words {
		if msg := oneOf(w, what, values...); msg != "" {
			return msg
		}
	}
	return ""
}

// checkResourceIndicator wants an absolute URI without a fragment (RFC 8707 §2).
func checkResourceIndicator(s string) string {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || strings.Contains(s, "#") {
		return fmt.Sprintf("%q is not an absolute URI without a fragment (RFC 8707 §2)", s)
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
