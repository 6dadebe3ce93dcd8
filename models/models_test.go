package models

import (
	"errors"
	"math"
	"testing"
)

// TestBadInput: wrong lengths and non-finite values are typed errors.
func TestBadInput(t *testing.T) {
	lin, err := NewDeepLinear(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDeepLinear(3, 0); !errors.Is(err, ErrShape) {
		t.Errorf("zero width: %v", err)
	}
	if _, err := lin.F(make([]float64, 5)); !errors.Is(err, ErrShape) {
		t.Errorf("short θ: %v", err)
	}
	theta := make([]float64, lin.NumParams())
	theta[0] = math.NaN()
	if _, err := lin.Jacobian(theta); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN θ: %v", err)
	}
	if _, err := PerSampleGradients(Quadratic{D: 2}, make([]float64, 4), make([]float64, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("ragged x: %v", err)
	}
	if _, err := NewRFM(make([]float64, 5), 2, 3); !errors.Is(err, ErrShape) {
		t.Errorf("short W: %v", err)
	}
}

// TestDeepLinearValues: F and a per-sample gradient on a hand-worked case,
// W_1 = [1 2; 3 4] (d = 2, width 2), W_2 = [5; 6]: F = (17, 39), and
// ∂f/∂W_2 at x = (1, 1) is W_1ᵀx = (4, 6).
func TestDeepLinearValues(t *testing.T) {
	m, _ := NewDeepLinear(2, 2)
	theta := []float64{1, 2, 3, 4, 5, 6}
	f, err := m.F(theta)
	if err != nil || f[0] != 17 || f[1] != 39 {
		t.Fatalf("F = %v, %v", f, err)
	}
	q, err := PerSampleGradients(m, theta, []float64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{5, 6, 5, 6, 4, 6}
	for i := range want {
		if q[i] != want[i] {
			t.Fatalf("g = %v, want %v", q, want)
		}
	}
	out, _ := Outputs(m, theta, []float64{1, 1})
	if out[0] != 56 {
		t.Fatalf("f = %v", out)
	}
}
