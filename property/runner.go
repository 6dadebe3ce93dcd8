package property

import (
	"flag"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Status of a claim in the ledger.
type Status string

const (
	Verified   Status = "verified"
	Failed     Status = "FAILED"
	NotChecked Status = "not yet checked"
	// Reproduced and NotReproduced are the statuses of an experiment row:
	// its criterion, fixed before the runs, held or did not. Not reproduced
	// is a finding about the paper, shown with its numbers; it does not fail
	// the ledger. Failed stays reserved for a check that broke.
	Reproduced    Status = "reproduced"
	NotReproduced Status = "NOT reproduced"
)

// Result is what running one claim found.
type Result struct {
	ID        string `json:"id"`
	Statement string `json:"statement"`
	Kind      string `json:"kind"`         // the kinds of the checks that ran, "exact + property"
	Planned   string `json:"planned_kind"` // the kinds of check the claim asks for
	Status    Status `json:"status"`
	Cases     int    `json:"cases"`
	// The cases by what they decided (see T.Vacuous and T.Undecided):
	// Checked + Vacuous + Undecided + Skipped = Cases.
	Checked   int           `json:"checked"`
	Vacuous   int           `json:"vacuous"`
	Undecided int           `json:"undecided"`
	Skipped   int           `json:"skipped"`
	Worst     *float64      `json:"worst_margin"` // nil when no case ran
	WorstAt   string        `json:"worst_margin_at,omitempty"`
	Tallies   []Tally       `json:"tallies,omitempty"`
	Failure   string        `json:"failure,omitempty"`  // the minimal counterexample rapid found
	Findings  []Finding     `json:"findings,omitempty"` // of an experiment row
	Controls  []ControlRun  `json:"controls,omitempty"`
	Duration  time.Duration `json:"-"`
}

// ControlRun is the outcome of one negative control: Caught must be true.
type ControlRun struct {
	Name           string   `json:"name"`
	Wrong          string   `json:"wrong"`
	Caught         bool     `json:"caught"`
	Counterexample string   `json:"counterexample,omitempty"`
	Erratum        *Erratum `json:"erratum,omitempty"`
}

// Options of a ledger run. Seed 0 is replaced by DefaultSeed so that runs
// are reproducible; Checks 0 keeps rapid's default (100 cases per check).
type Options struct {
	Seed   uint64
	Checks int
	// Long runs the longer statistical sweeps (larger samples, more
	// replicates) that checks read through T.Long; the default run keeps
	// them short enough for CI.
	Long bool
	// CacheDir, when not empty, is the run cache of `flatmin experiment`
	// (experiment.RunOptions.CacheDir): the experiment rows read back the
	// trained runs they find there and keep there those they train, so that
	// a long ledger run after `flatmin experiment all` with the same seed
	// does not train its networks again.
	CacheDir string
}

// DefaultSeed is the seed of `flatmin verify` and of `go test ./property`.
const DefaultSeed = 20221011

// Run runs every check and control of c with its own rapid.TB, the same
// checks `go test ./property` runs through testing.T.
func Run(c Claim, opt Options) Result {
	start := time.Now()
	res := Result{ID: c.ID, Statement: c.Statement, Status: NotChecked, Planned: joinKinds(c.Kinds)}
	if !c.Checked() {
		// A misprint can be shown before the claim itself is checked.
		for _, ctl := range c.Controls {
			if ctl.Erratum != nil {
				res.Controls = append(res.Controls, runControl(c.ID, ctl, opt.Seed))
			}
		}
		return res
	}
	res.Status = Verified
	var kinds []string
	rec := newRecord()
	rec.long, rec.cacheDir = opt.Long, opt.CacheDir
	for _, chk := range c.Checks {
		if !contains(kinds, string(chk.Kind)) {
			kinds = append(kinds, string(chk.Kind))
		}
		out := runRapid(c.ID+"/"+chk.Name, opt, chk.Cases, wrapInto(chk.Run, rec))
		if out.failed {
			res.Status = Failed
			res.Failure = chk.Name + ": " + out.counterexample()
		}
	}
	res.Kind = strings.Join(kinds, " + ")
	res.Cases = rec.cases
	res.Checked, res.Vacuous, res.Undecided, res.Skipped = rec.checked, rec.vacuous, rec.undecided, rec.skipped
	if res.Status == Verified && res.Checked*minCheckedShare < res.Cases {
		res.Status = Failed
		res.Failure = fmt.Sprintf("only %d of %d cases checked (%d vacuous, %d undecided, %d skipped): at least 1 in %d must be",
			res.Checked, res.Cases, res.Vacuous, res.Undecided, res.Skipped, minCheckedShare)
	}
	if rec.cases > 0 && !math.IsInf(rec.worst, 1) {
		w := rec.worst
		res.Worst, res.WorstAt = &w, rec.worstAt
	}
	res.Tallies = rec.tallies()
	res.Findings = rec.findings
	if res.Status == Verified && len(rec.findings) > 0 {
		res.Status = Reproduced
		for _, f := range rec.findings {
			if !f.Reproduced {
				res.Status = NotReproduced
			}
		}
	}
	for _, ctl := range c.Controls {
		cr := runControl(c.ID, ctl, opt.Seed)
		if !cr.Caught {
			res.Status = Failed
			res.Failure = strings.TrimPrefix(res.Failure+"; ", "; ") + "negative control " + ctl.Name + " was not caught"
		}
		res.Controls = append(res.Controls, cr)
	}
	res.Duration = time.Since(start)
	return res
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, " + ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// minCheckedShare: a claim passes only if at least one case in
// minCheckedShare was checked (decided by an assertion that could fail),
// the others being vacuous, undecided or skipped; a claim verified mostly
// on cases where it cannot fail is a failed claim.
const minCheckedShare = 4

// controlBudget is how many cases a negative control may take to be caught
// (rapid stops at the first failure, so a caught control is usually cheap).
const controlBudget = 2000

// runControl runs a negative control, which must fail.
func runControl(id string, ctl Control, seed uint64) ControlRun {
	out := runRapid(id+"/control/"+ctl.Name, Options{Seed: seed}, controlBudget, Wrap(ctl.Run))
	cr := ControlRun{Name: ctl.Name, Wrong: ctl.Wrong, Caught: out.failed, Erratum: ctl.Erratum}
	if out.failed {
		cr.Counterexample = out.counterexample()
	}
	return cr
}

// rapidFlags serialises changes to rapid's global flags.
var rapidFlags sync.Mutex

// runRapid runs prop through rapid.Check with a capturing TB, with rapid's
// seed and case count set from opt for the duration of the call.
func runRapid(name string, opt Options, cases int, prop func(*rapid.T)) *captureTB {
	rapidFlags.Lock()
	defer rapidFlags.Unlock()
	seed := opt.Seed
	if seed == 0 {
		seed = DefaultSeed
	}
	n := opt.Checks
	if cases > 0 {
		n = cases
	}
	restore := setFlags(map[string]string{
		"rapid.seed":       strconv.FormatUint(seed, 10),
		"rapid.checks":     strconv.Itoa(casesFlag(n)),
		"rapid.nofailfile": "true",
	}, n > 0)
	defer restore()

	tb := &captureTB{name: name}
	withTestingFlags(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			rapid.Check(tb, prop)
		}()
		<-done
	})
	return tb
}

// casesFlag is the rapid.checks value that makes rapid run n cases: under
// go test -short rapid runs a fifth of rapid.checks (none at all of a
// check of fewer than five cases), and the ledger's case counts are its
// own, not go test's.
func casesFlag(n int) int {
	if testing.Testing() && testing.Short() {
		return 5 * n
	}
	return n
}

// withTestingFlags runs f where rapid can call testing.Short, which panics
// unless package testing's flags are registered (testing.Init) and
// flag.CommandLine is parsed. Under go test both hold before any test runs.
// Outside it
// (flatmin verify links rapid, and through it package testing: accepted,
// since the ledger runs rapid's engine), f runs with flag.CommandLine
// swapped for testingFlagSet, and the program's own flag.CommandLine,
// neither parsed nor given testing's flags, is put back when f returns.
// Callers hold rapidFlags, so no two swaps overlap.
func withTestingFlags(f func()) {
	if testing.Testing() {
		f()
		return
	}
	saved := flag.CommandLine
	defer func() { flag.CommandLine = saved }()
	flag.CommandLine = testingFlagSet()
	f()
}

// testingFlagSet is a parsed flag set holding package testing's flags, with
// their defaults (testing.Short() is false). testing.Init registers them on
// flag.CommandLine once per process, so it runs once, with this set in
// flag.CommandLine's place.
var testingFlagSet = sync.OnceValue(func() *flag.FlagSet {
	fs := flag.NewFlagSet("testing", flag.ContinueOnError)
	saved := flag.CommandLine
	defer func() { flag.CommandLine = saved }()
	flag.CommandLine = fs
	testing.Init()
	_ = fs.Parse(nil)
	return fs
})

// setFlags sets rapid's command-line flags (registered on flag.CommandLine
// by rapid itself, the only way to pass it a seed and a case count) and
// returns a function restoring them. rapid.checks is set only when
// setChecks.
func setFlags(values map[string]string, setChecks bool) func() {
	old := map[string]string{}
	for k, v := range values {
		if k == "rapid.checks" && !setChecks {
			continue
		}
		f := flag.Lookup(k)
		if f == nil {
			panic("property: rapid flag " + k + " is not registered")
		}
		old[k] = f.Value.String()
		if err := f.Value.Set(v); err != nil {
			panic(err)
		}
	}
	return func() {
		for k, v := range old {
			_ = flag.Lookup(k).Value.Set(v)
		}
	}
}

// captureTB is a rapid.TB that records what rapid reports instead of failing
// a Go test; FailNow ends the goroutine like testing.T does.
type captureTB struct {
	name   string
	mu     sync.Mutex
	failed bool
	logs   []string
}

func (c *captureTB) Helper()      {}
func (c *captureTB) Name() string { return c.name }
func (c *captureTB) Logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
}
func (c *captureTB) Log(args ...any)                  { c.Logf("%s", fmt.Sprintln(args...)) }
func (c *captureTB) Skipf(format string, args ...any) { c.Logf(format, args...); runtime.Goexit() }
func (c *captureTB) Skip(args ...any)                 { c.Log(args...); runtime.Goexit() }
func (c *captureTB) SkipNow()                         { runtime.Goexit() }
func (c *captureTB) Errorf(format string, args ...any) {
	c.Logf(format, args...)
	c.Fail()
}
func (c *captureTB) Error(args ...any) { c.Log(args...); c.Fail() }
func (c *captureTB) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	runtime.Goexit()
}
func (c *captureTB) Fatal(args ...any) { c.Error(args...); runtime.Goexit() }
func (c *captureTB) FailNow()          { c.Fail(); runtime.Goexit() }
func (c *captureTB) Fail() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
}
func (c *captureTB) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// counterexample condenses rapid's report of a failure: the property's
// failure message on the minimal case, then that case's labelled draws.
func (c *captureTB) counterexample() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var msg string
	var draws []string
	for _, l := range c.logs {
		switch {
		case strings.HasPrefix(l, "[rapid] failed after"), strings.HasPrefix(l, "[rapid] panic after"):
			first := strings.SplitN(l, "\n", 2)[0]
			if i := strings.Index(first, "tests: "); i >= 0 {
				first = first[i+len("tests: "):]
			}
			msg = first
		case strings.HasPrefix(l, "[rapid] draw "):
			draws = append(draws, strings.TrimPrefix(l, "[rapid] draw "))
		}
	}
	if msg == "" && len(c.logs) > 0 {
		msg = strings.SplitN(c.logs[0], "\n", 2)[0]
	}
	if len(draws) > 0 {
		msg += " [" + strings.Join(draws, "; ") + "]"
	}
	return msg
}
