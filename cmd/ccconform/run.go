package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/bundled"
	"github.com/ccconform/ccconform/suite/config"
)

// description is the Ginkgo suite's name, as the suite's own test calls it.
const description = "OAuth 2.0 client credentials conformance"

// ginkgoFlags are the flags of `ccconform run` that configure Ginkgo rather than the suite.
type ginkgoFlags struct {
	labelFilter             string
	focus, skip             multiString
	jsonReport, junitReport string
	verbose, noColor        bool
}

// runFlag is one flag of a command, for its help: name, placeholder of its value, help, group.
type runFlag struct{ name, value, help, group string }

// ginkgoFlagHelp documents the Ginkgo flags, in the order of the help.
var ginkgoFlagHelp = []runFlag{
	{"label-filter", "EXPR", "run the specs whose labels match: 'endpoint:token', '!slow', 'C-6749-5.2-b || rfc6750:3' (ccconform list shows them)", config.GroupSelection},
	{"focus", "REGEXP", "run only the specs whose text matches (repeatable)", config.GroupSelection},
	{"skip", "REGEXP", "leave out the specs whose text matches (repeatable)", config.GroupSelection},
	{"json-report", "FILE", "write Ginkgo's JSON report (per spec; the results table is its ccconform:results entry)", config.GroupReports},
	{"junit-report", "FILE", "write Ginkgo's JUnit report (per spec)", config.GroupReports},
	{"v", "", "verbose: every spec, and the documented scenario as a transcript", config.GroupReports},
	{"no-color", "", "no colour (also when NO_COLOR is set)", config.GroupReports},
}

// runFlagSet declares the flags of `ccconform run`: Ginkgo's into g, and every option of the
// suite, bound to the suite's own flag values so that the suite reads what was given.
func runFlagSet(g *ginkgoFlags) (*flag.FlagSet, []runFlag) {
	fs := flag.NewFlagSet("ccconform run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&g.labelFilter, "label-filter", "", "")
	fs.Var(&g.focus, "focus", "")
	fs.Var(&g.skip, "skip", "")
	fs.StringVar(&g.jsonReport, "json-report", "", "")
	fs.StringVar(&g.junitReport, "junit-report", "", "")
	fs.BoolVar(&g.verbose, "v", false, "")
	fs.BoolVar(&g.noColor, "no-color", false, "")
	help := slices.Clone(ginkgoFlagHelp)
	for _, o := range suite.Options() {
		if o.Flag == "" {
			continue
		}
		f := flag.CommandLine.Lookup(o.Flag)
		if f == nil {
			continue
		}
		fs.Var(f.Value, o.Flag, o.Help)
		h := o.Help
		if d := shownDefault(o); d != "" {
			h += " [" + d + "]"
		}
		help = append(help, runFlag{o.Flag, valueName(f, o.Default), h, config.GroupOf(o.Flag)})
	}
	return fs, help
}

// runSuite is `ccconform run`.
func runSuite(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var g ginkgoFlags
	fs, help := runFlagSet(&g)
	if code, done := parse(fs, args, stdout, stderr, func(w io.Writer) { runHelp(w, help) }); done {
		return code
	}
	if err := suite.CheckLabelFilter(g.labelFilter); err != nil {
		return mistake(stderr, "ccconform: "+err.Error())
	}
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.LabelFilter = g.labelFilter
	suiteConfig.FocusStrings = g.focus
	suiteConfig.SkipStrings = g.skip
	reporterConfig.JSONReport = g.jsonReport
	reporterConfig.JUnitReport = g.junitReport
	reporterConfig.Verbose = g.verbose
	reporterConfig.NoColor = g.noColor || getenv("NO_COLOR") != ""
	suite.SetBundled(bundled.Reference())
	return suite.Execute(&testingT{}, description, suiteConfig, reporterConfig)
}

// parse parses a command's flags. done says the command ends here, with code: after its help
// (0), or after a mistake, said in one line (2).
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, help func(io.Writer)) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		help(stdout)
		return suite.ExitPassed, true
	case err != nil:
		return mistake(stderr, flagMistake(fs, err)), true
	case fs.NArg() > 0:
		return mistake(stderr, fmt.Sprintf("%s: unexpected argument %q: it takes flags only (%s --help lists them)", fs.Name(), fs.Arg(0), fs.Name())), true
	}
	return 0, false
}

// flagMistake is the one line that says what is wrong with a flag, with a suggestion for a
// mistyped name.
func flagMistake(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		return fmt.Sprintf("%s: unknown flag --%s%s; %s --help lists the flags", fs.Name(), name, didYouMean(name, names, "--"), fs.Name())
	}
	return fmt.Sprintf("%s: %s; %s --help lists the flags", fs.Name(), msg, fs.Name())
}

// runHelp prints the flags of `ccconform run`, grouped by purpose, one line each.
func runHelp(w io.Writer, flags []runFlag) {
	fmt.Fprintln(w, "Usage: ccconform run [flags]")
	fmt.Fprintln(w, "\nRuns the conformance suite against a provider; without --provider-url, against the bundled reference provider.")
	printGroups(w, flags)
	var descriptionOnly []string
	for _, o := range suite.Options() {
		if o.Flag == "" {
			descriptionOnly = append(descriptionOnly, o.YAML)
		}
	}
	fmt.Fprintf(w, "\nEvery suite flag can also be set by a variable (--provider-url: %sPROVIDER_URL) or in the target description,\n", config.EnvPrefix)
	fmt.Fprintf(w, "which alone declares %s. Exit codes: 0 passed, 1 a requirement failed, 2 nothing was tested.\n", strings.Join(descriptionOnly, ", "))
}

// groupTitles head the groups of the help.
var groupTitles = map[string]string{
	config.GroupTarget:    "Target: the provider and what it offers",
	config.GroupSelection: "Selection: which checks run, under which rules",
	config.GroupReports:   "Reports and output",
	config.GroupGate:      "Gate: what fails the run",
}

func printGroups(w io.Writer, flags []runFlag) {
	// A flag too long for the column gets a line of its own.
	const widest = 26
	width := 0
	for _, f := range flags {
		if n := len(flagColumn(f)); n <= widest {
			width = max(width, n)
		}
	}
	for _, g := range config.Groups {
		first := true
		for _, f := range flags {
			if f.group != g {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", groupTitles[g])
				first = false
			}
			if col := flagColumn(f); len(col) > widest {
				fmt.Fprintf(w, "  %s\n  %-*s  %s\n", col, width, "", f.help)
			} else {
				fmt.Fprintf(w, "  %-*s  %s\n", width, col, f.help)
			}
		}
	}
}

func flagColumn(f runFlag) string {
	dashes := "--"
	if len(f.name) == 1 {
		dashes = "-"
	}
	if f.value == "" {
		return dashes + f.name
	}
	return dashes + f.name + " " + f.value
}

// valueName is the placeholder of a suite flag's value in the help, from its name and default.
func valueName(f *flag.Flag, def string) string {
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		return ""
	}
	if _, err := time.ParseDuration(def); err == nil && def != "0" {
		return "DURATION"
	}
	if _, err := strconv.Atoi(def); err == nil {
		return "N"
	}
	switch {
	case strings.HasSuffix(f.Name, "-url"):
		return "URL"
	case strings.HasSuffix(f.Name, "-path"):
		return "PATH"
	case strings.HasSuffix(f.Name, "-file"), strings.HasPrefix(f.Name, "summary-"), strings.HasPrefix(f.Name, "results-"),
		f.Name == "target-config", f.Name == "expected-failures":
		return "FILE"
	}
	return "VALUE"
}

// shownDefault is the default the help shows: none for the demo client's credentials, which
// are long and say nothing.
func shownDefault(o config.OptionInfo) string {
	switch {
	case o.Flag == "client-id" || o.Flag == "client-secret":
		return "default: the scenario's demo client"
	case o.Default == "" || o.Default == "false" || o.Default == "0":
		return ""
	}
	return "default " + o.Default
}

// multiString is a flag that may be given more than once.
type multiString []string

func (m *multiString) String() string     { return strings.Join(*m, ", ") }
func (m *multiString) Set(s string) error { *m = append(*m, s); return nil }

// testingT is what RunSpecs reports a failure to; the exit code comes from suite.Execute.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }
