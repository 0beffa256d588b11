package registry

import (
	"fmt"
	"slices"
	"strings"
)

// Grade is what a broken row does to a run.
type Grade int

const (
	// Inform records what the provider does: a MAY, or a row the profile leaves optional.
	Inform Grade = iota
	// Warn reports the row and passes the run; --strict makes it Fail.
	Warn
	// Fail fails the run.
	Fail
)

func (g Grade) String() string {
	switch g {
	case Fail:
		return "fail"
	case Warn:
		return "warn"
	}
	return "inform"
}

// Profile is a set of rules the provider is judged by.
type Profile string

// The profiles.
const (
	// RFC6749 judges by the texts of RFC 6749 and RFC 6750 and their neighbours (the default):
	// client-bound (derived) rows as warnings.
	RFC6749 Profile = "rfc6749"
	// OAuth21 adds the OAuth 2.1 draft's differences (checklist 2.G) and regrades the rows it
	// changes.
	OAuth21 Profile = "oauth2.1"
	// BCP adds the Security BCP, RFC 9700 (checklist 2.F).
	BCP Profile = "bcp"
)

// Profiles lists every profile, the default first.
func Profiles() []Profile { return []Profile{RFC6749, OAuth21, BCP} }

// ParseProfile reads a profile name.
func ParseProfile(s string) (Profile, error) {
	for _, p := range Profiles() {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, 0, 3)
	for _, p := range Profiles() {
		names = append(names, string(p))
	}
	return "", fmt.Errorf("unknown profile %q: use one of %s", s, strings.Join(names, ", "))
}

// InProfile reports whether the row is judged under the profile: the security BCP's rows (2.F)
// only under bcp, the OAuth 2.1 differences (2.G) only under oauth2.1, every other row always.
func (r Row) InProfile(p Profile) bool {
	switch r.Group {
	case "2.F":
		return p == BCP
	case "2.G":
		return p == OAuth21
	}
	return true
}

// regrade changes a row's grade under some profiles, for a reason the checklist gives.
type regrade struct {
	grade    Grade
	profiles []Profile // nil: every profile
	why      string
}

// regrades are the rows whose grade is not the one their level and kind give. The default is:
// MUST and direct → Fail; MUST and derived → Warn (a rule that binds the client is judged at
// the server by inference); SHOULD → Warn; MAY → Inform.
var regrades = map[string][]regrade{
	"C-6749-5.1-h": {
		{Warn, nil, "RFC 9111 deprecates Pragma; the checklist grades a missing Pragma: no-cache as a warning"},
		{Inform, []Profile{OAuth21}, "OAuth 2.1 no longer requires Pragma (C-21-3.2.3-a)"},
	},
	"C-6749-10.10-a": {{Warn, nil, "the entropy of a token is estimated from a sample, a heuristic"}},
	"C-6749-2.3.1-e": {{Warn, nil, "a bounded probe cannot prove that no protection exists (it may start later, or be keyed on " +
		"something the probe does not vary); the checklist grades no throttling seen as INFO or WARN"}},
	"C-6749-3.2-f": {{Warn, nil, "§3.2's no-repeat rule binds the client; the server side is implied by §5.2's " +
		"definition of invalid_request, which makes the row derived in the checklist's own terms (as C-6749-3.2-c is)"}},
	"C-6749-4.4.3-b": {{Inform, []Profile{OAuth21}, "OAuth 2.1 leaves refresh tokens to the server's policy (C-21-4.2-a)"}},
	"C-6749-2.3.1-a": {{Inform, []Profile{OAuth21}, "OAuth 2.1 makes HTTP Basic optional (C-21-2.4.1-b)"}},
	"C-8414-2-c":     {{Warn, nil, "client-credentials-only servers disagree with the field; the checklist grades its absence as a warning"}},
}

// lenient are the rows whose checklist names one deviation that is graded as a warning
// (a failure under --strict) even though the row itself fails a run: the assertion for that
// deviation says it judges the lenient case, and the registry decides what that costs.
var lenient = map[string]string{
	"C-6749-5.2-b": "a 400 instead of 401 for a failed HTTP Basic authentication (OIDF and Inferno accept it)",
	"C-6749-5.1-e": "expires_in of 0",
	"C-6749-5.2-i": "invalid_request instead of invalid_scope for a malformed scope",
	"C-6750-3-c":   "a bare Bearer challenge without auth-params (very common)",
	"S2S-3":        "no error_description (the documented scenario shows one; RFC 6749 §5.2 makes it optional)",
	"S2S-6":        "no JSON error body on the refusal (the documented scenario repeats the error as JSON; RFC 6750 defines no body)",
}

// Grade is the row's grade under the profile, before --strict.
func (r Row) Grade(p Profile) Grade {
	g := defaultGrade(r)
	for _, rg := range regrades[r.ID] {
		if rg.profiles == nil || slices.Contains(rg.profiles, p) {
			g = rg.grade
		}
	}
	return g
}

// Effective is the grade a failed assertion of the row gets: lenient marks the checklist's
// lenient deviation of the row; strict turns warnings into failures.
func (r Row) Effective(p Profile, strict, lenientCase bool) Grade {
	g := r.Grade(p)
	if lenientCase && g == Fail {
		g = Warn
	}
	if strict && g == Warn {
		g = Fail
	}
	return g
}

// Lenient returns the deviation the checklist grades leniently for the row, if any.
func (r Row) Lenient() (string, bool) {
	s, ok := lenient[r.ID]
	return s, ok
}

// Regrades explains the row's grades that differ from its level and kind, for the reports.
func (r Row) Regrades() []string {
	var out []string
	for _, rg := range regrades[r.ID] {
		where := "every profile"
		if rg.profiles != nil {
			names := make([]string, len(rg.profiles))
			for i, p := range rg.profiles {
				names[i] = string(p)
			}
			where = strings.Join(names, ", ")
		}
		out = append(out, fmt.Sprintf("%s under %s: %s", rg.grade, where, rg.why))
	}
	return out
}

func defaultGrade(r Row) Grade {
	switch {
	case r.Level == MUST && r.Kind == Derived:
		return Warn
	case r.Level == MUST:
		return Fail
	case r.Level == SHOULD:
		return Warn
	}
	return Inform
}
