package theory

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// naiveQ, naiveE: n = 4 samples of p = 3 parameters, small integers; Q has
// rank 3, so K = QQᵀ (4 x 4) has one zero eigenvalue and G = QᵀQ/n none.
var (
	naiveQ = []float64{
		1, 2, 0,
		0, 1, -1,
		2, 0, 1,
		1, 1, 1,
	}
	naiveE = []float64{1, -2, 1, 3}
)

// TestNaiveMatchesState: the direct p x p computation and the n x n path of
// State agree on every quantity. Either path is O(n·p + p²) = O(30) chained
// roundings per quantity on integers of size below 100 (γ_64 < 1e-14), and
// Σ = Σ1 - Σ2 cancels at most tenfold here (μ >= μ1/10, checked), so 1e-12
// relative bounds the difference of the two with room. The rank is 3 on
// both paths (the zero eigenvalue of K is rounding, far below the threshold
// max(n, p)·ε·λ_1), and Naive has no misprinted ‖Σ‖_F (NaN).
func TestNaiveMatchesState(t *testing.T) {
	const n, p = 4, 3
	ng, nn, sg, sn := naiveAndState(t)
	if !(sn.Mu >= sn.Mu1/10) {
		t.Fatalf("μ = %v < μ1/10 = %v: the case cancels more than the tolerance allows", sn.Mu, sn.Mu1/10)
	}
	if ng.N != n || ng.P != p || ng.Rank != 3 || sg.Rank != 3 {
		t.Errorf("Naive: n = %d, p = %d, rank %d; State: rank %d; want 4, 3, 3, 3", ng.N, ng.P, ng.Rank, sg.Rank)
	}
	if !math.IsNaN(nn.PrintedFroSigma) {
		t.Errorf("Naive's misprinted ‖Σ‖_F = %v, want NaN (no p x p form)", nn.PrintedFroSigma)
	}
	const rel = 1e-12
	for _, c := range []struct {
		what        string
		naive, path float64
	}{
		{"‖G‖_F", ng.FroG, sg.FroG}, {"Tr(G)", ng.TraceG, sg.TraceG}, {"λ_1(G)", ng.LambdaMax, sg.LambdaMax},
		{"τ", ng.Tau, sg.Tau}, {"γ", ng.Gamma, sg.Gamma},
		{"L", nn.Loss, sn.Loss}, {"‖Σ‖_F", nn.FroSigma, sn.FroSigma}, {"Tr(GΣ)", nn.TrGSigma, sn.TrGSigma},
		{"Tr(Σ1G)", nn.TrSigma1G, sn.TrSigma1G}, {"Tr(Σ2G)", nn.TrSigma2G, sn.TrSigma2G},
		{"α", nn.Alpha, sn.Alpha}, {"β", nn.Beta, sn.Beta},
		{"μ", nn.Mu, sn.Mu}, {"μ1", nn.Mu1, sn.Mu1}, {"μ2", nn.Mu2, sn.Mu2},
	} {
		if !(math.Abs(c.naive-c.path) <= rel*math.Abs(c.path)) {
			t.Errorf("%s: Naive %.17g, State %.17g (relative tolerance %g)", c.what, c.naive, c.path, rel)
		}
	}
	for i := range n {
		if !(math.Abs(ng.Chi[i]-sg.Chi[i]) <= rel*sg.Chi[i]) {
			t.Errorf("χ_%d: Naive %.17g, State %.17g", i, ng.Chi[i], sg.Chi[i])
		}
	}
}

// TestGeometryExact: quantities of G that are exact on this input.
// K = QQᵀ = [[5,2,2,3],[2,2,-1,0],[2,-1,5,3],[3,0,3,3]], n = 4:
// Tr(G) = Tr(K)/n = 15/4, ‖G‖_F² = ‖K‖_F²/n² = Σ_i ‖K_i‖²/n² = 117/16, χ_i = ‖K_i‖²/n =
// (42, 9, 39, 27)/4, γ = min χ/mean χ = 9/(117/4) = 4/13, and
// L = Σe²/(2n) = 15/8. Each is a few roundings away (γ_8 < 1e-15
// relative; the sums have no cancellation).
func TestGeometryExact(t *testing.T) {
	ng, nn, sg, sn := naiveAndState(t)
	chi := []float64{42.0 / 4, 9.0 / 4, 39.0 / 4, 27.0 / 4}
	tol := roundingGamma(8)
	for _, side := range []struct {
		name string
		g    Geometry
		nz   Noise
	}{{"Naive", ng, nn}, {"State", sg, sn}} {
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"Tr(G)", side.g.TraceG, 15.0 / 4}, {"‖G‖_F", side.g.FroG, math.Sqrt(117) / 4},
			{"γ", side.g.Gamma, 4.0 / 13}, {"L", side.nz.Loss, 15.0 / 8},
			{"τ = λ_1²/‖G‖_F²", side.g.Tau, side.g.LambdaMax * side.g.LambdaMax / (117.0 / 16)},
			{"χ_0", side.g.Chi[0], chi[0]}, {"χ_1", side.g.Chi[1], chi[1]}, {"χ_2", side.g.Chi[2], chi[2]}, {"χ_3", side.g.Chi[3], chi[3]},
		} {
			if !(math.Abs(c.got-c.want) <= 2*tol*math.Abs(c.want)) {
				t.Errorf("%s: %s = %.17g, want %.17g", side.name, c.what, c.got, c.want)
			}
		}
	}
}

// TestPrintedFroSigma: the paper's misprinted eq. (11), ‖P E K E‖_F/n
// (kept beside the corrected ‖Σ‖_F), from its definition: X = E K E in
// integers, its columns centred (P X; the means are multiples of 1/4, so
// exact), the norm within a rounding of the square root; State's Nrm2 of
// n² = 16 terms is within γ_20 of it.
func TestPrintedFroSigma(t *testing.T) {
	const n, p = 4, 3
	s, err := NewState(naiveQ, n, p, naiveE)
	if err != nil {
		t.Fatal(err)
	}
	k := s.Gram()
	var x [n][n]float64
	for i := range n {
		for j := range n {
			x[i][j] = naiveE[i] * k.At(i, j) * naiveE[j]
		}
	}
	sq := 0.0
	for j := range n {
		mean := (x[0][j] + x[1][j] + x[2][j] + x[3][j]) / n
		for i := range n {
			sq += (x[i][j] - mean) * (x[i][j] - mean)
		}
	}
	want := math.Sqrt(sq) / n
	if got := mustNoise(t, s).PrintedFroSigma; !(math.Abs(got-want) <= roundingGamma(20)*want) {
		t.Errorf("‖P E K E‖_F/n = %.17g, want %.17g", got, want)
	}
}

// TestRankThreshold: the rank counts eigenvalues strictly above
// max(n, p)·ε·λ_1 (numpy.linalg.matrix_rank's S > tol), on both paths.
// Q = [[1,0,0,0],[0,a,0,0]] (n = 2, p = 4): G = diag(1/2, a²/2, 0, 0),
// K = diag(1, a²), both diagonal, so their eigenvalues are exact, and the
// threshold is 4ε·(1/2) = 2^-51 for G (4ε·1 = 2^-50 for K, the same
// relative to λ_1). a = 2^-25 puts a²/2 exactly on it (rank 1); a = 2^-24
// puts it 4 times above (rank 2).
func TestRankThreshold(t *testing.T) {
	for _, c := range []struct {
		a    float64
		rank int
	}{{0x1p-25, 1}, {0x1p-24, 2}, {0, 1}, {1, 2}} {
		q := []float64{1, 0, 0, 0, 0, c.a, 0, 0}
		ng, _, err := Naive(q, 2, 4, []float64{1, 1})
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewState(q, 2, 4, []float64{1, 1})
		if err != nil {
			t.Fatal(err)
		}
		if sg := mustGeometry(t, s); ng.Rank != c.rank || sg.Rank != c.rank {
			t.Errorf("a = %v: rank %d (Naive), %d (State), want %d", c.a, ng.Rank, sg.Rank, c.rank)
		}
	}
}

// TestNaiveErrors: Naive's input checks, each with its kind and argument.
func TestNaiveErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		q    []float64
		n, p int
		e    []float64
		kind error
	}{
		{"n = 0", nil, 0, 2, nil, ErrEmpty},
		{"p = 0", nil, 2, 0, []float64{1, 1}, ErrEmpty},
		{"n < 0", nil, -1, 2, nil, ErrEmpty},
		{"Q too short", []float64{1, 2, 3}, 2, 2, []float64{1, 1}, ErrShape},
		{"Q too long", []float64{1, 2, 3, 4, 5}, 2, 2, []float64{1, 1}, ErrShape},
		{"e too short", []float64{1, 2, 3, 4}, 2, 2, []float64{1}, ErrShape},
		{"e too long", []float64{1, 2, 3, 4}, 2, 2, []float64{1, 2, 3}, ErrShape},
	} {
		_, _, err := Naive(c.q, c.n, c.p, c.e)
		if !errors.Is(err, c.kind) || !strings.HasPrefix(err.Error(), "Q: ") {
			t.Errorf("%s: %v, want %v on Q", c.name, err, c.kind)
		}
	}
}

// naiveAndState returns the quantities of naiveQ and naiveE (n = 4, p = 3)
// from the p x p reference (Naive) and from the n x n path (State).
func naiveAndState(t *testing.T) (ng Geometry, nn Noise, sg Geometry, sn Noise) {
	t.Helper()
	ng, nn, err := Naive(naiveQ, 4, 3, naiveE)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewState(naiveQ, 4, 3, naiveE)
	if err != nil {
		t.Fatal(err)
	}
	return ng, nn, mustGeometry(t, s), mustNoise(t, s)
}
