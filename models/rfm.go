package models

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flatmin/flatmin/numerics"
)

// RFM is the ReLU random feature model of Section 2.2 (Proposition 2.4) and
// Appendix A.1: f(x; θ) = Σ_j θ_j s·ReLU(w_jᵀx), with fixed random weights W
// (row-major m x d, rows w_j) and a fixed feature scale S = s. Its per-sample
// gradients are the features themselves, g_i = Φ(x_i) = (s·ReLU(w_jᵀx_i))_j,
// whatever θ, so θ ∈ R^m is the only parameter, in the order of the rows of
// W.
//
// A.1 uses s = 1 with w_j ~ N(0, I_10) and m = 2000; then λ_1(G) is in the
// thousands and SGD at A.1's η = 0.003 diverges, so the experiments use
// s = 1/sqrt(m) (see Scaled), which only rescales the tangent kernel.
// NewRFM sets S = 1; a literal RFM must set S itself.
type RFM struct {
	M, D int
	W    []float64
	S    float64
}

var _ Network = RFM{}

// NewRFM checks W (m x d) and returns the model with feature scale 1.
func NewRFM(w []float64, m, d int) (RFM, error) {
	if m < 1 || d < 1 || len(w) != m*d {
		return RFM{}, fmt.Errorf("models: W has %d entries for m = %d, d = %d: %w", len(w), m, d, ErrShape)
	}
	if err := finite("W", w); err != nil {
		return RFM{}, err
	}
	return RFM{M: m, D: d, W: w, S: 1}, nil
}

// Scaled returns the model with feature scale s: Φ(x) = s·ReLU(Wx).
func (r RFM) Scaled(s float64) RFM {
	r.S = s
	return r
}

// InputDim is d.
func (r RFM) InputDim() int { return r.D }

// NumParams is m.
func (r RFM) NumParams() int { return r.M }

// Init returns θ = 0. A.1 does not say how θ starts; zero is the start from
// which SGD on this linear-in-θ model stays in the row space of Φ and so
// converges to the minimum-norm interpolant.
func (r RFM) Init(*rand.Rand) []float64 { return make([]float64, r.M) }

// Features returns Φ (row-major n x m), Φ_ij = s·ReLU(w_jᵀx_i), for the
// inputs x (row-major n x d).
func (r RFM) Features(x []float64) ([]float64, error) {
	n, err := r.batch(x)
	if err != nil {
		return nil, err
	}
	q := make([]float64, n*r.M)
	r.features(q, x, n)
	return q, nil
}

// batch checks the model's scale and x, and returns n.
func (r RFM) batch(x []float64) (int, error) {
	if math.IsNaN(r.S) || math.IsInf(r.S, 0) {
		return 0, fmt.Errorf("models: RFM feature scale %v: %w", r.S, ErrNotFinite)
	}
	return batchSize(x, r.D)
}

// features writes Φ into q: w_jᵀx_i summed left to right, then s·ReLU.
func (r RFM) features(q, x []float64, n int) {
	for i := 0; i < n; i++ {
		xi := x[i*r.D : (i+1)*r.D]
		for j := 0; j < r.M; j++ {
			s := 0.0
			for k, w := range r.W[j*r.D : (j+1)*r.D] {
				s += w * xi[k]
			}
			q[i*r.M+j] = r.S * math.Max(s, 0)
		}
	}
}

// outputs writes f(x_i; θ) = Φ(x_i)ᵀθ, summed left to right, into out.
func (r RFM) outputs(out, q, theta []float64) {
	for i := range out {
		out[i] = 0
		for j, t := range theta {
			out[i] += q[i*r.M+j] * t
		}
	}
}

// forward checks the arguments of a method writing an output of length
// len(out) = n and returns Φ(x).
func (r RFM) forward(out, theta, x []float64) ([]float64, error) {
	if err := checkTheta(theta, r.M); err != nil {
		return nil, err
	}
	q, err := r.Features(x)
	if err != nil {
		return nil, err
	}
	if err := checkLen("out", out, len(q)/r.M); err != nil {
		return nil, err
	}
	r.outputs(out, q, theta)
	return q, nil
}

// Outputs writes f(x_i; θ) = Φ(x_i)ᵀθ into out (length n).
func (r RFM) Outputs(out, theta, x []float64) error {
	_, err := r.forward(out, theta, x)
	return err
}

// LossGradient returns L = Σ e_i²/(2n) and writes ∇L = Σ_i (e_i/n) Φ(x_i)
// into grad.
func (r RFM) LossGradient(grad, theta, x, y []float64) (float64, error) {
	n, err := r.batch(x)
	if err != nil {
		return 0, err
	}
	if err := checkLabels(grad, y, r.M, n); err != nil {
		return 0, err
	}
	e := make([]float64, n)
	q, err := r.forward(e, theta, x)
	if err != nil {
		return 0, err
	}
	clear(grad)
	loss := 0.0
	for i := range e {
		e[i] -= y[i]
		loss += e[i] * e[i]
		numerics.Axpy(e[i]/float64(n), q[i*r.M:(i+1)*r.M], grad)
	}
	return loss / float64(2*n), nil
}

// PerSampleGradients writes Q = Φ(x) (row-major n x m) into q.
func (r RFM) PerSampleGradients(q, theta, x []float64) error {
	if err := checkTheta(theta, r.M); err != nil {
		return err
	}
	n, err := r.batch(x)
	if err != nil {
		return err
	}
	if err := checkLen("q", q, n*r.M); err != nil {
		return err
	}
	r.features(q, x, n)
	return nil
}

// Gram writes K = ΦΦᵀ (numerics.Gram) and the outputs f(x_i; θ).
func (r RFM) Gram(k, out, theta, x []float64) error {
	if err := checkLen("k", k, len(out)*len(out)); err != nil {
		return err
	}
	q, err := r.forward(out, theta, x)
	if err != nil {
		return err
	}
	numerics.Gram(k, q, len(out), r.M)
	return nil
}
