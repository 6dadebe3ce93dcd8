package theory

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestArcCosKernelValues: κ at z = ±1/2 in closed form, and the clamping
// of arguments rounded (or given) beyond ±1. At z = cos φ, φ = π/3 and 2π/3:
// κ(1/2) = (√3/2 + (2π/3)/2)/(2π) and κ(-1/2) = (√3/2 - (π/3)/2)/(2π).
// ArcCosKernel takes about 8 correctly rounded operations (γ_8 < 1e-15
// relative on each term); κ(-1/2) is a difference whose terms are at most
// 3 times the result, so 3e-15 relative bounds both.
func TestArcCosKernelValues(t *testing.T) {
	s3 := math.Sqrt(3) / 2
	for _, c := range []struct{ z, want float64 }{
		{0.5, (s3 + math.Pi/3) / (2 * math.Pi)},
		{-0.5, (s3 - math.Pi/6) / (2 * math.Pi)},
	} {
		if got := ArcCosKernel(c.z); !(math.Abs(got-c.want) <= 3e-15*c.want) {
			t.Errorf("κ(%v) = %v, want %v", c.z, got, c.want)
		}
	}
	// Beyond ±1 the argument is clamped: κ(-1) = 0 and κ(1) = 1/2 exactly
	// (sqrt(0) = 0, atan2(0, ±1) = 0 or π).
	for _, c := range []struct{ z, want float64 }{
		{-1 - 0x1p-52, 0}, {-1.5, 0}, {-2.5, 0}, {math.Inf(-1), 0},
		{1 + 0x1p-52, 0.5}, {1.5, 0.5}, {2.5, 0.5}, {math.Inf(1), 0.5},
	} {
		if got := ArcCosKernel(c.z); got != c.want {
			t.Errorf("κ(%v) = %v, want %v (clamped to ±1)", c.z, got, c.want)
		}
	}
}

// TestSphereDims: the sphere quadratures take 2 <= d <= MaxSphereDim, the
// boundaries included, and refuse the dimension just outside, with ErrParam
// on d.
func TestSphereDims(t *testing.T) {
	fns := map[string]func(int) (float64, error){
		"Gauss–Legendre": func(d int) (float64, error) { c, err := ReLUSphereConstants(d); return c.Lambda1, err },
		"tanh–sinh":      func(d int) (float64, error) { c, err := ReLUSphereConstantsTanhSinh(d); return c.Lambda1, err },
		"closed form":    ReLUSphereLambda1,
	}
	for what, f := range fns {
		for _, d := range []int{-1, 0, 1, MaxSphereDim + 1} {
			if _, err := f(d); !errors.Is(err, ErrParam) || !strings.HasPrefix(err.Error(), "d: ") {
				t.Errorf("%s, d = %d: %v, want ErrParam on d", what, d, err)
			}
		}
		for _, d := range []int{2, MaxSphereDim} {
			if l, err := f(d); err != nil || !(l > 0) {
				t.Errorf("%s, d = %d: λ_1 = %v, %v", what, d, l, err)
			}
		}
	}
}

// TestSphereConstants: λ_1(𝒦) = E[κ(t)] and Σλ_i² = E[κ(t)²] three ways:
// the Gauss–Legendre rule in the angle, the tanh–sinh rule in t, and, for
// λ_1, the Wallis closed form (d steps of three operations: γ_{3d}); and,
// at d = 2, where the angle φ is uniform on [0, π], E[κ²] in closed form:
// with ψ = π - φ, ∫_0^π (sin ψ - ψ cos ψ)² dψ = π/2 + π³/6 + π/4 + π/2, so
// Σλ_i² = (5/4 + π²/6)/(4π²) = 5/(16π²) + 1/24, and at d = 2
// λ_1 = 2/π². Each rule is within the relative bound theory states for it
// (ReLUSphereConstantsRelErr and its tanh–sinh twin, half of it for λ_1 of
// Σλ_i²'s: κ enters squared, so Σλ_i² gets twice λ_1's); their truncation
// errors are below it. τ = λ_1²/Σλ_i² is within 3 roundings of the
// constants' (2·relλ + relΣ + 3u).
func TestSphereConstants(t *testing.T) {
	const u = 0x1p-53
	for _, d := range []int{2, 3, 4, 7, 64, 333, MaxSphereDim} {
		gl, err := ReLUSphereConstants(d)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := ReLUSphereConstantsTanhSinh(d)
		if err != nil {
			t.Fatal(err)
		}
		l1, err := ReLUSphereLambda1(d)
		if err != nil {
			t.Fatal(err)
		}
		if gl.D != d || ts.D != d {
			t.Errorf("d = %d: the constants say d = %d and %d", d, gl.D, ts.D)
		}
		relGL, relTS := ReLUSphereConstantsRelErr(d), ReLUSphereConstantsTanhSinhRelErr(d)
		relL1 := roundingGamma(3 * d)
		near := func(what string, got, want, rel float64) {
			t.Helper()
			if !(math.Abs(got-want) <= rel*math.Abs(want)) {
				t.Errorf("d = %d: %s = %.17g, want %.17g (relative tolerance %.2g)", d, what, got, want, rel)
			}
		}
		near("λ_1 Gauss–Legendre vs closed form", gl.Lambda1, l1, relGL+relL1)
		near("λ_1 tanh–sinh vs closed form", ts.Lambda1, l1, relTS+relL1)
		near("Σλ² Gauss–Legendre vs tanh–sinh", gl.SumSq, ts.SumSq, 2*(relGL+relTS))
		for _, c := range []SphereKernelConstants{gl, ts} {
			near(fmt.Sprintf("τ = λ_1²/Σλ² (%v)", c), c.Tau, c.Lambda1*c.Lambda1/c.SumSq, 3*u)
		}
		near("τ Gauss–Legendre vs tanh–sinh", gl.Tau, ts.Tau, 4*(relGL+relTS)+6*u)
		if d == 2 {
			pi2 := math.Pi * math.Pi
			// The closed forms' own rounding: a few operations, γ_8.
			near("λ_1 at d = 2", l1, 2/pi2, roundingGamma(8))
			near("Σλ² at d = 2, Gauss–Legendre", gl.SumSq, 5/(16*pi2)+1.0/24, 2*relGL+roundingGamma(8))
			near("Σλ² at d = 2, tanh–sinh", ts.SumSq, 5/(16*pi2)+1.0/24, 2*relTS+roundingGamma(8))
		}
	}
}

// TestSphereRelErrCounts: the rules' rounding bounds count the terms each
// rule sums, as their doc derives them, γ_{N+d+10} for N terms: the
// Gauss–Legendre rule has N = 2d + 64 nodes (its length, read off the
// nodes themselves), and the tanh–sinh rule, of step h = 1/(64⌈√d⌉), sums
// s = kh for |k| <= 5/h = 320⌈√d⌉: N = 640⌈√d⌉ + 1 (h and 5/h are exact).
func TestSphereRelErrCounts(t *testing.T) {
	for _, d := range []int{2, 4, 5, 100, MaxSphereDim} {
		x, _ := gaussLegendre(sphereNodes(d))
		if len(x) != 2*d+64 {
			t.Errorf("d = %d: %d Gauss–Legendre nodes, want 2d + 64", d, len(x))
		}
		if got, want := ReLUSphereConstantsRelErr(d), roundingGamma(len(x)+d+10); got != want {
			t.Errorf("d = %d: Gauss–Legendre bound %v, want γ_{N+d+10} = %v", d, got, want)
		}
		c := int(math.Ceil(math.Sqrt(float64(d))))
		if h := tanhSinhStep(d); h != 1/float64(64*c) {
			t.Errorf("d = %d: tanh–sinh step %v, want 1/(64·%d)", d, h, c)
		}
		if got, want := ReLUSphereConstantsTanhSinhRelErr(d), roundingGamma(640*c+1+d+10); got != want {
			t.Errorf("d = %d: tanh–sinh bound %v, want γ_{N+d+10} = %v with N = 640·%d + 1", d, got, want, c)
		}
	}
}
