// Package numerics holds the float64 kernels the rest of flatmin runs on: dot
// products, the overflow-safe Euclidean norm and the tall-skinny Gram K = Q Qᵀ
// of per-sample gradients, which is the expensive step of every quantity of
// the paper (its eq. 11 reduces them to n x n algebra on K).
//
// Every kernel keeps one accumulation order, so its result is the same bits
// whatever the machine; it knows nothing about SGD.
package numerics
