package oracle

import (
	"fmt"

	"github.com/flatmin/flatmin/theory"
)

// Sampling is how SGD draws the B indices of a batch from the n samples.
type Sampling int

const (
	// WithReplacement draws B indices independently and uniformly (the
	// paper's setting: the noise covariance is Σ(θ)/B).
	WithReplacement Sampling = iota
	// WithoutReplacement draws a uniform B-subset (B <= n): the noise
	// covariance is Σ(θ)/B times (n-B)/(n-1).
	WithoutReplacement
)

func (s Sampling) String() string {
	switch s {
	case WithReplacement:
		return "with replacement"
	case WithoutReplacement:
		return "without replacement"
	}
	return fmt.Sprintf("Sampling(%d)", int(s))
}

// BatchMoments are the coefficients of the batch second moment
//
//	E[H_I M H_I] = C1·HMH + C2·Σ_i (g_iᵀ M g_i) g_i g_iᵀ.
//
// Every exchangeable sampling has C1 + n·C2 = 1: E[H_I M H_I] is then the
// mixture (1 - ν)·HMH + ν·(1/n)Σ_i (g_iᵀMg_i)g_ig_iᵀ of GD's and of a
// single-sample batch's, with the noise fraction ν = n·C2 in [0, 1].
type BatchMoments struct {
	C1, C2 float64
}

// Moments returns the BatchMoments of a batch of b indices drawn from n
// samples. With replacement, C1 = 1 - 1/B and C2 = 1/(Bn). Without, the
// (B/n)S + (B(B-1)/(n(n-1)))(n²HMH - S) of B² E[H_I M H_I] give
// C1 = (B-1)n/(B(n-1)) and C2 = (n-B)/(Bn(n-1)): the noise fraction is
// scaled by (n-B)/(n-1). For n = 1 both are C1 = 0, C2 = 1.
func (s Sampling) Moments(n, b int) (BatchMoments, error) {
	if n < 1 {
		return BatchMoments{}, inputErr(theory.ErrEmpty, "n", theory.NoIndex, theory.NoIndex, "n = %d", n)
	}
	if b < 1 {
		return BatchMoments{}, paramErr("B", "batch size must be >= 1, got %d", b)
	}
	nf, bf := float64(n), float64(b)
	switch s {
	case WithReplacement:
		return BatchMoments{C1: 1 - 1/bf, C2: 1 / (bf * nf)}, nil
	case WithoutReplacement:
		if b > n {
			return BatchMoments{}, paramErr("B", "a batch drawn without replacement has at most n = %d indices, got %d", n, b)
		}
		if n == 1 {
			return BatchMoments{C1: 0, C2: 1}, nil
		}
		return BatchMoments{C1: (bf - 1) * nf / (bf * (nf - 1)), C2: (nf - bf) / (bf * nf * (nf - 1))}, nil
	}
	return BatchMoments{}, paramErr("sampling", "unknown sampling %d", int(s))
}
