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

// Profile is the set of rules the provider is judged by: a base profile (rfc6749, the default;
// oauth2.1; bcp) and any add-ons (rfc10070, oidcc, rfc9068), written joined by commas in a
// canonical order, as "bcp,rfc9068". The base rfc6749 is implied and written only alone.
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
	// RFC10070 holds JWT client authentication to RFC 10070's audience rules (checklist 2.J
	// conventions: FAPI 2.0 and OpenID Connect Core -36 are equivalent).
	RFC10070 Profile = "rfc10070"
	// OIDCC holds JWT client authentication to OpenID Connect Core §9 (jti required and single
	// use).
	OIDCC Profile = "oidcc"
	// RFC9068 treats every JWT access token as claiming RFC 9068 and grades checklist 2.K
	// strictly.
	RFC9068 Profile = "rfc9068"
)

// Profiles lists every profile, the default first.
func Profiles() []Profile { return []Profile{RFC6749, OAuth21, BCP, RFC10070, OIDCC, RFC9068} }

// ParseProfile reads a profile: profile names joined by commas (spaces allowed), such as
// "oauth2.1,rfc10070". The result is canonical: each name once, in the order of Profiles, and
// rfc6749 dropped when another name is present.
func ParseProfile(s string) (Profile, error) {
	var names []string
	for _, p := range Profiles() {
		names = append(names, string(p))
	}
	seen := map[Profile]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !slices.Contains(names, part) {
			return "", fmt.Errorf("%q is not a profile: give one or more of %s, joined by commas", part, strings.Join(names, ", "))
		}
		seen[Profile(part)] = true
	}
	var out []string
	for _, p := range Profiles() {
		if seen[p] && p != RFC6749 {
			out = append(out, string(p))
		}
	}
	if len(out) == 0 {
		return RFC6749, nil
	}
	return Profile(strings.Join(out, ",")), nil
}

// Has reports whether the profile includes q: every profile includes rfc6749.
func (p Profile) Has(q Profile) bool {
	if q == RFC6749 || q == "" {
		return true
	}
	return slices.Contains(strings.Split(string(p), ","), string(q))
}

// InProfile reports whether the row is judged under the profile: the security BCP's rows (2.F)
// only under bcp, the OAuth 2.1 differences (2.G) only under oauth2.1, every other row always.
func (r Row) InProfile(p Profile) bool {
	switch r.Group {
	case "2.F":
		return p.Has(BCP)
	case "2.G":
		return p.Has(OAuth21)
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
		if rg.profiles == nil || slices.ContainsFunc(rg.profiles, p.Has) {
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
