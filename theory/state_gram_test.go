package theory

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flatmin/flatmin/numerics"
)

// TestNewStateGramMatchesQ: a Gram formed from Q by numerics.Gram gives the
// same state, bit for bit, as Q itself (within the range where NewState does
// not rescale Q, both normalise the same K by the same power of two), one
// sample included.
func TestNewStateGramMatchesQ(t *testing.T) {
	q := []float64{1, 2, 0.5, -1, 0, 3, 0.25, 0.25, -2, 4, 1, 1}
	e := []float64{0.5, -1, 2, 0.125}
	for _, n := range []int{4, 1} {
		p := 3
		fromQ, err := NewState(q[:n*p], n, p, e[:n])
		if err != nil {
			t.Fatal(err)
		}
		k := make([]float64, n*n)
		numerics.Gram(k, q[:n*p], n, p)
		fromK, err := NewStateGram(k, n, p, e[:n])
		if err != nil {
			t.Fatalf("n = %d: %v", n, err)
		}
		if diff := cmp.Diff(mustGeometry(t, fromQ), mustGeometry(t, fromK)); diff != "" {
			t.Errorf("n = %d: geometry differs (-Q +K):\n%s", n, diff)
		}
		nq, errQ := fromQ.Noise()
		nk, errK := fromK.Noise()
		// α is NaN at n = 1 on both paths (Σ = 0: 0/0, as documented).
		if diff := cmp.Diff(nq, nk, cmpopts.EquateNaNs()); diff != "" || (errQ == nil) != (errK == nil) {
			t.Errorf("n = %d: noise differs (-Q +K), errors %v and %v:\n%s", n, errQ, errK, diff)
		}
	}
}

func TestNewStateGramErrors(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name  string
		k     []float64
		n, p  int
		e     []float64
		kind  error
		where string
	}{
		{"no samples", nil, 0, 3, nil, ErrEmpty, "K"},
		{"K too short", []float64{1, 2, 3}, 2, 2, nil, ErrShape, "len(K) = 3, want n² = 4"},
		{"e too short", []float64{1, 0, 0, 1}, 2, 2, []float64{1}, ErrShape, "len(e) = 1"},
		{"NaN in K", []float64{1, nan, nan, 1}, 2, 2, nil, ErrNotFinite, "K[0, 1]"},
		{"NaN in e", []float64{1, 0, 0, 1}, 2, 2, []float64{1, nan}, ErrNotFinite, "e[1]: "},
		{"asymmetric", []float64{1, 2, 2.5, 1}, 2, 2, nil, ErrShape, "K[1, 0]: shape mismatch: not symmetric: K[1, 0] = 2.5, K[0, 1] = 2"},
		{"asymmetric, 3 x 3", []float64{1, 2, 3, 2, 1, 4, 3, 5, 1}, 3, 2, nil, ErrShape, "K[2, 1]: shape mismatch: not symmetric: K[2, 1] = 5, K[1, 2] = 4"},
		{"-Inf in K", []float64{1, 0, 0, math.Inf(-1)}, 2, 2, nil, ErrNotFinite, "K[1, 1]"},
		{"-Inf in e", []float64{1, 0, 0, 1}, 2, 2, []float64{math.Inf(-1), 1}, ErrNotFinite, "e[0]: "},
		{"zero", []float64{0, 0, 0, 0}, 2, 2, nil, ErrZeroGram, "K"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewStateGram(tc.k, tc.n, tc.p, tc.e)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.where) {
				t.Fatalf("error %v, want kind %v at %q", err, tc.kind, tc.where)
			}
		})
	}
}

// A Gram whose tridiagonal form splits off a block of norm below
// 2^-511/ε² ≈ 1e-122 relative to λ_1: a sample whose gradient is 1e-100
// of the others', here a 2 x 2 block [[a, b], [b, a]], a = 1e-200,
// b = 1e-201. The QL iteration rescales such a block; gonum v0.17.0's
// Dsterf, which Dsyev without vectors calls, panicked there (a Dlascl
// given the column-major stride n for the block's diagonal), and so did
// Geometry before it used numerics.SymmetricEigenvalues. Its eigenvalues
// are 1 and a ± b = 1.1e-200, 9e-201; those of K/n within 8ε, the
// roundings (each at most ε/2 relative) of the block's rescaling there and
// back, of its 2 x 2 eigenvalues (Dlaev2) and of the division by n.
func TestGeometryTinyBlock(t *testing.T) {
	const a, b = 1e-200, 1e-201
	k := []float64{1, 0, 0, 0, a, b, 0, b, a}
	s, err := NewStateGram(k, 3, 10, []float64{1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	eig, err := s.Spectrum()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1.0 / 3, (a + b) / 3, (a - b) / 3} {
		if !(math.Abs(eig[i]-want) <= 8*0x1p-52*want) {
			t.Errorf("eigenvalue %d of K/n is %v, want %v", i, eig[i], want)
		}
	}
}
