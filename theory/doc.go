// Package theory is the mathematics of Wu, Wang and Su, "When does SGD favor
// flat minima? A quantitative characterization via linear stability" (2022):
// the per-sample gradients Q and residuals e of a model at one θ, the Gram
// matrix G and noise covariance Σ they define, the alignment factors of eq. (3),
// the feature-norm ratio γ and τ(G) of Lemma 2.3, and the paper's stability
// bounds (Theorem 3.3, Proposition 3.4, Theorem 3.6, Section 3.3).
//
// Notation (paper, Section 1 and Appendix A.1). Q is n x p with rows
// g_i = ∇f(x_i; θ); e_i = f(x_i; θ) - y_i; K = Q Qᵀ is the n x n empirical
// NTK; G = QᵀQ/n; L = Σ e_i²/(2n); Σ1 = (1/n) Σ e_i² g_i g_iᵀ; ∇L = Qᵀe/n;
// Σ2 = ∇L ∇Lᵀ; Σ = Σ1 - Σ2; P = I - 11ᵀ/n; E = diag(e).
//
// Every quantity is computed through K (cost n²p for K, then n³), by the
// corrected eq. (11):
//
//	‖G‖_F   = ‖K‖_F / n
//	‖Σ‖_F   = ‖P E K E P‖_F / n      (the paper prints ‖P E K E‖_F: an erratum)
//	Tr(GΣ)  = ‖P E K‖_F² / n²
//	Tr(Σ1G) = ‖E K‖_F² / n²,   Tr(Σ2G) = ‖K e‖² / n³
//
// Overflow safety: Q and e are scaled by powers of two before anything is
// squared, and the results are scaled back with math.Ldexp, so entries as
// large as 1e150 or as small as 1e-150 give the right finite answer wherever
// the true answer is finite. Power-of-two scaling is exact, so the ratios
// (α, β, μ, γ, τ) of Q and of 2^j Q are the same bits.
//
// Bad input is an error wrapping one of the Err* kinds, never a panic; an
// *InputError says where. The package draws no random numbers, prints nothing
// and reads no files.
package theory
