package oracle

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

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

	st      *structure   // the operator in the basis of Sym(r), built on first use
	feat    *sgdFeatures // the matrix-free path's features, built on first use
	etaStar *Interval    // CriticalRateBounds, once computed
	// start is where the matrix-free η* problem starts Lanczos (nil: the
	// identity); perron is the eigenvector it found, where the ρ problems
	// start.
	start, perron []float64
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
