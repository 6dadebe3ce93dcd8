package property

import (
	"math"
	"math/rand/v2"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/oracle"
)

// thm-3.3, prop-3.4 and ext-without-replacement: the flatness bounds,
// checked against the exact critical learning rate η* of the oracle, with
// η drawn on both sides of η*.

func init() {
	addCheck("thm-3.3", Check{Name: "bound", Kind: Property, Run: thm33(thm33With)})
	addCheck("thm-3.3", Check{Name: "mu0-infimum", Kind: Property, Run: mu0Infimum})
	mu10ForMu0, bInDenominator := thm33With, thm33With
	mu10ForMu0.mu = func(c stabilityCase) float64 { return c.mu10 }
	bInDenominator.noise = func(_, b int) float64 { return float64(b) }
	addControl("thm-3.3", Control{Name: "mu1_0-for-mu0", Wrong: "‖H‖_F <= sqrt(B/μ1_0)/η: μ1_0 in place of μ0",
		Run: thm33(mu10ForMu0)})
	addControl("thm-3.3", Control{Name: "B-in-denominator", Wrong: "‖H‖_F <= sqrt(1/(Bμ0))/η",
		Run: thm33(bInDenominator)})

	addCheck("prop-3.4", Check{Name: "bound", Kind: Property, Run: prop34(prop34Terms)})
	addControl("prop-3.4", Control{Name: "proof-misprint", Wrong: "‖H‖_F² <= B/(η sqrt((B-1)μ1)), the last line of the proof",
		Run: prop34([]prop34Term{prop34ProofLine}),
		Erratum: &Erratum{Where: "Appendix E, proof of Proposition 3.4",
			Printed:   "γ0 <= 1 yields ‖H‖_F² <= B/(η sqrt((B-1)μ1))",
			Corrected: "‖H‖_F <= B/(η sqrt((B-1)μ1)) (as the statement says)"}})
	without2 := prop34Linear
	without2.lhs = func(eta, froH, mu1, bf float64) float64 { return eta * froH * mu1 / bf }
	addControl("prop-3.4", Control{Name: "B/mu1_0", Wrong: "‖H‖_F <= B/(μ1_0 η): the 2 of 2B/μ1_0 dropped",
		Run: prop34([]prop34Term{prop34Quadratic, without2})})

	addCheck("ext-without-replacement", Check{Name: "operator-vs-enumeration", Kind: Exact,
		Run: operatorVsEnumeration(oracle.WithoutReplacement, oracle.Sampling.Moments)})
	addCheck("ext-without-replacement", Check{Name: "bound", Kind: Exact, Run: withoutBound(thm33Without)})
	addControl("ext-without-replacement", Control{Name: "factor-dropped", Wrong: "E[H_I M H_I] with the moments of sampling with replacement",
		Run: operatorVsEnumeration(oracle.WithoutReplacement, func(_ oracle.Sampling, n, b int) (oracle.BatchMoments, error) {
			return oracle.WithReplacement.Moments(n, b)
		})})
	addControl("ext-without-replacement", Control{Name: "1/B-for-1/B²", Wrong: "E[H_I M H_I] = (1/B)[(B/n)S + (B(B-1)/(n(n-1)))(n²HMH - S)]",
		Run: operatorVsEnumeration(oracle.WithoutReplacement, withoutOverB)})
	addControl("ext-without-replacement", Control{Name: "bound-factor-dropped", Wrong: "Theorem 3.3's sqrt(B/μ0)/η for sampling without replacement",
		Run: withoutBound(thm33With)})
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

// thm33Form is Theorem 3.3's bound ‖H‖_F <= sqrt(1/(μ·f(n, B)))/η in the
// squared form the checks compare, η²‖H‖_F²·μ·f(n, B) <= 1: mu is the
// alignment constant of the case, noise the factor f by which the batch
// noise's covariance scales Σ (1/B with replacement).
type thm33Form struct {
	mu    func(c stabilityCase) float64
	noise func(n, b int) float64
}

var (
	// thm33With is Theorem 3.3: μ0, and f = 1/B (with replacement).
	thm33With = thm33Form{
		mu:    func(c stabilityCase) float64 { return c.mu0 },
		noise: func(_, b int) float64 { return 1 / float64(b) },
	}
	// thm33Without is its extension to a B-subset drawn without
	// replacement: f = (n-B)/(B(n-1)).
	thm33Without = thm33Form{
		mu: thm33With.mu,
		noise: func(n, b int) float64 {
			nf, bf := float64(n), float64(b)
			return (nf - bf) / (bf * (nf - 1))
		},
	}
)

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

// thm33 checks Theorem 3.3 in the form bound at the oracle's critical rate
// η* of SGD with replacement, and at a drawn η that ρ finds stable.
func thm33(bound thm33Form) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
		star := criticalRate(t, d)
		// η <= sqrt(B/μ0)/‖H‖_F  ⇔  η²‖H‖_F²μ0/B <= 1.
		mu0, f := bound.mu(c), bound.noise(c.n, b)
		if !(mu0 > 0) {
			t.Vacuous("μ0 = 0, the bound is +Inf")
			return
		}
		lhs := func(eta float64) float64 { return sq(eta*c.froH) * mu0 * f }
		boundCheck(t, c, "η*²‖H‖_F²μ0/B <= 1 (η* <= sqrt(B/μ0)/‖H‖_F)", 2, lhs(star), mu0, float64(c.n))
		tallyTightness(t, "η*/bound", math.Sqrt(lhs(star)))
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, c.n); ok && stable {
			boundCheck(t, c, "stable ⇒ ‖H‖_F <= sqrt(B/μ0)/η", 2, lhs(eta), mu0, float64(c.n))
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

// prop34Term is one of the inequalities Proposition 3.4 puts on η:
// lhs(η, ‖H‖_F, μ1_0, B) <= 1, of degree k in η, for B >= minB. label names
// it at η* or at a stable η; tighter is the tally when it is the tighter
// term at η*.
type prop34Term struct {
	minB, k int
	lhs     func(eta, froH, mu1, bf float64) float64
	label   func(at string) string
	tighter string
}

var (
	// prop34Quadratic is Proposition 3.4's ‖H‖_F <= B/(η sqrt((B-1)μ1_0))
	// (B >= 2), that is η²‖H‖_F²(B-1)μ1_0/B² <= 1.
	prop34Quadratic = prop34Term{minB: 2, k: 2,
		lhs:     func(eta, froH, mu1, bf float64) float64 { return sq(eta*froH) * (bf - 1) * mu1 / (bf * bf) },
		label:   func(at string) string { return at + ": ‖H‖_F <= B/(η sqrt((B-1)μ1_0))" },
		tighter: "B/sqrt((B-1)μ1_0) is the smaller term"}
	// prop34Linear is its ‖H‖_F <= 2B/(μ1_0 η), that is
	// η‖H‖_F μ1_0/(2B) <= 1.
	prop34Linear = prop34Term{minB: 1, k: 1,
		lhs:     func(eta, froH, mu1, bf float64) float64 { return eta * froH * mu1 / (2 * bf) },
		label:   func(at string) string { return at + ": ‖H‖_F <= 2B/(μ1_0 η)" },
		tighter: "2B/μ1_0 is the smaller term"}
	// prop34Terms are both: ‖H‖_F <= min(…)/η.
	prop34Terms = []prop34Term{prop34Quadratic, prop34Linear}
	// prop34ProofLine is the last line of the proof as printed,
	// ‖H‖_F² <= B/(η sqrt((B-1)μ1)), that is η‖H‖_F² sqrt((B-1)μ1_0)/B <= 1
	// (no B = 1 form).
	prop34ProofLine = prop34Term{minB: 2, k: 1,
		lhs:     func(eta, froH, mu1, bf float64) float64 { return eta * sq(froH) * math.Sqrt((bf-1)*mu1) / bf },
		label:   func(at string) string { return at + "‖H‖_F² sqrt((B-1)μ1_0)/B <= 1 (as printed in the proof)" },
		tighter: "the printed line"}
)

// prop34 checks the terms at the oracle's critical rate η* of SGD with
// replacement, and at a drawn η that ρ finds stable.
func prop34(terms []prop34Term) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, 32).Draw(t.T, "B")
		bf := float64(b)
		d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
		star := criticalRate(t, d)
		mu1 := c.mu10
		if !(mu1 > 0) {
			t.Vacuous("μ1_0 = 0, the bound is +Inf")
			return
		}
		q := float64(c.n)
		check := func(eta float64, at string) {
			for _, tm := range terms {
				if b >= tm.minB {
					boundCheck(t, c, tm.label(at), tm.k, tm.lhs(eta, c.froH, mu1, bf), mu1, q)
				}
			}
		}
		check(star, "η*")
		// The tightness η*/bound of the tighter term, lhs^(1/k); on a tie
		// the last term's.
		best, tight := -1, 0.0
		for i := len(terms) - 1; i >= 0; i-- {
			tm := terms[i]
			if b < tm.minB {
				continue
			}
			r := tm.lhs(star, c.froH, mu1, bf)
			if tm.k == 2 {
				r = math.Sqrt(r)
			}
			if best < 0 || r > tight {
				best, tight = i, r
			}
		}
		if best < 0 {
			t.Tally("B = 1: no term has a B = 1 form")
			return
		}
		t.Tally(terms[best].tighter)
		tallyTightness(t, "η*/bound", tight)
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, c.n); ok && stable {
			check(eta, "stable η")
		}
	}
}

// withoutBound checks the Theorem 3.3 bound for batches drawn without
// replacement: η*²‖H‖_F²μ0(n-B)/(B(n-1)) <= 1, 1 <= B <= n (vacuous at
// B = n: GD), in the form bound.
func withoutBound(bound thm33Form) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b := rapid.IntRange(1, c.n).Draw(t.T, "B")
		mu0 := bound.mu(c)
		if !(mu0 > 0) || c.n == 1 {
			t.Vacuous("μ0 = 0 or n = 1, the bound is +Inf")
			return
		}
		d := sgdDynamics(t, c.o, b, oracle.WithoutReplacement)
		star := criticalRate(t, d)
		nf, f := float64(c.n), bound.noise(c.n, b)
		lhs := func(eta float64) float64 { return sq(eta*c.froH) * mu0 * f }
		boundCheck(t, c, "η*²‖H‖_F²μ0(n-B)/(B(n-1)) <= 1", 2, lhs(star), mu0, nf)
		tallyTightness(t, "η*/bound", math.Sqrt(lhs(star)))
		withStar := criticalRate(t, sgdDynamics(t, c.o, b, oracle.WithReplacement))
		if star > withStar*(1+c.etaRelTol(c.n)) {
			t.Tally("η* without > η* with replacement")
		}
		eta := drawEtaAround(t, star, "η*")
		if stable, ok := stabilityAt(t, c, d, eta, star, c.n); ok && stable {
			boundCheck(t, c, "stable ⇒ ‖H‖_F <= sqrt(B(n-1)/((n-B)μ0))/η", 2, lhs(eta), mu0, nf)
		}
	}
}
