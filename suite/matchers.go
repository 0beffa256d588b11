package suite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/onsi/gomega/format"
	"github.com/onsi/gomega/types"

	"github.com/ccconform/ccconform/suite/httpauth"
)

// explainingMatcher turns a check that says why it failed into a GomegaMatcher whose failure
// message gives that reason, rather than a dump of the *http.Response.
type explainingMatcher struct {
	// what the response is expected to do, as in "have a JSON media type".
	what   string
	check  func(res *http.Response) (ok bool, why string)
	reason string
}

func (m *explainingMatcher) Match(actual any) (bool, error) {
	res, ok := actual.(*http.Response)
	if !ok {
		return false, fmt.Errorf("expected an *http.Response, got %T", actual)
	}
	var pass bool
	pass, m.reason = m.check(res)
	return pass, nil
}

func (m *explainingMatcher) FailureMessage(any) string {
	return fmt.Sprintf("Expected the response to %s, but %s", m.what, m.reason)
}

func (m *explainingMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("Expected the response not to %s, but it does", m.what)
}

func explain(what string, check func(res *http.Response) (bool, string)) types.GomegaMatcher {
	return &explainingMatcher{what: what, check: check}
}

// mediaType returns the media type of the response, lower case, without parameters.
func mediaType(res *http.Response) string {
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// HaveJSONMediaType: Content-Type application/json; parameters such as charset are fine.
func HaveJSONMediaType() types.GomegaMatcher {
	return explain("be sent as application/json", func(res *http.Response) (bool, string) {
		ct := res.Header.Get("Content-Type")
		if mediaType(res) == "application/json" {
			return true, ""
		}
		if ct == "" {
			return false, "it has no Content-Type"
		}
		return false, fmt.Sprintf("its Content-Type is %q", ct)
	})
}

// jsonObject is a JSON object body, decoded with numbers kept as json.Number, and the member
// names that appeared more than once (RFC 6749 §3.2 forbids repeated response parameters; a
// plain decoder would silently keep the last one).
type jsonObject struct {
	members    map[string]any
	duplicates []string
}

func decodeObject(b []byte) (jsonObject, error) {
	obj := jsonObject{members: map[string]any{}}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return obj, errors.New("the body is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return obj, fmt.Errorf("the body is not valid JSON: %v", err)
		}
		name := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return obj, fmt.Errorf("the body is not valid JSON: %v", err)
		}
		if _, seen := obj.members[name]; seen {
			obj.duplicates = append(obj.duplicates, name)
		}
		obj.members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return obj, fmt.Errorf("the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return obj, errors.New("the body has data after its JSON object")
	}
	return obj, nil
}

// BeJSONObject: the body is exactly one JSON object.
func BeJSONObject() types.GomegaMatcher {
	return explain("have a JSON object as its body", func(res *http.Response) (bool, string) {
		body := bodyOf(res)
		if _, err := decodeObject(body); err != nil {
			return false, fmt.Sprintf("%v: %s", err, quoteBody(body))
		}
		return true, ""
	})
}

// HaveOAuth2Error: the body is a JSON object whose error member is code (RFC 6749 §5.2).
func HaveOAuth2Error(code string) types.GomegaMatcher {
	return explain(fmt.Sprintf("carry the OAuth 2.0 error %q in a JSON body", code), func(res *http.Response) (bool, string) {
		body := bodyOf(res)
		obj, err := decodeObject(body)
		if err != nil {
			return false, fmt.Sprintf("%v: %s", err, quoteBody(body))
		}
		got, present := obj.members["error"]
		switch {
		case !present:
			return false, fmt.Sprintf("the body has no error member: %s", quoteBody(body))
		case got != code:
			return false, fmt.Sprintf("its error is %s", format.Object(got, 0))
		}
		return true, ""
	})
}

// HaveCacheDirective: one of the Cache-Control fields carries the directive. Directive names
// are case-insensitive; a field is a comma-separated list whose quoted arguments may hold commas
// (RFC 9111 §5.2), so no-store inside an argument (private="x, no-store") does not count, as it
// would if the field were split at every comma.
func HaveCacheDirective(directive string) types.GomegaMatcher {
	return explain(fmt.Sprintf("carry Cache-Control: %s", directive), func(res *http.Response) (bool, string) {
		values := res.Header.Values("Cache-Control")
		if len(values) == 0 {
			return false, "it has no Cache-Control header"
		}
		for _, v := range values {
			for _, d := range cacheDirectiveNames(v) {
				if strings.EqualFold(d, directive) {
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("its Cache-Control is %q", strings.Join(values, ", "))
	})
}

// cacheDirectiveNames returns the directive names of one Cache-Control field value: a
// comma-separated list of token [ "=" ( token / quoted-string ) ] with optional white space
// (RFC 9111 §5.2, RFC 9110 §5.6). Commas inside a quoted-string do not separate directives.
func cacheDirectiveNames(field string) []string {
	var names []string
	inQuotes, escaped, inArgument := false, false, false
	var name strings.Builder
	flush := func() {
		if n := strings.TrimSpace(name.String()); n != "" {
			names = append(names, n)
		}
		name.Reset()
		inArgument = false
	}
	for i := 0; i < len(field); i++ {
		c := field[i]
		switch {
		case inQuotes && escaped:
			escaped = false
		case inQuotes && c == '\\':
			escaped = true
		case inQuotes:
			inQuotes = c != '"'
		case c == '"':
			inQuotes = true
		case c == ',':
			flush()
		case c == '=':
			inArgument = true
		case !inArgument:
			name.WriteByte(c)
		}
	}
	flush()
	return names
}

// HavePragmaNoCache: a Pragma field carries no-cache.
func HavePragmaNoCache() types.GomegaMatcher {
	return explain("carry Pragma: no-cache", func(res *http.Response) (bool, string) {
		values := res.Header.Values("Pragma")
		for _, v := range values {
			for _, d := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
					return true, ""
				}
			}
		}
		if len(values) == 0 {
			return false, "it has no Pragma header"
		}
		return false, fmt.Sprintf("its Pragma is %q", strings.Join(values, ", "))
	})
}

// challengesOf parses every WWW-Authenticate field of the response.
func challengesOf(res *http.Response) ([]httpauth.Challenge, error) {
	return httpauth.ParseChallenges(res.Header.Values("WWW-Authenticate"))
}

// HaveChallenge: a well-formed WWW-Authenticate field offers a challenge of the scheme
// (compared case-insensitively).
func HaveChallenge(scheme string) types.GomegaMatcher {
	return explain(fmt.Sprintf("challenge with the %s scheme in WWW-Authenticate", scheme), func(res *http.Response) (bool, string) {
		values := res.Header.Values("WWW-Authenticate")
		if len(values) == 0 {
			return false, "it has no WWW-Authenticate header"
		}
		cs, err := challengesOf(res)
		if err != nil {
			return false, fmt.Sprintf("WWW-Authenticate is malformed: %v", err)
		}
		if _, ok := httpauth.Find(cs, scheme); !ok {
			return false, fmt.Sprintf("WWW-Authenticate is %q", strings.Join(values, ", "))
		}
		return true, ""
	})
}

// haveBearerChallengeWhere: the response's Bearer challenge satisfies pred.
func haveBearerChallengeWhere(what string, pred func(c httpauth.Challenge) bool) types.GomegaMatcher {
	return explain("have a Bearer challenge "+what, func(res *http.Response) (bool, string) {
		header := strings.Join(res.Header.Values("WWW-Authenticate"), ", ")
		cs, err := challengesOf(res)
		if err != nil {
			return false, fmt.Sprintf("WWW-Authenticate is malformed: %v", err)
		}
		c, ok := httpauth.Find(cs, "Bearer")
		switch {
		case !ok && header == "":
			return false, "it has no WWW-Authenticate header"
		case !ok:
			return false, fmt.Sprintf("there is no Bearer challenge in %q", header)
		case !pred(c):
			return false, fmt.Sprintf("WWW-Authenticate is %q", header)
		}
		return true, ""
	})
}

// HaveBearerAttribute: the Bearer challenge has the attribute with this value.
func HaveBearerAttribute(name, value string) types.GomegaMatcher {
	return haveBearerChallengeWhere(fmt.Sprintf("with %s=%q", name, value), func(c httpauth.Challenge) bool {
		v, ok := c.Param(name)
		return ok && v == value
	})
}

// HaveBearerChallengeWithout: the Bearer challenge has no attribute of this name.
func HaveBearerChallengeWithout(name string) types.GomegaMatcher {
	return haveBearerChallengeWhere("without "+name, func(c httpauth.Challenge) bool {
		return c.Count(name) == 0
	})
}

// HaveBearerChallengeWithParams: the Bearer challenge has at least one auth-param (RFC 6750 §3).
func HaveBearerChallengeWithParams() types.GomegaMatcher {
	return haveBearerChallengeWhere("with at least one auth-param", func(c httpauth.Challenge) bool {
		return len(c.Params) > 0
	})
}

// quoteBody shows a body in a failure message, clipped and redacted.
func quoteBody(b []byte) string {
	if len(b) == 0 {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", oneLine(redactor.body(b), 300))
}

// objectOf decodes a response body that the spec has already checked with BeJSONObject.
func objectOf(res *http.Response) jsonObject {
	obj, _ := decodeObject(bodyOf(res))
	return obj
}
