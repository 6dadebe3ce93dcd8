package theory

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestGaussianBadInput: bad covariances and vectors are typed errors.
func TestGaussianBadInput(t *testing.T) {
	if _, err := NewGaussianRule(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("nil S: %v", err)
	}
	if _, err := NewGaussianRule(mat.NewSymDense(2, []float64{1, 0, 0, -1})); !errors.Is(err, ErrParam) {
		t.Errorf("indefinite S: %v", err)
	}
	if _, err := NewGaussianRule(mat.NewSymDense(MaxQuadratureDim+1, nil)); !errors.Is(err, ErrParam) {
		t.Errorf("S too large: %v", err)
	}
	if _, err := NewGaussianRule(mat.NewSymDense(1, []float64{math.Inf(1)})); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Inf in S: %v", err)
	}
	r, err := NewGaussianRule(mat.NewSymDense(2, []float64{2, 1, 1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WeightedSecondMoment([]float64{1}); !errors.Is(err, ErrShape) {
		t.Errorf("short v: %v", err)
	}
	if _, err := LemmaC1(mat.NewSymDense(2, []float64{1, 0, 0, 1}), []float64{1, math.NaN()}); !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), "v[1]:") {
		t.Errorf("NaN v[1]: %v", err)
	}
	if _, err := OLMPopulation(mat.NewSymDense(2, []float64{1, 0, 0, 1}), mat.NewDense(3, 1, nil), []float64{1, 1}); !errors.Is(err, ErrShape) {
		t.Errorf("J of the wrong height: %v", err)
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := OLMPopulation(mat.NewSymDense(1, []float64{1}), mat.NewDense(1, 2, []float64{1, v}), []float64{1}); !errors.Is(err, ErrNotFinite) {
			t.Errorf("%v in J: %v", v, err)
		}
	}
	mo, err := OLMPopulation(mat.NewSymDense(1, []float64{1}), mat.NewDense(1, 1, []float64{1}), []float64{0})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := mo.Alignment(); !errors.Is(err, ErrZeroLoss) {
		t.Errorf("u = 0: %v", err)
	}
}

// TestKernelValues: κ(1) = 1/2, κ(0) = 1/(2π), κ(-1) = 0, and the exact
// λ_1 at d = 3 (3/16) and d = 5 (45/256) from the Wallis closed form.
func TestKernelValues(t *testing.T) {
	for _, c := range []struct{ z, want float64 }{{1, 0.5}, {0, 1 / (2 * math.Pi)}, {-1, 0}, {1 + 1e-15, 0.5}} {
		if got := ArcCosKernel(c.z); !(math.Abs(got-c.want) <= 1e-16) {
			t.Errorf("κ(%v) = %v, want %v", c.z, got, c.want)
		}
	}
	for _, c := range []struct {
		d    int
		want float64
	}{{3, 3.0 / 16}, {5, 45.0 / 256}} {
		if got, _ := ReLUSphereLambda1(c.d); !(math.Abs(got-c.want) <= 4e-16) {
			t.Errorf("λ_1(d=%d) = %v, want %v", c.d, got, c.want)
		}
	}
	if _, err := ReLUSphereConstants(1); !errors.Is(err, ErrParam) {
		t.Errorf("d = 1: %v", err)
	}
}

// roundingGamma is Higham's γ_k = ku/(1-ku) with u = 2^-53, exactly as
// computed: the quadratures' stated error bounds rest on it.
func TestRoundingGamma(t *testing.T) {
	const u = 0x1p-53
	for _, k := range []int{1, 10, 1000, 1 << 40} {
		want := float64(k) * u / (1 - float64(k)*u)
		if got := roundingGamma(k); got != want {
			t.Errorf("γ_%d = %v, want %v", k, got, want)
		}
	}
	// γ_k > ku: the denominator is below 1 (1 - 2^13 u > 0.999).
	if g := roundingGamma(1 << 40); !(g > (1<<40)*u) {
		t.Errorf("γ_{2^40} = %v is not above 2^40·u", g)
	}
}
