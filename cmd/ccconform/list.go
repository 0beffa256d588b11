package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/registry"
)

// check is one line of `ccconform list`: a requirement row and the specs that judge it.
type check struct {
	ID      string `json:"id"`
	Level   string `json:"level"`
	Doc     string `json:"doc"`
	Section string `json:"section"`
	Summary string `json:"summary"`
	Link    string `json:"link,omitempty"`
	// Profiles are the profiles whose runs judge the row.
	Profiles []string `json:"profiles"`
	// Specs is how many specs judge the row (those the label filter selects, if one is given);
	// 0 for a checklist row no spec covers yet.
	Specs int `json:"specs"`
}

// list is `ccconform list`: every row of the registry, or, with --label-filter, the rows judged
// by the specs the filter selects, which are the rows `ccconform run` with the same filter
// judges. The filter is matched against the specs' labels, as in a run.
func list(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ccconform list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	filter := fs.String("label-filter", "", "")
	asJSON := fs.Bool("json", false, "")
	fs.Bool("no-color", false, "") // list prints no colour; accepted so that run's habits work
	help := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: ccconform list [--label-filter EXPR] [--json]")
		fmt.Fprintln(w, "\nLists every check: requirement ID, level, section and what it requires, with the number of specs that judge it.")
		printGroups(w, []runFlag{
			{"label-filter", "EXPR", "only the rows judged by the specs whose labels match, as ccconform run --label-filter selects them", "selection"},
			{"json", "", "a JSON array of {id, level, doc, section, summary, link, profiles, specs}", "reports"},
		})
	}
	if code, done := parse(fs, args, stdout, stderr, help); done {
		return code
	}
	if err := suite.CheckLabelFilter(*filter); err != nil {
		return mistake(stderr, "ccconform: "+err.Error())
	}
	specs, err := specsPerRow(*filter)
	if err != nil {
		return mistake(stderr, "ccconform: "+err.Error())
	}
	var checks []check
	for _, r := range registry.All() {
		if *filter != "" && specs[r.ID] == 0 {
			continue
		}
		c := check{ID: r.ID, Level: string(r.Level), Doc: r.Doc, Section: r.Section, Summary: r.Summary, Link: r.Link(),
			Profiles: []string{}, Specs: specs[r.ID]}
		for _, p := range registry.Profiles() {
			if r.InProfile(p) {
				c.Profiles = append(c.Profiles, string(p))
			}
		}
		checks = append(checks, c)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if checks == nil {
			checks = []check{}
		}
		if err := enc.Encode(checks); err != nil {
			return mistake(stderr, "ccconform: "+err.Error())
		}
		return suite.ExitPassed
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tSECTION\tSPECS\tREQUIREMENT")
	for _, c := range checks {
		section := c.Doc + " §" + c.Section
		if c.Doc == "scenario" || c.Doc == "load" {
			section = c.Doc + " " + c.Section
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.ID, c.Level, section, c.Specs, c.Summary)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d rows\n", len(checks))
	return suite.ExitPassed
}

// specsPerRow counts, for each requirement ID, the specs that carry it among those the filter
// selects: a dry run of the suite, which sends nothing.
func specsPerRow(filter string) (map[string]int, error) {
	var report types.Report
	ginkgo.ReportAfterSuite("ccconform list", func(r ginkgo.Report) { report = r })
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.DryRun = true
	suiteConfig.LabelFilter = filter
	reporterConfig.NoColor = true
	// A dry run prints every spec it would run; the list is the output here.
	formatter.ColorableStdOut = io.Discard
	ginkgo.RunSpecs(&testingT{}, description, suiteConfig, reporterConfig)
	if report.SpecReports == nil {
		return nil, fmt.Errorf("the dry run of the specs produced no report")
	}
	specs := map[string]int{}
	for _, s := range report.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State != types.SpecStatePassed {
			continue
		}
		for _, l := range slices.Compact(slices.Sorted(slices.Values(s.Labels()))) {
			if _, ok := registry.Lookup(l); ok {
				specs[l]++
			}
		}
	}
	return specs, nil
}
