package theory

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestNewStateErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name  string
		q     []float64
		n, p  int
		e     []float64
		kind  error
		where string
	}{
		{"no samples", nil, 0, 3, nil, ErrEmpty, "Q"},
		{"no parameters", nil, 2, 0, nil, ErrEmpty, "Q"},
		{"Q too short", []float64{1, 2, 3}, 2, 2, []float64{1, 1}, ErrShape, "Q"},
		{"e too long", []float64{1, 2, 3, 4}, 2, 2, []float64{1, 1, 1}, ErrShape, "e"},
		{"NaN in Q", []float64{1, 2, 3, nan, 5, 6}, 2, 3, []float64{1, 1}, ErrNotFinite, "Q[1, 0]"},
		{"Inf in Q", []float64{1, 2, inf, 4, 5, 6}, 2, 3, []float64{1, 1}, ErrNotFinite, "Q[0, 2]"},
		{"NaN in a one-column Q", []float64{1, nan, 3}, 3, 1, []float64{1, 1, 1}, ErrNotFinite, "Q[1, 0]"},
		{"NaN in e", []float64{1, 2, 3, 4}, 2, 2, []float64{1, nan}, ErrNotFinite, "e[1]"},
		{"zero Gram", []float64{0, 0, 0, 0}, 2, 2, []float64{1, 1}, ErrZeroGram, "Q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewState(tc.q, tc.n, tc.p, tc.e)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want kind %v", err, tc.kind)
			}
			// The message starts with the location, exactly: an argument
			// without an index where none applies (theory.NoIndex).
			if !strings.HasPrefix(err.Error(), tc.where+": ") {
				t.Errorf("error %q does not start with where it is (%q)", err, tc.where)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("error %T is not an *InputError", err)
			}
		})
	}
}

func TestNoiseZeroLoss(t *testing.T) {
	for _, e := range [][]float64{nil, {0, 0}} {
		s, err := NewState([]float64{1, 0, 0, 1}, 2, 2, e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Noise(); !errors.Is(err, ErrZeroLoss) {
			t.Errorf("e = %v: Noise error %v, want ErrZeroLoss", e, err)
		}
		// The geometry (the flatness at a minimum) is still defined.
		if g := mustGeometry(t, s); g.FroG != math.Sqrt(2)/2 {
			t.Errorf("‖G‖_F = %v, want 1/√2", g.FroG)
		}
	}
}

func TestNewStateLeavesInputAlone(t *testing.T) {
	q := []float64{3e200, -1, 2, 5e-200}
	e := []float64{1e-300, 2}
	q0, e0 := append([]float64(nil), q...), append([]float64(nil), e...)
	if _, err := NewState(q, 2, 2, e); err != nil {
		t.Fatal(err)
	}
	for i := range q {
		if q[i] != q0[i] {
			t.Fatalf("Q modified at %d", i)
		}
	}
	for i := range e {
		if e[i] != e0[i] {
			t.Fatalf("e modified at %d", i)
		}
	}
}

// TestExtremeScales: Q at 1e±160 with e at 1e∓160 squares to 1e±320 on the
// way, outside float64's normal range, yet ‖Σ‖_F and Tr(GΣ) (which scale
// as Q²e² and Q⁴e²) stay of moderate size and must come out right. Where the
// true value overflows the result is +Inf; the ratios never change.
func TestExtremeScales(t *testing.T) {
	q0 := []float64{1, 2, 0, -1, 1, 3, 2, 0, 1, 1, -2, 1}
	e0 := []float64{0.5, -1, 2}
	ref, _ := NewState(q0, 3, 4, e0)
	refG, refN := mustGeometry(t, ref), mustNoise(t, ref)
	state := func(qs, es float64) (Geometry, Noise) {
		s, err := NewState(scaled(q0, qs), 3, 4, scaled(e0, es))
		if err != nil {
			t.Fatal(err)
		}
		return mustGeometry(t, s), mustNoise(t, s)
	}
	ratios := func(g Geometry, nz Noise) {
		t.Helper()
		for _, r := range [][2]float64{{nz.Alpha, refN.Alpha}, {nz.Beta, refN.Beta}, {nz.Mu, refN.Mu}, {g.Gamma, refG.Gamma}, {g.Tau, refG.Tau}} {
			closeRel(t, "ratio", r[0], r[1], 1e-14)
		}
	}
	// The decimal scale factors round, so agreement is to a few ulps, not bits.
	g, nz := state(1e160, 1e-160)
	closeRel(t, "‖Σ‖_F (Q·1e160, e·1e-160)", nz.FroSigma, refN.FroSigma, 1e-14)
	if !math.IsInf(g.FroG, 1) {
		t.Errorf("‖G‖_F = %v at Q·1e160, want +Inf (the true value is ~6.6e320)", g.FroG)
	}
	ratios(g, nz)
	g, nz = state(1e-160, 1e160)
	closeRel(t, "‖Σ‖_F (Q·1e-160, e·1e160)", nz.FroSigma, refN.FroSigma, 1e-14)
	if !math.IsInf(nz.Loss, 1) {
		t.Errorf("L = %v at e·1e160, want +Inf (the true value is ~8.8e319)", nz.Loss)
	}
	ratios(g, nz)
	// Tr(GΣ) scales as Q⁴e²: of order one at Q·1e-80, e·1e160.
	g, nz = state(1e-80, 1e160)
	closeRel(t, "Tr(GΣ) (Q·1e-80, e·1e160)", nz.TrGSigma, refN.TrGSigma, 1e-14)
	ratios(g, nz)
	g, nz = state(1e150, 1e-150)
	closeRel(t, "‖G‖_F·1e-300 (Q·1e150)", g.FroG*1e-300, refG.FroG, 1e-14)
	closeRel(t, "L·1e300 (e·1e-150)", nz.Loss*1e300, refN.Loss, 1e-14)
	closeRel(t, "λ_1·1e-300 (Q·1e150)", g.LambdaMax*1e-300, refG.LambdaMax, 1e-14)
	ratios(g, nz)
	g, nz = state(1e-150, 1e150)
	closeRel(t, "‖G‖_F·1e300 (Q·1e-150)", g.FroG*1e300, refG.FroG, 1e-14)
	closeRel(t, "L·1e-300 (e·1e150)", nz.Loss*1e-300, refN.Loss, 1e-14)
	ratios(g, nz)
}

func scaled(x []float64, c float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * c
	}
	return out
}

func closeRel(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol*math.Abs(want)) {
		t.Errorf("%s = %.17g, want %.17g (relative tolerance %g)", what, got, want, tol)
	}
}

func mustNoise(t *testing.T, s *State) Noise {
	t.Helper()
	nz, err := s.Noise()
	if err != nil {
		t.Fatal(err)
	}
	return nz
}

func TestBoundsValidate(t *testing.T) {
	for _, h := range []SGD{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {0.1, 0}} {
		if _, err := h.BoundThm33(0.5); !errors.Is(err, ErrParam) {
			t.Errorf("%+v: error %v, want ErrParam", h, err)
		}
	}
	h := SGD{Eta: 0.1, Batch: 4}
	if b, _ := h.BoundThm33(0); !math.IsInf(b, 1) {
		t.Errorf("μ0 = 0 gives bound %v, want +Inf (no alignment, no bound)", b)
	}
	if b, _ := h.BoundThm33(0.25); b != 40 {
		t.Errorf("sqrt(4/0.25)/0.1 = %v, want 40", b)
	}
	if b, _ := (SGD{Eta: 1, Batch: 1}).BoundProp34(0.5); b != 4 {
		t.Errorf("B = 1: 2B/μ1 = %v, want 4", b)
	}
	if b, _ := (SGD{Eta: 1, Batch: 5}).BoundProp34(1); b != 2.5 {
		t.Errorf("B = 5, μ1 = 1: min(5/2, 10) = %v, want 2.5", b)
	}
	if s, _ := EscapeSteps(math.E, math.Exp(-10)); !(math.Abs(s-10) <= 1e-12) {
		t.Errorf("escape steps %v, want 10", s)
	}
	if s, _ := EscapeSteps(1, 0.01); !math.IsInf(s, 1) {
		t.Errorf("γ0 = 1 escape %v, want +Inf", s)
	}
	for _, g := range []float64{math.NaN(), -1} {
		if _, err := EscapeSteps(g, 0.01); !errors.Is(err, ErrParam) {
			t.Errorf("γ0 = %v: %v, want a parameter error", g, err)
		}
	}
	for _, f := range []float64{math.NaN(), -1, math.Inf(1)} {
		if _, err := (SGD{Eta: 1, Batch: 1}).Gamma0(0.5, f); !errors.Is(err, ErrParam) {
			t.Errorf("‖H‖_F = %v: %v, want a parameter error", f, err)
		}
	}
}

func mustGeometry(t *testing.T, s *State) Geometry {
	t.Helper()
	g, err := s.Geometry()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestNegativeInputs: the scale of Q, K and e is that of their largest
// magnitude, whatever its sign: an all-negative Q is not zero, and
// negating Q or e changes no quantity (K = QQᵀ and the quantities are even
// in e), to the bit, since negation is exact.
func TestNegativeInputs(t *testing.T) {
	q := []float64{1, 2, 0, 0, 1, -1, 2, 0, 1}
	e := []float64{1, -2, 3}
	ref, err := NewState(q, 3, 3, e)
	if err != nil {
		t.Fatal(err)
	}
	neg, err := NewState(scaled(q, -1), 3, 3, scaled(e, -1))
	if err != nil {
		t.Fatal(err)
	}
	if g, h := mustGeometry(t, ref), mustGeometry(t, neg); g.FroG != h.FroG || g.LambdaMax != h.LambdaMax || g.Gamma != h.Gamma {
		t.Errorf("geometry of -Q: %+v, of Q: %+v", h, g)
	}
	if a, b := mustNoise(t, ref), mustNoise(t, neg); a != b {
		t.Errorf("noise of (-Q, -e): %+v, of (Q, e): %+v", b, a)
	}
	// All entries negative: max |Q| = 3, not max Q < 0.
	s, err := NewState([]float64{-1, -3}, 1, 2, []float64{-2})
	if err != nil {
		t.Fatalf("Q = (-1, -3): %v", err)
	}
	if g := mustGeometry(t, s); g.FroG != 10 {
		t.Errorf("Q = (-1, -3): ‖G‖_F = %v, want 10", g.FroG)
	}
	if l := s.Loss(); l != 2 {
		t.Errorf("e = (-2): L = %v, want 2", l)
	}
	s, err = NewStateGram([]float64{-4, -1, -1, -4}, 2, 2, []float64{-3, -1})
	if err != nil {
		t.Fatalf("K all negative: %v", err)
	}
	if k := s.Gram(); k.At(0, 0) != -4 || k.At(0, 1) != -1 {
		t.Errorf("K = %v, want [[-4, -1], [-1, -4]]", k)
	}
	if r := s.Residuals(); r[0] != -3 || r[1] != -1 {
		t.Errorf("e = %v, want (-3, -1)", r)
	}
}
