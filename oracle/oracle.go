package oracle

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// Oracle is the exact linear-stability oracle of Section 3 for the features
// Q at a global minimum. It keeps the eigen-decomposition of K̂ restricted
// to its numerical range; Q is not retained.
type Oracle struct {
	n, p, r int
	kExp    int           // K = 2^kExp K̂
	u       *mat.Dense    // n x r: eigenvectors of K̂, eigenvalues descending
	sv      []float64     // ŝ_k = sqrt(λ_k(K̂))
	h       []float64     // ĥ_k = ŝ_k²/n, the eigenvalues of Ĥ
	a       *mat.Dense    // Â = U diag(ŝ), n x r: the features in the basis V
	chi     []float64     // χ̂_i = â_iᵀ Ĥ â_i
	k       *mat.SymDense // K̂, for the recursion on the residuals
}

// NewOracle builds the oracle for the per-sample gradients Q (row-major
// n x p, rows g_i) at a global minimum (H = G). q is neither modified nor
// retained. Bad input is an error as for theory.NewState.
func NewOracle(q []float64, n, p int) (*Oracle, error) {
	st, err := theory.NewState(q, n, p, nil)
	if err != nil {
		return nil, err
	}
	return NewOracleFromState(st)
}

// maxOracleBytes bounds the memory the oracle may take: the
// eigen-decomposition of K (about 4n² floats) and the matrix-free spectral
// path at rank min(n, p) (krylovFootprint).
const maxOracleBytes = 12 << 30

// CheckSize returns an error, before anything is allocated, when the
// oracle for n samples and p parameters would need more than 12 GiB: the
// caller can refuse an input at once instead of failing after minutes.
// The estimate is of the data the oracle keeps live, at rank r = min(n, p):
// for a full-rank Gram 1.2 GB at n = 2000 and 5.7 GB at n = 5000, and n
// above about 8,500 is refused; with p = 1000 parameters n = 15,000 fits.
// The process's peak memory is larger by the garbage collector's headroom
// (measured at n = 5000: 10.0 GB in all, BENCHMARKS.md).
func CheckSize(n, p int) error {
	if n < 1 || p < 1 {
		return inputErr(theory.ErrEmpty, "Q", theory.NoIndex, theory.NoIndex, "n = %d, p = %d", n, p)
	}
	nf := float64(n)
	need := 8*4*nf*nf + krylovFootprint(n, min(n, p))
	if need > maxOracleBytes {
		return inputErr(theory.ErrParam, "Q", theory.NoIndex, theory.NoIndex, "n = %d samples need about %.3g GB for the oracle, more than its %d GiB limit", n, need/1e9, maxOracleBytes>>30)
	}
	return nil
}

// NewOracleFromState builds the oracle from the Gram matrix a theory.State keeps
// (its residuals are ignored: the oracle linearizes at a minimum).
func NewOracleFromState(st *theory.State) (*Oracle, error) {
	n := st.N()
	if err := CheckSize(n, st.P()); err != nil {
		return nil, err
	}
	k, kExp := st.ScaledGram()
	// LAPACK's DSYEV on numerics' kernels (numerics.SymmetricEigen): the
	// reduction and Q on its products, the QL rotations replayed a row
	// block at a time; 2.9x the speed of gonum's reduction at n = 2000
	// (BENCHMARKS.md).
	vecs, vals := append([]float64(nil), k.RawSymmetric().Data...), make([]float64, n)
	if !numerics.SymmetricEigen(n, vecs, vals) {
		// K̂ is finite with entries below 1 by construction; where the QL
		// iteration stalls SymmetricEigen falls back to Jacobi, so this is
		// not expected.
		return nil, errNoConvergence("the Gram matrix")
	}
	// The numerical range: theory.Geometry.Rank's, so that measure and
	// stability report the same rank.
	r := theory.NumericalRank(vals, vals[n-1], n, st.P())
	o := &Oracle{n: n, p: st.P(), r: r, kExp: kExp,
		u: mat.NewDense(n, r, nil), sv: make([]float64, r), h: make([]float64, r),
		a: mat.NewDense(n, r, nil), chi: make([]float64, n), k: k}
	for c := 0; c < r; c++ {
		j := n - 1 - c // descending
		o.sv[c] = math.Sqrt(vals[j])
		o.h[c] = vals[j] / float64(n)
		for i := 0; i < n; i++ {
			o.u.Set(i, c, vecs[i*n+j])
			o.a.Set(i, c, vecs[i*n+j]*o.sv[c])
		}
	}
	for i := 0; i < n; i++ {
		for c := 0; c < r; c++ {
			x := o.a.At(i, c)
			o.chi[i] += x * x * o.h[c]
		}
	}
	return o, nil
}

// N is the number of samples, P the number of parameters.
func (o *Oracle) N() int { return o.n }

// P is the number of parameters.
func (o *Oracle) P() int { return o.p }

// Rank is r, the numerical rank of G (as theory.Geometry.Rank).
func (o *Oracle) Rank() int { return o.r }

// Eigenvalues returns the r non-zero eigenvalues of H = G, descending.
func (o *Oracle) Eigenvalues() []float64 {
	out := make([]float64, o.r)
	for k, h := range o.h {
		out[k] = math.Ldexp(h, o.kExp)
	}
	return out
}

// FroH is the flatness ‖H‖_F = sqrt(Σ_k h_k²), H = G at the minimum.
func (o *Oracle) FroH() float64 { return math.Ldexp(o.froHScaled(), o.kExp) }

func (o *Oracle) froHScaled() float64 {
	s := 0.0
	for _, h := range o.h {
		s += h * h
	}
	return math.Sqrt(s)
}

// LambdaMax is λ_1(H).
func (o *Oracle) LambdaMax() float64 { return math.Ldexp(o.h[0], o.kExp) }

// scaledEta checks η and returns η̂ = 2^kExp η.
func (o *Oracle) scaledEta(eta float64) (float64, error) {
	if !(eta > 0) || math.IsInf(eta, 1) {
		return 0, paramErr("eta", "learning rate must be positive and finite, got %v", eta)
	}
	e := math.Ldexp(eta, o.kExp)
	if math.IsInf(e, 1) || e == 0 {
		return 0, paramErr("eta", "η·‖H‖ = %v·2^%d is outside the float64 range", eta, o.kExp)
	}
	return e, nil
}

// PointMoment returns R = e eᵀ, the second moment of the residuals of a
// deterministic θ_0 (e = Qθ_0), for ExpectedLoss.
func (o *Oracle) PointMoment(e []float64) (*mat.SymDense, error) {
	if len(e) != o.n {
		return nil, inputErr(theory.ErrShape, "e", theory.NoIndex, theory.NoIndex, "len(e) = %d, want n = %d", len(e), o.n)
	}
	if err := checkFinite(e, "e"); err != nil {
		return nil, err
	}
	m := mat.NewSymDense(o.n, nil)
	m.SymOuterK(1, mat.NewVecDense(o.n, append([]float64(nil), e...)))
	return m, nil
}

// checkMoment checks an n x n residual second moment.
func (o *Oracle) checkMoment(arg string, r mat.Symmetric) error {
	if r.SymmetricDim() != o.n {
		return inputErr(theory.ErrShape, arg, theory.NoIndex, theory.NoIndex, "%s is %d x %d, want n x n = %d x %d", arg, r.SymmetricDim(), r.SymmetricDim(), o.n, o.n)
	}
	for i := 0; i < o.n; i++ {
		for j := i; j < o.n; j++ {
			if v := r.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return inputErr(theory.ErrNotFinite, arg, i, j, "value %v", v)
			}
		}
	}
	return nil
}

// Loss returns E[L(θ)] = Tr(R)/(2n) for a residual second moment R.
func (o *Oracle) Loss(r mat.Symmetric) float64 {
	s := 0.0
	for i := 0; i < o.n; i++ {
		s += r.At(i, i)
	}
	return s / (2 * float64(o.n))
}

// RangeResidual returns e = U w (len(w) = r), the residuals e = Qθ of the
// θ whose coordinates in the basis V are diag(s)⁻¹w. U is the computed
// basis of the range of K, within an angle n·ε·λ_1(K)/(λ_r(K) - n·ε·λ_1(K))
// of the true one (Davis–Kahan, K's rounding being at most n·ε·λ_1).
func (o *Oracle) RangeResidual(w []float64) []float64 {
	e := mat.NewVecDense(o.n, nil)
	e.MulVec(o.u, mat.NewVecDense(o.r, append([]float64(nil), w...)))
	return e.RawVector().Data
}
