package theory

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
