package property

import (
	"math"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// gd-stability and sec-3.3-noise: GD's stability edge, and the flatness
// constraints of Section 3.3's geometry-aware and isotropic noises. Both
// hold the exact oracle to the bounds package theory ships (theory.SGD's
// BoundGD*, BoundGeometryAware, BoundIsotropicTrace); a negative control is
// the same check handed a wrong bound.

func init() {
	addCheck("gd-stability", Check{Name: "edge", Kind: Exact, Run: gdStability(gdBounds)})
	edgeWithout2, froWithoutRank := gdBounds, gdBounds
	edgeWithout2.lambdaMax = func(h theory.SGD) float64 { return h.BoundGDLambdaMax() / 2 }
	froWithoutRank.fro = func(h theory.SGD, _ int) float64 { return h.BoundGDFro(1) }
	addControl("gd-stability", Control{Name: "edge-without-2", Wrong: "GD stable iff λ_1 <= 1/η",
		Run: gdStability(edgeWithout2)})
	addControl("gd-stability", Control{Name: "fro-without-rank", Wrong: "GD stable ⇒ ‖H‖_F <= 2/η",
		Run: gdStability(froWithoutRank)})

	addCheck("sec-3.3-noise", Check{Name: "geometry-aware", Kind: Exact, Run: noiseConstraint(geometryAware)})
	addCheck("sec-3.3-noise", Check{Name: "isotropic", Kind: Exact, Run: noiseConstraint(isotropic)})
	sizeFree := isotropic
	sizeFree.flatness, sizeFree.bound = geometryAware.flatness, geometryAware.bound
	addControl("sec-3.3-noise", Control{Name: "isotropic-size-free", Wrong: "isotropic noise held to ‖H‖_F <= sqrt(B)/η (no p)",
		Run: noiseConstraint(sizeFree)})
	withoutB := geometryAware
	withoutB.bound = func(h theory.SGD, _ int) float64 { return 1 / h.Eta }
	addControl("sec-3.3-noise", Control{Name: "geometry-without-B", Wrong: "geometry-aware: ‖H‖_F <= 1/η",
		Run: noiseConstraint(withoutB)})
}

// gdEdge is what GD's stability implies (Section 3.1): λ_1(H) <= lambdaMax
// and ‖H‖_F <= fro, of a learning rate and the rank of H.
type gdEdge struct {
	lambdaMax func(theory.SGD) float64
	fro       func(h theory.SGD, rank int) float64
}

// gdBounds are theory's: λ_1 <= 2/η and ‖H‖_F <= 2 sqrt(rank H)/η.
var gdBounds = gdEdge{lambdaMax: theory.SGD.BoundGDLambdaMax, fro: theory.SGD.BoundGDFro}

// gdStability: the oracle's GD recursion (and SGD without replacement with
// B = n, which is GD) has ρ = max_k (1 - ηh_k)² and η* = 2/λ_1; so GD is
// stable iff λ_1 <= 2/η, and then ‖H‖_F <= 2 sqrt(rank)/η.
func gdStability(bounds gdEdge) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		gd := c.o.GD()
		h := c.o.Eigenvalues()
		edge := 2 / h[0]
		eta := drawEtaAround(t, edge, "2/λ_1")
		want := 0.0
		for _, hk := range h {
			want = math.Max(want, sq(1-eta*hk))
		}
		tol := c.rhoTol(eta)
		t.Close("ρ_GD = max_k (1 - ηh_k)²", spectralRadius(t, gd, eta), want, tol)
		full := sgdDynamics(t, c.o, c.n, oracle.WithoutReplacement)
		t.Close("ρ of SGD without replacement, B = n, = ρ_GD", spectralRadius(t, full, eta), want, tol)
		t.Close("η*_GD = 2/λ_1", criticalRate(t, gd), edge, edge*c.etaRelTol(0))
		stable, ok := stabilityAt(t, c, gd, eta, edge, 0)
		if !ok {
			return
		}
		sgd := theory.SGD{Eta: eta, Batch: 1}
		lam, fro := bounds.lambdaMax(sgd), bounds.fro(sgd, c.o.Rank())
		// λ_1 and ‖H‖_F are computed to a few ulps of ‖H‖_F; η's side of
		// the edge is decided with etaRelTol's margin.
		rel := c.etaRelTol(0) + 8*u
		if stable {
			t.AtMost("stable ⇒ λ_1 <= 2/η", h[0], lam, rel*lam)
			t.AtMost("stable ⇒ ‖H‖_F <= 2 sqrt(rank H)/η", c.froH, fro, rel*fro)
			t.Tally("stable")
		} else {
			t.AtLeast("unstable ⇒ λ_1 > 2/η", h[0], lam, rel*lam)
			t.Tally("unstable")
		}
	}
}

// flatnessConstraint is one of Section 3.3's two noises with the flatness
// constraint Theorem 3.3's argument gives for it: a linearly stable η keeps
// flatness(H) <= bound(η, B, p).
type flatnessConstraint struct {
	noise    func(o *oracle.Oracle, b int) (*oracle.Dynamics, error)
	flatness func(c stabilityCase) float64
	bound    func(h theory.SGD, p int) float64
	// atStar labels η*'s check (squared, flatness²/bound² <= 1), atStable
	// that of a stable η, tight the tally of η*/bound.
	atStar, atStable, tight string
}

var (
	// geometryAware is S1 = 2L(θ)H (μ = 1): ‖H‖_F <= sqrt(B)/η, whatever p.
	geometryAware = flatnessConstraint{
		noise:    (*oracle.Oracle).GeometryAware,
		flatness: func(c stabilityCase) float64 { return c.froH },
		bound:    func(h theory.SGD, _ int) float64 { return h.BoundGeometryAware() },
		atStar:   "η*²‖H‖_F²/B <= 1 (geometry-aware)",
		atStable: "stable ⇒ ‖H‖_F <= sqrt(B)/η",
		tight:    "geometry-aware η*/bound",
	}
	// isotropic is S2 = 2σ²L(θ)I_p, σ² = Tr(H)/p: Tr(H) <= sqrt(pB)/η, a
	// constraint that grows with the model size p.
	isotropic = flatnessConstraint{
		noise:    (*oracle.Oracle).Isotropic,
		flatness: traceH,
		bound:    theory.SGD.BoundIsotropicTrace,
		atStar:   "η*²Tr(H)²/(pB) <= 1 (isotropic)",
		atStable: "stable ⇒ Tr(H) <= sqrt(pB)/η",
		tight:    "isotropic η*/bound",
	}
)

// traceH is Tr(H), the sum of the oracle's eigenvalues.
func traceH(c stabilityCase) float64 {
	tr := 0.0
	for _, h := range c.o.Eigenvalues() {
		tr += h
	}
	return tr
}

// noiseConstraint checks a flatness constraint at the oracle's critical
// rate η* of the noise, and at a drawn η that ρ finds stable. Its left side
// (flatness/bound)² is within boundCheck's tolerance: η*'s error twice, and
// a few ulps from the flatness and from the bound's square root and
// division.
func noiseConstraint(fc flatnessConstraint) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		d, err := fc.noise(c.o, b)
		if err != nil {
			t.Fatalf("Section 3.3 noise with B = %d: %v", b, err)
		}
		flat := fc.flatness(c)
		lhs := func(eta float64) float64 { return sq(flat / fc.bound(theory.SGD{Eta: eta, Batch: b}, c.p)) }
		star := criticalRate(t, d)
		boundCheck(t, c, fc.atStar, 2, lhs(star), 0, 1)
		tallyTightness(t, fc.tight, math.Sqrt(lhs(star)))
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, 1); ok && stable {
			boundCheck(t, c, fc.atStable, 2, lhs(eta), 0, 1)
		}
	}
}

// boundCheck checks lhs <= 1, where lhs = η*^k·‖H‖_F^k·(alignment constant)·c
// for a positive c exact to 4ε: its error is k times η*'s relative error
// (plus ‖H‖_F's, a few ε) times lhs, plus lhs/μ times μ's absolute error.
// At a stable η it checks the same with η, whose verdict came from ρ.
func boundCheck(t *T, c stabilityCase, what string, k int, lhs, mu, q float64) {
	t.Helper()
	tol := lhs * (float64(k)*(c.etaRelTol(int(q))+8*u) + 4*u)
	if mu > 0 {
		tol += lhs / mu * c.muTol()
	}
	t.AtMost(what, lhs, 1, tol)
}
