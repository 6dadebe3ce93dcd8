// Package oracle is the exact linear-stability oracle of Section 3 of Wu,
// Wang and Su, "When does SGD favor flat minima? A quantitative
// characterization via linear stability" (2022): the second-moment dynamics
// of linearized SGD at a global minimum, their spectral radius ρ (Definition
// 3.1: the minimum is linearly stable iff ρ <= 1), the critical learning
// rate η*, and the infima μ0 and μ1_0 of the alignment factors that the
// paper's bounds (package theory) take as constants.
//
// Linearized SGD at a global minimum θ* = 0 (eq. 5) is θ_{t+1} = (I - ηH_I)θ_t
// with H_I = (1/B) Σ_{i∈I} g_i g_iᵀ, and L(θ) = θᵀHθ/2, H = G. Its second
// moment M_t = E[θ_t θ_tᵀ] obeys a linear recursion M_{t+1} = T(M_t),
//
//	T(M) = M - η(HM + MH) + η² E[H_I M H_I],
//
// and E[L(θ_t)] = Tr(H M_t)/2 exactly. Nothing here is p x p.
//
// The recursion runs on the residuals e = Qθ, exactly in K = QQᵀ: one step
// is e' = e - (η/B) K D_I e with D_I = diag(batch counts), so
// R = E[e eᵀ] = Q M Qᵀ obeys
//
//	R' = R - (η/n)(KR + RK) + η²(C1·KRK/n² + C2·K diag(R) K),
//
// (C1, C2 the BatchMoments) and E[L] = Tr(R)/(2n): O(n³) a step, no
// eigen-decomposition, no projection of e on a numerical range
// (dynamics.go).
//
// The spectral questions (ρ, η*, μ0) live on the symmetric r x r matrices of
// the range of G = V diag(h) Vᵀ (r = rank G): Q = U S Vᵀ from the
// eigen-decomposition K = U S² Uᵀ, the features in the basis V are the rows
// a_i of A = U S, and H = diag(h) with h_k = s_k²/n (spectral.go,
// alignment.go).
//
// Scaling. The oracle works with K̂ = 2^-x K as theory.State does, with â_i,
// ĥ and the learning rate η̂ = 2^x η: T depends on η and K only through ηK
// and η²K(·)K, which are the same numbers.
//
// The oracle is built on a theory.State (NewOracleFromState) or on Q
// (NewOracle). Bad input is an error wrapping one of theory's Err* kinds
// (a *theory.InputError says where), never a panic. The package draws no
// random numbers, prints nothing and reads no files. Its gonum algebra runs
// on gonum's global BLAS: numerics' kernels once the program has called
// numerics.UseAsGonumBLAS, as cmd/flatmin does.
package oracle
