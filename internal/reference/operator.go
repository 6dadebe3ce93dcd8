package reference

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// ReducedStep is the linear part of the second-moment recursion at η on
// M (r x r) in the basis V, written from its definition:
//
//	SGD:            M' = M - η(HM + MH) + η²(C1·HMH + C2·Σ_i (a_iᵀMa_i) a_i a_iᵀ)
//	geometry-aware: M' = (I - ηH)M(I - ηH) + η²·Tr(HM)·H/B
//	isotropic:      M' = (I - ηH)M(I - ηH) + η²·σ²Tr(HM)·I/B,  σ² = Tr(H)/P.
func ReducedStep(md *Model, nz Noise, eta float64, m mat.Symmetric) (*mat.SymDense, error) {
	if err := checkArgs(md, nz, eta); err != nil {
		return nil, err
	}
	if r := md.Rank(); m.SymmetricDim() != r {
		return nil, inputErr("M is %d x %d, want r x r = %d x %d", m.SymmetricDim(), m.SymmetricDim(), r, r)
	}
	if err := finite("M", m); err != nil {
		return nil, err
	}
	return md.step(nz, eta, m), nil
}

func checkArgs(md *Model, nz Noise, eta float64) error {
	if md == nil {
		return inputErr("no model")
	}
	if !(eta > 0) || math.IsInf(eta, 1) {
		return inputErr("learning rate %v is not positive and finite", eta)
	}
	return nz.check()
}

// step is ReducedStep on checked arguments.
func (md *Model) step(nz Noise, eta float64, m mat.Symmetric) *mat.SymDense {
	r := md.Rank()
	h := mat.NewDiagDense(r, append([]float64(nil), md.h...))
	var hm, mh, hmh mat.Dense
	hm.Mul(h, m)
	mh.Mul(m, h)
	hmh.Mul(&hm, h)
	trHM := mat.Trace(&hm)
	c1 := 1.0 // (I - ηH)M(I - ηH) = M - η(HM + MH) + η²HMH
	noise := mat.NewDense(r, r, nil)
	switch nz.Kind {
	case SGD:
		c1 = nz.C1
		var aa mat.Dense
		for i := 0; i < md.N(); i++ {
			ai := md.a.RowView(i)
			aa.Outer(nz.C2*mat.Inner(ai, m, ai), ai, ai)
			noise.Add(noise, &aa)
		}
	case GeometryAware:
		noise.Scale(trHM/float64(nz.B), h)
	case Isotropic:
		sigma2 := mat.Trace(h) / float64(nz.P)
		for k := 0; k < r; k++ {
			noise.Set(k, k, sigma2*trHM/float64(nz.B))
		}
	}
	out := mat.NewSymDense(r, nil)
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			out.SetSym(k, l, m.At(k, l)-eta*(hm.At(k, l)+mh.At(k, l))+eta*eta*(c1*hmh.At(k, l)+noise.At(k, l)))
		}
	}
	return out
}

// DenseOperator is the m x m matrix (m = r(r+1)/2) of ReducedStep at η in
// the orthonormal basis {E_kk} ∪ {(E_kl + E_lk)/√2 : k < l} of the
// symmetric r x r matrices (Frobenius inner product), ordered as the upper
// triangle row by row: (0,0), (0,1), …, (0,r-1), (1,1), …, (r-1,r-1).
// Column j is the image of basis matrix j; entry (i, j) is its coordinate
// along basis matrix i, ⟨B_i, T(B_j)⟩.
func DenseOperator(md *Model, nz Noise, eta float64) (*mat.Dense, error) {
	if err := checkArgs(md, nz, eta); err != nil {
		return nil, err
	}
	r := md.Rank()
	type pair struct{ k, l int }
	var basis []pair
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			basis = append(basis, pair{k, l})
		}
	}
	m := len(basis)
	out := mat.NewDense(m, m, nil)
	for j, b := range basis {
		x := mat.NewSymDense(r, nil)
		if b.k == b.l {
			x.SetSym(b.k, b.k, 1)
		} else {
			x.SetSym(b.k, b.l, 1/math.Sqrt2) // and (l, k): SymDense is symmetric
		}
		y := md.step(nz, eta, x)
		for i, c := range basis {
			// ⟨E_kk, Y⟩ = Y_kk; ⟨(E_kl + E_lk)/√2, Y⟩ = (Y_kl + Y_lk)/√2.
			if c.k == c.l {
				out.Set(i, j, y.At(c.k, c.k))
			} else {
				out.Set(i, j, (y.At(c.k, c.l)+y.At(c.l, c.k))/math.Sqrt2)
			}
		}
	}
	return out, nil
}

// NaiveSpectralRadius is max |λ| over all eigenvalues of DenseOperator at
// η, by gonum's general (non-symmetric) eigensolver: no symmetry or
// positivity of the operator is assumed.
func NaiveSpectralRadius(md *Model, nz Noise, eta float64) (float64, error) {
	t, err := DenseOperator(md, nz, eta)
	if err != nil {
		return 0, err
	}
	var eig mat.Eigen
	if !eig.Factorize(t, mat.EigenNone) {
		m, _ := t.Dims()
		return 0, inputErr("eigen-decomposition of the %d x %d operator failed", m, m)
	}
	rho := 0.0
	for _, v := range eig.Values(nil) {
		rho = math.Max(rho, cmplx.Abs(v))
	}
	return rho, nil
}
