package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/flatmin/flatmin/property"
)

// defaultChecks is the number of cases per property check that verify runs:
// ten times rapid's default, which `go test ./property` uses.
const defaultChecks = 1000

const verifyHelp = `usage: flatmin verify [--seed N] [--checks N] [--only ID,...] [--json] [--long] [--cache DIR]

Runs the claims ledger: every claim of the paper that flatmin checks, with
its checks and negative controls, and every misprint found, printed as a
table (one JSON object with --json). The same seed gives the same cases and
the same bits.

Exit status: 0 if no checked claim failed, 1 if one did (or the report
cannot be written), 2 for a usage error (bad or missing flags, an unknown
claim ID).

flags:`

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", verifyHelp, stdout, stderr)
	seed := fs.Uint64("seed", property.DefaultSeed, "seed of the generated cases (same seed, same cases, same bits)")
	checks := fs.Int("checks", defaultChecks, "cases per property check")
	only := fs.String("only", "", "comma-separated claim IDs to run (default: all)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	long := fs.Bool("long", false, "run the long statistical sweeps (larger samples, more replicates)")
	cache := fs.String("cache", "", "run cache of `flatmin experiment` (its DIR/runs or --cache): the experiment rows read back the runs found there instead of training them, and keep there those they train")
	if _, code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "verify", "unexpected argument %q", fs.Arg(0))
	}
	if *checks < 1 {
		return usageError(stderr, "verify", "--checks must be >= 1, got %d", *checks)
	}
	var ids []string
	if *only != "" {
		for _, id := range strings.Split(*only, ",") {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	rep, err := property.RunLedger(property.Options{Seed: *seed, Checks: *checks, Long: *long, CacheDir: *cache}, ids, ledgerProgress(stderr))
	if err != nil { // an unknown claim ID, found before anything runs
		return usageError(stderr, "verify", "--only: %v", err)
	}
	if *asJSON {
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "flatmin verify: %v\n", err)
			return exitFailure
		}
	} else {
		rep.WriteTable(stdout)
	}
	if !rep.OK() {
		return exitFailure
	}
	return exitOK
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
