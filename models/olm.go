package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/flatmin/flatmin/numerics"
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

// zeroBlock is the zero vector finite dots x against, a block at a time.
var zeroBlock [1024]float64

// finite reports the first NaN or ±Inf of x. The scan runs on every training
// step over all of θ, so it first sums numerics.Dot(x, 0) block by block
// (FMA(v, 0, s) is 0 for finite v and NaN for NaN and ±Inf, so the sum is 0
// exactly when every v is finite), and looks for the culprit only when that
// fails.
func finite(name string, x []float64) error {
	s := 0.0
	for c := 0; c < len(x); c += len(zeroBlock) {
		s += numerics.Dot(x[c:min(len(x), c+len(zeroBlock))], zeroBlock[:])
	}
	if s == 0 {
		return nil
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("models: %s[%d] = %v: %w", name, i, v, ErrNotFinite)
		}
	}
	return nil
}
