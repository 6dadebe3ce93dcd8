// Command flatmin checks, by machine, the claims of Wu, Wang and Su, "When
// does SGD favor flat minima? A quantitative characterization via linear
// stability", and measures the same quantities on a user's own per-sample
// gradients.
//
// Usage:
//
//	flatmin verify  [--seed N] [--checks N] [--only ID,...] [--json] [--long]
//	flatmin measure (--grads FILE | --gram FILE [--params P]) --residuals FILE [--lr LR --batch B [--loss L] [--check]]
//	        [--subsample S [--repeats R] [--seed N] [--compare]] [--spectrum all|TOP] [--density BINS] [--json]
//	flatmin stability (--grads FILE | --gram FILE [--params P]) [--residuals FILE] --lr LR --batch B [--loss L] [--sampling with|without] [--check] [--json]
//	flatmin train --model fcn|cnn|rfm|linear [--width M] [--n N] [--lr ETA] [--batch B] [--seed S] [--json] [--out FILE] [--save-grads DIR]
//	flatmin experiment fig1|fig2|fig3|fig5b|all|fig4 [--runs R] [--seed S] [--out DIR] [--quick]
//
// Run `flatmin <command> --help` for the flags of each command. The exit
// status is 0 on success, 1 for a failure, 2 for a usage error, and, for
// measure --check and stability --check, 3 (unstable) or 4 (undecided).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/flatmin/flatmin/numerics"
)

// command is one subcommand: it parses its own flags from args and returns
// the process exit status.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"verify", "run the claims ledger and print what is verified, how, and every misprint found", runVerify},
	{"measure", "the paper's quantities (alignment, flatness, bounds) from per-sample gradients (or their Gram) and residuals", runMeasure},
	{"stability", "the exact linear-stability oracle: ρ, η*, μ0 and the Section 3 bounds at a minimum", runStability},
	{"train", "train one network of the paper's Appendix A.1 and measure it at the solution", runTrain},
	{"experiment", "reproduce the paper's Figures 1 to 4 as CSV, PNG and SVG", runExperiment},
}

// Exit statuses, the same for every command (the README and each command's
// help document them).
const (
	exitOK        = 0 // success, and -h or --help
	exitFailure   = 1 // bad input data, a claim that fails, a run that fails, a file that cannot be written
	exitUsage     = 2 // bad or missing flags or arguments: one line on stderr
	exitUnstable  = 3 // measure and stability --check: the minimum is unstable (assessment.status)
	exitUndecided = 4 // measure and stability --check: the enclosures cannot tell
)

func main() {
	// gonum's algebra (the eigen-decompositions of theory and oracle) runs
	// on numerics' kernels: faster, and the bits the golden files pin. The
	// process exits with it installed, so there is nothing to restore.
	numerics.UseAsGonumBLAS()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status. Help goes to
// stdout; an error is one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "flatmin: no command given (see flatmin --help)")
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, version())
		return exitOK
	case "help": // `flatmin help` and `flatmin help <command>`
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		args = []string{args[1], "--help"}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "flatmin: unknown command %q (see flatmin --help)\n", args[0])
	return exitUsage
}

// usage writes the top-level help: the commands and the exit statuses.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: flatmin <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'flatmin <command> --help' (or 'flatmin help <command>') for the flags
of a command, 'flatmin --version' for the build (module version, VCS
revision, and the kernels' path and cache blocking).

Exit status: 0 on success; 1 for a failure (bad input data, a claim that
fails, a run that fails, a file that cannot be written); 2 for a usage
error (bad or missing flags or arguments), reported in one line on stderr;
flatmin measure --check and stability --check: 3 when the minimum is
unstable (or a bound of the paper is violated), 4 when the verdict is
undecided.
`)
}

// version describes the build from its build info: the module version
// ("(devel)" for a build from a clone), the VCS revision and time, and
// whether the tree had uncommitted changes.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "flatmin (no build info)"
	}
	v := "flatmin " + info.Main.Version
	var rev, at, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev != "" {
		v += ", revision " + rev + dirty
	}
	if at != "" {
		v += ", " + at
	}
	return v + ", " + info.GoVersion + ", " + kernels()
}

// kernels names the numerics implementation the kernels run on, the L2
// size their blocking is scaled to and the L1 size their choice goes by,
// which decide the speed (never the bits) of every result: so a timing
// comes with the path that made it.
func kernels() string {
	name, ignored := numerics.Implementation()
	l2, reported := numerics.CacheL2()
	s := fmt.Sprintf("numerics %s, blocked for a %d KB L2", name, l2>>10)
	if !reported {
		s += " (not reported by the CPU)"
	}
	if l1, reported := numerics.CacheL1(); reported {
		s += fmt.Sprintf(" and a %d KB L1", l1>>10)
	} else {
		s += " and a small L1 (none reported by the CPU)"
	}
	if ignored != "" {
		s += " (" + ignored + ")"
	}
	return s
}
