package theory

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// References for the oracle's spectral side, independent of its structure
// (diagonal plus low rank) and of the secular solver: the dense operator
// built column by column from Step, and η* by bisection on ρ. Small r only.

// DenseOperator returns the m x m matrix (m = r(r+1)/2) of the linear part
// of the recursion at η in the basis V of the range, in the orthonormal
// basis {E_kk} ∪ {(E_kl + E_lk)/√2 : k < l} of Sym(r): column j is the
// image of basis matrix j under reducedStep.
func (d *Dynamics) DenseOperator(eta float64) (*mat.Dense, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return nil, err
	}
	r := d.o.r
	m := r * (r + 1) / 2
	basis := func(j int) (k, l int) {
		for k = 0; ; k++ {
			if j < r-k {
				return k, k + j
			}
			j -= r - k
		}
	}
	out := mat.NewDense(m, m, nil)
	for j := 0; j < m; j++ {
		k, l := basis(j)
		x := mat.NewSymDense(r, nil)
		if k == l {
			x.SetSym(k, k, 1)
		} else {
			x.SetSym(k, l, 1/math.Sqrt2)
		}
		y := d.reducedStep(e, x)
		for i := 0; i < m; i++ {
			a, b := basis(i)
			v := y.At(a, b)
			if a != b {
				v *= math.Sqrt2
			}
			out.Set(i, j, v)
		}
	}
	return out, nil
}

// reducedStep is the linear part of the recursion on M (r x r) in the basis
// V, H = diag(ĥ), features â_i, at η̂ = e: the operator Step applies to
// R = Â M Âᵀ, written directly from its definition (Dynamics' doc).
func (d *Dynamics) reducedStep(e float64, m mat.Symmetric) *mat.SymDense {
	o, r := d.o, d.o.r
	c1 := d.hmhCoefficient()
	out := mat.NewSymDense(r, nil)
	trHM := 0.0
	for k := 0; k < r; k++ {
		trHM += o.h[k] * m.At(k, k)
		for l := k; l < r; l++ {
			hk, hl := o.h[k], o.h[l]
			out.SetSym(k, l, m.At(k, l)*(1-e*(hk+hl)+e*e*c1*hk*hl))
		}
	}
	var noise mat.SymDense
	noise.ReuseAsSym(r)
	switch d.kind {
	case sgdNoise:
		ai := make([]float64, r)
		var mai mat.VecDense
		for i := 0; i < o.n; i++ {
			av := mat.NewVecDense(r, mat.Row(ai, i, o.a))
			mai.MulVec(m, av)
			noise.SymRankOne(&noise, d.mom.C2*mat.Dot(av, &mai), av)
		}
	case geometryAware:
		for k := 0; k < r; k++ {
			noise.SetSym(k, k, trHM*o.h[k]/float64(d.batch))
		}
	case isotropic:
		for k := 0; k < r; k++ {
			noise.SetSym(k, k, d.sigma2*trHM/float64(d.batch))
		}
	}
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			out.SetSym(k, l, out.At(k, l)+e*e*noise.At(k, l))
		}
	}
	return out
}

// NaiveSpectralRadius is max |λ| over all eigenvalues of DenseOperator, by
// a general (non-symmetric) eigensolver.
func (d *Dynamics) NaiveSpectralRadius(eta float64) (float64, error) {
	t, err := d.DenseOperator(eta)
	if err != nil {
		return 0, err
	}
	var eig mat.Eigen
	if !eig.Factorize(t, mat.EigenNone) {
		return 0, inputErr(ErrNotFinite, "T", -1, -1, "eigen-decomposition failed")
	}
	rho := 0.0
	for _, v := range eig.Values(nil) {
		rho = math.Max(rho, cmplx.Abs(v))
	}
	return rho, nil
}

// CriticalRateBisection is η* found by bisection on SpectralRadius(η) <= 1,
// down to adjacent floats: a second route to CriticalRate.
func (d *Dynamics) CriticalRateBisection() (float64, error) {
	if err := d.checkSpectral(); err != nil {
		return 0, err
	}
	stable := func(eta float64) (bool, error) {
		rho, err := d.SpectralRadius(eta)
		return rho <= 1, err
	}
	// Start at 1/λ_1 (GD's half edge) and double or halve to a bracket.
	lo := math.Ldexp(1/d.o.h[0], -d.o.kExp)
	hi := lo
	for {
		ok, err := stable(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, 2*hi
	}
	for {
		ok, err := stable(lo)
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		hi, lo = lo, lo/2
	}
	for {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			return lo, nil
		}
		ok, err := stable(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
}
