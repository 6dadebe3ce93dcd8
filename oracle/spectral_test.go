package oracle

import (
	"math"
	"testing"

	"github.com/flatmin/flatmin/fixtures"
)

// TestClimbBisectsAfterThreeSlowSteps pins climb's safeguard: lower bounds
// that converge only linearly (each gain more than half the previous one)
// are followed three times, and the fourth probe is the geometric mean of
// the bracket. The model has its root at 1, μ(x) = 2 - x, and a lower
// bound that closes a tenth of the gap to the root each call: gains 0.1,
// 0.082, 0.068, 0.057.
func TestClimbBisectsAfterThreeSlowSteps(t *testing.T) {
	var probes []float64
	eval := func(x, lo float64) (float64, float64) {
		probes = append(probes, x)
		return 2 - x, lo + (1-lo)/10
	}
	if root := climb(0.5, 2, 1, eval); math.Abs(root-1) > 64*unitRoundoff {
		t.Fatalf("climb found %v, want 1", root)
	}
	lo := 0.5
	for i := 0; i < 4; i++ {
		if probes[i] != lo {
			t.Fatalf("probe %d at %v, want the lower bound %v (probes %v)", i, probes[i], lo, probes[:5])
		}
		lo += (1 - lo) / 10
	}
	if want := math.Sqrt(lo * 2); probes[4] != want {
		t.Errorf("probe 4 at %v, want the geometric mean sqrt(lo·hi) = %v after three slow steps (probes %v)", probes[4], want, probes[:5])
	}
}

// TestExactPathSize: SGD's exact path holds n·r(r+1)/2 entries, at most
// 2^25; n = r = 400 (32,080,000) takes it and n = r = 410 (34,544,550)
// takes the matrix-free one.
func TestExactPathSize(t *testing.T) {
	for _, c := range []struct {
		n     int
		exact bool
	}{{400, true}, {410, false}} {
		spec := fixtures.FeatureSpec{N: c.n, P: c.n, Rank: c.n, Spectrum: fixtures.Geometric, LogCond: 1, Seed: 1}
		o, err := NewOracle(spec.Build(), c.n, c.n)
		if err != nil {
			t.Fatal(err)
		}
		d, err := o.SGD(1, WithReplacement)
		if err != nil {
			t.Fatal(err)
		}
		if d.exact() != c.exact {
			t.Errorf("n = r = %d: exact path %v, want %v", c.n, d.exact(), c.exact)
		}
	}
}
