package oracle

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/numerics"
)

// Mu0 is μ0 = inf_θ μ(θ) for the feature model at the minimum: with
// e = Qθ = U w, Tr(Σ(θ)G) = wᵀ(Uᵀdiag(χ)U - diag(h²))w/n and
// 2L = ‖w‖²/n, so μ0 is the smallest eigenvalue of Uᵀdiag(χ)U - diag(h²)
// over ‖G‖_F² (χ_i = g_iᵀGg_i). It is >= 0 up to rounding (Σ ⪰ 0), and 0
// when some θ has no noise (n = 1, or all g_i equal).
func (o *Oracle) Mu0() (float64, error) { return o.alignmentInf(true) }

// Mu10 is μ1_0 = inf_θ μ1(θ), the smallest eigenvalue of Uᵀdiag(χ)U over
// ‖G‖_F²; it is at least γ = min χ_i/mean χ_i (Lemma 2.3).
func (o *Oracle) Mu10() (float64, error) { return o.alignmentInf(false) }

// Mu0Residual returns a unit residual vector e = Uw (e = Qθ for some θ) at
// which μ(θ) = μ0: the minimizer, for an independent check through theory.State.
func (o *Oracle) Mu0Residual() ([]float64, error) {
	c, _ := o.alignmentMatrix(true)
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(o.r, c), true) {
		return nil, errNoConvergence("the alignment matrix of μ0")
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	return o.RangeResidual(mat.Col(nil, 0, &vecs)), nil
}

// alignmentInf returns the infimum of μ (withSigma2) or μ1 over θ. It
// needs only the eigenvalues of an r x r matrix
// (numerics.SymmetricEigenvalues, LAPACK's DSYEV without vectors: minutes
// faster than gonum's at r = 5000, as for theory's eigenvalues of K).
func (o *Oracle) alignmentInf(withSigma2 bool) (float64, error) {
	c, fro2 := o.alignmentMatrix(withSigma2)
	w := make([]float64, o.r)
	if !numerics.SymmetricEigenvalues(o.r, c, w) {
		return math.NaN(), errNoConvergence("the alignment matrix of μ0")
	}
	return w[0] / fro2, nil
}

// alignmentMatrix returns C = Uᵀdiag(χ)U, less diag(h²) when withSigma2
// (row-major r x r), and ‖Ĥ‖_F² = Σh_k².
func (o *Oracle) alignmentMatrix(withSigma2 bool) ([]float64, float64) {
	r, n := o.r, o.n
	// C = Wᵀ W with W = diag(sqrt(χ)) U, as the Gram of the r columns of W.
	wt := make([]float64, r*n)
	for k := 0; k < r; k++ {
		for i := 0; i < n; i++ {
			wt[k*n+i] = math.Sqrt(o.chi[i]) * o.u.At(i, k)
		}
	}
	c := make([]float64, r*r)
	numerics.Gram(c, wt, r, n)
	fro2 := 0.0
	for k, h := range o.h {
		if withSigma2 {
			c[k*r+k] -= h * h
		}
		fro2 += h * h
	}
	return c, fro2
}
