package theory

import "math"

// NewStateScaledGram is NewStateGram for the Gram K = 2^exp·k: a K
// accumulated in a scaled space, for example from a Q streamed block by
// block whose entries were scaled by a power of two so that K cannot
// overflow (as NewState scales Q held in memory). Scaling by a power of two
// is exact, so the state is NewStateGram's for K whenever 2^exp·k is
// representable, and k and exp need not be.
func NewStateScaledGram(k []float64, exp, n, p int, e []float64) (*State, error) {
	s, err := NewStateGram(k, n, p, e)
	if err != nil {
		return nil, err
	}
	s.kExp += exp
	return s, nil
}

// SmallestEigenvalue returns λ_n(K)/n, the smallest eigenvalue of K/n, the
// n x n matrix whose non-zero eigenvalues are those of G = QᵀQ/n (Section
// 2). For a K formed from Q it is zero or positive up to the rounding of
// forming K; for a K given as such (a Gram summed in float32 on a GPU) its
// sign and size say how far K is from positive semi-definite. Its only
// error is an eigen-decomposition that does not converge (ErrNoConvergence);
// the eigenvalues are those Geometry computes, computed once.
func (s *State) SmallestEigenvalue() (float64, error) {
	eig, err := s.eigenvalues()
	if err != nil {
		return 0, err
	}
	return math.Ldexp(eig[0]/float64(s.n), s.kExp), nil
}
