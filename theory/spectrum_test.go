package theory

import (
	"math"
	"testing"
)

// TestSpectrum: the eigenvalues of K/n are those of G = QᵀQ/n. For Q with
// orthogonal rows of norms s_i, K = diag(s_i²), so the spectrum is s_i²/n
// exactly (squares of small integers, divided by n = 4: exact in float64);
// the scaling by a power of two State applies must not change them. On a
// generic Q the spectrum agrees with Geometry: λ_1, Tr(G) = Σ λ_k,
// ‖G‖_F² = Σ λ_k², and the rank counts the same eigenvalues.
func TestSpectrum(t *testing.T) {
	for _, scale := range []float64{1, 0x1p-600, 0x1p600} {
		// Rows (3, 0, 0), (0, 0, 1), (0, 2, 0), (0, 0, 0): K = diag(9, 1, 4, 0).
		q := []float64{3, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0}
		for i := range q {
			q[i] *= scale
		}
		st, err := NewState(q, 4, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Spectrum()
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{9.0 / 4, 4.0 / 4, 1.0 / 4, 0}
		for k := range want {
			if w := want[k] * scale * scale; got[k] != w {
				t.Errorf("scale %g: λ_%d = %v, want %v", scale, k+1, got[k], w)
			}
		}
	}

	// A generic 5 x 3 Q: rank 3, two eigenvalues of K/n at rounding level.
	q := []float64{0.3, -1.2, 0.7, 2.1, 0.4, -0.5, -0.9, 0.8, 1.6, 0.2, 0.1, -0.3, 1.1, -0.7, 0.5}
	st, err := NewState(q, 5, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.Geometry()
	if err != nil {
		t.Fatal(err)
	}
	lam, err := st.Spectrum()
	if err != nil {
		t.Fatal(err)
	}
	sum, sq, above := 0.0, 0.0, 0
	for k, l := range lam {
		if k > 0 && l > lam[k-1] {
			t.Errorf("not descending at %d: %v", k, lam)
		}
		sum += l
		sq += l * l
		if l > 5*machineEpsilon*lam[0] { // Geometry.Rank's rule, max(n, p) = 5
			above++
		}
	}
	// Sums of 5 eigenvalues each within ~n·ε·λ_1 of exact (backward-stable
	// solver, Weyl): 1e-14 relative covers them with room.
	if lam[0] != g.LambdaMax || above != g.Rank || above != 3 {
		t.Errorf("λ_1 = %v, %d above the rank threshold; Geometry: λ_1 = %v, rank %d (want 3)", lam[0], above, g.LambdaMax, g.Rank)
	}
	if !(math.Abs(sum-g.TraceG) <= 1e-14*g.TraceG) || !(math.Abs(math.Sqrt(sq)-g.FroG) <= 1e-14*g.FroG) {
		t.Errorf("Σλ = %v, Tr(G) = %v; sqrt(Σλ²) = %v, ‖G‖_F = %v", sum, g.TraceG, math.Sqrt(sq), g.FroG)
	}
}
