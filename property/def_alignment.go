package property

import "math"

// def-alignment: eq. (3) and the identities between the alignment factors.

func init() {
	addCheck("def-alignment", Check{Name: "identities", Kind: Property, Run: defAlignment(readings)})
	betaWithout2, mu2Without1n := readings, readings
	betaWithout2.beta = func(m measured) float64 { return m.nz.FroSigma / (m.nz.Loss * m.geo.FroG) }
	mu2Without1n.mu2 = func(m measured) float64 { return m.nz.Mu2 * float64(m.n) }
	addControl("def-alignment", Control{Name: "beta-without-2", Wrong: "β = ‖Σ‖_F/(L‖G‖_F): the factor 2 of 2L dropped",
		Run: defAlignment(betaWithout2)})
	addControl("def-alignment", Control{Name: "mu2-without-1/n", Wrong: "μ2 from ‖Ke‖²/n² in place of ‖Ke‖²/n³: a dropped 1/n",
		Run: defAlignment(mu2Without1n)})
}

// defAlignment checks the identities on β and μ2 as read (read.beta,
// read.mu2); the other factors are always theory.Noise's own.
func defAlignment(read reading) func(*T) {
	return func(t *T) {
		m := drawMeasured(t)
		nz, froG := m.nz, m.geo.FroG
		dG, dS, dT := m.g*m.mag.froG, m.g*m.mag.froSigma, m.g*m.mag.traces
		beta, mu2 := read.beta(m), read.mu2(m)

		// μ = μ1 - μ2: all three share one computed denominator 2L‖G‖_F², so
		// the difference is (T - T1 + T2)/denominator, each T within dT.
		denom := 2 * nz.Loss * froG * froG
		t.Close("μ = μ1 - μ2", nz.Mu, nz.Mu1-mu2, 3*dT/denom*(1+8*u))
		if nz.FroSigma <= 2*dS {
			// ‖Σ‖_F is at the rounding level of its own computation (for
			// example Σ = 0: n = 1, or all e_i g_i equal): α is 0/0 and β ≈ 0.
			t.Tally("Σ at rounding level: α undefined")
			return
		}
		// μ = αβ: each side is at most 10 correctly rounded operations on the
		// same computed norms, so they agree to γ_20 < 24u relatively.
		t.Close("μ = αβ", nz.Mu, nz.Alpha*beta, 24*u*math.Abs(nz.Mu))
		t.AtLeast("α >= 0", nz.Alpha, 0, 0)
		// Cauchy–Schwarz: Tr(GΣ) <= ‖G‖_F‖Σ‖_F exactly; the computed α can
		// exceed 1 by the rounding of its three ingredients.
		tolAlpha := ((froG+dG)*(nz.FroSigma+dS)+dT)/(froG*nz.FroSigma) - 1 + 4*u
		t.AtMost("α <= 1", nz.Alpha, 1, tolAlpha)
		t.Tally("α defined")
	}
}
