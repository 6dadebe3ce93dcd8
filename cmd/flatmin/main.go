// Command flatmin checks, by machine, the claims of Wu, Wang and Su, "When
// does SGD favor flat minima? A quantitative characterization via linear
// stability", and measures the same quantities on a user's own per-sample
// gradients.
//
// Usage:
//
//	flatmin verify  [--seed N] [--checks N] [--only ID,...] [--json] [--long]
//	flatmin measure --grads FILE --residuals FILE [--lr ETA --batch B] [--json]
//	flatmin stability --grads FILE [--residuals FILE] --lr ETA --batch B [--sampling with|without] [--json]
//	flatmin train --model fcn|cnn|rfm|linear [--width M] [--n N] [--lr ETA] [--batch B] [--seed S] [--json] [--out FILE] [--save-grads DIR]
//	flatmin experiment fig1|fig2|fig3|all|fig4 [--runs R] [--seed S] [--out DIR] [--quick]
//
// Run `flatmin <command> --help` for the flags of each command.
package main

import (
	"fmt"
	"io"
	"os"

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
	{"measure", "the paper's quantities (alignment, flatness, bounds) from per-sample gradients and residuals", runMeasure},
	{"stability", "the exact linear-stability oracle: ρ, η*, μ0 and the Section 3 bounds at a minimum", runStability},
	{"train", "train one network of the paper's Appendix A.1 and measure it at the solution", runTrain},
	{"experiment", "reproduce the paper's Figures 1 to 4 as CSV, PNG and SVG", runExperiment},
}

func main() {
	// gonum's algebra (the eigen-decompositions of theory and oracle) runs
	// on numerics' kernels: faster, and the bits the golden files pin. The
	// process exits with it installed, so there is nothing to restore.
	numerics.UseAsGonumBLAS()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "flatmin: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: flatmin <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}
