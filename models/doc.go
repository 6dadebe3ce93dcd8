// Package models holds the models the paper analyses and trains, as forward
// passes and per-sample gradients (the tangent features g_i = ∇f(x_i; θ),
// the rows of Q):
//
//   - the over-parameterized linear models f(x; θ) = F(θ)ᵀx of Section 2.1
//     (DeepLinear, F = W_1 W_2 ⋯ W_L, and Quadratic, F_k = a_k² - b_k²) with
//     their Jacobians ∇F (the OLM interface);
//   - the networks of Appendix A.1, each a Network (outputs, the loss
//     gradient of L = Σ e_i²/(2n), Q, and the Gram K = QQᵀ accumulated layer
//     by layer without Q): the ReLU random feature model RFM, the fully
//     connected Dense (the FCN 784 → m → m → 1 and the four-layer linear
//     network) and the CNN of Table 1.
//
// It does not train: a caller moves θ (package experiment).
//
// Layouts: matrices are row-major []float64; θ is one flat vector in
// PyTorch's parameters() order for the networks (each weight out x in, then
// its bias), layer by layer for DeepLinear. Bad input (wrong lengths,
// non-finite values) is an error wrapping ErrShape or ErrNotFinite.
package models
