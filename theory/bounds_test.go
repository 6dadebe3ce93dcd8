package theory

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestBoundClosedForms: each bound of Section 3 at inputs where its closed
// form is exact in binary: η = 1/2, B = 4, and constants whose square roots
// and quotients are exact, so every operation is exact and the comparison
// is ==.
func TestBoundClosedForms(t *testing.T) {
	h := SGD{Eta: 0.5, Batch: 4}
	for _, c := range []struct {
		what string
		got  func() (float64, error)
		want float64
	}{
		// sqrt(B/μ0)/η = sqrt(4/0.25)/0.5.
		{"Thm 3.3, μ0 = 1/4", func() (float64, error) { return h.BoundThm33(0.25) }, 8},
		// sqrt(B(n-1)/((n-B)μ0))/η = sqrt(4·7/(4·(7/16)))/0.5 = sqrt(16)/0.5.
		{"Thm 3.3 without replacement, n = 8, μ0 = 7/16", func() (float64, error) { return h.BoundThm33WithoutReplacement(0.4375, 8) }, 8},
		// B = 3 of n = 7, μ0 = 9/8: sqrt(3·6/(4·9/8))/(1/2) = sqrt(4)·2.
		{"Thm 3.3 without replacement, B = 3, n = 7", func() (float64, error) {
			return SGD{Eta: 0.5, Batch: 3}.BoundThm33WithoutReplacement(1.125, 7)
		}, 4},
		// min(B/sqrt((B-1)μ1), 2B/μ1)/η: B = 4, μ1 = 3: min(4/3, 8/3)/(1/2).
		{"Prop 3.4, μ1 = 3, the first term smaller", func() (float64, error) { return h.BoundProp34(3) }, 8.0 / 3},
		// μ1 = 4/3: min(4/sqrt(4), 6) = 2, over η: 4.
		{"Prop 3.4, μ1 = 4/3", func() (float64, error) { return h.BoundProp34(4.0 / 3) }, 4},
		// μ1 = 48: min(4/sqrt(144), 8/48) = min(1/3, 1/6): the second term.
		{"Prop 3.4, μ1 = 48, the second term smaller", func() (float64, error) { return h.BoundProp34(48) }, 1.0 / 3},
		// B = 1: only 2B/μ1, whatever μ1 (the first term has B - 1 = 0).
		{"Prop 3.4, B = 1", func() (float64, error) { return SGD{Eta: 0.5, Batch: 1}.BoundProp34(0.25) }, 16},
		// B = 2, μ1 = 1/4: min(2/sqrt(1/4), 16) = 4, over η: 8.
		{"Prop 3.4, B = 2", func() (float64, error) { return SGD{Eta: 0.5, Batch: 2}.BoundProp34(0.25) }, 8},
		{"GD λ_max <= 2/η", func() (float64, error) { return h.BoundGDLambdaMax(), nil }, 4},
		// 2 sqrt(rank)/η, rank 9.
		{"GD ‖H‖_F, rank 9", func() (float64, error) { return h.BoundGDFro(9), nil }, 12},
		// sqrt(pB)/η, p = 9.
		{"isotropic Tr(H), p = 9", func() (float64, error) { return h.BoundIsotropicTrace(9), nil }, 12},
		// sqrt(B)/η.
		{"geometry-aware", func() (float64, error) { return h.BoundGeometryAware(), nil }, 4},
		// η² μ0 ‖H‖_F²/B = (1/4)(1/2)·9/4.
		{"γ0", func() (float64, error) { return h.Gamma0(0.5, 3) }, 9.0 / 32},
		// A negative μ0 is a valid (uninformative) alignment: γ0 < 0.
		{"γ0, μ0 < 0", func() (float64, error) { return h.Gamma0(-0.5, 3) }, -9.0 / 32},
		{"γ0, ‖H‖_F = 0", func() (float64, error) { return h.Gamma0(0.5, 0) }, 0},
		// γ0 = 1/8, B = 1, η = 1/2, ‖H‖_F = 1: μ0 = 1/2.
		{"γ0, B = 1", func() (float64, error) { return SGD{Eta: 0.5, Batch: 1}.Gamma0(0.5, 1) }, 0.125},
	} {
		got, err := c.got()
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.what, got, c.want)
		}
	}
}

// TestBoundsNoAlignment: the theorems say nothing for an alignment
// constant <= 0, and nothing about noise at full batch (B = n without
// replacement): the bound is +Inf, without an error.
func TestBoundsNoAlignment(t *testing.T) {
	h := SGD{Eta: 0.5, Batch: 4}
	for _, mu := range []float64{0, -1, -math.MaxFloat64} {
		for what, f := range map[string]func() (float64, error){
			"Thm 3.3":                     func() (float64, error) { return h.BoundThm33(mu) },
			"Thm 3.3 without replacement": func() (float64, error) { return h.BoundThm33WithoutReplacement(mu, 8) },
			"Prop 3.4":                    func() (float64, error) { return h.BoundProp34(mu) },
		} {
			if b, err := f(); err != nil || !math.IsInf(b, 1) {
				t.Errorf("%s, constant %v: %v, %v; want +Inf, no error", what, mu, b, err)
			}
		}
	}
	if b, err := h.BoundThm33WithoutReplacement(0.5, 4); err != nil || !math.IsInf(b, 1) {
		t.Errorf("B = n = 4: %v, %v; want +Inf (full batch: no noise)", b, err)
	}
}

// TestBoundParams: every bound refuses a bad learning rate or batch size,
// and a NaN or infinite alignment constant, with ErrParam naming the
// argument.
func TestBoundParams(t *testing.T) {
	good := SGD{Eta: 0.5, Batch: 4}
	calls := map[string]func(SGD, float64) (float64, error){
		"Thm 3.3":                     func(h SGD, mu float64) (float64, error) { return h.BoundThm33(mu) },
		"Thm 3.3 without replacement": func(h SGD, mu float64) (float64, error) { return h.BoundThm33WithoutReplacement(mu, 8) },
		"Prop 3.4":                    func(h SGD, mu float64) (float64, error) { return h.BoundProp34(mu) },
		"γ0":                          func(h SGD, mu float64) (float64, error) { return h.Gamma0(mu, 1) },
	}
	for what, f := range calls {
		for _, h := range []SGD{{0, 4}, {-0.5, 4}, {math.NaN(), 4}, {math.Inf(1), 4}, {0.5, 0}, {0.5, -1}} {
			if _, err := f(h, 0.5); !errors.Is(err, ErrParam) {
				t.Errorf("%s, %+v: %v, want ErrParam", what, h, err)
			}
		}
		for _, mu := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			_, err := f(good, mu)
			if !errors.Is(err, ErrParam) {
				t.Errorf("%s, constant %v: %v, want ErrParam", what, mu, err)
				continue
			}
			if !strings.HasPrefix(err.Error(), "mu") {
				t.Errorf("%s, constant %v: %q does not name the constant", what, mu, err)
			}
		}
	}
	// The smallest valid values: η the smallest positive float, B = 1.
	if err := (SGD{Eta: math.SmallestNonzeroFloat64, Batch: 1}).Validate(); err != nil {
		t.Errorf("η = 5e-324, B = 1: %v", err)
	}
	if err := (SGD{Eta: math.MaxFloat64, Batch: 1}).Validate(); err != nil {
		t.Errorf("η = MaxFloat64: %v", err)
	}
	// B > n without replacement: a subset larger than the set.
	if _, err := good.BoundThm33WithoutReplacement(0.5, 3); !errors.Is(err, ErrParam) || !strings.HasPrefix(err.Error(), "B: ") {
		t.Errorf("B = 4 > n = 3: %v, want ErrParam on B", err)
	}
}

// TestEscapeSteps: log_{γ0}(1/ε), +Inf for γ0 <= 1, and the domains
// ε in (0, 1), γ0 >= 0.
func TestEscapeSteps(t *testing.T) {
	// log 16/log 4 = 2, each logarithm within an ulp (math.Log is within
	// one ulp), so the quotient within 3 ulps of 2.
	if s, err := EscapeSteps(4, 1.0/16); err != nil || !(math.Abs(s-2) <= 3*0x1p-51) {
		t.Errorf("EscapeSteps(4, 1/16) = %v, %v; want 2", s, err)
	}
	for _, g := range []float64{0, 0.5, 1} {
		if s, err := EscapeSteps(g, 0.5); err != nil || !math.IsInf(s, 1) {
			t.Errorf("γ0 = %v: %v, %v; want +Inf (no escape)", g, s, err)
		}
	}
	// Just above 1 it escapes, slowly: log 2/log(1 + 2^-20) ≈ 2^20 log 2.
	if s, err := EscapeSteps(1+0x1p-20, 0.5); err != nil || !(math.Abs(s/(math.Ln2*0x1p20)-1) <= 1e-6) {
		t.Errorf("γ0 = 1 + 2^-20: %v, %v; want about 2^20·ln 2 (to O(2^-20) relative)", s, err)
	}
	for _, eps := range []float64{0, 1, -0.5, 2, math.NaN()} {
		if _, err := EscapeSteps(2, eps); !errors.Is(err, ErrParam) || !strings.HasPrefix(err.Error(), "eps: ") {
			t.Errorf("ε = %v: %v, want ErrParam on eps", eps, err)
		}
	}
	for _, g := range []float64{-1, math.NaN()} {
		if _, err := EscapeSteps(g, 0.5); !errors.Is(err, ErrParam) || !strings.HasPrefix(err.Error(), "gamma0: ") {
			t.Errorf("γ0 = %v: %v, want ErrParam on gamma0", g, err)
		}
	}
}
