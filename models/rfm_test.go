package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"
)

// TestRFMProperties runs the harness on random feature models: m and d in
// 1..6, W Gaussian, feature scale 1 or 1/sqrt(m) (A.1's and the one the
// experiments use). f is linear in θ, so no difference may be skipped.
func TestRFMProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.IntRange(1, 6).Draw(t, "m")
		d := rapid.IntRange(1, 6).Draw(t, "d")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "W seed"), 0))
		w := make([]float64, m*d)
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		r, err := NewRFM(w, m, d)
		if err != nil {
			t.Fatal(err)
		}
		if rapid.Bool().Draw(t, "scaled") {
			r = r.Scaled(1 / math.Sqrt(float64(m)))
		}
		theta, x, y := drawCase(t, r)
		if s := checkNetwork(t, r, theta, x, y); s.skipped > 0 {
			t.Fatalf("RFM: %d of %d finite differences skipped", s.skipped, s.pairs)
		}
	})
}

// TestRFMNetwork: Init is θ = 0, Scaled scales the features and leaves the
// model it is called on alone, and bad input is a typed error.
func TestRFMNetwork(t *testing.T) {
	r, _ := NewRFM([]float64{1, -1, 2, 0.5}, 2, 2) // w_1 = (1, -1), w_2 = (2, 0.5)
	for _, v := range r.Init(nil) {
		if v != 0 {
			t.Fatalf("Init = %v", r.Init(nil))
		}
	}
	half := r.Scaled(0.5)
	q, err := half.Features([]float64{1, 2}) // ReLU(-1) = 0, ReLU(3) = 3
	if err != nil || q[0] != 0 || q[1] != 1.5 || r.S != 1 {
		t.Fatalf("Φ = %v, %v; S = %v", q, err, r.S)
	}
	out := make([]float64, 1)
	if err := r.Scaled(math.NaN()).Outputs(out, []float64{1, 1}, []float64{1, 2}); err == nil {
		t.Error("NaN scale accepted")
	}
	if _, err := r.LossGradient(make([]float64, 2), []float64{1, 1}, []float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("two labels for one sample accepted")
	}
}
