package property

import (
	"math"
	"math/rand/v2"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// thm-3.3, prop-3.4 and ext-without-replacement: the flatness bounds,
// checked against the exact critical learning rate η* of the oracle, with
// η drawn on both sides of η*.

func init() {
	addCheck("thm-3.3", Check{Name: "bound", Kind: Property, Run: thm33(thm33Shipped)})
	addCheck("thm-3.3", Check{Name: "mu0-infimum", Kind: Property, Run: mu0Infimum})
	addControl("thm-3.3", Control{Name: "mu1_0-for-mu0", Wrong: "‖H‖_F <= sqrt(B/μ1_0)/η: μ1_0 in place of μ0",
		Run: thm33(flatnessBound{name: "sqrt(B/μ1_0)/η", align: thm33Shipped.align, bound: func(h theory.SGD, c stabilityCase) (float64, error) {
			return h.BoundThm33(c.mu10)
		}})})
	addControl("thm-3.3", Control{Name: "B-in-denominator", Wrong: "‖H‖_F <= sqrt(1/(Bμ0))/η",
		Run: thm33(flatnessBound{name: "sqrt(1/(Bμ0))/η", align: thm33Shipped.align, bound: func(h theory.SGD, c stabilityCase) (float64, error) {
			return math.Sqrt(1/(float64(h.Batch)*c.mu0)) / h.Eta, nil
		}})})

	addCheck("prop-3.4", Check{Name: "bound", Kind: Property, Run: prop34(prop34Shipped)})
	addControl("prop-3.4", Control{Name: "proof-misprint", Wrong: "‖H‖_F² <= B/(η sqrt((B-1)μ1)), the last line of the proof",
		Run: prop34(flatnessBound{name: "sqrt(B/(η sqrt((B-1)μ1_0)))", align: prop34Shipped.align, bound: func(h theory.SGD, c stabilityCase) (float64, error) {
			b := float64(h.Batch)
			if h.Batch == 1 {
				return math.Inf(1), nil // the printed line has no B = 1 form
			}
			return math.Sqrt(b / (h.Eta * math.Sqrt((b-1)*c.mu10))), nil
		}}),
		Erratum: &Erratum{Where: "Appendix E, proof of Proposition 3.4",
			Printed:   "γ0 <= 1 yields ‖H‖_F² <= B/(η sqrt((B-1)μ1))",
			Corrected: "‖H‖_F <= B/(η sqrt((B-1)μ1)) (as the statement says)"}})
	addControl("prop-3.4", Control{Name: "B/mu1_0", Wrong: "‖H‖_F <= B/(μ1_0 η): the 2 of 2B/μ1_0 dropped",
		Run: prop34(flatnessBound{name: "min(B/sqrt((B-1)μ1_0), B/μ1_0)/η", align: prop34Shipped.align, bound: func(h theory.SGD, c stabilityCase) (float64, error) {
			b := float64(h.Batch)
			bound := b / c.mu10
			if h.Batch > 1 {
				bound = math.Min(bound, b/math.Sqrt((b-1)*c.mu10))
			}
			return bound / h.Eta, nil
		}})})

	addCheck("ext-without-replacement", Check{Name: "operator-vs-enumeration", Kind: Exact,
		Run: operatorVsEnumeration(oracle.WithoutReplacement, oracle.Sampling.Moments)})
	addCheck("ext-without-replacement", Check{Name: "bound", Kind: Exact, Run: withoutBound(withoutShipped)})
	addControl("ext-without-replacement", Control{Name: "factor-dropped", Wrong: "E[H_I M H_I] with the moments of sampling with replacement",
		Run: operatorVsEnumeration(oracle.WithoutReplacement, func(_ oracle.Sampling, n, b int) (oracle.BatchMoments, error) {
			return oracle.WithReplacement.Moments(n, b)
		})})
	addControl("ext-without-replacement", Control{Name: "1/B-for-1/B²", Wrong: "E[H_I M H_I] = (1/B)[(B/n)S + (B(B-1)/(n(n-1)))(n²HMH - S)]",
		Run: operatorVsEnumeration(oracle.WithoutReplacement, withoutOverB)})
	addControl("ext-without-replacement", Control{Name: "bound-factor-dropped", Wrong: "Theorem 3.3's sqrt(B/μ0)/η for sampling without replacement",
		Run: withoutBound(flatnessBound{name: "sqrt(B/μ0)/η", align: thm33Shipped.align, bound: func(h theory.SGD, c stabilityCase) (float64, error) {
			return h.BoundThm33(c.mu0)
		}})})
}

// withoutOverB is the batch moments of sampling without replacement with
// 1/B in place of 1/B² in front of E[H_I M H_I]'s bracket: C1 and C2
// times B.
func withoutOverB(s oracle.Sampling, n, b int) (oracle.BatchMoments, error) {
	m, err := s.Moments(n, b)
	m.C1 *= float64(b)
	m.C2 *= float64(b)
	return m, err
}

// flatnessBound is a bound on ‖H‖_F at a linearly stable minimum, as a
// function of (η, B) and the case (its μ0, μ1_0, n), and the alignment
// constant it rests on (whose error the tolerance carries). The checks are
// handed theory's shipped bounds; a control hands them a wrong one.
type flatnessBound struct {
	name  string // the bound's formula, for the failure messages
	bound func(h theory.SGD, c stabilityCase) (float64, error)
	align func(c stabilityCase) float64
}

var (
	// thm33Shipped is Theorem 3.3, theory.SGD.BoundThm33: sqrt(B/μ0)/η.
	thm33Shipped = flatnessBound{name: "sqrt(B/μ0)/η",
		bound: func(h theory.SGD, c stabilityCase) (float64, error) { return h.BoundThm33(c.mu0) },
		align: func(c stabilityCase) float64 { return c.mu0 },
	}
	// withoutShipped is its extension to a B-subset drawn without
	// replacement, theory.SGD.BoundThm33WithoutReplacement.
	withoutShipped = flatnessBound{name: "sqrt(B(n-1)/((n-B)μ0))/η",
		bound: func(h theory.SGD, c stabilityCase) (float64, error) {
			return h.BoundThm33WithoutReplacement(c.mu0, c.n)
		},
		align: thm33Shipped.align,
	}
	// prop34Shipped is Proposition 3.4, theory.SGD.BoundProp34:
	// min(B/sqrt((B-1)μ1_0), 2B/μ1_0)/η.
	prop34Shipped = flatnessBound{name: "min(B/sqrt((B-1)μ1_0), 2B/μ1_0)/η",
		bound: func(h theory.SGD, c stabilityCase) (float64, error) { return h.BoundProp34(c.mu10) },
		align: func(c stabilityCase) float64 { return c.mu10 },
	}
)

// at returns the bound at (η, B), failing the case on an error (the inputs
// are valid: η > 0, 1 <= B <= n).
func (fb flatnessBound) at(t *T, c stabilityCase, eta float64, b int) float64 {
	t.Helper()
	v, err := fb.bound(theory.SGD{Eta: eta, Batch: b}, c)
	if err != nil {
		t.Fatalf("flatness bound at η = %g, B = %d: %v", eta, b, err)
	}
	return v
}

// check asserts ‖H‖_F <= the bound at η. Each bound is a product of powers
// of η (exponent -1, or -1/2 for the proof's misprint), of the alignment
// constant (exponent -1 or -1/2) and of exact factors of B and n; its
// relative error is at most η's relative error (etaRelTol at η*, 0 at a
// drawn η) plus the constant's relative error muTol/μ, plus a few ulps for
// the formula and ‖H‖_F (16u).
func (fb flatnessBound) check(t *T, c stabilityCase, at string, eta float64, b int, etaRel float64) float64 {
	t.Helper()
	bound := fb.at(t, c, eta, b)
	if math.IsInf(bound, 1) {
		return 0
	}
	rel := etaRel + 16*u + c.muTol()/fb.align(c)
	t.AtMost(at+": ‖H‖_F <= "+fb.name, c.froH, bound, bound*rel)
	return c.froH / bound
}

// thm33 checks Theorem 3.3 at the oracle's critical rate η* of SGD with
// replacement (the largest stable η, so the bound's tightest point), and
// at a drawn η that ρ finds stable.
func thm33(fb flatnessBound) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		if !(fb.align(c) > 0) {
			t.Vacuous("μ0 = 0, the bound is +Inf")
			return
		}
		d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
		star := criticalRate(t, d)
		tight := fb.check(t, c, "at η*", star, b, c.etaRelTol(c.n))
		tallyTightness(t, "η*/bound", tight)
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, c.n); ok && stable {
			fb.check(t, c, "at a stable η", eta, b, 0)
			t.Tally("stable")
		} else if ok {
			t.Tally("unstable")
		}
	}
}

// mu0Infimum checks that the oracle's μ0 (an eigenvalue problem) is the
// infimum of μ(θ) computed by State.Noise: μ(θ) >= μ0 for e = Qθ = Uw at a
// random w, and μ = μ0 at the oracle's minimizer. μ(e) is the Rayleigh
// quotient of C = (diag(K²) - K²/n)/(n‖G‖_F²), ‖C‖ <= n + 1, over the
// range of K, so an angle φ between the computed and the true range moves
// it by at most 2(n+1)sin φ. Tolerances: State's error (tolerance.go, as in
// lemma-2.3), μ0's, and that.
func mu0Infimum(t *T) {
	c := drawStability(t, sec3Bounds)
	r := c.o.Rank()
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t.T, "w seed"), 5))
	w := fixtures.Gaussians(rng, r)
	h := c.o.Eigenvalues()
	nu := float64(c.n) * u * h[0]
	sinPhi := 1.0
	if gap := h[r-1] - nu; gap > 0 {
		sinPhi = math.Min(1, nu/gap)
	}
	// μ lies in [0, n + 1]: a Davis–Kahan term 2(n+1)sin φ that large
	// decides nothing; one at least μ0 leaves only μ(θ_min) = μ0 to fail.
	switch dk := 2 * float64(c.n+1) * sinPhi; {
	case dk >= float64(c.n+1):
		t.Undecided("range not separated: the Davis–Kahan term 2(n+1)sin φ spans all of μ's range")
		return
	case dk >= c.mu0:
		t.Tally("μ(θ) >= μ0 trivial: the Davis–Kahan term is at least μ0")
	}
	mu := func(e []float64) (float64, float64) {
		q, en := normalized(c.q), normalized(e)
		st := mustState(t, q, c.n, c.p, en)
		nz := mustNoise(t, st)
		geo := mustGeometry(t, st)
		mag := magnitudesOf(q, c.n, c.p, en)
		g := gamma(opsBound(c.n, c.p))
		denom := 2 * nz.Loss * geo.FroG * geo.FroG
		dDen := gamma(c.n+4) + 2*g*mag.froG/geo.FroG
		return nz.Mu, g*mag.traces/denom + math.Abs(nz.Mu)*dDen + c.muTol() + 2*float64(c.n+1)*sinPhi
	}
	m, tol := mu(c.o.RangeResidual(w))
	t.AtLeast("μ(θ) >= μ0", m, c.mu0, tol)
	minimizer, err := c.o.Mu0Residual()
	if err != nil {
		t.Fatalf("μ0's minimizer on valid input: %v", err)
	}
	m, tol = mu(minimizer)
	t.Close("μ(θ_min) = μ0", m, c.mu0, tol)
	if sinPhi < 1e-6 {
		t.Tally("range well separated (sin φ < 1e-6)")
	}
}

// prop34 checks Proposition 3.4 at the oracle's critical rate η* of SGD
// with replacement, and at a drawn η that ρ finds stable, and tallies
// which of its two terms is the smaller.
func prop34(fb flatnessBound) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		if !(fb.align(c) > 0) {
			t.Vacuous("μ1_0 = 0, the bound is +Inf")
			return
		}
		d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
		star := criticalRate(t, d)
		tight := fb.check(t, c, "at η*", star, b, c.etaRelTol(c.n))
		bf := float64(b)
		switch {
		case b == 1:
			t.Tally("B = 1: only 2B/μ1_0 applies")
		case bf/math.Sqrt((bf-1)*c.mu10) < 2*bf/c.mu10:
			t.Tally("B/sqrt((B-1)μ1_0) is the smaller term")
		default:
			t.Tally("2B/μ1_0 is the smaller term")
		}
		tallyTightness(t, "η*/bound", tight)
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, c.n); ok && stable {
			fb.check(t, c, "at a stable η", eta, b, 0)
		}
	}
}

// withoutBound checks the Theorem 3.3 bound for batches drawn without
// replacement, ‖H‖_F <= sqrt(B(n-1)/((n-B)μ0))/η*, 1 <= B <= n (+Inf at
// B = n: GD has no noise).
func withoutBound(fb flatnessBound) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, c.n).Draw(t.T, "B")
		if !(fb.align(c) > 0) || c.n == 1 {
			t.Vacuous("μ0 = 0 or n = 1, the bound is +Inf")
			return
		}
		d := sgdDynamics(t, c.o, b, oracle.WithoutReplacement)
		star := criticalRate(t, d)
		tight := fb.check(t, c, "at η*", star, b, c.etaRelTol(c.n))
		tallyTightness(t, "η*/bound", tight)
		withStar := criticalRate(t, sgdDynamics(t, c.o, b, oracle.WithReplacement))
		if star > withStar*(1+c.etaRelTol(c.n)) {
			t.Tally("η* without > η* with replacement")
		}
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, c.n); ok && stable {
			fb.check(t, c, "at a stable η", eta, b, 0)
		}
	}
}
