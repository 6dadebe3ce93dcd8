package property

import (
	"fmt"
	"math"
	"math/big"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"
)

// lemma-3.7 for noise that depends on the state. The recursion check
// (lemma37 in thm36.go) covers a constant covariance; Lemma 3.2's setting
// allows any noise with E[ξ_t] = 0 and E[ξ_tξ_tᵀ] = S(θ_t). Here the noise
// is a mean of B picks of ±c_j(θ)v_j (j uniform among k directions), with
// amplitudes that switch with the state: c_j(θ) is one value when
// u_jᵀθ >= 0 and another otherwise, so S(θ) = Σ_j c_j(θ)² v_jv_jᵀ/(kB) is
// bounded but not constant. E[L_t] is then the mean over every path of
// the noise ((2k)^B branches a step), which this check computes in exact
// rational arithmetic on small integer data and a dyadic η: the comparison
// E[L_s] - L_0 <= η²σ²s has no rounding at all, with σ² = sup_θ
// Tr(HS(θ))/2 (the hypothesis, tight where the larger amplitudes apply).
// Its negative control drops the hypothesis η <= 2/λ_1; the printed
// hypothesis is the recursion check's control, which catches it at less
// cost than these exact paths.

func init() {
	addCheck("lemma-3.7", Check{Name: "state-dependent-noise", Kind: Exact, Run: lemma37Paths(lemma37Hypothesis.etaReach), Cases: 200})
	addControl("lemma-3.7", Control{Name: "state-dependent-no-edge", Wrong: "the hypothesis η <= 2/λ_1 dropped (η up to 3/λ_1), state-dependent noise",
		Run: lemma37Paths(lemma37NoEdgeReach)})
}

// switchingNoise is the noise of the state-dependent check.
type switchingNoise struct {
	k, b   int
	v, u   [][]*big.Rat // k directions of the noise and of the switches
	hi, lo []*big.Rat   // amplitudes where u_jᵀθ >= 0, and < 0
}

// amplitudes returns c_j(θ).
func (sn switchingNoise) amplitudes(theta []*big.Rat) []*big.Rat {
	c := make([]*big.Rat, sn.k)
	for j := range c {
		if dotRat(sn.u[j], theta).Sign() >= 0 {
			c[j] = sn.hi[j]
		} else {
			c[j] = sn.lo[j]
		}
	}
	return c
}

// lemma37Paths checks the state-dependent case with η up to etaReach
// times 2/λ_1 (Lemma 3.7's hypothesis: 1).
func lemma37Paths(etaReach float64) func(*T) {
	return func(t *T) {
		n := rapid.SampledFrom([]int{1, 2, 4}).Draw(t.T, "n")
		p := rapid.IntRange(1, 3).Draw(t.T, "p")
		q := make([]int, n*p)
		for i := range q {
			q[i] = rapid.IntRange(-3, 3).Draw(t.T, "Q entry")
		}
		h := gramRat(q, n, p) // H = QᵀQ/n, exact
		hf := mat.NewSymDense(p, nil)
		for i := 0; i < p; i++ {
			for j := i; j < p; j++ {
				x, _ := h[i][j].Float64()
				hf.SetSym(i, j, x)
			}
		}
		var es mat.EigenSym
		if !es.Factorize(hf, false) {
			t.Fatalf("eigenvalues of a 3 x 3 integer-over-n matrix")
		}
		vals := es.Values(nil)
		lambda1 := vals[p-1]
		if lambda1 == 0 {
			t.Vacuous("H = 0, the loss is 0")
			return
		}
		// η <= 2/λ_1 exactly: λ_1 of a p x p matrix (p <= 3) is computed to
		// a few ulps of ‖H‖_2 = λ_1, far inside the factor 1 + 1e-9; η is
		// then rounded down to a multiple of 2^-10 (dyadic: exact in both
		// float64 and big.Rat).
		edge := 2 / (lambda1 * (1 + 1e-9))
		frac := 1 - rapid.Float64Range(0, 0.9).Draw(t.T, "1 - η/edge")
		eta := math.Floor(edge*frac*1024) / 1024
		if eta == 0 {
			t.Tally("skipped: 2/λ_1 below 2^-10")
			return
		}
		eta *= etaReach // exact: etaReach is 1 or 3/2
		etaRat := new(big.Rat).SetFloat64(eta)

		sn := switchingNoise{k: rapid.IntRange(1, 2).Draw(t.T, "k"), b: rapid.IntRange(1, 2).Draw(t.T, "B")}
		for j := 0; j < sn.k; j++ {
			sn.v = append(sn.v, intRatVec(t, p, 2, "v"))
			sn.u = append(sn.u, intRatVec(t, p, 2, "u"))
			sn.hi = append(sn.hi, big.NewRat(int64(rapid.IntRange(0, 4).Draw(t.T, "2c where u·θ >= 0")), 2))
			sn.lo = append(sn.lo, big.NewRat(int64(rapid.IntRange(0, 4).Draw(t.T, "2c where u·θ < 0")), 2))
		}
		theta0 := make([]*big.Rat, p)
		start := rapid.Bool().Draw(t.T, "start at a point (else θ_0 = 0)")
		for i := range theta0 {
			theta0[i] = new(big.Rat)
			if start {
				theta0[i].SetInt64(int64(rapid.IntRange(-2, 2).Draw(t.T, "θ_0 entry")))
			}
		}
		// σ² = sup_θ Tr(HS(θ))/2 = Σ_j max(hi_j², lo_j²) v_jᵀHv_j/(2kB).
		sigma2 := new(big.Rat)
		for j := 0; j < sn.k; j++ {
			c := sn.hi[j]
			if sn.lo[j].Cmp(c) > 0 {
				c = sn.lo[j]
			}
			term := new(big.Rat).Mul(c, c)
			term.Mul(term, quadRat(h, sn.v[j]))
			sigma2.Add(sigma2, term)
		}
		sigma2.Quo(sigma2, big.NewRat(int64(2*sn.k*sn.b), 1))
		sigma2f, _ := sigma2.Float64()
		if sigma2.Sign() == 0 {
			t.Tally("noise-free (S = 0): GD only")
		}

		steps := 4 // at most 4^4 = 256 paths
		if sn.b == 2 {
			steps = 2 // 16 branches a step: 256 paths
		}
		mean := expectedLossPaths(h, etaRat, sn, theta0, steps)
		for s := 1; s <= steps; s++ {
			growth := new(big.Rat).Sub(mean[s], mean[0])
			gf, _ := growth.Float64()
			bound := eta * eta * sigma2f * float64(s)
			// The exact comparison decides; the float values report the
			// margin (each within a few ulps of the exact ones, so the float
			// comparison holds wherever the exact one does).
			t.AtMost(fmt.Sprintf("E[L_%d] - E[L_0] <= η²σ²·%d (state-dependent noise, exact)", s, s), gf, bound, 4*u*(math.Abs(gf)+bound))
			exactBound := new(big.Rat).Mul(etaRat, etaRat)
			exactBound.Mul(exactBound, sigma2)
			exactBound.Mul(exactBound, big.NewRat(int64(s), 1))
			if growth.Cmp(exactBound) > 0 {
				t.Fatalf("E[L_%d] - E[L_0] = %v > η²σ²·%d = %v (exact)", s, growth.FloatString(20), s, exactBound.FloatString(20))
			}
		}
		t.Tally(fmt.Sprintf("k = %d, B = %d", sn.k, sn.b))
		if eta > 0.9*edge {
			t.Tally("η within 10% of 2/λ_1")
		}
	}
}

// expectedLossPaths returns E[L_s], s = 0..steps, of θ_{s+1} = θ_s -
// η(Hθ_s + ξ_s) over every path of the switching noise, exactly.
func expectedLossPaths(h [][]*big.Rat, eta *big.Rat, sn switchingNoise, theta0 []*big.Rat, steps int) []*big.Rat {
	mean := make([]*big.Rat, steps+1)
	for s := range mean {
		mean[s] = new(big.Rat)
	}
	p := len(theta0)
	branches := 1
	for range sn.b {
		branches *= 2 * sn.k
	}
	weight := big.NewRat(1, int64(branches))
	var visit func(theta []*big.Rat, prob *big.Rat, s int)
	visit = func(theta []*big.Rat, prob *big.Rat, s int) {
		l := quadRat(h, theta)
		l.Quo(l, big.NewRat(2, 1))
		mean[s].Add(mean[s], l.Mul(l, prob))
		if s == steps {
			return
		}
		c := sn.amplitudes(theta)
		grad := matVecRat(h, theta)
		next := new(big.Rat).Mul(prob, weight)
		for br := 0; br < branches; br++ {
			// Branch br picks, for each of the B draws, a direction j and
			// a sign: its base-2k digits.
			xi := make([]*big.Rat, p)
			for i := range xi {
				xi[i] = new(big.Rat)
			}
			code := br
			for range sn.b {
				d := code % (2 * sn.k)
				code /= 2 * sn.k
				j, sign := d/2, int64(1-2*(d%2))
				amp := new(big.Rat).Mul(c[j], big.NewRat(sign, int64(sn.b)))
				for i := range xi {
					xi[i].Add(xi[i], new(big.Rat).Mul(amp, sn.v[j][i]))
				}
			}
			child := make([]*big.Rat, p)
			for i := range child {
				step := new(big.Rat).Add(grad[i], xi[i])
				step.Mul(step, eta)
				child[i] = new(big.Rat).Sub(theta[i], step)
			}
			visit(child, next, s+1)
		}
	}
	visit(theta0, big.NewRat(1, 1), 0)
	return mean
}

// gramRat is QᵀQ/n for the integer n x p matrix q, as exact rationals.
func gramRat(q []int, n, p int) [][]*big.Rat {
	h := make([][]*big.Rat, p)
	for i := range h {
		h[i] = make([]*big.Rat, p)
		for j := range h[i] {
			s := int64(0)
			for r := 0; r < n; r++ {
				s += int64(q[r*p+i] * q[r*p+j])
			}
			h[i][j] = big.NewRat(s, int64(n))
		}
	}
	return h
}

func intRatVec(t *T, p, bound int, label string) []*big.Rat {
	x := make([]*big.Rat, p)
	for i := range x {
		x[i] = big.NewRat(int64(rapid.IntRange(-bound, bound).Draw(t.T, label)), 1)
	}
	return x
}

func dotRat(a, b []*big.Rat) *big.Rat {
	s := new(big.Rat)
	for i := range a {
		s.Add(s, new(big.Rat).Mul(a[i], b[i]))
	}
	return s
}

func matVecRat(h [][]*big.Rat, x []*big.Rat) []*big.Rat {
	y := make([]*big.Rat, len(h))
	for i := range h {
		y[i] = dotRat(h[i], x)
	}
	return y
}

// quadRat is xᵀHx.
func quadRat(h [][]*big.Rat, x []*big.Rat) *big.Rat { return dotRat(x, matVecRat(h, x)) }
