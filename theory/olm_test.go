package theory

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// moment4RelTol bounds the error of the rule's E[(vᵀz)² z zᵀ] relative to
// ‖S‖_2²‖v‖² (property's moment4Tol): the eigen-decomposition's backward
// error, 4d·u·‖S‖_2 on S, through a moment quadratic in S with derivative
// at most 6‖S‖‖v‖² (48d·u), and the sum over 3^d nodes of terms each at
// most 9d⁴ times their weight in at most 3^d + 4d + 8 chained operations.
func moment4RelTol(d int) float64 {
	const u = 0x1p-53
	return 48*float64(d)*u + roundingGamma(int(math.Pow(3, float64(d)))+4*d+8)*9*math.Pow(float64(d), 4)
}

// s21 is S = [[2, 1], [1, 2]], eigenvalues 1 and 3: a covariance whose
// eigenbasis is not the standard one, so the rule's rotation is exercised.
func s21() *mat.SymDense { return mat.NewSymDense(2, []float64{2, 1, 1, 2}) }

// TestGaussianRuleMoments: the tensor rule in the eigenbasis of S has
// positive weights summing to 1, E[z] = 0, E[z zᵀ] = S, E[z_1⁴] = 3S_11²
// (Isserlis), and E[(vᵀz)² z zᵀ] equal to Lemma C.1's closed form
// 2 S v vᵀ S + (vᵀSv) S, each to the rounding bound moment4RelTol (the
// lower moments are within it too: they are sums over the same nodes of
// smaller degree).
func TestGaussianRuleMoments(t *testing.T) {
	s := s21()
	r, err := NewGaussianRule(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.D != 2 || len(r.Z) != 9 || len(r.W) != 9 {
		t.Fatalf("rule of d = %d with %d nodes, %d weights; want d = 2, 3² nodes", r.D, len(r.Z), len(r.W))
	}
	const top = 3 // ‖S‖_2
	tol := moment4RelTol(2) * top * top
	var sumW, m1, m2, m11, m12, m22, m4 float64
	for k, z := range r.Z {
		w := r.W[k]
		if !(w > 0) {
			t.Errorf("weight %d = %v, not positive", k, w)
		}
		sumW += w
		m1 += w * z[0]
		m2 += w * z[1]
		m11 += w * z[0] * z[0]
		m12 += w * z[0] * z[1]
		m22 += w * z[1] * z[1]
		m4 += w * z[0] * z[0] * z[0] * z[0]
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"Σ w", sumW, 1}, {"E z_1", m1, 0}, {"E z_2", m2, 0},
		{"E z_1²", m11, 2}, {"E z_1 z_2", m12, 1}, {"E z_2²", m22, 2},
		{"E z_1⁴ = 3 S_11²", m4, 12},
	} {
		if !(math.Abs(c.got-c.want) <= tol) {
			t.Errorf("%s = %.17g, want %v (tolerance %.2g)", c.what, c.got, c.want, tol)
		}
	}
	for _, v := range [][]float64{{1, -2}, {1, 0}, {0, 1}, {3, 3}} {
		got, err := r.WeightedSecondMoment(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := LemmaC1(s, v)
		if err != nil {
			t.Fatal(err)
		}
		// Lemma C.1 itself, by hand: Sv and vᵀSv in integers.
		sv := []float64{2*v[0] + v[1], v[0] + 2*v[1]}
		vsv := v[0]*sv[0] + v[1]*sv[1]
		scale := top * top * (v[0]*v[0] + v[1]*v[1])
		for i := range 2 {
			for j := range 2 {
				exact := 2*sv[i]*sv[j] + vsv*s.At(i, j) // small integers: exact
				if lc := want.At(i, j); lc != exact {
					t.Errorf("v = %v: LemmaC1[%d,%d] = %v, want 2(Sv)_i(Sv)_j + (vᵀSv)S_ij = %v", v, i, j, lc, exact)
				}
				if g := got.At(i, j); !(math.Abs(g-exact) <= tol*scale) {
					t.Errorf("v = %v: rule's E[(vᵀz)² z zᵀ][%d,%d] = %.17g, want %v (tolerance %.2g)", v, i, j, g, exact, tol*scale)
				}
			}
		}
	}
}

// TestGaussianRuleSingular: a singular S gives the rule on its range, 3^rank
// nodes, all in the range; and the PSD test allows rounding below zero of
// 2d·ε·λ_1 (ε = 2^-52; the backward error of the eigensolver) but no more.
func TestGaussianRuleSingular(t *testing.T) {
	r, err := NewGaussianRule(mat.NewSymDense(2, []float64{4, 0, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Z) != 3 {
		t.Errorf("rank-1 S: %d nodes, want 3", len(r.Z))
	}
	for k, z := range r.Z {
		if z[1] != 0 {
			t.Errorf("node %d = %v is outside the range of S = diag(4, 0)", k, z)
		}
	}
	// S = diag(1, -c·ε), d = 2: accepted while c·ε <= 2d·ε = 4ε.
	for _, c := range []struct {
		neg float64
		ok  bool
	}{{2, true}, {4, true}, {4.5, false}, {16, false}} {
		_, err := NewGaussianRule(mat.NewSymDense(2, []float64{1, 0, 0, -c.neg * machineEpsilon}))
		if c.ok && err != nil {
			t.Errorf("eigenvalue -%v·ε, within rounding of 0: %v", c.neg, err)
		}
		if !c.ok && (!errors.Is(err, ErrParam) || !strings.HasSuffix(err.Error(), fmt.Sprintf("eigenvalue %.3g < 0", -c.neg*machineEpsilon))) {
			t.Errorf("eigenvalue -%v·ε, beyond rounding: %v, want ErrParam naming the eigenvalue", c.neg, err)
		}
	}
	// d = 8, the largest: S = I_8 has 3^8 nodes.
	if r, err := NewGaussianRule(identity(MaxQuadratureDim)); err != nil || len(r.Z) != 6561 {
		t.Errorf("S = I_8: %d nodes, %v; want 6561", len(r.Z), err)
	}
}

func identity(d int) *mat.SymDense {
	s := mat.NewSymDense(d, nil)
	for i := range d {
		s.SetSym(i, i, 1)
	}
	return s
}

// TestCheckSymmetric: nil, empty and non-finite covariances are refused
// with their location; a NaN anywhere in the lower triangle is found.
func TestCheckSymmetric(t *testing.T) {
	if _, err := LemmaC1(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("nil S: %v", err)
	}
	if _, err := LemmaC1(mat.NewSymDense(1, []float64{1}), []float64{1, 2}); !errors.Is(err, ErrShape) {
		t.Errorf("len(v) = 2, d = 1: %v", err)
	}
	for _, c := range []struct {
		i, j  int
		where string
	}{{0, 0, "S[0, 0]"}, {1, 0, "S[1, 0]"}, {2, 2, "S[2, 2]"}, {2, 1, "S[2, 1]"}} {
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			s := identity(3)
			s.SetSym(c.i, c.j, v)
			_, err := NewGaussianRule(s)
			var ie *InputError
			if !errors.Is(err, ErrNotFinite) || !errors.As(err, &ie) || ie.Row != c.i || ie.Col != c.j {
				t.Errorf("%v at %s: %v", v, c.where, err)
			}
		}
	}
	r, err := NewGaussianRule(s21())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WeightedSecondMoment([]float64{1, math.Inf(-1)}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("-Inf in v: %v", err)
	}
}

// TestOLMPopulation: for S = [[2,1],[1,2]], J = [[1,0,2],[0,1,-1]] and
// u = (1, -1), in integers: Su = (1, -1), L = uᵀSu/2 = 1, ∇L = JᵀSu =
// (1, -1, 3), G = JᵀSJ = [[2,1,3],[1,2,0],[3,0,6]]; Theorem 2.1 gives
// Σ = ∇L∇Lᵀ + 2LG, so Σ1 = Σ + Σ2 = 2∇L∇Lᵀ + 2LG, and the alignment
// factors μ2 = ∇LᵀG∇L/(2L‖G‖_F²) = 74/128, μ = 1 + μ2, μ1 = 1 + 2μ2.
// L, ∇L, G and Theorem21Sigma are exact (small integers); Σ1 comes from
// the rule, within moment4RelTol of ‖S‖²‖u‖² times ‖J_i‖‖J_j‖ (at most 5).
func TestOLMPopulation(t *testing.T) {
	jac := mat.NewDense(2, 3, []float64{1, 0, 2, 0, 1, -1})
	mo, err := OLMPopulation(s21(), jac, []float64{1, -1})
	if err != nil {
		t.Fatal(err)
	}
	if mo.D != 2 || mo.P != 3 || mo.Loss != 1 {
		t.Fatalf("d = %d, p = %d, L = %v; want 2, 3, 1", mo.D, mo.P, mo.Loss)
	}
	grad := []float64{1, -1, 3}
	g := [][]float64{{2, 1, 3}, {1, 2, 0}, {3, 0, 6}}
	tol := moment4RelTol(2) * 9 * 2 * 5
	closed := mo.Theorem21Sigma()
	for i := range 3 {
		if mo.Grad[i] != grad[i] {
			t.Errorf("∇L[%d] = %v, want %v", i, mo.Grad[i], grad[i])
		}
		for j := range 3 {
			sigma2 := grad[i] * grad[j]
			sigma := sigma2 + 2*g[i][j]
			for _, c := range []struct {
				what      string
				got, want float64
				tol       float64
			}{
				{"G", mo.G.At(i, j), g[i][j], 0},
				{"Σ2 = ∇L∇Lᵀ", mo.Sigma2.At(i, j), sigma2, 0},
				{"Theorem 2.1's ∇L∇Lᵀ + 2LG", closed.At(i, j), sigma, 0},
				{"Σ1", mo.Sigma1.At(i, j), sigma + sigma2, tol},
				{"Σ = Σ1 - Σ2", mo.Sigma.At(i, j), sigma, tol},
			} {
				if !(math.Abs(c.got-c.want) <= c.tol) {
					t.Errorf("%s[%d,%d] = %.17g, want %v (tolerance %.2g)", c.what, i, j, c.got, c.want, c.tol)
				}
			}
		}
	}
	mu, mu1, mu2, err := mo.Alignment()
	if err != nil {
		t.Fatal(err)
	}
	// Tr(ΣG) is within tol·Σ|G_ij| = 17·tol of its value; the denominator
	// 2L‖G‖_F² = 128 is exact.
	muTol := 17 * tol / 128
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"μ", mu, 1 + 74.0/128}, {"μ1", mu1, 1 + 2*74.0/128}, {"μ2", mu2, 74.0 / 128}} {
		if !(math.Abs(c.got-c.want) <= muTol) {
			t.Errorf("%s = %.17g, want %v (tolerance %.2g)", c.what, c.got, c.want, muTol)
		}
	}
}

// TestOLMErrors: a nil Jacobian, one of the wrong height, a u of the wrong
// length, and G = 0 with L > 0 (a zero Jacobian) are each refused.
func TestOLMErrors(t *testing.T) {
	if _, err := OLMPopulation(s21(), nil, []float64{1, 1}); !errors.Is(err, ErrEmpty) {
		t.Errorf("nil J: %v", err)
	}
	if _, err := OLMPopulation(s21(), mat.NewDense(1, 2, []float64{1, 1}), []float64{1, 1}); !errors.Is(err, ErrShape) {
		t.Errorf("J of height 1, d = 2: %v", err)
	}
	if _, err := OLMPopulation(s21(), mat.NewDense(2, 1, []float64{1, 1}), []float64{1}); !errors.Is(err, ErrShape) {
		t.Errorf("len(u) = 1, d = 2: %v", err)
	}
	// A non-finite entry is located, at any row and column.
	for _, c := range [][2]int{{0, 0}, {1, 0}, {0, 2}, {1, 2}} {
		jac := mat.NewDense(2, 3, nil)
		jac.Set(c[0], c[1], math.NaN())
		_, err := OLMPopulation(s21(), jac, []float64{1, 1})
		var ie *InputError
		if !errors.Is(err, ErrNotFinite) || !errors.As(err, &ie) || ie.Row != c[0] || ie.Col != c[1] {
			t.Errorf("NaN at J[%d, %d]: %v", c[0], c[1], err)
		}
	}
	mo, err := OLMPopulation(s21(), mat.NewDense(2, 2, nil), []float64{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := mo.Alignment(); !errors.Is(err, ErrZeroGram) {
		t.Errorf("J = 0, L = 1: %v, want ErrZeroGram", err)
	}
}
