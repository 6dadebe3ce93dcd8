package theory

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNewStateScaledGram: K given as 2^exp·k, with k's entries scaled by
// 2^-exp exactly, is the same state as K itself, bit for bit, for exponents
// that keep 2^exp·k representable, and reaches Grams beyond float64's range
// (λ_1 = 2^1100 is reported as +Inf, the state is finite inside).
func TestNewStateScaledGram(t *testing.T) {
	n, p := 3, 5
	k := []float64{4, 1, -2, 1, 3, 0.5, -2, 0.5, 6}
	e := []float64{1, -0.5, 0.25}
	want, err := NewStateGram(k, n, p, e)
	if err != nil {
		t.Fatal(err)
	}
	for _, exp := range []int{-300, -1, 0, 7, 300} {
		scaled := make([]float64, len(k))
		for i, v := range k {
			scaled[i] = math.Ldexp(v, -exp)
		}
		got, err := NewStateScaledGram(scaled, exp, n, p, e)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(mustGeometry(t, want), mustGeometry(t, got)); diff != "" {
			t.Errorf("exp %d: geometry differs (-K +scaled):\n%s", exp, diff)
		}
		nw, _ := want.Noise()
		ng, _ := got.Noise()
		if diff := cmp.Diff(nw, ng); diff != "" {
			t.Errorf("exp %d: noise differs (-K +scaled):\n%s", exp, diff)
		}
	}
	huge, err := NewStateScaledGram(k, 1100, n, p, e)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGeometry(t, huge)
	if !math.IsInf(g.LambdaMax, 1) || g.Tau != mustGeometry(t, want).Tau {
		t.Errorf("K·2^1100: λ_1 = %v, τ = %v; want +Inf and the unscaled τ", g.LambdaMax, g.Tau)
	}
}
