package models

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

var (
	// ErrShape: a length does not match the model.
	ErrShape = errors.New("shape mismatch")
	// ErrNotFinite: an input is NaN or ±Inf.
	ErrNotFinite = errors.New("entry is not finite")
)

// OLM is an over-parameterized linear model f(x; θ) = F(θ)ᵀx (Section 2.1),
// F: R^p → R^d.
type OLM interface {
	// Dim is d, the input dimension.
	Dim() int
	// NumParams is p.
	NumParams() int
	// F returns F(θ) ∈ R^d.
	F(theta []float64) ([]float64, error)
	// Jacobian returns ∇F(θ), d x p: column k is ∂F/∂θ_k.
	Jacobian(theta []float64) (*mat.Dense, error)
}

// PerSampleGradients returns Q (row-major n x p) with rows
// g_i = ∇f(x_i; θ) = ∇F(θ)ᵀ x_i, for the inputs x (row-major n x d).
func PerSampleGradients(m OLM, theta, x []float64) ([]float64, error) {
	d, p := m.Dim(), m.NumParams()
	if len(x) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("models: x has %d entries, not a positive multiple of d = %d: %w", len(x), d, ErrShape)
	}
	if err := finite("x", x); err != nil {
		return nil, err
	}
	j, err := m.Jacobian(theta)
	if err != nil {
		return nil, err
	}
	n := len(x) / d
	q := mat.NewDense(n, p, nil)
	q.Mul(mat.NewDense(n, d, x), j)
	return q.RawMatrix().Data, nil
}

// Outputs returns f(x_i; θ) = F(θ)ᵀx_i for the inputs x (row-major n x d).
func Outputs(m OLM, theta, x []float64) ([]float64, error) {
	d := m.Dim()
	if len(x) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("models: x has %d entries, not a positive multiple of d = %d: %w", len(x), d, ErrShape)
	}
	if err := finite("x", x); err != nil {
		return nil, err
	}
	f, err := m.F(theta)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(x)/d)
	for i := range out {
		for k, fk := range f {
			out[i] += fk * x[i*d+k]
		}
	}
	return out, nil
}

func checkTheta(theta []float64, p int) error {
	if len(theta) != p {
		return fmt.Errorf("models: len(θ) = %d, want p = %d: %w", len(theta), p, ErrShape)
	}
	return finite("θ", theta)
}

func finite(name string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("models: %s[%d] = %v: %w", name, i, v, ErrNotFinite)
		}
	}
	return nil
}
