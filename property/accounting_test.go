package property

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// A claim decided mostly on vacuous cases fails; the counts add up.
func TestCaseAccounting(t *testing.T) {
	// The k-th case decides by k, not by rapid's draws (whose
	// distribution, and count under -short, are rapid's to choose).
	claim := func(checkedOneIn int) Claim {
		k := 0
		return Claim{ID: "accounting", Statement: "x <= x + 1", Checks: []Check{{Name: "c", Kind: Property, Cases: 200,
			Run: func(t *T) {
				x := rapid.IntRange(0, 1<<20).Draw(t.T, "x")
				switch k++; {
				case (k-1)%checkedOneIn == 0:
					t.AtMost("x <= x + 1", float64(x), float64(x+1), 0)
				case (k-1)%2 == 1:
					t.Vacuous("odd")
				case (k-1)%4 == 2:
					t.Undecided("2 mod 4")
				}
			}}}}
	}
	for _, tc := range []struct {
		oneIn int
		want  Status
	}{{1, Verified}, {2, Verified}, {16, Failed}} {
		res := Run(claim(tc.oneIn), Options{})
		if res.Status != tc.want {
			t.Errorf("checked 1 in %d: status %v, want %v (%d checked of %d)", tc.oneIn, res.Status, tc.want, res.Checked, res.Cases)
		}
		if res.Checked+res.Vacuous+res.Undecided+res.Skipped != res.Cases {
			t.Errorf("checked 1 in %d: %d + %d + %d + %d != %d cases", tc.oneIn, res.Checked, res.Vacuous, res.Undecided, res.Skipped, res.Cases)
		}
	}
}

// boundingClaims and nearEdgeExempt list exactly the claims whose checks
// compare against a bound (AtMost, AtLeast), so that each has a near-edge
// control or a stated reason not to: every checked claim but the
// experiment rows is run for a few cases.
func TestBoundingClaimsListed(t *testing.T) {
	for _, c := range Claims() {
		if !c.Checked() || c.Checks[0].Kind == Experiment {
			continue
		}
		rec := newRecord()
		for _, chk := range c.Checks {
			runRapid(c.ID+"/"+chk.Name, Options{}, 20, wrapInto(chk.Run, rec))
		}
		_, exempt := nearEdgeExempt[c.ID]
		if listed := slices.Contains(boundingClaims, c.ID) || exempt; listed != (rec.bounds > 0) {
			t.Errorf("%s: %d bound comparisons in 20 cases a check, listed in boundingClaims or nearEdgeExempt: %v", c.ID, rec.bounds, listed)
		}
	}
}
