package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// condition is a necessary condition of linear stability (Definition 3.1):
// at a linearly stable minimum, value <= limit.
type condition struct {
	name         string // "Theorem 3.3's bound", for the verdict
	what         string // "flatness", "λ_1"
	value, limit float64
}

// violationMargin is how far past its limit a condition must be to count as
// violated: value > limit·(1 + 1e-6). Each condition is a consequence of
// stability, so it can only disagree with the oracle's proven verdict
// through rounding: ‖H‖_F and λ_1 carry a relative error of a few n·ε
// (backward-stable eigensolvers, Weyl's inequality), at most about
// 15,000·2.2e-16 ≈ 3.3e-12 at the largest n the oracle takes, and a bound
// sqrt(B/μ0)/η half the relative error of μ0, the smallest eigenvalue of an
// r x r alignment matrix, known to r·ε times that matrix's spread
// (λ_max/λ_min). 1e-6 covers a spread up to 1e-6/(2·15,000·1.1e-16) ≈ 3e5
// at r = 15,000 and far more at the paper's r = 1000, and stays far below
// any violation that means something.
const violationMargin = 1e-6

// violated reports whether the condition fails beyond rounding.
func (c condition) violated() bool { return c.value > c.limit*(1+violationMargin) }

// assessment is what a verdict of measure or stability is made of: the
// flatness, the learning rate, the oracle's verdict at it and the necessary
// conditions of stability the paper states.
type assessment struct {
	flatness, lambdaMax float64
	eta                 float64 // the paper's η; 0 without --lr
	sampling            string  // "with replacement" or "without replacement"
	etaStar             float64 // the oracle's critical rate for that sampling
	proven              oracle.Verdict
	// conditions: first Theorem 3.3's bound on the flatness (the headline),
	// then the others checked (Proposition 3.4, GD's λ_1 <= 2/η).
	conditions []condition
}

// stabilityConditions returns Theorem 3.3's bound thm33 (for the sampling at hand),
// Proposition 3.4's prop34 (NaN where it does not apply: without
// replacement) and GD's λ_1 <= 2/η as necessary conditions. GD's is one for
// SGD too, for every B and either sampling: the mean of linearized SGD
// (eq. 5) follows GD, E[θ_{t+1}] = (I - ηH) E[θ_t], and E[L] = Tr(H E[θθᵀ])/2
// >= E[θ]ᵀH E[θ]/2 grows when λ_1 > 2/η (Lemma 3.2's r(θ) > 1 on the top
// eigenvector).
func stabilityConditions(flatness, lambdaMax, eta, thm33, prop34 float64) []condition {
	cs := []condition{{"Theorem 3.3's bound", "flatness", flatness, thm33}}
	if !math.IsNaN(prop34) {
		cs = append(cs, condition{"Proposition 3.4's bound", "flatness", flatness, prop34})
	}
	return append(cs, condition{"GD's λ_1 <= 2/η", "λ_1", lambdaMax, 2 / eta})
}

// status is the verdict --check acts on. The oracle's verdict is proven and
// decides where it can; a violated condition proves instability too, and
// decides where the oracle cannot (η within its enclosure of η*). Where the
// oracle proves stability, a violated condition can only be rounding in
// that condition (each is implied by stability), and the proof stands.
func (a assessment) status() oracle.Verdict {
	if a.proven == oracle.Undecided {
		for _, c := range a.conditions {
			if c.violated() {
				return oracle.Unstable
			}
		}
	}
	return a.proven
}

// exitStatus is the exit status of --check for the assessment: exitUnstable,
// exitUndecided or exitOK.
func (a assessment) exitStatus() int {
	switch a.status() {
	case oracle.Unstable:
		return exitUnstable
	case oracle.Undecided:
		return exitUndecided
	}
	return exitOK
}

// sentence is the verdict in words, one line, for example
//
//	flatness 14.06 is 28.4 % of Theorem 3.3's bound 49.51; η = 0.05 is 0.455
//	of the exact critical rate η* = 0.1099 (batches drawn with replacement):
//	linearly stable
//
// Without a learning rate it says what the data alone say: the largest η
// at which GD could be stable here.
func (a assessment) sentence() string {
	if a.eta == 0 {
		return fmt.Sprintf("flatness ‖H‖_F = %.4g, λ_1 = %.4g: GD is linearly stable here only for η <= 2/λ_1 = %.4g; "+
			"--lr and --batch give Theorem 3.3's bound and the exact critical rate", a.flatness, a.lambdaMax, 2/a.lambdaMax)
	}
	var parts []string
	for i, c := range a.conditions {
		switch {
		case i == 0 && math.IsInf(c.limit, 1):
			parts = append(parts, fmt.Sprintf("flatness %.4g: Theorem 3.3 gives no bound (μ0 <= 0: some direction has no noise)", c.value))
		case i == 0:
			s := fmt.Sprintf("flatness %.4g is %.3g %% of %s %.4g", c.value, 100*c.value/c.limit, c.name, c.limit)
			if c.violated() {
				s += " (violated)"
			}
			parts = append(parts, s)
		case c.violated():
			parts = append(parts, fmt.Sprintf("%s %.4g violates %s (limit %.4g)", c.what, c.value, c.name, c.limit))
		}
	}
	parts = append(parts, fmt.Sprintf("η = %.4g is %.3g of the exact critical rate η* = %.4g (batches drawn %s)",
		a.eta, a.eta/a.etaStar, a.etaStar, a.sampling))
	var word string
	switch a.status() {
	case oracle.Stable:
		word = "linearly stable"
		for _, c := range a.conditions {
			if c.violated() {
				word = "linearly stable, proven by the oracle (the violated bound contradicts the proof: rounding in the bound)"
				break
			}
		}
	case oracle.Unstable:
		word = "linearly unstable"
	default:
		word = "undecided: η is within the oracle's enclosure of η*, too close to the edge to tell"
	}
	return strings.Join(parts, "; ") + ": " + word
}

// rowFloat returns the value of the row key as a float64 (NaN for nil).
func rowFloat(rows []row, key string) (float64, error) {
	for _, r := range rows {
		if r.key != key {
			continue
		}
		switch v := r.value.(type) {
		case float64:
			return v, nil
		case nil:
			return math.NaN(), nil
		}
		return 0, fmt.Errorf("internal error: row %s is %T, not a number", key, r.value)
	}
	return 0, fmt.Errorf("internal error: no row %s", key)
}

// rowFloats returns the values of keys, as rowFloat.
func rowFloats(rows []row, keys ...string) ([]float64, error) {
	out := make([]float64, len(keys))
	for i, k := range keys {
		var err error
		if out[i], err = rowFloat(rows, k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withEta returns rows with the row of the paper's η inserted before the
// row before (nil η when sgd is nil): the η every bound after it uses.
func withEta(rows []row, before string, sgd *theory.SGD, conv lossConvention) []row {
	var eta any
	if sgd != nil {
		eta = sgd.Eta
	}
	r := row{"eta", eta, "η of the paper's loss Σe²/(2n), which the bounds use: " + conv.factor + " for --lr with --loss " + conv.name}
	for i := range rows {
		if rows[i].key == before {
			return append(rows[:i:i], append([]row{r}, rows[i:]...)...)
		}
	}
	return append(rows, r)
}

// measureOutput is measure's output: its rows with η, the assessment they
// make (with replacement, the sampling measure's oracle uses), and the
// spectrum asked for.
func measureOutput(st *theory.State, rows []row, sgd *theory.SGD, conv lossConvention, top, bins int) (output, error) {
	v, err := rowFloats(rows, "flatness", "lambda_max", "bound_thm33", "bound_prop34", "eta_star_with")
	if err != nil {
		return output{}, err
	}
	a := assessment{flatness: v[0], lambdaMax: v[1], sampling: "with replacement"}
	if sgd != nil {
		a.eta, a.etaStar = sgd.Eta, v[4]
		a.proven = oracle.Undecided
		for _, r := range rows {
			if r.key == "stable_with" {
				a.proven = parseVerdict(r.value)
			}
		}
		a.conditions = stabilityConditions(a.flatness, a.lambdaMax, a.eta, v[2], v[3])
	}
	spec, err := newSpectrum(st, top, bins)
	if err != nil {
		return output{}, err
	}
	return output{rows: withEta(rows, "bound_gd_lambda_max", sgd, conv), missingNote: "needs --lr and --batch",
		spectrum: spec, assessment: a}, nil
}

// parseVerdict reads back a verdict a row holds as its word; anything else
// is Undecided.
func parseVerdict(v any) oracle.Verdict {
	for _, w := range []oracle.Verdict{oracle.Stable, oracle.Unstable} {
		if v == w.String() {
			return w
		}
	}
	return oracle.Undecided
}

// stabilityOutput is stability's output: its rows with η, the assessment
// for the chosen sampling (Proposition 3.4 is a bound for batches drawn
// with replacement only) and the spectrum asked for.
func stabilityOutput(st *theory.State, rows []row, h theory.SGD, conv lossConvention, without bool, verdict oracle.Verdict, top, bins int) (output, error) {
	keys := []string{"fro_H", "lambda_max", "eta_star_with", "bound_thm33", "bound_prop34"}
	sampling := "with replacement"
	if without {
		keys = []string{"fro_H", "lambda_max", "eta_star_without", "bound_thm33_without_replacement"}
		sampling = "without replacement"
	}
	v, err := rowFloats(rows, keys...)
	if err != nil {
		return output{}, err
	}
	prop34 := math.NaN()
	if !without {
		prop34 = v[4]
	}
	a := assessment{flatness: v[0], lambdaMax: v[1], eta: h.Eta, sampling: sampling, etaStar: v[2], proven: verdict,
		conditions: stabilityConditions(v[0], v[1], h.Eta, v[3], prop34)}
	spec, err := newSpectrum(st, top, bins)
	if err != nil {
		return output{}, err
	}
	return output{rows: withEta(rows, "stable", &h, conv), missingNote: "does not apply", spectrum: spec, assessment: a}, nil
}
