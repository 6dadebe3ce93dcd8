package property

import (
	"math"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
)

// lemma-2.3: μ1 >= γ, μ2 <= τ(G), μ >= γ - τ(G), for every θ (every e).

func init() {
	addCheck("lemma-2.3", Check{Name: "bounds", Kind: Property, Run: lemma23On(drawLemma23, readings)})
	plainNorms, lossWithout1n := readings, readings
	plainNorms.gamma = func(m measured) float64 { return plainNormRatio(m.q, m.n, m.p) }
	lossWithout1n.mu1 = func(m measured) float64 { return m.nz.Mu1 / float64(m.n) }
	addControl("lemma-2.3", Control{Name: "plain-feature-norms", Wrong: "γ from ‖g_i‖² in place of χ_i = g_iᵀGg_i",
		Run: lemma23On(drawLemma23, plainNorms)})
	addControl("lemma-2.3", Control{Name: "loss-without-1/n", Wrong: "μ1 with L = Σe_i²/2: a dropped 1/n",
		Run: lemma23On(drawLemma23, lossWithout1n)})
}

// lemma23Biting bounds the features where μ >= γ - τ(G) says something
// (γ > τ): no zero rows (a zero row makes γ = 0) and condition numbers up
// to 10.
var lemma23Biting = fixtures.FeatureBounds{MinN: 2, MaxN: 12, MaxP: 16, MaxLogCond: 1, MaxLogScale: 150}

// drawLemma23 draws a third of the cases from every corner (fixtures'
// DefaultBounds, where zero rows make γ = 0 in most cases) and two thirds
// where the bound bites: within lemma23Biting, full rank with n <= p and a
// flat or gently decaying spectrum, so that the rows of Q are nearly
// orthogonal with comparable norms, γ near 1 and τ(G) near 1/n.
func drawLemma23(t *T) featureCase {
	if rapid.IntRange(0, 2).Draw(t.T, "where the bound bites") == 0 {
		return drawCase(t, fixtures.DefaultBounds, 150)
	}
	spec := fixtures.Features(lemma23Biting).Draw(t.T, "features")
	spec.P = max(spec.P, spec.N)
	spec.Rank = spec.N
	if spec.Spectrum == fixtures.Dominant || spec.Spectrum == fixtures.Cliff {
		spec.Spectrum = fixtures.Flat
	}
	return caseOf(t, spec, 150)
}

// lemma23On checks the bounds on the features the draw function makes,
// with γ and μ1 of the first bound as read (read.gamma, read.mu1).
func lemma23On(draw func(*T) featureCase, read reading) func(*T) {
	return func(t *T) {
		m := measure(t, draw(t))
		c, geo, nz, g := m.featureCase, m.geo, m.nz, m.g

		gam, mu1 := read.gamma(m), read.mu1(m)

		// Absolute error bounds, from the magnitudes (see tolerance.go).
		dMu := func(mu float64) float64 { return m.muError(g, mu) }
		dGamma, dTau := m.gammaTauErrors(g)

		t.AtLeast("μ1 >= γ", mu1, gam, dMu(nz.Mu1)+dGamma)
		t.AtMost("μ2 <= τ(G)", nz.Mu2, geo.Tau, dMu(nz.Mu2)+dTau)
		t.AtLeast("μ >= γ - τ(G)", nz.Mu, geo.Gamma-geo.Tau, dMu(math.Abs(nz.Mu))+dGamma+dTau)
		switch {
		case geo.Gamma == 0:
			t.Tally("γ = 0: μ1 >= γ and μ >= γ - τ vacuous")
		case geo.Gamma > geo.Tau:
			t.Tally("γ > τ(G): μ >= γ - τ(G) bites")
		default:
			t.Tally("0 < γ <= τ(G)")
		}
		if c.res.Kind == fixtures.Linearized {
			t.Tally("e = Qθ (linearized)")
		} else {
			t.Tally("arbitrary e")
		}
	}
}

// plainNormRatio is min ‖g_i‖²/mean ‖g_i‖², the unweighted feature-norm
// ratio (a wrong formula for γ, for a negative control).
func plainNormRatio(q []float64, n, p int) float64 {
	minN, mean := math.Inf(1), 0.0
	for i := 0; i < n; i++ {
		s := 0.0
		for _, x := range q[i*p : (i+1)*p] {
			s += x * x
		}
		minN = math.Min(minN, s)
		mean += s / float64(n)
	}
	return minN / mean
}
