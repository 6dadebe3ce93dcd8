package theory

import "math"

// Spectrum returns the n eigenvalues of K/n, descending: the spectrum of the
// Gram matrix G = QᵀQ/n = (1/n) Σ g_i g_iᵀ of Section 2 (the Hessian H at a
// global minimum), less the p - n zeros G has by construction when p > n.
// G = QᵀQ/n and K/n = QQᵀ/n share their non-zero eigenvalues, so they are
// read off K, the n x n matrix State keeps. Eigenvalues that are zero in
// exact arithmetic come out as rounding of either sign, |λ| of order
// n·ε·λ_1 (the rule of Geometry.Rank counts the others). The eigenvalues are
// those Geometry computes its λ_1 and rank from, computed once; the slice is
// the caller's.
func (s *State) Spectrum() ([]float64, error) {
	eig, err := s.eigenvalues()
	if err != nil {
		return nil, err
	}
	n := len(eig)
	out := make([]float64, n)
	for i, l := range eig {
		out[n-1-i] = math.Ldexp(l/float64(s.n), s.kExp)
	}
	return out, nil
}
