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
func (o *Oracle) Mu0() (float64, error) {
	v, _, err := o.alignmentInf(true, false)
	return v, err
}

// Mu10 is μ1_0 = inf_θ μ1(θ), the smallest eigenvalue of Uᵀdiag(χ)U over
// ‖G‖_F²; it is at least γ = min χ_i/mean χ_i (Lemma 2.3).
func (o *Oracle) Mu10() (float64, error) {
	v, _, err := o.alignmentInf(false, false)
	return v, err
}

// Mu0Residual returns a unit residual vector e = Uw (e = Qθ for some θ) at
// which μ(θ) = μ0: the minimizer, for an independent check through theory.State.
func (o *Oracle) Mu0Residual() ([]float64, error) {
	_, w, err := o.alignmentInf(true, true)
	if err != nil {
		return nil, err
	}
	return o.RangeResidual(w), nil
}

// alignmentInf returns the infimum of μ (withSigma2) or μ1 over θ, and,
// when wantMinimizer, the minimizing unit w. The value alone needs only the
// eigenvalues of an r x r matrix (numerics.SymmetricEigenvalues), several
// times cheaper than its vectors at the paper's r = 1000.
func (o *Oracle) alignmentInf(withSigma2, wantMinimizer bool) (float64, []float64, error) {
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
	if !wantMinimizer {
		// numerics' DSYEV without vectors: minutes faster than gonum's at
		// r = 5000, as for theory's eigenvalues of K.
		w := make([]float64, r)
		if !numerics.SymmetricEigenvalues(r, c, w) {
			return math.NaN(), nil, errNoConvergence("the alignment matrix of μ0")
		}
		return w[0] / fro2, nil, nil
	}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(r, c), true) {
		return math.NaN(), nil, errNoConvergence("the alignment matrix of μ0")
	}
	inf := es.Values(nil)[0] / fro2
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	return inf, mat.Col(nil, 0, &vecs), nil
}
