package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/flatmin/flatmin/property"
)

// defaultChecks is the number of cases per property check that verify runs:
// ten times rapid's default, which `go test ./property` uses.
const defaultChecks = 1000

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", property.DefaultSeed, "seed of the generated cases (same seed, same cases, same bits)")
	checks := fs.Int("checks", defaultChecks, "cases per property check")
	only := fs.String("only", "", "comma-separated claim IDs to run (default: all)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	long := fs.Bool("long", false, "run the long statistical sweeps (larger samples, more replicates)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: flatmin verify [--seed N] [--checks N] [--only ID,...] [--json] [--long]")
		fmt.Fprintln(stderr, "Runs the claims ledger; exit status 0 iff no checked claim failed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "flatmin verify: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *checks < 1 {
		fmt.Fprintf(stderr, "flatmin verify: --checks must be >= 1, got %d\n", *checks)
		return 2
	}
	var ids []string
	if *only != "" {
		for _, id := range strings.Split(*only, ",") {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	rep, err := property.RunLedger(property.Options{Seed: *seed, Checks: *checks, Long: *long}, ids, ledgerProgress(stderr))
	if err != nil {
		fmt.Fprintf(stderr, "flatmin verify: %v\n", err)
		return 2
	}
	if *asJSON {
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "flatmin verify: %v\n", err)
			return 2
		}
	} else {
		rep.WriteTable(stdout)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// ledgerProgress returns a progress callback that draws a bar on w when w
// is a terminal, and nil (quiet) when it is piped or a file.
func ledgerProgress(w io.Writer) func(i, n int, id string) {
	if !isTerminal(w) {
		return nil
	}
	var bar *progress
	return func(i, n int, id string) {
		if bar == nil {
			bar = newProgress(w, "verify", n)
		}
		bar.set(i, id)
		if i == n-1 {
			defer bar.done()
		}
	}
}
