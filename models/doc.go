// Package models holds the models the paper analyses, as forward passes and
// per-sample gradients (the tangent features g_i = ∇f(x_i; θ), the rows of
// Q): the over-parameterized linear models f(x; θ) = F(θ)ᵀx of Section 2.1
// (the deep linear network F = W_1 W_2 ⋯ W_L and the quadratic model
// F_k = a_k² - b_k²) with their Jacobians ∇F, and the ReLU random feature
// model of Section 2.2. The trainable models of Appendix A.1 implement
// Network: Dense (the FCN, NewFCN, and the four-layer linear network,
// NewLinearNet) and RFM. It does not train: a caller moves θ.
//
// Layouts: matrices are row-major []float64; θ is one flat vector, the
// layers of a network in order, each row-major. Bad input (wrong lengths,
// non-finite values) is an error wrapping ErrShape or ErrNotFinite.
package models
