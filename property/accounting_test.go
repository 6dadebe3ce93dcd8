package property

import (
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
