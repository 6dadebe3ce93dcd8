package theory

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestLemmaE1Params: Lemma E.1 needs finite a, b > 0; each bad value of
// either is refused on its own, the other being valid.
func TestLemmaE1Params(t *testing.T) {
	h := mat.NewSymDense(2, []float64{2, 0, 0, 1})
	theta := []float64{1, 1}
	if _, err := LemmaE1(h, theta, 1, 1); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{0, -1, math.Inf(1), math.Inf(-1), math.NaN()} {
		if _, err := LemmaE1(h, theta, bad, 1); !errors.Is(err, ErrParam) {
			t.Errorf("a = %v: %v", bad, err)
		}
		if _, err := LemmaE1(h, theta, 1, bad); !errors.Is(err, ErrParam) {
			t.Errorf("b = %v: %v", bad, err)
		}
	}
}

// TestNormalize: max |x| is brought into [1/2, 1) by an exact power of
// two, whose exponent is returned; a zero vector is left alone, exponent 0.
func TestNormalize(t *testing.T) {
	x := []float64{3, -0.5, 0}
	if e := normalize(x); e != 2 || x[0] != 0.75 || x[1] != -0.125 || x[2] != 0 {
		t.Errorf("normalize(3, -0.5, 0) = %v, exponent %d; want (0.75, -0.125, 0), 2", x, e)
	}
	z := []float64{0, 0}
	if e := normalize(z); e != 0 || z[0] != 0 || z[1] != 0 {
		t.Errorf("normalize(0, 0) = %v, exponent %d; want (0, 0), 0", z, e)
	}
}
