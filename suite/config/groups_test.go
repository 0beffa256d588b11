package config

import (
	"slices"
	"testing"
)

// Every option has a group in the help, and every entry of the group table names an option, so
// an option added to options.go without a group fails here rather than missing from the help.
func TestEveryOptionHasAGroup(t *testing.T) {
	names := map[string]bool{}
	for _, opt := range options {
		name := opt.flag
		if name == "" {
			name = opt.yaml
		}
		names[name] = true
		if g := GroupOf(name); !slices.Contains(Groups, g) {
			t.Errorf("option %s has no group in groups.go (one of %v)", name, Groups)
		}
	}
	for name := range groups {
		if !names[name] {
			t.Errorf("groups.go names %s, which is no option", name)
		}
	}
}
