package theory

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// RayleighRatios returns R2 = θᵀH²θ/θᵀHθ and R3 = θᵀH³θ/θᵀHθ for a symmetric
// positive semi-definite H, the two ratios of Lemma 3.2 and Lemma E.1. It
// reports ErrNullDirection when θᵀHθ = 0.
func RayleighRatios(h mat.Symmetric, theta []float64) (r2, r3 float64, err error) {
	if err := checkTheta(h, theta); err != nil {
		return 0, 0, err
	}
	t := mat.NewVecDense(len(theta), append([]float64(nil), theta...))
	var w, hw mat.VecDense
	w.MulVec(h, t)   // Hθ
	hw.MulVec(h, &w) // H²θ
	q1 := mat.Dot(t, &w)
	if !(q1 > 0) {
		return 0, 0, inputErr(ErrNullDirection, "theta", NoIndex, NoIndex, "θᵀHθ = %v", q1)
	}
	return mat.Dot(&w, &w) / q1, mat.Dot(&w, &hw) / q1, nil
}

// GrowthFactor is r(θ) of Lemma 3.2, the factor by which the full-batch
// gradient step multiplies the loss: r = 1 - 2η R2 + η² R3.
func GrowthFactor(h mat.Symmetric, theta []float64, eta float64) (float64, error) {
	r2, r3, err := RayleighRatios(h, theta)
	if err != nil {
		return 0, err
	}
	return 1 - 2*eta*r2 + eta*eta*r3, nil
}

// GrowthFactorU is r(θ) in Lemma E.2's form, ‖ηHu - u‖² with
// u = H^{1/2}θ/‖H^{1/2}θ‖, computed from an eigen-decomposition of H. It
// equals GrowthFactor mathematically, by a different route.
func GrowthFactorU(h mat.Symmetric, theta []float64, eta float64) (float64, error) {
	if err := checkTheta(h, theta); err != nil {
		return 0, err
	}
	var es mat.EigenSym
	if !es.Factorize(h, true) {
		return 0, inputErr(ErrNotFinite, "H", NoIndex, NoIndex, "eigen-decomposition failed")
	}
	lambda := es.Values(nil)
	var v mat.Dense
	es.VectorsTo(&v)
	p := len(theta)
	// u ∝ H^{1/2}θ in the eigenbasis: s_j = sqrt(λ_j)·(v_jᵀθ); then
	// ηHu - u has coordinates (ηλ_j - 1)s_j.
	s := make([]float64, p)
	for j := range s {
		c := 0.0
		for i := 0; i < p; i++ {
			c += v.At(i, j) * theta[i]
		}
		s[j] = math.Sqrt(math.Max(lambda[j], 0)) * c
	}
	norm := mat.Norm(mat.NewVecDense(p, s), 2)
	if norm == 0 {
		return 0, inputErr(ErrNullDirection, "theta", NoIndex, NoIndex, "H^{1/2}θ = 0")
	}
	d := make([]float64, p)
	for j := range s {
		d[j] = (eta*lambda[j] - 1) * s[j] / norm
	}
	r := mat.Norm(mat.NewVecDense(p, d), 2)
	return r * r, nil
}

// LemmaE1 is g(a, b, θ) = -a R2 + b R3 of Lemma E.1 (a, b > 0), whose
// infimum over θ is at least LemmaE1Bound(a, b) = -a²/(4b).
func LemmaE1(h mat.Symmetric, theta []float64, a, b float64) (float64, error) {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return 0, paramErr("a, b", "Lemma E.1 needs finite a, b > 0, got a = %v, b = %v", a, b)
	}
	r2, r3, err := RayleighRatios(h, theta)
	if err != nil {
		return 0, err
	}
	return -a*r2 + b*r3, nil
}

// LemmaE1Bound is -a²/(4b), Lemma E.1's lower bound, reached when a/(2b) is
// an eigenvalue of H and θ is its eigenvector.
func LemmaE1Bound(a, b float64) float64 { return -(a / (4 * b)) * a }

// LambdaMax returns λ_1(H), the largest eigenvalue of a symmetric H.
func LambdaMax(h mat.Symmetric) (float64, error) {
	var es mat.EigenSym
	if !es.Factorize(h, false) {
		return 0, inputErr(ErrNotFinite, "H", NoIndex, NoIndex, "eigen-decomposition failed")
	}
	v := es.Values(nil)
	return v[len(v)-1], nil
}

func checkTheta(h mat.Symmetric, theta []float64) error {
	p := h.SymmetricDim()
	if p == 0 {
		return inputErr(ErrEmpty, "H", NoIndex, NoIndex, "0 x 0")
	}
	if len(theta) != p {
		return inputErr(ErrShape, "theta", NoIndex, NoIndex, "len(θ) = %d, H is %d x %d", len(theta), p, p)
	}
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			if v := h.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return inputErr(ErrNotFinite, "H", i, j, "value %v", v)
			}
		}
	}
	_, err := maxAbsFinite(theta, "theta", 0)
	return err
}
