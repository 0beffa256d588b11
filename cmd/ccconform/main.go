// Command ccconform runs the conformance suite against an OAuth 2.0 provider: the specs of
// package suite, with the reference provider bundled for a run without --provider-url.
//
//	go install github.com/ccconform/ccconform/cmd/ccconform@latest
//	ccconform run                                             # the bundled reference provider
//	ccconform run --provider-url=https://auth.example.com     # any provider
//	ccconform list --label-filter='endpoint:token' --json     # the checks, as JSON
//	ccconform version
//
// Exit codes: 0, the provider conforms; 1, it broke a requirement; 2, nothing was tested (a
// mistake in the command line or the configuration, an unreachable provider, a filter that
// selects nothing).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/ccconform/ccconform/suite"
	"github.com/ccconform/ccconform/suite/registry"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// commands are the subcommands, in the order of the usage.
var commands = []struct{ name, summary string }{
	{"run", "run the suite against a provider (without --provider-url, the bundled reference)"},
	{"list", "list the checks: requirement ID, level, section and what it requires"},
	{"version", "print the suite's version and the checklist revision"},
	{"help", "print this help, or a command's (ccconform help run)"},
}

// run is the whole command; it returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return suite.ExitNotTested
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return runSuite(rest, getenv, stdout, stderr)
	case "list":
		return list(rest, stdout, stderr)
	case "version", "--version", "-version":
		if len(rest) > 0 {
			return mistake(stderr, "ccconform version takes no arguments")
		}
		fmt.Fprintln(stdout, versionLine())
		return suite.ExitPassed
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return suite.ExitPassed
		}
		return run([]string{rest[0], "--help"}, getenv, stdout, stderr)
	default:
		names := make([]string, len(commands))
		for i, c := range commands {
			names[i] = c.name
		}
		if strings.HasPrefix(cmd, "-") {
			return mistake(stderr, fmt.Sprintf("ccconform: %s comes after a command: ccconform run %s", cmd, cmd))
		}
		return mistake(stderr, fmt.Sprintf("ccconform: unknown command %q%s; ccconform help lists the commands", cmd, didYouMean(cmd, names, "")))
	}
}

// versionLine is what `ccconform version` prints.
func versionLine() string {
	return fmt.Sprintf("ccconform %s (checklist %s, %s %s/%s)", suite.Version, registry.Revision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ccconform: the OAuth 2.0 client credentials conformance suite")
	fmt.Fprintln(w, "\nUsage: ccconform <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nccconform <command> --help shows a command's flags. Exit codes: 0 passed, 1 a requirement failed, 2 nothing was tested.")
}

// mistake reports a mistake in the command line in one line and returns exit code 2.
func mistake(stderr io.Writer, line string) int {
	fmt.Fprintln(stderr, line)
	return suite.ExitNotTested
}
