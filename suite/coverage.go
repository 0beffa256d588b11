package suite

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/ccconform/ccconform/suite/registry"
)

// listCoverage is --coverage: instead of the summary, list which checklist rows the suite's
// specs cover, counted from their labels. Use it with a dry run:
//
//	go tool ginkgo --dry-run ./suite -- --coverage
var listCoverage bool

func init() {
	flag.BoolVar(&listCoverage, "coverage", false, "list the checklist rows covered and not covered (use with ginkgo --dry-run)")
}

// notApplicable lists the checklist rows of RFC 6749 and RFC 6750 that have no spec, each with
// the reason it cannot apply to a client credentials provider tested from outside.
var notApplicable = map[string]string{}

func coverage(r Report) string {
	specs := map[string]int{}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		for _, l := range s.Labels() {
			if _, ok := registry.Lookup(l); ok {
				specs[l]++
			}
		}
	}
	var b strings.Builder
	b.WriteString("\nchecklist coverage, counted from the suite's spec labels\n")
	for _, group := range registry.Groups() {
		var covered, missing, na []string
		title := ""
		for _, req := range registry.All() {
			if req.Group != group {
				continue
			}
			if title == "" {
				title = groupTitle(req)
			}
			switch {
			case specs[req.ID] > 0:
				covered = append(covered, fmt.Sprintf("%s (%d)", req.ID, specs[req.ID]))
			case notApplicable[req.ID] != "":
				na = append(na, req.ID+": "+notApplicable[req.ID])
			default:
				missing = append(missing, req.ID)
			}
		}
		total := len(covered) + len(missing) + len(na)
		fmt.Fprintf(&b, "%s: %d of %d rows covered, %d not applicable, %d not covered\n", title, len(covered), total, len(na), len(missing))
		fmt.Fprintf(&b, "  covered: %s\n", strings.Join(covered, ", "))
		if len(na) > 0 {
			fmt.Fprintf(&b, "  not applicable:\n    %s\n", strings.Join(na, "\n    "))
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			fmt.Fprintf(&b, "  NOT COVERED: %s\n", strings.Join(missing, ", "))
		}
	}
	return b.String()
}

// groupTitle names a checklist section in the coverage listing.
func groupTitle(r registry.Row) string {
	switch r.Group {
	case "scenario":
		return "scenario"
	case "load":
		return "load"
	case "2.J":
		return "2.J JWT client authentication"
	}
	return r.Group + " " + r.Doc
}
