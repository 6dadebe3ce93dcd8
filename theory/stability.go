package theory

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// The exact linear-stability oracle of Section 3.
//
// Linearized SGD at a global minimum θ* = 0 (eq. 5) is θ_{t+1} = (I - ηH_I)θ_t
// with H_I = (1/B) Σ_{i∈I} g_i g_iᵀ, and L(θ) = θᵀHθ/2, H = G. Its second
// moment M_t = E[θ_t θ_tᵀ] obeys a linear recursion M_{t+1} = T(M_t),
//
//	T(M) = M - η(HM + MH) + η² E[H_I M H_I],
//
// and E[L(θ_t)] = Tr(H M_t)/2 exactly. Only the part of θ in the range of
// G = V diag(h) Vᵀ moves or counts, so everything lives on the symmetric
// r x r matrices in the basis V (r = rank G): Q = U S Vᵀ (U n x r from the
// eigen-decomposition K = QQᵀ = U S² Uᵀ), the features in that basis are the
// rows a_i of A = U S, and H = diag(h) with h_k = s_k²/n. Nothing is p x p.
//
// Scaling. The oracle works with K̂ = 2^-x K as State does, so with â_i, ĥ
// and the learning rate η̂ = 2^x η: T depends on η and the features only
// through ηH and η²(a_iᵀ M a_i)a_ia_iᵀ, which are the same numbers. A second
// moment M̂ in the oracle's basis is Ŝ⁻¹Uᵀ R U Ŝ⁻¹ for the second moment
// R = E[e eᵀ] of the residuals e = Qθ; then E[L] = Σ ĥ_k M̂_kk/2 exactly.

// Sampling is how SGD draws the B indices of a batch from the n samples.
type Sampling int

const (
	// WithReplacement draws B indices independently and uniformly (the
	// paper's setting: the noise covariance is Σ(θ)/B).
	WithReplacement Sampling = iota
	// WithoutReplacement draws a uniform B-subset (B <= n): the noise
	// covariance is Σ(θ)/B times (n-B)/(n-1).
	WithoutReplacement
)

func (s Sampling) String() string {
	switch s {
	case WithReplacement:
		return "with replacement"
	case WithoutReplacement:
		return "without replacement"
	}
	return fmt.Sprintf("Sampling(%d)", int(s))
}

// BatchMoments are the coefficients of the batch second moment
//
//	E[H_I M H_I] = C1·HMH + C2·Σ_i (g_iᵀ M g_i) g_i g_iᵀ.
//
// Every exchangeable sampling has C1 + n·C2 = 1: E[H_I M H_I] is then the
// mixture (1 - ν)·HMH + ν·(1/n)Σ_i (g_iᵀMg_i)g_ig_iᵀ of GD's and of a
// single-sample batch's, with the noise fraction ν = n·C2 in [0, 1].
type BatchMoments struct {
	C1, C2 float64
}

// Moments returns the BatchMoments of a batch of b indices drawn from n
// samples. With replacement, C1 = 1 - 1/B and C2 = 1/(Bn). Without, the
// (B/n)S + (B(B-1)/(n(n-1)))(n²HMH - S) of B² E[H_I M H_I] give
// C1 = (B-1)n/(B(n-1)) and C2 = (n-B)/(Bn(n-1)): the noise fraction is
// scaled by (n-B)/(n-1). For n = 1 both are C1 = 0, C2 = 1.
func (s Sampling) Moments(n, b int) (BatchMoments, error) {
	if n < 1 {
		return BatchMoments{}, inputErr(ErrEmpty, "n", -1, -1, "n = %d", n)
	}
	if b < 1 {
		return BatchMoments{}, paramErr("B", "batch size must be >= 1, got %d", b)
	}
	nf, bf := float64(n), float64(b)
	switch s {
	case WithReplacement:
		return BatchMoments{C1: 1 - 1/bf, C2: 1 / (bf * nf)}, nil
	case WithoutReplacement:
		if b > n {
			return BatchMoments{}, paramErr("B", "a batch drawn without replacement has at most n = %d indices, got %d", n, b)
		}
		if n == 1 {
			return BatchMoments{C1: 0, C2: 1}, nil
		}
		return BatchMoments{C1: (bf - 1) * nf / (bf * (nf - 1)), C2: (nf - bf) / (bf * nf * (nf - 1))}, nil
	}
	return BatchMoments{}, paramErr("sampling", "unknown sampling %d", int(s))
}

// maxOracleEntries bounds n·r(r+1)/2, the number of entries of the
// oracle's low-rank factor for SGD noise (8 bytes each: 256 MiB).
const maxOracleEntries = 1 << 25

// Oracle is the exact linear-stability oracle of Section 3 for the features
// Q at a global minimum. It keeps the eigen-decomposition of K̂ restricted
// to its numerical range; Q is not retained.
type Oracle struct {
	n, p, r int
	kExp    int        // K = 2^kExp K̂
	u       *mat.Dense // n x r: eigenvectors of K̂, eigenvalues descending
	sv      []float64  // ŝ_k = sqrt(λ_k(K̂))
	h       []float64  // ĥ_k = ŝ_k²/n, the eigenvalues of Ĥ
	a       *mat.Dense // Â = U diag(ŝ), n x r: the features in the basis V
	chi     []float64  // χ̂_i = â_iᵀ Ĥ â_i
}

// NewOracle builds the oracle for the per-sample gradients Q (row-major
// n x p, rows g_i) at a global minimum (H = G). q is neither modified nor
// retained. Bad input is an error as for NewState.
func NewOracle(q []float64, n, p int) (*Oracle, error) {
	st, err := NewState(q, n, p, nil)
	if err != nil {
		return nil, err
	}
	return NewOracleFromState(st)
}

// NewOracleFromState builds the oracle from the Gram matrix a State keeps
// (its residuals are ignored: the oracle linearizes at a minimum).
func NewOracleFromState(st *State) (*Oracle, error) {
	k, kExp := st.ScaledGram()
	n := st.n
	var es mat.EigenSym
	if !es.Factorize(k, true) {
		// Dsyev does not fail on finite symmetric input (see eigenvalues).
		panic("theory: eigen-decomposition of a finite symmetric matrix failed")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	// The numerical range: the rule of Geometry.Rank, eigenvalues above
	// n·ε·λ_1(K̂), below which rounding in forming K̂ hides them.
	lmax := vals[n-1]
	r := 0
	for _, l := range vals {
		if l > float64(n)*epsilon*lmax {
			r++
		}
	}
	if m := n * r * (r + 1) / 2; m > maxOracleEntries || m < 0 {
		return nil, inputErr(ErrParam, "Q", -1, -1, "n·r(r+1)/2 = %d·%d·%d/2 exceeds %d: too large for the exact oracle", n, r, r+1, maxOracleEntries)
	}
	o := &Oracle{n: n, p: st.p, r: r, kExp: kExp,
		u: mat.NewDense(n, r, nil), sv: make([]float64, r), h: make([]float64, r),
		a: mat.NewDense(n, r, nil), chi: make([]float64, n)}
	for c := 0; c < r; c++ {
		j := n - 1 - c // descending
		o.sv[c] = math.Sqrt(vals[j])
		o.h[c] = vals[j] / float64(n)
		for i := 0; i < n; i++ {
			o.u.Set(i, c, vecs.At(i, j))
			o.a.Set(i, c, vecs.At(i, j)*o.sv[c])
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

// Rank is r, the numerical rank of G (as Geometry.Rank).
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

// ScaledFeatures returns Â (n x r, the features in the basis V, scaled) and
// the exponent x with A = 2^(x/2) Â and H = 2^x Ĥ, Ĥ = diag(ĥ) = ÂᵀÂ/n. The
// oracle's operators are those of Â with the learning rate 2^x η.
func (o *Oracle) ScaledFeatures() (*mat.Dense, []float64, int) {
	return mat.DenseCopyOf(o.a), append([]float64(nil), o.h...), o.kExp
}

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

// PointMoment returns the second moment M̂ = x̂x̂ᵀ of a deterministic θ_0,
// given by its residuals e = Qθ_0 (length n): x̂ = Ŝ⁻¹Uᵀe.
func (o *Oracle) PointMoment(e []float64) (*mat.SymDense, error) {
	if len(e) != o.n {
		return nil, inputErr(ErrShape, "e", -1, -1, "len(e) = %d, want n = %d", len(e), o.n)
	}
	if _, err := maxAbsFinite(e, "e", 0); err != nil {
		return nil, err
	}
	x := mat.NewVecDense(o.r, nil)
	x.MulVec(o.u.T(), mat.NewVecDense(o.n, append([]float64(nil), e...)))
	for k := range o.sv {
		x.SetVec(k, x.AtVec(k)/o.sv[k])
	}
	m := mat.NewSymDense(o.r, nil)
	m.SymOuterK(1, x)
	return m, nil
}

// ReduceMoment returns M̂ = Ŝ⁻¹Uᵀ R U Ŝ⁻¹ for the n x n second moment
// R = E[e eᵀ] = Q M Qᵀ of the residuals (for a p x p second moment M of θ).
func (o *Oracle) ReduceMoment(r mat.Symmetric) (*mat.SymDense, error) {
	if r.SymmetricDim() != o.n {
		return nil, inputErr(ErrShape, "R", -1, -1, "R is %d x %d, want n x n = %d x %d", r.SymmetricDim(), r.SymmetricDim(), o.n, o.n)
	}
	for i := 0; i < o.n; i++ {
		for j := i; j < o.n; j++ {
			if v := r.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, inputErr(ErrNotFinite, "R", i, j, "value %v", v)
			}
		}
	}
	var t, w mat.Dense
	t.Mul(o.u.T(), r)
	w.Mul(&t, o.u)
	m := mat.NewSymDense(o.r, nil)
	for k := 0; k < o.r; k++ {
		for l := k; l < o.r; l++ {
			m.SetSym(k, l, (w.At(k, l)+w.At(l, k))/2/(o.sv[k]*o.sv[l]))
		}
	}
	return m, nil
}

// ResidualMoment maps M̂ back to the residuals: R = Â M̂ Âᵀ (n x n).
func (o *Oracle) ResidualMoment(m mat.Symmetric) *mat.SymDense {
	var t mat.Dense
	t.Mul(o.a, m)
	out := mat.NewSymDense(o.n, nil)
	for i := 0; i < o.n; i++ {
		for j := i; j < o.n; j++ {
			s := 0.0
			for k := 0; k < o.r; k++ {
				s += t.At(i, k) * o.a.At(j, k)
			}
			out.SetSym(i, j, s)
		}
	}
	return out
}

// Loss returns E[L(θ)] = Tr(H M)/2 = Σ_k ĥ_k M̂_kk/2 for a second moment M̂.
func (o *Oracle) Loss(m mat.Symmetric) float64 {
	s := 0.0
	for k, h := range o.h {
		s += h * m.At(k, k)
	}
	return s / 2
}

// noiseKind is the noise of a Dynamics.
type noiseKind int

const (
	sgdNoise         noiseKind = iota // the batch noise of SGD, E[H_I M H_I] by BatchMoments
	geometryAware                     // S1(θ) = 2L(θ)H, Section 3.3
	isotropic                         // S2(θ) = 2σ²L(θ)I_p, σ² = Tr(H)/p, Section 3.3
	stateIndependent                  // a constant S (Lemma 3.7)
)

// Dynamics is the second-moment recursion of one linearized SGD at the
// minimum, for a noise model (without η, which its methods take):
//
//	SGD:              M' = M - η(HM + MH) + η²(C1·HMH + C2·Σ_i (a_iᵀMa_i)a_ia_iᵀ)
//	custom noise S:   M' = (I - ηH)M(I - ηH) + η² E[S(θ)]/B, with
//	  geometry-aware  E[S1] = Tr(HM)·H,
//	  isotropic       E[S2] = σ²Tr(HM)·I (σ² = Tr(H)/p; I_p restricted to range G),
//	  state-independent  S constant.
//
// Except for a state-independent S the recursion is linear, M' = T(M); T is
// self-adjoint for the Frobenius inner product (for isotropic noise after a
// diagonal similarity) and maps positive semi-definite matrices to positive
// semi-definite ones, so its spectral radius ρ is its largest eigenvalue.
type Dynamics struct {
	o      *Oracle
	kind   noiseKind
	batch  int
	mom    BatchMoments  // sgdNoise
	sigma2 float64       // isotropic: σ̂² = Tr(Ĥ)/p
	s      *mat.SymDense // stateIndependent: Ŝ in the oracle's basis

	st *structure // the operator in the basis of Sym(r), built on first use
}

// SGD is linearized mini-batch SGD with batch size b and the given sampling.
func (o *Oracle) SGD(b int, s Sampling) (*Dynamics, error) {
	m, err := s.Moments(o.n, b)
	if err != nil {
		return nil, err
	}
	return &Dynamics{o: o, kind: sgdNoise, batch: b, mom: m}, nil
}

// GD is linearized full-batch gradient descent (BatchMoments{1, 0}).
func (o *Oracle) GD() *Dynamics {
	return &Dynamics{o: o, kind: sgdNoise, batch: o.n, mom: BatchMoments{C1: 1}}
}

// WithMoments is the second-moment recursion with given batch moments.
// Moments that no sampling has (C1 + nC2 ≠ 1, or outside [0, 1]) give an
// operator that need not preserve positive semi-definiteness: Step and
// ExpectedLoss accept them, SpectralRadius and CriticalRate refuse them.
func (o *Oracle) WithMoments(m BatchMoments) (*Dynamics, error) {
	if math.IsNaN(m.C1) || math.IsInf(m.C1, 0) || math.IsNaN(m.C2) || math.IsInf(m.C2, 0) {
		return nil, paramErr("moments", "must be finite, got %+v", m)
	}
	return &Dynamics{o: o, kind: sgdNoise, batch: 0, mom: m}, nil
}

// GeometryAware is Section 3.3's SGD with geometry-aware noise
// E[ξξᵀ] = S1(θ)/B, S1 = 2L(θ)H.
func (o *Oracle) GeometryAware(b int) (*Dynamics, error) {
	if b < 1 {
		return nil, paramErr("B", "batch size must be >= 1, got %d", b)
	}
	return &Dynamics{o: o, kind: geometryAware, batch: b}, nil
}

// Isotropic is Section 3.3's SGD with isotropic noise E[ξξᵀ] = S2(θ)/B,
// S2 = 2σ²L(θ)I_p with σ² = Tr(H)/p. Only the part of I_p in the range of
// G moves the loss.
func (o *Oracle) Isotropic(b int) (*Dynamics, error) {
	if b < 1 {
		return nil, paramErr("B", "batch size must be >= 1, got %d", b)
	}
	tr := 0.0
	for _, h := range o.h {
		tr += h
	}
	return &Dynamics{o: o, kind: isotropic, batch: b, sigma2: tr / float64(o.p)}, nil
}

// StateIndependent is Lemma 3.2's general SGD with a constant noise
// covariance S/B (Lemma 3.7; B = 1 is Lemma 3.2's E[ξξᵀ] = S). S is given
// by R_S = Q S Qᵀ (n x n), reduced like a second moment.
func (o *Oracle) StateIndependent(b int, rs mat.Symmetric) (*Dynamics, error) {
	if b < 1 {
		return nil, paramErr("B", "batch size must be >= 1, got %d", b)
	}
	s, err := o.ReduceMoment(rs)
	if err != nil {
		return nil, err
	}
	return &Dynamics{o: o, kind: stateIndependent, batch: b, s: s}, nil
}

// Oracle returns the oracle d belongs to.
func (d *Dynamics) Oracle() *Oracle { return d.o }

// hmhCoefficient is the coefficient of η²HMH in the recursion.
func (d *Dynamics) hmhCoefficient() float64 {
	if d.kind == sgdNoise {
		return d.mom.C1
	}
	return 1
}

// Step returns M' for the second moment M̂ (r x r, in the oracle's basis),
// matrix-free in O(n r²).
func (d *Dynamics) Step(eta float64, m mat.Symmetric) (*mat.SymDense, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return nil, err
	}
	if m.SymmetricDim() != d.o.r {
		return nil, inputErr(ErrShape, "M", -1, -1, "M is %d x %d, want r x r = %d x %d", m.SymmetricDim(), m.SymmetricDim(), d.o.r, d.o.r)
	}
	return d.step(e, eta, m, true), nil
}

// step is Step with η̂ = e; affine = false leaves out a constant noise term
// (the linear part of the recursion).
func (d *Dynamics) step(e, eta float64, m mat.Symmetric, affine bool) *mat.SymDense {
	o, r := d.o, d.o.r
	c1 := d.hmhCoefficient()
	out := mat.NewSymDense(r, nil)
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			hk, hl := o.h[k], o.h[l]
			out.SetSym(k, l, m.At(k, l)*(1-e*(hk+hl)+e*e*c1*hk*hl))
		}
	}
	trHM := o.Loss(m) * 2
	switch d.kind {
	case sgdNoise:
		if d.mom.C2 == 0 {
			break
		}
		ai := make([]float64, r)
		mai := mat.NewVecDense(r, nil)
		for i := 0; i < o.n; i++ {
			mat.Row(ai, i, o.a)
			av := mat.NewVecDense(r, ai)
			mai.MulVec(m, av)
			w := e * e * d.mom.C2 * mat.Dot(av, mai)
			out.SymRankOne(out, w, av)
		}
	case geometryAware:
		w := e * e * trHM / float64(d.batch)
		for k := 0; k < r; k++ {
			out.SetSym(k, k, out.At(k, k)+w*o.h[k])
		}
	case isotropic:
		w := e * e * d.sigma2 * trHM / float64(d.batch)
		for k := 0; k < r; k++ {
			out.SetSym(k, k, out.At(k, k)+w)
		}
	case stateIndependent:
		if !affine {
			break
		}
		// The constant noise carries its own scale: η² Ŝ/B with the true η.
		w := eta * eta / float64(d.batch)
		for k := 0; k < r; k++ {
			for l := k; l < r; l++ {
				out.SetSym(k, l, out.At(k, l)+w*d.s.At(k, l))
			}
		}
	}
	return out
}

// ExpectedLoss returns E[L(θ_t)] for t = 0..steps from the second moment
// M̂_0 (for example PointMoment(Qθ_0)), by the exact recursion.
func (d *Dynamics) ExpectedLoss(eta float64, m0 mat.Symmetric, steps int) ([]float64, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return nil, err
	}
	if m0.SymmetricDim() != d.o.r {
		return nil, inputErr(ErrShape, "M", -1, -1, "M is %d x %d, want r x r = %d x %d", m0.SymmetricDim(), m0.SymmetricDim(), d.o.r, d.o.r)
	}
	if steps < 0 {
		return nil, paramErr("steps", "must be >= 0, got %d", steps)
	}
	out := make([]float64, steps+1)
	out[0] = d.o.Loss(m0)
	m := m0
	for t := 1; t <= steps; t++ {
		m = d.step(e, eta, m, true)
		out[t] = d.o.Loss(m)
	}
	return out, nil
}
