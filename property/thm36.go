package property

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// thm-3.6 and lemma-3.7: how fast the expected loss of linearized SGD
// grows, by the exact recursion on the residual second moments, and (for
// Theorem 3.6) by simulated trajectories.

func init() {
	addCheck("thm-3.6", Check{Name: "every-initial-moment", Kind: Exact, Run: thm36EveryMoment(rightFormula)})
	addCheck("thm-3.6", Check{Name: "recursion", Kind: Exact, Run: thm36Recursion(rightFormula)})
	addCheck("thm-3.6", Check{Name: "simulated", Kind: Statistical, Run: thm36Simulated(rightFormula), Cases: 8})
	addControl("thm-3.6", Control{Name: "eta-not-squared", Wrong: "γ0 = ημ0‖H‖_F²/B",
		Run: thm36Recursion(gamma0EtaNotSquared)})
	addControl("thm-3.6", Control{Name: "without-1/B", Wrong: "γ0 = η²μ0‖H‖_F²: the 1/B dropped",
		Run: thm36EveryMoment(gamma0WithoutB)})
	addControl("thm-3.6", Control{Name: "simulated-without-replacement", Wrong: "trajectories drawn without replacement compared with E[L_t] with replacement",
		Run: thm36Simulated(simulateWithout)})

	addCheck("lemma-3.7", Check{Name: "linear-growth", Kind: Exact, Run: lemma37(rightFormula)})
	addControl("lemma-3.7", Control{Name: "printed-hypothesis", Wrong: "σ² from H^{1/2}SH^{1/2} ⪯ 2σ²I, a reading of E[HS] <= 2σ² as printed",
		Run: lemma37(lemma37Printed),
		Erratum: &Erratum{Where: "Lemma 3.7, hypothesis",
			Printed: "E[HS(θ)] <= 2σ²", Corrected: "Tr(HS(θ)) <= 2σ² (a matrix inequality H^{1/2}SH^{1/2} ⪯ 2σ²I does not suffice)"}})
	addControl("lemma-3.7", Control{Name: "no-edge", Wrong: "the hypothesis η <= 2/λ_1 dropped (η up to 3/λ_1)",
		Run: lemma37(lemma37NoEdge)})
}

// stepTol bounds the error of E[L] after one step of the recursion from a
// second moment R of loss L = Tr(R)/(2n): T(R)'s entries are chains of
// 3n + p + 16 roundings of terms at most (1 + x)²(n + 1)‖R‖_F in size
// (x = η‖H‖_F = ‖ηK/n‖_F; the noise term η²C2‖K diag(R) K‖ <= (n/B)x²‖R‖),
// and ‖R‖_F <= Tr(R) = 2nL for R ⪰ 0; the trace adds n of them.
func stepTol(c stabilityCase, eta, loss float64) float64 {
	x := eta * c.froH
	return 32 * gamma(3*c.n+c.p+16) * sq(1+x) * float64(c.n+1) * 2 * float64(c.n) * loss
}

// drawGrowth draws B and η on both sides of the Theorem 3.3 edge
// sqrt(B/μ0)/‖H‖_F, and returns γ0 (the wrong variants' for controls).
func drawGrowth(t *T, c stabilityCase, v variant) (b int, eta, gamma0 float64, ok bool) {
	b = rapid.IntRange(1, 32).Draw(t.T, "B")
	h := theory.SGD{Batch: b}
	bound, _ := theory.SGD{Eta: 1, Batch: b}.BoundThm33(c.mu0)
	if math.IsInf(bound, 1) {
		t.Tally("μ0 = 0: no escape rate")
		return 0, 0, 0, false
	}
	h.Eta = drawEtaAround(t, bound/c.froH, "sqrt(B/μ0)/‖H‖_F")
	g, err := h.Gamma0(c.mu0, c.froH)
	if err != nil {
		t.Fatalf("Gamma0: %v", err)
	}
	switch v {
	case gamma0EtaNotSquared:
		g /= h.Eta
	case gamma0WithoutB:
		g *= float64(b)
	}
	if g > 1 {
		t.Tally("γ0 > 1: ‖H‖_F above the Theorem 3.3 bound")
	}
	return b, h.Eta, g, true
}

// rangeBasis returns the columns u_1..u_r of the oracle's basis of the
// range of K, and sin φ, the bound on their angle to the true range
// (RangeResidual's doc).
func rangeBasis(c stabilityCase) ([][]float64, float64) {
	r := c.o.Rank()
	out := make([][]float64, r)
	for k := range out {
		w := make([]float64, r)
		w[k] = 1
		out[k] = c.o.RangeResidual(w)
	}
	h := c.o.Eigenvalues()
	nu := float64(c.n) * u * h[0]
	sinPhi := 1.0
	if gap := h[r-1] - nu; gap > 0 {
		sinPhi = math.Min(1, nu/gap)
	}
	return out, sinPhi
}

// thm36EveryMoment checks E[L(θ_{t+1})] >= γ0 E[L(θ_t)] for every initial
// second moment at once: the quadratic form e ↦ E[L'](eeᵀ) - γ0‖e‖²/(2n)
// on the range of K, built from Step on the basis u_k of the range (an
// r x r matrix G), must be positive semi-definite (a positive
// semi-definite R is a sum of such eeᵀ). Its smallest eigenvalue is within
// r·stepTol of exact, plus the form's norm times 2 sin φ for the computed
// range's angle φ.
func thm36EveryMoment(v variant) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b, eta, g0, ok := drawGrowth(t, c, v)
		if !ok {
			return
		}
		d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
		basis, sinPhi := rangeBasis(c)
		r, n := len(basis), c.n
		form := mat.NewSymDense(r, nil)
		for k := 0; k < r; k++ {
			for l := k; l < r; l++ {
				rk := mat.NewSymDense(n, nil)
				for i := 0; i < n; i++ {
					for j := i; j < n; j++ {
						rk.SetSym(i, j, (basis[k][i]*basis[l][j]+basis[l][i]*basis[k][j])/2)
					}
				}
				next, err := d.Step(eta, rk)
				if err != nil {
					t.Fatalf("Step: %v", err)
				}
				form.SetSym(k, l, c.o.Loss(next)-g0*c.o.Loss(rk))
			}
		}
		var es mat.EigenSym
		if !es.Factorize(form, false) {
			t.Fatalf("eigen-decomposition failed")
		}
		lmin := es.Values(nil)[0]
		x := eta * c.froH
		unit := 1 / (2 * float64(n)) // E[L] of a unit e
		tol := float64(r)*stepTol(c, eta, unit) + 2*sinPhi*(sq(1+x)*float64(n+1)+g0)*unit
		t.AtLeast("λ_min(E[L'](eeᵀ) - γ0 L(eeᵀ)) >= 0 on the range", lmin/unit, 0, tol/unit)
	}
}

// thm36Recursion runs the exact recursion for 12 steps from a random
// positive semi-definite R_0 in the range (random rank) and checks
// E[L_{t+1}] >= γ0 E[L_t] at every step, so E[L_t] >= γ0^t E[L_0]; when
// γ0 > 1 and log_{γ0}(1/ε) <= 12 for ε = 1e-3, that from E[L_0] = ε the
// loss reaches 1 within that many steps.
func thm36Recursion(v variant) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		b, eta, g0, ok := drawGrowth(t, c, v)
		if !ok {
			return
		}
		d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
		basis, sinPhi := rangeBasis(c)
		k := rapid.IntRange(1, len(basis)).Draw(t.T, "rank of R_0")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t.T, "R_0 seed"), 7))
		r0 := mat.NewSymDense(c.n, nil)
		for j := 0; j < k; j++ {
			e := c.o.RangeResidual(fixtures.Gaussians(rng, len(basis)))
			r0.SymRankOne(r0, 1, mat.NewVecDense(c.n, e))
		}
		const eps, steps = 1e-3, 12
		r0.ScaleSym(eps/c.o.Loss(r0), r0)
		losses, err := d.ExpectedLoss(eta, r0, steps)
		if err != nil {
			t.Fatalf("ExpectedLoss: %v", err)
		}
		// The rounding of earlier steps leaves debris of R off the range of
		// K, where I - ηK/n does not contract it: up to acc in E[L], fed back
		// by the noise term at most (1 + x)²(n + 1) times, and counted γ0
		// times on the right.
		x := eta * c.froH
		acc := 0.0
		for s := 0; s < steps; s++ {
			tol := stepTol(c, eta, losses[s]) + (g0+sq(1+x)*float64(c.n+1))*acc + 2*sinPhi*(sq(1+x)*float64(c.n+1)+g0)*losses[s]
			t.AtLeast(fmt.Sprintf("E[L_%d] >= γ0 E[L_%d]", s+1, s), losses[s+1], g0*losses[s], tol)
			acc += stepTol(c, eta, losses[s])
		}
		if v != rightFormula || !(g0 > 1) {
			return
		}
		esc, err := theory.EscapeSteps(g0, eps)
		if err != nil {
			t.Fatalf("EscapeSteps: %v", err)
		}
		if esc <= steps {
			s := int(math.Ceil(esc))
			// γ0^s ε >= 1, so E[L_s] >= 1 up to the tolerance of s steps.
			t.AtLeast(fmt.Sprintf("E[L_%d] >= 1 (escape in log_γ0(1/ε) = %.3g steps)", s, esc), losses[s], 1, float64(s)*stepTol(c, eta, losses[s]))
			t.Tally("escape within log_γ0(1/ε) steps checked")
		}
	}
}

// thm36Simulated compares the exact E[L_t], t <= 6, with the mean loss of
// 4000 simulated trajectories of linearized SGD (fixtures.LinearSGD, seeded
// from the case), by the z-score of the sample mean against the sample
// standard error: |z| <= 5 at each of the 6 steps. Under the normal
// approximation a correct oracle fails a case with probability at most
// 6·P(|Z| > 5) = 3.4e-6, and a run of 8 cases at most 2.8e-5. η is within
// e^±0.5 of η*, so losses neither vanish nor explode in 6 steps and their
// distribution is not too heavy-tailed for the sample variance.
func thm36Simulated(v variant) func(*T) {
	return func(t *T) {
		b := fixtures.FeatureBounds{MinN: 2, MaxN: 8, MaxP: 8, MaxLogCond: 6, MaxLogScale: 0, Degenerate: true}
		c := drawStability(t, b)
		batch := rapid.IntRange(1, min(4, c.n)).Draw(t.T, "B")
		d := sgdDynamics(t, c.o, batch, oracle.WithReplacement)
		eta := fixtures.EtaAround(criticalRate(t, d), 0.5, 0.5).Draw(t.T, "eta")
		theta := fixtures.Theta(c.p, 0).Draw(t.T, "theta")
		qm := mat.NewDense(c.n, c.p, c.q)
		var e mat.VecDense
		e.MulVec(qm, mat.NewVecDense(c.p, theta))
		r0, err := c.o.PointMoment(e.RawVector().Data)
		if err != nil {
			t.Fatalf("PointMoment: %v", err)
		}
		if c.o.Loss(r0) == 0 {
			t.Tally("θ_0 in the null space of Q")
			return
		}
		const steps, trajectories = 6, 4000
		exact, err := d.ExpectedLoss(eta, r0, steps)
		if err != nil {
			t.Fatalf("ExpectedLoss: %v", err)
		}
		seed := rapid.Uint64().Draw(t.T, "simulation seed")
		mean, variance := fixtures.LinearSGD(c.q, c.n, c.p, theta, eta, batch, v == simulateWithout, steps, trajectories, seed)
		for s := 1; s <= steps; s++ {
			se := math.Sqrt(variance[s] / trajectories)
			// Without noise (every batch gives the same step) the mean is
			// exact to the recursion's rounding.
			tol := math.Max(5*se, float64(s)*stepTol(c, eta, exact[s-1]))
			t.Close(fmt.Sprintf("mean of %d trajectories = E[L_%d] (z-score bound 5)", trajectories, s), mean[s], exact[s], tol)
		}
		t.Tally(fmt.Sprintf("B = %d", batch))
	}
}

// lemma37 checks Lemma 3.7 exactly: with a constant noise covariance S
// (B = 1, E[ξξᵀ] = S), η <= 2/λ_1 and σ² = Tr(HS)/2 = Tr(QSQᵀ)/(2n) (the
// hypothesis, tight), E[L_t] - E[L_0] <= η²σ²t for t <= 16, from R_0 = 0
// (where t = 1 is an equality) or from a point θ_0. The recursion's error
// after t steps is at most t·stepTol of the largest loss on the way.
func lemma37(v variant) func(*T) {
	return func(t *T) {
		c := drawStability(t, sec3Bounds)
		edge := 2 / c.o.LambdaMax()
		eta := math.Min(edge, fixtures.EtaAround(edge, 3, 0).Draw(t.T, "eta"))
		if v == lemma37NoEdge {
			eta *= 1.5
		}
		k := rapid.IntRange(1, c.p).Draw(t.T, "rank of S")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t.T, "S seed"), 9))
		w := mat.NewDense(c.p, k, fixtures.Gaussians(rng, c.p*k))
		var qw mat.Dense
		qw.Mul(mat.NewDense(c.n, c.p, c.q), w)
		qsq := mat.NewSymDense(c.n, nil)
		qsq.SymOuterK(1, &qw)
		sigma2 := mat.Trace(qsq) / (2 * float64(c.n))
		if v == lemma37Printed {
			// λ_max(H^{1/2}SH^{1/2}) = λ_max(WᵀQᵀQW)/n.
			var wq mat.SymDense
			wq.SymOuterK(1/float64(c.n), qw.T())
			var es mat.EigenSym
			es.Factorize(&wq, false)
			vals := es.Values(nil)
			sigma2 = vals[len(vals)-1] / 2
		}
		d, err := c.o.StateIndependent(1, qsq)
		if err != nil {
			t.Fatalf("StateIndependent: %v", err)
		}
		r0 := mat.NewSymDense(c.n, nil)
		if rapid.Bool().Draw(t.T, "start at a point (else R_0 = 0)") {
			theta := fixtures.Theta(c.p, 0).Draw(t.T, "theta")
			var e mat.VecDense
			e.MulVec(mat.NewDense(c.n, c.p, c.q), mat.NewVecDense(c.p, theta))
			r0.SymOuterK(1, &e)
		} else {
			t.Tally("R_0 = 0")
		}
		const steps = 16
		losses, err := d.ExpectedLoss(eta, r0, steps)
		if err != nil {
			t.Fatalf("ExpectedLoss: %v", err)
		}
		top := losses[0] + eta*eta*sigma2*steps
		for s := 1; s <= steps; s++ {
			t.AtMost(fmt.Sprintf("E[L_%d] - E[L_0] <= η²σ²·%d", s, s), losses[s]-losses[0], eta*eta*sigma2*float64(s),
				float64(s)*stepTol(c, eta, math.Max(top, losses[s])))
		}
		if eta/edge > 0.9 {
			t.Tally("η within 10% of 2/λ_1")
		}
	}
}
