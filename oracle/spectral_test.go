package oracle

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

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
	if root := climb(0.5, 2, 1, eval); !(math.Abs(root-1) <= 64*unitRoundoff) {
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

// TestClimbStallAtTolerance pins the edge of climb's stall test: a probe
// just above a lower bound that moves it by exactly the tolerance counts
// as stalled, and the next probe is the geometric mean of the bracket. The
// numbers are dyadic so that the move equals tol = 32u(base + lo) exactly:
// lo goes from 1/2 to 1/2 + 2^-47 with base + lo = 2.
func TestClimbStallAtTolerance(t *testing.T) {
	lo0, move := 0.5, 0x1p-47
	base := 2 - (lo0 + move)
	var probes []float64
	eval := func(x, lo float64) (float64, float64) {
		probes = append(probes, x)
		switch len(probes) {
		case 1: // no move: the next is a probe above lo
			return 1.5, lo
		case 2: // the probe is below the root and the bound moves by tol
			return 1.5, lo0 + move
		}
		return 0.5, lo // above the root from here on
	}
	climb(lo0, 1, base, eval)
	if len(probes) < 3 {
		t.Fatalf("climb stopped after %d probes", len(probes))
	}
	if want := math.Sqrt((lo0 + move) * 1); probes[2] != want {
		t.Errorf("third probe at %v, want the geometric mean %v (probes %v)", probes[2], want, probes[:3])
	}
}

// TestLambdaMaxDiagLowRankZeroCoupling: with c = 0 the matrix is diag(d),
// whatever Z: λ_max = max d_k, exactly.
func TestLambdaMaxDiagLowRankZeroCoupling(t *testing.T) {
	d := []float64{0.25, 0.75, -1}
	z := []float64{1, 2, 3, -1, 0.5, 2} // q = 2 rows of length m = 3
	if got := lambdaMaxDiagLowRank(d, z, 2, 0, nil); got != 0.75 {
		t.Errorf("λ_max(diag(d) + 0·ZZᵀ) = %v, want 0.75", got)
	}
}

// TestLambdaMaxDiagLowRankScaled: with S = diag(scale), a zero scale
// uncouples its coordinate; the value agrees with a dense eigensolver on
// diag(d) + c·S Z Zᵀ S to a few m·u·‖·‖_F (both backward stable).
func TestLambdaMaxDiagLowRankScaled(t *testing.T) {
	d := []float64{0.25, 0.75, -1, 0.5}
	z := []float64{1, 2, 3, 0.5, -1, 0.5, 2, 1} // q = 2 rows of length m = 4
	scale := []float64{0, 1, 0.5, 1}
	m, q, c := len(d), 2, 0.7
	dense := mat.NewSymDense(m, nil)
	for k := 0; k < m; k++ {
		for l := k; l < m; l++ {
			v := 0.0
			for j := 0; j < q; j++ {
				v += z[j*m+k] * z[j*m+l]
			}
			v *= c * scale[k] * scale[l]
			if k == l {
				v += d[k]
			}
			dense.SetSym(k, l, v)
		}
	}
	var es mat.EigenSym
	if !es.Factorize(dense, false) {
		t.Fatal("dense eigensolver failed")
	}
	want := es.Values(nil)[m-1]
	got := lambdaMaxDiagLowRank(d, z, q, c, scale)
	if tol := 64 * float64(m) * unitRoundoff * mat.Norm(dense, 2); !(math.Abs(got-want) <= tol) {
		t.Errorf("λ_max = %v, dense %v (tolerance %.2g)", got, want, tol)
	}
}
