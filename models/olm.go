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
	n, err := batchSize(x, m.Dim())
	if err != nil {
		return nil, err
	}
	j, err := m.Jacobian(theta)
	if err != nil {
		return nil, err
	}
	d, p := m.Dim(), m.NumParams()
	q := mat.NewDense(n, p, nil)
	q.Mul(mat.NewDense(n, d, x), j)
	return q.RawMatrix().Data, nil
}

// Outputs returns f(x_i; θ) = F(θ)ᵀx_i for the inputs x (row-major n x d).
func Outputs(m OLM, theta, x []float64) ([]float64, error) {
	n, err := batchSize(x, m.Dim())
	if err != nil {
		return nil, err
	}
	f, err := m.F(theta)
	if err != nil {
		return nil, err
	}
	d := m.Dim()
	out := make([]float64, n)
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

// batchSize checks that x holds a positive number n of finite inputs of d
// values each and returns n.
func batchSize(x []float64, d int) (int, error) {
	if d < 1 || len(x) == 0 || len(x)%d != 0 {
		return 0, fmt.Errorf("models: x has %d entries, not a positive multiple of d = %d: %w", len(x), d, ErrShape)
	}
	return len(x) / d, finite("x", x)
}

// checkLen reports a slice of the wrong length.
func checkLen(name string, v []float64, want int) error {
	if len(v) != want {
		return fmt.Errorf("models: len(%s) = %d, want %d: %w", name, len(v), want, ErrShape)
	}
	return nil
}

// checkLabels checks the arguments of LossGradient: grad of length p and n
// finite labels y.
func checkLabels(grad, y []float64, p, n int) error {
	if err := checkLen("grad", grad, p); err != nil {
		return err
	}
	if err := checkLen("y", y, n); err != nil {
		return err
	}
	return finite("y", y)
}

// finite reports the first NaN or ±Inf of x. The scan runs on every training
// step over all of θ, so it first sums v·0 in four independent chains (the
// sum is 0 if every v is finite and NaN otherwise), and looks for the culprit
// only when that fails.
func finite(name string, x []float64) error {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * 0
		s1 += x[i+1] * 0
		s2 += x[i+2] * 0
		s3 += x[i+3] * 0
	}
	for _, v := range x[i:] {
		s0 += v * 0
	}
	if s0+s1+s2+s3 == 0 {
		return nil
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("models: %s[%d] = %v: %w", name, i, v, ErrNotFinite)
		}
	}
	return nil
}
