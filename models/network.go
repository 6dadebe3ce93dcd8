package models

import "math/rand/v2"

// Network is a model with one output, f(x; θ) ∈ R, trained with the square
// loss L(θ) = Σ_i e_i²/(2n), e_i = f(x_i; θ) - y_i (the loss of the paper,
// Section 2). Its per-sample gradients g_i = ∇_θ f(x_i; θ) are the rows of Q
// and the tangent features of the linearized model (Remark 2.2), and
// everything the paper measures at θ is a function of K = QQᵀ and e.
//
// Inputs are row-major: x holds n samples of InputDim values each, and n is
// len(x)/InputDim. θ is one flat vector whose layout each model documents.
// Methods return an error wrapping ErrShape or ErrNotFinite on bad input and
// never panic; they do not modify θ or x, and they are safe for concurrent
// use. Results are deterministic: the same inputs give the same bits for
// every GOMAXPROCS and SIMD path.
type Network interface {
	// InputDim is the number of values of one input x_i.
	InputDim() int
	// NumParams is p, the length of θ.
	NumParams() int
	// Init returns a fresh θ drawn from the model's initialization.
	Init(rng *rand.Rand) []float64
	// Outputs writes f(x_i; θ) into out (length n).
	Outputs(out, theta, x []float64) error
	// LossGradient returns L = Σ e_i²/(2n) over the n samples (x, y) and
	// writes the batch gradient ∇L = Σ_i e_i g_i / n into grad (length p).
	LossGradient(grad, theta, x, y []float64) (float64, error)
	// PerSampleGradients writes Q (row-major n x p), row i being g_i.
	PerSampleGradients(q, theta, x []float64) error
	// Gram writes K = QQᵀ (row-major n x n, symmetric) and the outputs
	// f(x_i; θ) (length n), without forming Q where the model's structure
	// allows it (K = Σ_l Q_l Q_lᵀ over its layers).
	Gram(k, out, theta, x []float64) error
}
