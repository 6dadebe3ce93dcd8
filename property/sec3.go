package property

import (
	"errors"
	"fmt"
	"math"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/oracle"
)

// Section 3 (linear stability): shared generators and error bounds for the
// claims checked against the exact oracle (oracle.Oracle).

// sec3Bounds are the feature sizes of the Section 3 checks: the oracle's
// operators have r(r+1)/2 <= 78 coordinates, so a case costs well under a
// millisecond, with every corner of DefaultBounds.
var sec3Bounds = fixtures.DefaultBounds

// stabilityCase is drawn features, with the oracle built on them.
type stabilityCase struct {
	spec fixtures.FeatureSpec
	n, p int
	q    []float64 // power-of-two normalised, then scaled by 2^exp
	exp  int
	o    *oracle.Oracle
	froH float64
	mu0  float64
	mu10 float64
}

func (c stabilityCase) String() string {
	return fmt.Sprintf("%v, Q scaled by 2^%d, r=%d", c.spec, c.exp, c.o.Rank())
}

// drawStability draws features within b and a power-of-two scale 2^exp,
// |exp| <= 40, for Q (exact: every ratio and ηH are unchanged, so a check
// that depends on the scale other than through ηH is wrong).
func drawStability(t *T, b fixtures.FeatureBounds) stabilityCase {
	spec := fixtures.Features(b).Draw(t.T, "features")
	tallyCorners(t, spec)
	exp := rapid.IntRange(-40, 40).Draw(t.T, "log2 scale of Q")
	q := normalized(spec.Build())
	for i := range q {
		q[i] = math.Ldexp(q[i], exp)
	}
	o, err := oracle.NewOracle(q, spec.N, spec.P)
	if err != nil {
		t.Fatalf("NewOracle on valid input: %v", err)
	}
	mu0, err0 := o.Mu0()
	mu10, err10 := o.Mu10()
	if err := errors.Join(err0, err10); err != nil {
		t.Fatalf("μ0, μ1_0 on valid input: %v", err)
	}
	return stabilityCase{spec: spec, n: spec.N, p: spec.P, q: q, exp: exp, o: o,
		froH: o.FroH(), mu0: mu0, mu10: mu10}
}

// etaRelTol bounds the relative error of a critical rate η*. It is
// 1/λ_max of diag(b/a) + ẐẐᵀ (m = r(r+1)/2 coordinates, rank q): every
// entry is a sum of m products (γ_m) of data from a backward-stable
// eigen-decomposition of K (γ_n), the secular solver stops within 32ε, and
// an absolute error in the entries is at most ‖Ẑ‖_F² + max(b/a) <=
// (q + 1)λ_max over λ_max (λ_max >= ‖ẐẐᵀ‖ >= ‖Ẑ‖_F²/q). The factor 16
// covers the few such steps chained.
func (c stabilityCase) etaRelTol(q int) float64 {
	r := c.o.Rank()
	m := r * (r + 1) / 2
	return 16 * (gamma(m) + gamma(c.n) + 32*u) * float64(q+1)
}

// muTol bounds the absolute error of μ0 and μ1_0: the smallest eigenvalue
// of an r x r matrix of entries Σ_i χ_i u_ik u_il - δ_kl h_k², each within
// γ_n(max χ + h_1²) of exact (backward errors of the eigen-decomposition of
// K included), over ‖G‖_F² = mean χ >= max χ/n.
func (c stabilityCase) muTol() float64 {
	return 16 * (gamma(c.n) + float64(c.n)*u) * float64(c.n+1)
}

// rhoTol bounds the error of a computed ρ(η): a few hundred ulps of the
// operator norm ‖T‖ <= 1 + x(2 + x), x = η‖H‖_F (package oracle's
// TestSpectralRoutes checks the structured ρ against the dense operator of
// internal/reference at this tolerance).
func (c stabilityCase) rhoTol(eta float64) float64 {
	x := eta * c.froH
	return 512 * u * (1 + x*(2+x))
}

// criticalRate and spectralRadius fail the case on an error: the inputs
// are valid by construction.
func criticalRate(t *T, d *oracle.Dynamics) float64 {
	t.Helper()
	s, err := d.CriticalRate()
	if err != nil {
		t.Fatalf("CriticalRate: %v", err)
	}
	return s
}

func spectralRadius(t *T, d *oracle.Dynamics, eta float64) float64 {
	t.Helper()
	r, err := d.SpectralRadius(eta)
	if err != nil {
		t.Fatalf("SpectralRadius: %v", err)
	}
	return r
}

// stabilityAt decides linear stability at η from ρ(η) (Definition 3.1:
// stable iff ρ <= 1), and checks that it agrees with η <= η*, the two
// being different computations. Where ρ is within its error of 1 the
// verdict is undecided (ok = false): near η* when dρ/dη is small.
func stabilityAt(t *T, c stabilityCase, d *oracle.Dynamics, eta, star float64, q int) (stable, ok bool) {
	t.Helper()
	rho := spectralRadius(t, d, eta)
	tol := c.rhoTol(eta)
	if math.Abs(rho-1) <= tol {
		t.Tally("stability undecided: ρ within rounding of 1")
		return false, false
	}
	stable = rho < 1
	if stable != (eta <= star) && math.Abs(eta/star-1) > c.etaRelTol(q) {
		t.Fatalf("%v: ρ(%.17g) = %.17g but η* = %.17g", c, eta, rho, star)
	}
	t.margin("ρ(η) <= 1 iff η <= η*", 1)
	if stable {
		t.Tally("decided stable: ρ < 1")
	} else {
		t.Tally("decided unstable: ρ > 1")
	}
	return stable, true
}

// drawEtaAround draws η on both sides of an edge, and tallies the side and
// how close.
func drawEtaAround(t *T, edge float64, label string) float64 {
	eta := fixtures.EtaAround(edge, 1.5, 1.5).Draw(t.T, "eta")
	if math.Abs(eta/edge-1) <= 0.1 {
		t.Tally("η within 10% of " + label)
	}
	if eta < edge {
		t.Tally("η below " + label)
	} else {
		t.Tally("η above " + label)
	}
	return eta
}

// tallyTightness counts a ratio η*/bound (<= 1 by the claim) in deciles.
func tallyTightness(t *T, what string, ratio float64) {
	switch {
	case math.IsNaN(ratio) || ratio == 0:
		t.Tally(what + " tightness 0 (bound +Inf)")
	case ratio >= 0.9:
		t.Tally(what + " tightness in [0.9, 1]")
	case ratio >= 0.5:
		t.Tally(what + " tightness in [0.5, 0.9)")
	default:
		t.Tally(what + " tightness < 0.5")
	}
}

// sgdDynamics builds the SGD dynamics of the oracle, failing the case on an
// error (b is valid by construction).
func sgdDynamics(t *T, o *oracle.Oracle, b int, s oracle.Sampling) *oracle.Dynamics {
	t.Helper()
	d, err := o.SGD(b, s)
	if err != nil {
		t.Fatalf("SGD(%d, %v): %v", b, s, err)
	}
	return d
}
