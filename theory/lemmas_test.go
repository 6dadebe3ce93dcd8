package theory

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestLemmaE1Params: Lemma E.1 needs finite a, b > 0; each bad value of
// either is refused on its own, the other being valid.
func TestLemmaE1Params(t *testing.T) {
	h := mat.NewSymDense(2, []float64{2, 0, 0, 1})
	theta := []float64{1, 1}
	if _, err := LemmaE1(h, theta, 1, 1); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{0, -1, math.Inf(1), math.Inf(-1), math.NaN()} {
		if _, err := LemmaE1(h, theta, bad, 1); !errors.Is(err, ErrParam) {
			t.Errorf("a = %v: %v", bad, err)
		}
		if _, err := LemmaE1(h, theta, 1, bad); !errors.Is(err, ErrParam) {
			t.Errorf("b = %v: %v", bad, err)
		}
	}
}

// TestNormalize: max |x| is brought into [1/2, 1) by an exact power of
// two, whose exponent is returned; a zero vector is left alone, exponent 0.
func TestNormalize(t *testing.T) {
	x := []float64{3, -0.5, 0}
	if e := normalize(x); e != 2 || x[0] != 0.75 || x[1] != -0.125 || x[2] != 0 {
		t.Errorf("normalize(3, -0.5, 0) = %v, exponent %d; want (0.75, -0.125, 0), 2", x, e)
	}
	y := []float64{-3, 0.5} // the largest magnitude negative
	if e := normalize(y); e != 2 || y[0] != -0.75 || y[1] != 0.125 {
		t.Errorf("normalize(-3, 0.5) = %v, exponent %d; want (-0.75, 0.125), 2", y, e)
	}
	z := []float64{0, 0}
	if e := normalize(z); e != 0 || z[0] != 0 || z[1] != 0 {
		t.Errorf("normalize(0, 0) = %v, exponent %d; want (0, 0), 0", z, e)
	}
}

// TestNullDirection: θ with H^{1/2}θ = 0 has no Rayleigh ratios and no
// unit u = H^{1/2}θ/‖H^{1/2}θ‖ for Lemma E.2's growth factor.
func TestNullDirection(t *testing.T) {
	h := mat.NewSymDense(2, []float64{1, 0, 0, 0})
	theta := []float64{0, 3}
	if _, _, err := RayleighRatios(h, theta); !errors.Is(err, ErrNullDirection) {
		t.Errorf("RayleighRatios, θ in the null space of H: %v", err)
	}
	if _, err := GrowthFactorU(h, theta, 0.5); !errors.Is(err, ErrNullDirection) {
		t.Errorf("GrowthFactorU, θ in the null space of H: %v", err)
	}
}

// TestRayleighRatiosNotFinite: a NaN or an infinity of either sign in H is
// refused, with its place.
func TestRayleighRatiosNotFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		h := mat.NewSymDense(2, []float64{1, 0, 0, v})
		if _, _, err := RayleighRatios(h, []float64{1, 1}); !errors.Is(err, ErrNotFinite) {
			t.Errorf("%v in H: %v", v, err)
		}
	}
}

// TestGaussLegendre: the n-point rule integrates polynomials of degree up
// to 2n - 1 exactly on [-1, 1]: ∫z^k = 2/(k+1) for even k, 0 for odd k,
// to the rounding of n weighted terms: each node and weight is within a
// few ulps, so z^k within about k + 2 of them, and the sum within n·u of
// its absolute sum, at most 2.
func TestGaussLegendre(t *testing.T) {
	for _, n := range []int{1, 2, 5, 64, 200} {
		x, w := gaussLegendre(n)
		for k := 0; k <= 2*n-1; k++ {
			got := 0.0
			for i := range x {
				got += w[i] * math.Pow(x[i], float64(k))
			}
			want := 0.0
			if k%2 == 0 {
				want = 2 / float64(k+1)
			}
			if tol := 2 * float64(n+8) * 0x1p-52 * float64(k+2); math.Abs(got-want) > tol {
				t.Fatalf("n = %d: ∫z^%d = %v, want %v (tolerance %.2g)", n, k, got, want, tol)
			}
		}
	}
}
