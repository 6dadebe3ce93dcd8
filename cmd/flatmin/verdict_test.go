package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/oracle"
)

// etaStarInside returns the oracle's estimate of η* for testdata/q.npy at
// B = 4, with replacement, as stability --json prints it (17 significant
// digits: the float64 itself), after checking that it lies strictly inside
// the enclosure of η*.
func etaStarInside(t *testing.T) float64 {
	t.Helper()
	code, out, errs := runCmd("stability", "--grads", testdata("q.npy"), "--lr", "0.1", "--batch", "4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, v := orderedJSON(t, out)
	lo, mid, hi := number(t, v["eta_star_with_lo"]), number(t, v["eta_star_with"]), number(t, v["eta_star_with_hi"])
	if !(lo < mid && mid < hi) {
		t.Fatalf("η* = %v is not strictly inside its enclosure [%v, %v]: no η is undecided", mid, lo, hi)
	}
	return mid
}

// TestCheckExitStatus: measure --check and stability --check exit 0 at a
// stable η, 3 at an unstable one (here also above Theorem 3.3's bound),
// 4 at the oracle's estimate of η*, strictly inside its enclosure, where
// the enclosure of ρ contains 1 too (undecided: Decide calls Lo < η <= Hi
// undecided; at η = Hi itself ρ may already be proven above 1, as it is
// here), 1 for bad data and 2 for a
// usage error, with the report on stdout and nothing on stderr for 0, 3 and
// 4. The verdict line says the same.
func TestCheckExitStatus(t *testing.T) {
	q, e := testdata("q.npy"), testdata("e.npy")
	edge := strconv.FormatFloat(etaStarInside(t), 'g', -1, 64)
	for _, cmd := range []string{"measure", "stability"} {
		for _, tc := range []struct {
			lr   string
			code int
			word string
		}{
			{"0.05", exitOK, ": linearly stable"},
			{"0.5", exitUnstable, "(violated); "},
			{edge, exitUndecided, ": undecided"},
		} {
			args := []string{cmd, "--grads", q, "--residuals", e, "--lr", tc.lr, "--batch", "4", "--check"}
			code, out, errs := runCmd(args...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			last := lines[len(lines)-1]
			if code != tc.code || errs != "" || !strings.HasPrefix(last, "verdict: ") || !strings.Contains(last, tc.word) {
				t.Errorf("%v: exit %d, stderr %q, last line %q; want exit %d, a verdict with %q", args, code, errs, last, tc.code, tc.word)
			}
			// Without --check the same verdict exits 0.
			if code, _, _ := runCmd(args[:len(args)-1]...); code != exitOK {
				t.Errorf("%v without --check: exit %d", args, code)
			}
		}
		if code, out, errs := runCmd(cmd, "--grads", testdata("none.npy"), "--residuals", e, "--lr", "0.5", "--batch", "4", "--check"); code != exitFailure || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s --check on a missing file: exit %d, stdout %q, stderr %q; want exit 1 and one line", cmd, code, out, errs)
		}
	}
	code, out, errs := runCmd("measure", "--grads", q, "--residuals", e, "--check")
	if code != exitUsage || out != "" || !strings.Contains(errs, "--check needs --lr and --batch") {
		t.Errorf("measure --check without --lr: exit %d, stdout %q, stderr %q; want a usage error", code, out, errs)
	}
}

// TestAssessment: how the oracle's verdict and the necessary conditions make
// the status --check acts on, and the verdict's words.
func TestAssessment(t *testing.T) {
	// flatness 10, λ_1 = 3, η = 0.5: GD's limit is 2/η = 4.
	mk := func(proven oracle.Verdict, thm33, prop34 float64) assessment {
		return assessment{flatness: 10, lambdaMax: 3, eta: 0.5, sampling: "with replacement", etaStar: 0.6, proven: proven,
			conditions: stabilityConditions(10, 3, 0.5, thm33, prop34)}
	}
	for _, tc := range []struct {
		name          string
		a             assessment
		status        oracle.Verdict
		code          int
		contains, not string
	}{
		{"stable, bounds hold", mk(oracle.Stable, 40, 50), oracle.Stable, exitOK, "flatness 10 is 25 % of Theorem 3.3's bound 40; η = 0.5 is 0.833 of the exact critical rate η* = 0.6 (batches drawn with replacement): linearly stable", "violat"},
		{"unstable, proven", mk(oracle.Unstable, 40, 50), oracle.Unstable, exitUnstable, ": linearly unstable", "violat"},
		{"undecided, bounds hold", mk(oracle.Undecided, 40, 50), oracle.Undecided, exitUndecided, ": undecided", "violat"},
		// A condition violated decides what the oracle cannot.
		{"undecided, Theorem 3.3 violated", mk(oracle.Undecided, 9, 50), oracle.Unstable, exitUnstable, "flatness 10 is 111 % of Theorem 3.3's bound 9 (violated)", ""},
		{"undecided, Proposition 3.4 violated", mk(oracle.Undecided, 40, 9.5), oracle.Unstable, exitUnstable, "flatness 10 violates Proposition 3.4's bound (limit 9.5)", ""},
		// Within the margin of 1e-6 a condition is rounding, not violated.
		{"undecided, Theorem 3.3 at the margin", mk(oracle.Undecided, 10/(1+0.5e-6), 50), oracle.Undecided, exitUndecided, ": undecided", "violat"},
		{"undecided, Theorem 3.3 past the margin", mk(oracle.Undecided, 10/(1+2e-6), 50), oracle.Unstable, exitUnstable, "(violated)", ""},
		// Without replacement Proposition 3.4 is not checked.
		{"no Proposition 3.4", mk(oracle.Undecided, 40, math.NaN()), oracle.Undecided, exitUndecided, ": undecided", "Proposition"},
		// A proof of stability stands against a violated condition, and the
		// verdict says they disagree.
		{"stable, bound violated", mk(oracle.Stable, 9, 50), oracle.Stable, exitOK, "linearly stable, proven by the oracle (the violated bound contradicts", ""},
		{"μ0 <= 0", mk(oracle.Stable, math.Inf(1), math.Inf(1)), oracle.Stable, exitOK, "Theorem 3.3 gives no bound", ""},
	} {
		if s, c, w := tc.a.status(), tc.a.exitStatus(), tc.a.sentence(); s != tc.status || c != tc.code ||
			!strings.Contains(w, tc.contains) || tc.not != "" && strings.Contains(w, tc.not) || strings.Contains(w, "\n") {
			t.Errorf("%s: status %v, exit %d, verdict %q; want %v, %d, with %q and without %q", tc.name, s, c, w, tc.status, tc.code, tc.contains, tc.not)
		}
	}
	// GD's condition: λ_1 = 5 > 2/η = 4.
	a := assessment{flatness: 10, lambdaMax: 5, eta: 0.5, sampling: "with replacement", etaStar: 0.3, proven: oracle.Undecided,
		conditions: stabilityConditions(10, 5, 0.5, 40, 50)}
	if a.status() != oracle.Unstable || !strings.Contains(a.sentence(), "λ_1 5 violates GD's λ_1 <= 2/η (limit 4)") {
		t.Errorf("λ_1 > 2/η: status %v, verdict %q", a.status(), a.sentence())
	}
	// Without η: what the data say.
	a = assessment{flatness: 10, lambdaMax: 4}
	if w := a.sentence(); !strings.Contains(w, "GD is linearly stable here only for η <= 2/λ_1 = 0.5") {
		t.Errorf("without η: %q", w)
	}
}

// TestVerdictInJSON: the JSON's verdict is the table's last line.
func TestVerdictInJSON(t *testing.T) {
	for _, cmd := range []string{"measure", "stability"} {
		args := []string{cmd, "--grads", testdata("q.npy"), "--residuals", testdata("e.npy"), "--lr", "0.05", "--batch", "4"}
		_, table, _ := runCmd(args...)
		_, js, _ := runCmd(append(args, "--json")...)
		var v struct{ Verdict string }
		if err := json.Unmarshal([]byte(js), &v); err != nil {
			t.Fatal(err)
		}
		if v.Verdict == "" || !strings.HasSuffix(table, "\nverdict: "+v.Verdict+"\n") {
			t.Errorf("%s: JSON verdict %q is not the table's last line:\n%s", cmd, v.Verdict, table)
		}
	}
}
