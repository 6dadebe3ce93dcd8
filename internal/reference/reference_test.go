package reference

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// rankOne is the model of the features g_i = c_i v, ‖v‖ = 1, built from
// K = QQᵀ = c cᵀ: then r = 1, h = mean c², a_i = ±c_i, and for SGD with
// noise fraction ν = n·C2 (C1 = 1 - ν) T is the scalar
// 1 - 2ηh + η²h²(1 + νμ), μ = (mean c⁴ - h²)/h² (TestRankOneClosedForm in
// package oracle). The custom noises give 1 - 2ηh + η²h²(1 + 1/B)
// (geometry-aware) and 1 - 2ηh + η²h²(1 + 1/(pB)) (isotropic, σ² = h/p).
func rankOne(t *testing.T) (md *Model, h, mu float64) {
	t.Helper()
	c := []float64{1, -2, 0.5, 3, 1.5}
	n := len(c)
	k := mat.NewSymDense(n, nil)
	m4 := 0.0
	for i, ci := range c {
		for j := i; j < n; j++ {
			k.SetSym(i, j, ci*c[j])
		}
		h += ci * ci / float64(n)
		m4 += ci * ci * ci * ci / float64(n)
	}
	md, err := ModelFromGram(k, 1)
	if err != nil {
		t.Fatal(err)
	}
	return md, h, (m4 - h*h) / (h * h)
}

// TestDenseOperatorRankOne checks the 1 x 1 DenseOperator against the
// closed forms, and that the check catches SGD's C2 term dropped. The
// entry is a few dozen operations on the eigen-decomposition of a 5 x 5 K:
// within a few hundred ulps of the sum of the magnitudes of its terms,
// 1 + 2ηh + η²h²(1 + νμ) <= 1 + x(2 + 2x) for x = ηh (1 + νμ, 1 + 1/B
// and 1 + 1/(pB) are at most 2 here).
func TestDenseOperatorRankOne(t *testing.T) {
	md, h, mu := rankOne(t)
	const n, p = 5, 3
	matches := func(nz Noise, eta, want float64) bool {
		t.Helper()
		op, err := DenseOperator(md, nz, eta)
		if err != nil {
			t.Fatal(err)
		}
		if r, c := op.Dims(); r != 1 || c != 1 {
			t.Fatalf("operator is %d x %d, want 1 x 1", r, c)
		}
		x := eta * h
		return math.Abs(op.At(0, 0)-want) <= 1e-13*(1+x*(2+2*x))
	}
	for _, nu := range []float64{0, 0.25, 1} {
		sgd := Noise{Kind: SGD, C1: 1 - nu, C2: nu / n}
		star := 2 / (h * (1 + nu*mu))
		for _, f := range []float64{0.25, 0.5, 1, 1.5} {
			eta := f * star
			want := 1 - 2*eta*h + eta*eta*h*h*(1+nu*mu)
			if !matches(sgd, eta, want) {
				t.Errorf("SGD ν = %v, η = %v·η*: T does not match the closed form %v", nu, f, want)
			}
			dropped := sgd
			dropped.C2 = 0
			if nu > 0 && matches(dropped, eta, want) {
				t.Errorf("SGD ν = %v, η = %v·η*: the C2 term dropped still matches the closed form", nu, f)
			}
		}
	}
	for b := 1; b <= 3; b++ {
		bf := float64(b)
		eta := 0.7 / h
		geo := 1 - 2*eta*h + eta*eta*h*h*(1+1/bf)
		if !matches(Noise{Kind: GeometryAware, B: b}, eta, geo) {
			t.Errorf("geometry-aware B = %d: T does not match the closed form %v", b, geo)
		}
		iso := 1 - 2*eta*h + eta*eta*h*h*(1+1/(p*bf))
		if !matches(Noise{Kind: Isotropic, B: b, P: p}, eta, iso) {
			t.Errorf("isotropic B = %d: T does not match the closed form %v", b, iso)
		}
	}
}

// TestBisectionRankOne: η* by bisection on the naive ρ = |T| is
// 2/(h(1 + νμ)), to ρ's error (a few hundred ulps) over dρ/dη = 2h at η*.
func TestBisectionRankOne(t *testing.T) {
	md, h, mu := rankOne(t)
	const nu, n = 0.5, 5
	nz := Noise{Kind: SGD, C1: 1 - nu, C2: nu / n}
	got, err := CriticalRateBisection(func(eta float64) (float64, error) {
		return NaiveSpectralRadius(md, nz, eta)
	}, 1/h)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 / (h * (1 + nu*mu)); !(math.Abs(got-want) <= 1e-13*want) {
		t.Errorf("η* by bisection = %.17g, want %.17g", got, want)
	}
}

// TestBadInput: errors wrapping ErrInput, never a panic.
func TestBadInput(t *testing.T) {
	md, _, _ := rankOne(t)
	sgd := Noise{Kind: SGD, C1: 1}
	for name, f := range map[string]func() error{
		"NaN in K": func() error {
			_, err := ModelFromGram(mat.NewSymDense(2, []float64{1, math.NaN(), math.NaN(), 1}), 1)
			return err
		},
		"r > n": func() error { _, err := ModelFromGram(mat.NewSymDense(1, []float64{1}), 2); return err },
		"r beyond the positive eigenvalues": func() error {
			_, err := ModelFromGram(mat.NewSymDense(2, []float64{1, 1, 1, 1}), 2)
			return err
		},
		"h of the wrong length": func() error { _, err := NewModel(mat.NewDense(2, 1, nil), []float64{1, 2}); return err },
		"η = 0":                 func() error { _, err := DenseOperator(md, sgd, 0); return err },
		"η = NaN":               func() error { _, err := NaiveSpectralRadius(md, sgd, math.NaN()); return err },
		"B = 0":                 func() error { _, err := DenseOperator(md, Noise{Kind: GeometryAware}, 1); return err },
		"P = 0":                 func() error { _, err := DenseOperator(md, Noise{Kind: Isotropic, B: 1}, 1); return err },
		"unknown noise":         func() error { _, err := DenseOperator(md, Noise{Kind: 7}, 1); return err },
		"M of the wrong size": func() error {
			_, err := ReducedStep(md, sgd, 1, mat.NewSymDense(2, nil))
			return err
		},
		"start = 0": func() error {
			_, err := CriticalRateBisection(func(float64) (float64, error) { return 0, nil }, 0)
			return err
		},
		"always stable": func() error {
			_, err := CriticalRateBisection(func(float64) (float64, error) { return 0, nil }, 1)
			return err
		},
		"never stable": func() error {
			_, err := CriticalRateBisection(func(float64) (float64, error) { return 2, nil }, 1)
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
}
