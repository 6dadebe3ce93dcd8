package models

import (
	"fmt"
	"math"
)

// RFM is the ReLU random feature model of Section 2.2 (Proposition 2.4):
// f(x; θ) = Σ_j θ_j ReLU(w_jᵀx), with fixed random weights W (row-major
// m x d, rows w_j). Its per-sample gradients are the features themselves,
// g_i = Φ(x_i) = (ReLU(w_jᵀx_i))_j, whatever θ.
type RFM struct {
	M, D int
	W    []float64
}

// NewRFM checks W (m x d) and returns the model.
func NewRFM(w []float64, m, d int) (RFM, error) {
	if m < 1 || d < 1 || len(w) != m*d {
		return RFM{}, fmt.Errorf("models: W has %d entries for m = %d, d = %d: %w", len(w), m, d, ErrShape)
	}
	if err := finite("W", w); err != nil {
		return RFM{}, err
	}
	return RFM{M: m, D: d, W: w}, nil
}

// Features returns Q (row-major n x m), Q_ij = ReLU(w_jᵀx_i), for the inputs
// x (row-major n x d).
func (r RFM) Features(x []float64) ([]float64, error) {
	if len(x) == 0 || len(x)%r.D != 0 {
		return nil, fmt.Errorf("models: x has %d entries, not a positive multiple of d = %d: %w", len(x), r.D, ErrShape)
	}
	if err := finite("x", x); err != nil {
		return nil, err
	}
	n := len(x) / r.D
	q := make([]float64, n*r.M)
	for i := 0; i < n; i++ {
		xi := x[i*r.D : (i+1)*r.D]
		for j := 0; j < r.M; j++ {
			s := 0.0
			for k, w := range r.W[j*r.D : (j+1)*r.D] {
				s += w * xi[k]
			}
			q[i*r.M+j] = math.Max(s, 0)
		}
	}
	return q, nil
}

// Outputs returns f(x_i; θ) = Φ(x_i)ᵀθ.
func (r RFM) Outputs(theta, x []float64) ([]float64, error) {
	if err := checkTheta(theta, r.M); err != nil {
		return nil, err
	}
	q, err := r.Features(x)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(q)/r.M)
	for i := range out {
		for j, t := range theta {
			out[i] += q[i*r.M+j] * t
		}
	}
	return out, nil
}
