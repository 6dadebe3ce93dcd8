package property

import (
	"fmt"
	"math"
	"sort"

	"pgregory.net/rapid"
)

// Claim is one row of the ledger.
type Claim struct {
	ID        string
	Section   string // of the paper
	Statement string
	Kinds     []Kind // the kinds of check it asks for
	// Note is a remark on the paper's statement that no check can make
	// (a harmless slip of notation, say); CLAIMS.md prints it.
	Note     string
	Checks   []Check
	Controls []Control
}

// Checked reports whether any check is attached.
func (c Claim) Checked() bool { return len(c.Checks) > 0 }

// Check is one way a claim is checked. Run is a rapid property: it draws its
// inputs from the *T and fails it when the claim does not hold.
type Check struct {
	Name string
	Kind Kind
	Run  func(*T)
	// Cases, when positive, is the number of cases this check runs in place
	// of rapid's default (for example 1 for a deterministic enumeration).
	Cases int
}

// Control is a negative control: a claim's check handed a deliberately
// wrong formula (a dropped factor, the misprinted form) in place of the
// right one, as a value (a function, or a struct of them), on the same
// generator, which must catch it: Run must fail. An Erratum control is the
// paper's own printed form.
type Control struct {
	Name    string
	Wrong   string // what is wrong with it
	Run     func(*T)
	Erratum *Erratum
}

// Erratum is a misprint of the paper, corrected in the ledger.
type Erratum struct {
	Where, Printed, Corrected string
}

// T is the *rapid.T a check runs with, plus a record of how close each case
// came to failing.
type T struct {
	*rapid.T
	rec *record
	cs  *caseState
	// tighten moves every bound of AtMost and AtLeast this fraction of
	// its size toward the other side: 0 for a check, nearEdgeDelta for
	// a near-edge control.
	tighten float64
}

// caseState is what one case did: whether it asserted anything, and
// whether it was marked vacuous or undecided.
type caseState struct {
	asserted, vacuous, undecided bool
}

// record accumulates over the cases of one check.
type record struct {
	cases    int
	worst    float64 // smallest margin seen
	worstAt  string
	tally    map[string]int
	long     bool   // Options.Long
	cacheDir string // Options.CacheDir

	// The cases by what they decided: checked (an assertion that could
	// fail ran), vacuous (T.Vacuous: the claim holds trivially there),
	// undecided (T.Undecided: the tolerance is too wide to decide) and
	// skipped (nothing asserted: the case does not apply).
	checked, vacuous, undecided, skipped int
	// bounds counts the AtMost and AtLeast comparisons (a claim that makes
	// any has a near-edge control).
	bounds int

	// findings of an experiment check: whether the paper's figure was
	// reproduced, which is a finding about the paper, not a failure.
	findings []Finding
}

func newRecord() *record { return &record{worst: math.Inf(1), tally: map[string]int{}} }

// Wrap adapts a check to plain rapid, for rapid.Check, MakeCheck and MakeFuzz.
func Wrap(run func(*T)) func(*rapid.T) {
	return wrapInto(run, newRecord())
}

func wrapInto(run func(*T), rec *record) func(*rapid.T) {
	return func(rt *rapid.T) {
		rec.cases++
		cs := &caseState{}
		run(&T{T: rt, rec: rec, cs: cs})
		switch {
		case cs.vacuous:
			rec.vacuous++
		case cs.undecided:
			rec.undecided++
		case cs.asserted:
			rec.checked++
		default:
			rec.skipped++
		}
	}
}

// Vacuous marks the case as one where the claim holds trivially (its
// hypothesis fails, or its bound is +Inf): it is counted apart from the
// checked cases, and tallied under the reason.
func (t *T) Vacuous(reason string) {
	t.cs.vacuous = true
	t.Tally("vacuous: " + reason)
}

// Undecided marks the case as one whose tolerance is too wide for any
// assertion in it to fail (for example a Davis–Kahan term as large as the
// value compared): counted apart from the checked cases, tallied under
// the reason.
func (t *T) Undecided(reason string) {
	t.cs.undecided = true
	t.Tally("undecided: " + reason)
}

// margin records m (>= 0 passes; smaller is tighter) for the label.
func (t *T) margin(label string, m float64) {
	t.cs.asserted = true
	if m < t.rec.worst || t.rec.worstAt == "" {
		t.rec.worst, t.rec.worstAt = m, label
	}
}

// Long reports whether the run asked for the long statistical sweeps.
func (t *T) Long() bool { return t.rec.long }

// CacheDir is the run cache of the experiment rows (Options.CacheDir), ""
// for none.
func (t *T) CacheDir() string { return t.rec.cacheDir }

// Tally counts a case in a named bucket (for example "η within 10% of η*").
func (t *T) Tally(bucket string) { t.rec.tally[bucket]++ }

// Close fails unless |got - want| <= tol. Its margin is 1 - |got-want|/tol:
// 1 for exact agreement, 0 at the tolerance.
func (t *T) Close(what string, got, want, tol float64) {
	t.Helper()
	err := math.Abs(got - want)
	if !(err <= tol) { // also catches NaN
		t.Fatalf("%s: got %.17g, want %.17g: |error| %.3g exceeds tolerance %.3g", what, got, want, err, tol)
	}
	m := 1.0
	if tol > 0 {
		m = 1 - err/tol
	}
	t.margin(what, m)
}

// Equal fails unless got == want exactly (an exact check).
func (t *T) Equal(what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	t.margin(what, 1)
}

// AtMost fails unless a <= b + tol. Its margin is the relative slack
// (b + tol - a)/(|b| + tol): 0 at the bound, larger when looser.
func (t *T) AtMost(what string, a, b, tol float64) {
	t.Helper()
	t.rec.bounds++
	if t.tighten != 0 { // (0·Inf would turn an infinite bound into NaN)
		b -= t.tighten * math.Abs(b)
	}
	if !(a <= b+tol) {
		t.Fatalf("%s: %.17g > %.17g (by %.3g; tolerance %.3g)", what, a, b, a-b, tol)
	}
	t.margin(what, slack(b+tol-a, math.Abs(b)+tol))
}

// AtLeast fails unless a >= b - tol, with margin (a - b + tol)/(|b| + tol).
func (t *T) AtLeast(what string, a, b, tol float64) {
	t.Helper()
	t.rec.bounds++
	if t.tighten != 0 {
		b += t.tighten * math.Abs(b)
	}
	if !(a >= b-tol) {
		t.Fatalf("%s: %.17g < %.17g (by %.3g; tolerance %.3g)", what, a, b, b-a, tol)
	}
	t.margin(what, slack(a-b+tol, math.Abs(b)+tol))
}

func slack(room, scale float64) float64 {
	if scale == 0 {
		return math.Inf(1)
	}
	return room / scale
}

// tallies returns the tally buckets in a stable order.
func (r *record) tallies() []Tally {
	out := make([]Tally, 0, len(r.tally))
	for k, v := range r.tally {
		out = append(out, Tally{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out
}

// Tally is a named count of cases.
type Tally struct {
	Bucket string `json:"bucket"`
	Count  int    `json:"count"`
}
