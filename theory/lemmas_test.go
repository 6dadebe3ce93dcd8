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
			if tol := 2 * float64(n+8) * 0x1p-52 * float64(k+2); !(math.Abs(got-want) <= tol) { // NaN fails
				t.Fatalf("n = %d: ∫z^%d = %v, want %v (tolerance %.2g)", n, k, got, want, tol)
			}
		}
	}
}

// TestGrowthFactorClosedForm: r(θ) = 1 - 2ηR2 + η²R3 (Lemma 3.2) and
// Lemma E.2's ‖ηHu - u‖² agree with the hand computation, for
// H = [[2,1],[1,2]] (eigenvalues 1 and 3) and θ = (1, 0): Hθ = (2, 1),
// H²θ = (5, 4), H³θ = (14, 13), so θᵀHθ = 2, R2 = 5/2, R3 = 7, and at
// η = 1/2, r = 1 - 5/2 + 7/4 = 1/4. Through the eigenbasis, θ has
// coordinates 1/√2 on both eigenvectors, u ∝ (√(3/2), √(1/2)) and
// ηHu - u has squared norm (1/4·3/2 + 1/4·1/2)/2 = 1/4. The ratios are
// exact (integers over 2); r is within a few roundings of terms of size
// at most 5/2 (γ_4·5/2 < 2e-15), the eigen route within a backward-stable
// decomposition's 4p·u·‖H‖ relative (< 1e-14).
func TestGrowthFactorClosedForm(t *testing.T) {
	h := mat.NewSymDense(2, []float64{2, 1, 1, 2})
	theta := []float64{1, 0}
	r2, r3, err := RayleighRatios(h, theta)
	if err != nil || r2 != 2.5 || r3 != 7 {
		t.Errorf("R2, R3 = %v, %v, %v; want 5/2, 7", r2, r3, err)
	}
	r, err := GrowthFactor(h, theta, 0.5)
	if err != nil || !(math.Abs(r-0.25) <= 2e-15) {
		t.Errorf("r(θ) = %v, %v; want 1/4", r, err)
	}
	ru, err := GrowthFactorU(h, theta, 0.5)
	if err != nil || !(math.Abs(ru-0.25) <= 1e-14) {
		t.Errorf("‖ηHu - u‖² = %v, %v; want 1/4", ru, err)
	}
	// At η = 1: r = 1 - 5 + 7 = 3, and through the eigenbasis
	// (4·3/2 + 0·1/2)/2 = 3.
	if r, err := GrowthFactor(h, theta, 1); err != nil || !(math.Abs(r-3) <= 1e-14) {
		t.Errorf("r(θ), η = 1: %v, %v; want 3", r, err)
	}
	if ru, err := GrowthFactorU(h, theta, 1); err != nil || !(math.Abs(ru-3) <= 1e-14) {
		t.Errorf("‖ηHu - u‖², η = 1: %v, %v; want 3", ru, err)
	}
	// H = [[2,1],[1,2]] has λ_1 = 3 (backward-stable: within 4p·u·3).
	if l, err := LambdaMax(h); err != nil || !(math.Abs(l-3) <= 1e-14) {
		t.Errorf("λ_1 = %v, %v; want 3", l, err)
	}
	if l, err := LambdaMax(mat.NewSymDense(3, []float64{1, 0, 0, 0, 3, 0, 0, 0, 2})); err != nil || l != 3 {
		t.Errorf("λ_1(diag(1, 3, 2)) = %v, %v; want 3", l, err)
	}
}

// TestLemmaE1Equality: g(a, b, θ) = -a R2 + b R3 reaches Lemma E.1's
// bound -a²/(4b) when a/(2b) is an eigenvalue and θ its eigenvector:
// H = [[2,1],[1,2]], θ = (1, 1) (eigenvalue 3), a = 6, b = 1: R2 = 3,
// R3 = 9, g = -18 + 9 = -9 = -36/4 (and a = 3, b = 1/2:
// g = -9 + 9/2 = -9/2 = -a²/(4b)). Off the eigenvector it is above the
// bound: θ = (1, 0), a = b = 1: g = -5/2 + 7 = 9/2 >= -1/4. All exact.
func TestLemmaE1Equality(t *testing.T) {
	h := mat.NewSymDense(2, []float64{2, 1, 1, 2})
	for _, c := range []struct {
		theta      []float64
		a, b, want float64
	}{{[]float64{1, 1}, 6, 1, -9}, {[]float64{1, 0}, 1, 1, 4.5}, {[]float64{1, 1}, 3, 0.5, -4.5}} {
		if g, err := LemmaE1(h, c.theta, c.a, c.b); err != nil || g != c.want {
			t.Errorf("g(%v, %v, %v) = %v, %v; want %v", c.a, c.b, c.theta, g, err, c.want)
		}
	}
	for _, c := range []struct{ a, b, want float64 }{{6, 1, -9}, {1, 1, -0.25}, {2, 0.5, -2}, {3, 0.5, -4.5}} {
		if got := LemmaE1Bound(c.a, c.b); got != c.want {
			t.Errorf("-a²/(4b) at a = %v, b = %v: %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestCheckTheta: θ of the wrong length, a non-finite θ, and a non-finite
// entry of H anywhere in its upper triangle (row 0 included) are refused,
// by every function that takes H and θ.
func TestCheckTheta(t *testing.T) {
	fns := map[string]func(mat.Symmetric, []float64) error{
		"RayleighRatios": func(h mat.Symmetric, th []float64) error { _, _, err := RayleighRatios(h, th); return err },
		"GrowthFactorU":  func(h mat.Symmetric, th []float64) error { _, err := GrowthFactorU(h, th, 0.5); return err },
		"LemmaE1":        func(h mat.Symmetric, th []float64) error { _, err := LemmaE1(h, th, 1, 1); return err },
	}
	for name, f := range fns {
		h := mat.NewSymDense(3, []float64{2, 1, 0, 1, 2, 0, 0, 0, 1})
		if err := f(h, []float64{1, 1}); !errors.Is(err, ErrShape) {
			t.Errorf("%s, len(θ) = 2, p = 3: %v", name, err)
		}
		if err := f(h, []float64{1, math.Inf(-1), 1}); !errors.Is(err, ErrNotFinite) {
			t.Errorf("%s, -Inf in θ: %v", name, err)
		}
		for _, at := range [][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 2}, {2, 2}} {
			bad := mat.NewSymDense(3, nil)
			bad.CopySym(h)
			bad.SetSym(at[0], at[1], math.NaN())
			err := f(bad, []float64{1, 1, 1})
			var ie *InputError
			if !errors.Is(err, ErrNotFinite) || !errors.As(err, &ie) || ie.Row != at[0] || ie.Col != at[1] {
				t.Errorf("%s, NaN at H[%d, %d]: %v", name, at[0], at[1], err)
			}
		}
	}
}
