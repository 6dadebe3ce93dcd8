package property

import (
	"math"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// gd-stability and sec-3.3-noise: GD's stability edge, and the flatness
// constraints of Section 3.3's geometry-aware and isotropic noises.

func init() {
	addCheck("gd-stability", Check{Name: "edge", Kind: Exact, Run: gdStability(rightFormula)})
	addControl("gd-stability", Control{Name: "edge-without-2", Wrong: "GD stable iff λ_1 <= 1/η",
		Run: gdStability(gdEdgeWithout2)})
	addControl("gd-stability", Control{Name: "fro-without-rank", Wrong: "GD stable ⇒ ‖H‖_F <= 2/η",
		Run: gdStability(gdFroWithoutRank)})

	addCheck("sec-3.3-noise", Check{Name: "geometry-aware", Kind: Exact, Run: geometryAwareNoise(rightFormula)})
	addCheck("sec-3.3-noise", Check{Name: "isotropic", Kind: Exact, Run: isotropicNoise(rightFormula)})
	addControl("sec-3.3-noise", Control{Name: "isotropic-size-free", Wrong: "isotropic noise held to ‖H‖_F <= sqrt(B)/η (no p)",
		Run: isotropicNoise(isotropicSizeFree)})
	addControl("sec-3.3-noise", Control{Name: "geometry-without-B", Wrong: "geometry-aware: ‖H‖_F <= 1/η",
		Run: geometryAwareNoise(geometryWithoutB)})
}

// gdStability: the oracle's GD recursion (and SGD without replacement with
// B = n, which is GD) has ρ = max_k (1 - ηh_k)² and η* = 2/λ_1; so GD is
// stable iff λ_1 <= 2/η, and then ‖H‖_F <= 2 sqrt(rank)/η.
func gdStability(v variant) func(*T) {
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
		lam, fro := sgd.BoundGDLambdaMax(), sgd.BoundGDFro(c.o.Rank())
		switch v {
		case gdEdgeWithout2:
			lam /= 2
		case gdFroWithoutRank:
			fro = sgd.BoundGDFro(1)
		}
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

// geometryAwareNoise: with S1 = 2L(θ)H the critical rate satisfies
// η* <= sqrt(B)/‖H‖_F, and a stable η has ‖H‖_F <= sqrt(B)/η.
func geometryAwareNoise(v variant) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		d, err := c.o.GeometryAware(b)
		if err != nil {
			t.Fatalf("GeometryAware: %v", err)
		}
		f := 1 / float64(b)
		if v == geometryWithoutB {
			f = 1
		}
		star := criticalRate(t, d)
		lhs := func(eta float64) float64 { return sq(eta*c.froH) * f }
		boundCheck(t, c, "η*²‖H‖_F²/B <= 1 (geometry-aware)", 2, lhs(star), 0, 1)
		tallyTightness(t, "geometry-aware η*/bound", math.Sqrt(lhs(star)))
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, 1); ok && stable {
			boundCheck(t, c, "stable ⇒ ‖H‖_F <= sqrt(B)/η", 2, lhs(eta), 0, 1)
		}
	}
}

// isotropicNoise: with S2 = 2σ²L(θ)I_p, σ² = Tr(H)/p, the critical rate
// satisfies η* <= sqrt(pB)/Tr(H), a constraint that grows with p.
func isotropicNoise(v variant) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		d, err := c.o.Isotropic(b)
		if err != nil {
			t.Fatalf("Isotropic: %v", err)
		}
		tr := 0.0
		for _, h := range c.o.Eigenvalues() {
			tr += h
		}
		lhs := func(eta float64) float64 { return sq(eta*tr) / (float64(c.p) * float64(b)) }
		if v == isotropicSizeFree {
			lhs = func(eta float64) float64 { return sq(eta*c.froH) / float64(b) }
		}
		star := criticalRate(t, d)
		boundCheck(t, c, "η*²Tr(H)²/(pB) <= 1 (isotropic)", 2, lhs(star), 0, 1)
		tallyTightness(t, "isotropic η*/bound", math.Sqrt(lhs(star)))
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, 1); ok && stable {
			boundCheck(t, c, "stable ⇒ Tr(H) <= sqrt(pB)/η", 2, lhs(eta), 0, 1)
		}
	}
}
