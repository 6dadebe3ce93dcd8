package theory

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// MaxQuadratureDim is the largest dimension GaussianRule accepts: the rule has
// 3^d nodes (6561 at d = 8).
const MaxQuadratureDim = 8

// GaussianRule is a quadrature rule for z ~ N(0, S): E[f(z)] ≈ Σ_k W[k] f(Z[k]).
// It is exact for every polynomial of degree at most 5 in each coordinate of
// the eigenbasis of S, so in particular for every polynomial of total degree
// at most 5 in z.
type GaussianRule struct {
	D int
	Z [][]float64 // nodes, each of length D
	W []float64   // positive weights summing to 1
}

// gaussHermite3 is the 3-point Gauss–Hermite rule for N(0, 1): nodes 0 and
// ±sqrt(3), weights 2/3 and 1/6. It integrates 1, ξ², ξ⁴ exactly (1, 1, 3)
// and every odd power to 0, so it is exact up to degree 5.
var gaussHermite3 = [3]struct{ x, w float64 }{{0, 2.0 / 3}, {math.Sqrt(3), 1.0 / 6}, {-math.Sqrt(3), 1.0 / 6}}

// NewGaussianRule builds the tensor-product 3-point Gauss–Hermite rule in the
// eigenbasis of S = U Λ Uᵀ: z = U Λ^{1/2} ξ with ξ ~ N(0, I) on the positive
// eigenvalues only, so a singular S gives a rule on its range. S must be
// positive semi-definite up to rounding (its smallest eigenvalue at least
// -2d·ε·λ_1, ε = 2^-52) and at most MaxQuadratureDim-dimensional. The
// rule does not use Lemma C.1 or Isserlis' theorem: it is the reference
// they are checked against.
func NewGaussianRule(s mat.Symmetric) (GaussianRule, error) {
	d, err := checkCovariance(s)
	if err != nil {
		return GaussianRule{}, err
	}
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		return GaussianRule{}, inputErr(ErrNotFinite, "S", NoIndex, NoIndex, "eigen-decomposition failed")
	}
	lam := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	top := math.Max(lam[d-1], 0)
	if lam[0] < -2*float64(d)*machineEpsilon*top {
		return GaussianRule{}, inputErr(ErrParam, "S", NoIndex, NoIndex, "not positive semi-definite: eigenvalue %.3g < 0", lam[0])
	}
	// Columns U_k·sqrt(λ_k) for the positive eigenvalues.
	var cols [][]float64
	for k, l := range lam {
		if l > 0 {
			c := make([]float64, d)
			r := math.Sqrt(l)
			for i := range c {
				c[i] = vecs.At(i, k) * r
			}
			cols = append(cols, c)
		}
	}
	rule := GaussianRule{D: d}
	nodes := 1
	for range cols {
		nodes *= 3
	}
	idx := make([]int, len(cols))
	for k := 0; k < nodes; k++ {
		z := make([]float64, d)
		w := 1.0
		for j, c := range cols {
			g := gaussHermite3[idx[j]]
			w *= g.w
			for i := range z {
				z[i] += g.x * c[i]
			}
		}
		rule.Z = append(rule.Z, z)
		rule.W = append(rule.W, w)
		for j := range idx { // odometer over {0, 1, 2}^r
			idx[j]++
			if idx[j] < 3 {
				break
			}
			idx[j] = 0
		}
	}
	return rule, nil
}

// checkCovariance validates a covariance matrix for a GaussianRule and
// returns its dimension.
func checkCovariance(s mat.Symmetric) (int, error) {
	d, err := checkSymmetric(s, "S")
	if err == nil && d > MaxQuadratureDim {
		return 0, inputErr(ErrParam, "S", NoIndex, NoIndex, "dimension %d > %d", d, MaxQuadratureDim)
	}
	return d, err
}

// checkSymmetric reports a nil, empty or non-finite symmetric matrix.
func checkSymmetric(s mat.Symmetric, name string) (int, error) {
	if s == nil {
		return 0, inputErr(ErrEmpty, name, NoIndex, NoIndex, "nil")
	}
	d := s.SymmetricDim()
	if d == 0 {
		return 0, inputErr(ErrEmpty, name, NoIndex, NoIndex, "dimension 0")
	}
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			if v := s.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, inputErr(ErrNotFinite, name, i, j, "value %v", v)
			}
		}
	}
	return d, nil
}

// WeightedSecondMoment returns E[(vᵀz)² z zᵀ] for z ~ N(0, S) by the rule:
// the degree-4 moment of Lemma C.1, computed without it.
func (r GaussianRule) WeightedSecondMoment(v []float64) (*mat.SymDense, error) {
	if len(v) != r.D {
		return nil, inputErr(ErrShape, "v", NoIndex, NoIndex, "len(v) = %d, want %d", len(v), r.D)
	}
	if _, err := maxAbsFinite(v, "v", 0); err != nil {
		return nil, err
	}
	m := mat.NewSymDense(r.D, nil)
	for k, z := range r.Z {
		vz := 0.0
		for i, x := range z {
			vz += v[i] * x
		}
		c := r.W[k] * vz * vz
		for i := 0; i < r.D; i++ {
			for j := i; j < r.D; j++ {
				m.SetSym(i, j, m.At(i, j)+c*z[i]*z[j])
			}
		}
	}
	return m, nil
}

// LemmaC1 returns the closed form of Lemma C.1 (Appendix C):
// E[(vᵀz)² z zᵀ] = 2 S v vᵀ S + ‖S^{1/2} v‖² S for z ~ N(0, S), with
// ‖S^{1/2} v‖² = vᵀ S v.
func LemmaC1(s mat.Symmetric, v []float64) (*mat.SymDense, error) {
	d, err := checkSymmetric(s, "S")
	if err != nil {
		return nil, err
	}
	if len(v) != d {
		return nil, inputErr(ErrShape, "v", NoIndex, NoIndex, "len(v) = %d, want %d", len(v), d)
	}
	if _, err := maxAbsFinite(v, "v", 0); err != nil {
		return nil, err
	}
	sv := mat.NewVecDense(d, nil)
	sv.MulVec(s, mat.NewVecDense(d, append([]float64(nil), v...)))
	vsv := mat.Dot(mat.NewVecDense(d, append([]float64(nil), v...)), sv)
	m := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			m.SetSym(i, j, 2*sv.AtVec(i)*sv.AtVec(j)+vsv*s.At(i, j))
		}
	}
	return m, nil
}
