package theory

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/numerics"
)

// State is a model at one θ, as the paper sees it: the per-sample gradients
// Q (n x p, rows g_i) and the residuals e (n). It keeps only the n x n Gram
// K = Q Qᵀ and e, each scaled by a power of two, so it is small even when p
// is large; Q itself is not retained.
type State struct {
	n, p int
	k    []float64 // K̂ = K·2^-kExp, row-major n x n, max |K̂| in [1/2, 1)
	kExp int
	e    []float64 // ê = e·2^-eExp, max |ê| in [1/2, 1), or all zero (then eExp = 0)
	eExp int

	eig []float64 // eigenvalues of K̂, ascending (computed once, on demand)
}

// safeExp bounds the binary exponent of max|Q| for which K = QQᵀ is formed
// from Q as given: then |K_ij| <= p·2^(2·safeExp) cannot overflow for any
// p < 2^700 and products of the largest entries stay normal. Outside it Q is
// copied and scaled by a power of two first.
const safeExp = 150

// NewState checks Q (row-major n x p) and e (length n) and forms the Gram
// K = Q Qᵀ. q is neither modified nor retained. e may be nil when only the
// geometry (G, γ, τ, λ_max, rank) is wanted; Noise then reports ErrZeroLoss.
func NewState(q []float64, n, p int, e []float64) (*State, error) {
	if n <= 0 || p <= 0 {
		return nil, inputErr(ErrEmpty, "Q", NoIndex, NoIndex, "n = %d, p = %d", n, p)
	}
	if len(q) != n*p {
		return nil, inputErr(ErrShape, "Q", NoIndex, NoIndex, "len(Q) = %d, want n·p = %d·%d = %d", len(q), n, p, n*p)
	}
	if e != nil && len(e) != n {
		return nil, inputErr(ErrShape, "e", NoIndex, NoIndex, "len(e) = %d, want n = %d", len(e), n)
	}
	qMax, err := maxAbsFinite(q, "Q", p)
	if err != nil {
		return nil, err
	}
	if qMax == 0 {
		return nil, inputErr(ErrZeroGram, "Q", NoIndex, NoIndex, "")
	}
	eMax := 0.0
	if e != nil {
		if eMax, err = maxAbsFinite(e, "e", 0); err != nil {
			return nil, err
		}
	}

	s := &State{n: n, p: p, k: make([]float64, n*n), e: make([]float64, n)}
	_, qExp := math.Frexp(qMax)
	if qExp > safeExp || qExp < -safeExp {
		scaled := make([]float64, len(q))
		for i, v := range q {
			scaled[i] = math.Ldexp(v, -qExp)
		}
		q = scaled
	} else {
		qExp = 0
	}
	numerics.Gram(s.k, q, n, p)
	s.kExp = 2*qExp + normalize(s.k)
	s.setResiduals(e, eMax)
	return s, nil
}

// NewStateGram is NewState for a model whose Gram K = QQᵀ (row-major n x n)
// was formed without Q, for example layer by layer (models.Network.Gram).
// K must be finite, exactly symmetric and not zero; p is the number of
// parameters (the columns Q would have), which only the rank threshold uses.
// k is neither modified nor retained.
func NewStateGram(k []float64, n, p int, e []float64) (*State, error) {
	if n <= 0 || p <= 0 {
		return nil, inputErr(ErrEmpty, "K", NoIndex, NoIndex, "n = %d, p = %d", n, p)
	}
	if len(k) != n*n {
		return nil, inputErr(ErrShape, "K", NoIndex, NoIndex, "len(K) = %d, want n² = %d", len(k), n*n)
	}
	if e != nil && len(e) != n {
		return nil, inputErr(ErrShape, "e", NoIndex, NoIndex, "len(e) = %d, want n = %d", len(e), n)
	}
	kMax, err := maxAbsFinite(k, "K", n)
	if err != nil {
		return nil, err
	}
	if kMax == 0 {
		return nil, inputErr(ErrZeroGram, "K", NoIndex, NoIndex, "")
	}
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			if k[i*n+j] != k[j*n+i] {
				return nil, inputErr(ErrShape, "K", i, j, "not symmetric: K[%d, %d] = %v, K[%d, %d] = %v", i, j, k[i*n+j], j, i, k[j*n+i])
			}
		}
	}
	eMax := 0.0
	if e != nil {
		if eMax, err = maxAbsFinite(e, "e", 0); err != nil {
			return nil, err
		}
	}
	s := &State{n: n, p: p, k: append([]float64(nil), k...), e: make([]float64, n)}
	s.kExp = normalize(s.k)
	s.setResiduals(e, eMax)
	return s, nil
}

// setResiduals stores ê = e·2^-eExp; e = nil or eMax = 0 leaves ê zero.
func (s *State) setResiduals(e []float64, eMax float64) {
	if e != nil && eMax != 0 {
		copy(s.e, e)
		s.eExp = normalize(s.e)
	}
}

// N is the number of samples, P the number of parameters.
func (s *State) N() int { return s.n }

// P is the number of parameters (columns of Q).
func (s *State) P() int { return s.p }

// Gram returns K = Q Qᵀ as a new n x n symmetric matrix. Entries that
// overflow float64 are ±Inf; use ScaledGram to avoid that.
func (s *State) Gram() *mat.SymDense {
	data := make([]float64, len(s.k))
	for i, v := range s.k {
		data[i] = math.Ldexp(v, s.kExp)
	}
	return mat.NewSymDense(s.n, data)
}

// ScaledGram returns K̂ and the exponent x with K = 2^x K̂ and max |K̂| in [1/2, 1).
func (s *State) ScaledGram() (*mat.SymDense, int) {
	return mat.NewSymDense(s.n, append([]float64(nil), s.k...)), s.kExp
}

// Loss returns L = Σ e_i²/(2n), overflow-safe; 0 when e is nil or zero.
func (s *State) Loss() float64 {
	return scaledSq(numerics.Nrm2(s.e), s.eExp, 2*float64(s.n))
}

// Residuals returns a copy of e.
func (s *State) Residuals() []float64 {
	out := make([]float64, s.n)
	for i, v := range s.e {
		out[i] = math.Ldexp(v, s.eExp)
	}
	return out
}

// maxAbsFinite returns max |x_i|, or an error locating the first NaN or ±Inf.
// With cols > 0, x is read as a row-major matrix with that many columns.
func maxAbsFinite(x []float64, arg string, cols int) (float64, error) {
	m := 0.0
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if cols > 0 {
				return 0, inputErr(ErrNotFinite, arg, i/cols, i%cols, "value %v", v)
			}
			return 0, inputErr(ErrNotFinite, arg, i, NoIndex, "value %v", v)
		}
		m = math.Max(m, math.Abs(v))
	}
	return m, nil
}

// normalize scales x in place by a power of two so that max |x| lies in
// [1/2, 1), and returns the exponent x had: x_old = 2^exp · x_new. A zero
// vector is left alone (exponent 0). The scaling is exact unless entries
// fall below the normal range, where they are negligible against the maximum.
func normalize(x []float64) int {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	_, exp := math.Frexp(m) // 0 for m = 0, which leaves x alone
	for i, v := range x {
		x[i] = math.Ldexp(v, -exp)
	}
	return exp
}

// scaledSq returns (f·2^exp)²/d without intermediate overflow or underflow.
func scaledSq(f float64, exp int, d float64) float64 {
	m, x := math.Frexp(f)
	return math.Ldexp(m*m/d, 2*(x+exp))
}
