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
// and E[L(θ_t)] = Tr(H M_t)/2 exactly. Nothing here is p x p.
//
// The recursion runs on the residuals e = Qθ, exactly in K = QQᵀ: one step
// is e' = e - (η/B) K D_I e with D_I = diag(batch counts), so
// R = E[e eᵀ] = Q M Qᵀ obeys
//
//	R' = R - (η/n)(KR + RK) + η²(C1·KRK/n² + C2·K diag(R) K),
//
// (C1, C2 the BatchMoments) and E[L] = Tr(R)/(2n): O(n³) a step, no
// eigen-decomposition, no projection of e on a numerical range.
//
// The spectral questions (ρ, η*, μ0) live on the symmetric r x r matrices of
// the range of G = V diag(h) Vᵀ (r = rank G): Q = U S Vᵀ from the
// eigen-decomposition K = U S² Uᵀ, the features in the basis V are the rows
// a_i of A = U S, and H = diag(h) with h_k = s_k²/n (generalized.go).
//
// Scaling. The oracle works with K̂ = 2^-x K as State does, with â_i, ĥ and
// the learning rate η̂ = 2^x η: T depends on η and K only through ηK and
// η²K(·)K, which are the same numbers.

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
		if l > float64(n)*unitRoundoff*lmax {
			r++
		}
	}
	o := &Oracle{n: n, p: st.p, r: r, kExp: kExp,
		u: mat.NewDense(n, r, nil), sv: make([]float64, r), h: make([]float64, r),
		a: mat.NewDense(n, r, nil), chi: make([]float64, n), k: k}
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
		return nil, inputErr(ErrShape, "e", -1, -1, "len(e) = %d, want n = %d", len(e), o.n)
	}
	if _, err := maxAbsFinite(e, "e", 0); err != nil {
		return nil, err
	}
	m := mat.NewSymDense(o.n, nil)
	m.SymOuterK(1, mat.NewVecDense(o.n, append([]float64(nil), e...)))
	return m, nil
}

// checkMoment checks an n x n residual second moment.
func (o *Oracle) checkMoment(arg string, r mat.Symmetric) error {
	if r.SymmetricDim() != o.n {
		return inputErr(ErrShape, arg, -1, -1, "%s is %d x %d, want n x n = %d x %d", arg, r.SymmetricDim(), r.SymmetricDim(), o.n, o.n)
	}
	for i := 0; i < o.n; i++ {
		for j := i; j < o.n; j++ {
			if v := r.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return inputErr(ErrNotFinite, arg, i, j, "value %v", v)
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
//	SGD:              M' = M - η(HM + MH) + η²(C1·HMH + C2·Σ_i (g_iᵀMg_i)g_ig_iᵀ)
//	custom noise S:   M' = (I - ηH)M(I - ηH) + η² E[S(θ)]/B, with
//	  geometry-aware  E[S1] = Tr(HM)·H,
//	  isotropic       E[S2] = σ²Tr(HM)·I_p (σ² = Tr(H)/p),
//	  state-independent  S constant;
//
// on the residuals (R = QMQᵀ, Tr(HM) = Tr(R)/n, QHQᵀ = K²/n, QQᵀ = K):
//
//	SGD:              R' = R - (η/n)(KR + RK) + η²(C1·KRK/n² + C2·K diag(R) K)
//	custom:           R' = (I - ηK/n)R(I - ηK/n) + (η²/B)·{Tr(R)K²/n², σ²Tr(R)K/n, QSQᵀ}.
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
	s      *mat.SymDense // stateIndependent: Q S Qᵀ (n x n)

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
// covariance S/B (Lemma 3.7; B = 1 is Lemma 3.2's E[ξξᵀ] = S). S enters
// only through Q S Qᵀ (n x n), which is what it takes.
func (o *Oracle) StateIndependent(b int, qsq mat.Symmetric) (*Dynamics, error) {
	if b < 1 {
		return nil, paramErr("B", "batch size must be >= 1, got %d", b)
	}
	if err := o.checkMoment("QSQᵀ", qsq); err != nil {
		return nil, err
	}
	s := mat.NewSymDense(o.n, nil)
	s.CopySym(qsq)
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

// Step returns R' for the residual second moment R (n x n), O(n³).
func (d *Dynamics) Step(eta float64, r mat.Symmetric) (*mat.SymDense, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return nil, err
	}
	if err := d.o.checkMoment("R", r); err != nil {
		return nil, err
	}
	return d.step(e, eta, r, true), nil
}

// step is Step with η̂ = e; affine = false leaves out a constant noise term
// (the linear part of the recursion).
func (d *Dynamics) step(e, eta float64, r mat.Symmetric, affine bool) *mat.SymDense {
	o, n := d.o, d.o.n
	nf := float64(n)
	k := o.k
	var kr, krk mat.Dense
	kr.Mul(k, r)
	krk.Mul(&kr, k)
	c1 := d.hmhCoefficient()
	out := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := r.At(i, j) - e/nf*(kr.At(i, j)+kr.At(j, i)) + e*e*c1/(nf*nf)*krk.At(i, j)
			out.SetSym(i, j, v)
		}
	}
	tr := 2 * nf * o.Loss(r) // Tr(R)
	switch d.kind {
	case sgdNoise:
		if d.mom.C2 == 0 {
			break
		}
		// C2·K diag(R) K = C2·Σ_i R_ii K_i K_iᵀ (K_i column i).
		col := make([]float64, n)
		for i := 0; i < n; i++ {
			mat.Col(col, i, k)
			out.SymRankOne(out, e*e*d.mom.C2*r.At(i, i), mat.NewVecDense(n, col))
		}
	case geometryAware:
		var k2 mat.Dense
		k2.Mul(k, k)
		w := e * e * tr / (nf * nf * float64(d.batch))
		addScaled(out, w, &k2)
	case isotropic:
		addScaled(out, e*e*d.sigma2*tr/(nf*float64(d.batch)), k)
	case stateIndependent:
		if affine {
			// The constant noise carries its own scale: η²QSQᵀ/B, true η.
			addScaled(out, eta*eta/float64(d.batch), d.s)
		}
	}
	return out
}

// addScaled adds w·x to the symmetric out.
func addScaled(out *mat.SymDense, w float64, x mat.Matrix) {
	n := out.SymmetricDim()
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			out.SetSym(i, j, out.At(i, j)+w*x.At(i, j))
		}
	}
}

// ExpectedLoss returns E[L(θ_t)] for t = 0..steps from the residual second
// moment R_0 (for example PointMoment(Qθ_0)), by the exact recursion.
func (d *Dynamics) ExpectedLoss(eta float64, r0 mat.Symmetric, steps int) ([]float64, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return nil, err
	}
	if err := d.o.checkMoment("R", r0); err != nil {
		return nil, err
	}
	if steps < 0 {
		return nil, paramErr("steps", "must be >= 0, got %d", steps)
	}
	out := make([]float64, steps+1)
	out[0] = d.o.Loss(r0)
	r := r0
	for t := 1; t <= steps; t++ {
		r = d.step(e, eta, r, true)
		out[t] = d.o.Loss(r)
	}
	return out, nil
}
