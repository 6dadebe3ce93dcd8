package theory

import "math"

// SGD is a learning rate η and a batch size B.
type SGD struct {
	Eta   float64
	Batch int
}

// Validate reports an ErrParam error unless η > 0 is finite and B >= 1.
func (h SGD) Validate() error {
	if !(h.Eta > 0) || math.IsInf(h.Eta, 1) {
		return paramErr("eta", "learning rate must be positive and finite, got %v", h.Eta)
	}
	if h.Batch < 1 {
		return paramErr("B", "batch size must be >= 1, got %d", h.Batch)
	}
	return nil
}

// alignmentArg checks an alignment constant (μ0 or μ1_0) and says whether it
// gives a bound at all: the bounds hold only for a positive constant, and for
// one that is <= 0 the theorems say nothing (the bound is +Inf).
func alignmentArg(name string, v float64) (positive bool, err error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false, paramErr(name, "must be finite, got %v", v)
	}
	return v > 0, nil
}

// BoundThm33 is Theorem 3.3: a linearly stable minimum with μ(θ) >= μ0 has
// ‖H‖_F <= sqrt(B/μ0)/η. It is +Inf when μ0 <= 0.
func (h SGD) BoundThm33(mu0 float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	ok, err := alignmentArg("mu0", mu0)
	if err != nil || !ok {
		return math.Inf(1), err
	}
	return math.Sqrt(float64(h.Batch)/mu0) / h.Eta, nil
}

// BoundThm33WithoutReplacement is Theorem 3.3 for a uniform B-subset drawn
// without replacement from n samples, whose noise covariance is Σ/B scaled by
// (n-B)/(n-1): ‖H‖_F <= sqrt(B(n-1)/((n-B)μ0))/η (beyond the paper). It is
// +Inf when μ0 <= 0 or B = n (full batch: no noise).
func (h SGD) BoundThm33WithoutReplacement(mu0 float64, n int) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if h.Batch > n {
		return 0, paramErr("B", "batch size %d exceeds n = %d", h.Batch, n)
	}
	ok, err := alignmentArg("mu0", mu0)
	if err != nil || !ok || h.Batch == n {
		return math.Inf(1), err
	}
	b, nf := float64(h.Batch), float64(n)
	return math.Sqrt(b*(nf-1)/((nf-b)*mu0)) / h.Eta, nil
}

// BoundProp34 is Proposition 3.4: with μ1(θ) >= μ1_0,
// ‖H‖_F <= min(B/sqrt((B-1)μ1_0), 2B/μ1_0)/η; for B = 1 only the second
// term applies. It is +Inf when μ1_0 <= 0.
func (h SGD) BoundProp34(mu10 float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	ok, err := alignmentArg("mu1_0", mu10)
	if err != nil || !ok {
		return math.Inf(1), err
	}
	b := float64(h.Batch)
	bound := 2 * b / mu10
	if h.Batch > 1 {
		bound = math.Min(bound, b/math.Sqrt((b-1)*mu10))
	}
	return bound / h.Eta, nil
}

// BoundGDLambdaMax is the linear stability condition of GD: λ_1(H) <= 2/η.
func (h SGD) BoundGDLambdaMax() float64 { return 2 / h.Eta }

// BoundGDFro is the flatness GD stability implies: ‖H‖_F <= 2 sqrt(rank H)/η,
// since each of the rank H non-zero eigenvalues is at most 2/η.
func (h SGD) BoundGDFro(rank int) float64 {
	return 2 * math.Sqrt(float64(rank)) / h.Eta
}

// BoundIsotropicTrace is Section 3.3's constraint for isotropic noise
// S = 2σ²L I_p with σ² = Tr(H)/p: Tr(H) <= sqrt(p B)/η, which grows with the
// model size p.
func (h SGD) BoundIsotropicTrace(p int) float64 {
	return math.Sqrt(float64(p)*float64(h.Batch)) / h.Eta
}

// BoundGeometryAware is Section 3.3's constraint for geometry-aware noise
// S = 2L H (μ = 1): ‖H‖_F <= sqrt(B)/η.
func (h SGD) BoundGeometryAware() float64 {
	return math.Sqrt(float64(h.Batch)) / h.Eta
}

// Gamma0 is Theorem 3.6's escape rate γ0 = η² μ0 ‖H‖_F²/B: when γ0 > 1,
// E[L(θ_t)] >= γ0^t E[L(θ_0)].
func (h SGD) Gamma0(mu0, froH float64) (float64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if _, err := alignmentArg("mu0", mu0); err != nil {
		return 0, err
	}
	if !(froH >= 0) || math.IsInf(froH, 1) {
		return 0, paramErr("froH", "‖H‖_F must be finite and >= 0, got %v", froH)
	}
	return h.Eta * h.Eta * mu0 * froH * froH / float64(h.Batch), nil
}

// EscapeSteps is Theorem 3.6's escape-time estimate: log_{γ0}(1/ε) steps
// from an ε-loss region to an O(1)-loss region. It is +Inf when γ0 <= 1.
func EscapeSteps(gamma0, eps float64) (float64, error) {
	if !(eps > 0 && eps < 1) {
		return 0, paramErr("eps", "must be in (0, 1), got %v", eps)
	}
	if math.IsNaN(gamma0) || gamma0 < 0 {
		return 0, paramErr("gamma0", "must be >= 0, got %v", gamma0)
	}
	if gamma0 <= 1 {
		return math.Inf(1), nil
	}
	return math.Log(1/eps) / math.Log(gamma0), nil
}
