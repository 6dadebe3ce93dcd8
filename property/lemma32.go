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

// lemma-3.2, and the oracle's validation by enumeration of every batch:
// E[L(θ_{t+1})] = r(θ)L(θ) + η²v(θ) with v = Tr(HS)/2, S the covariance of
// the batch noise, and E[(I - ηH_I)M(I - ηH_I)] = T(M).

func init() {
	addCheck("lemma-3.2", Check{Name: "enumeration", Kind: Exact, Run: lemma32(lemma32V)})
	addCheck("lemma-3.2", Check{Name: "oracle", Kind: Property, Run: lemma32Oracle})
	addCheck("lemma-3.2", Check{Name: "operator-vs-enumeration", Kind: Exact,
		Run: operatorVsEnumeration(oracle.WithReplacement, oracle.Sampling.Moments)})
	addControl("lemma-3.2", Control{Name: "v-without-half", Wrong: "v = Tr(HS) in place of Tr(HS)/2",
		Run: lemma32(func(trHS float64) float64 { return trHS })})
	addControl("lemma-3.2", Control{Name: "noise-over-B²", Wrong: "E[H_I M H_I] with (1/(B²n))Σ(g_iᵀMg_i)g_ig_iᵀ in place of 1/(Bn)",
		Run: operatorVsEnumeration(oracle.WithReplacement, noiseOverB2)})
}

// lemma32V is Lemma 3.2's v(θ) = Tr(HS)/2 of Tr(HS), S the covariance of
// the batch noise.
func lemma32V(trHS float64) float64 { return trHS / 2 }

// batchMoments gives the batch moments (C1, C2) of a sampling, the
// coefficients of HMH and of (1/n)Σ(g_iᵀMg_i)g_ig_iᵀ in E[H_I M H_I] (the
// oracle's recursion): oracle.Sampling.Moments, or a wrong formula for a
// negative control.
type batchMoments func(s oracle.Sampling, n, b int) (oracle.BatchMoments, error)

// noiseOverB2 is C2 = 1/(B²n) in place of the 1/(Bn) of sampling with
// replacement.
func noiseOverB2(s oracle.Sampling, n, b int) (oracle.BatchMoments, error) {
	m, err := s.Moments(n, b)
	m.C2 = 1 / (float64(b) * float64(b) * float64(n))
	return m, err
}

// enumBounds keep the enumeration small: n <= 6 samples, B <= 3, at most
// 6³ = 216 batches.
var enumBounds = fixtures.FeatureBounds{MinN: 1, MaxN: 6, MaxP: 8, MaxLogCond: 12, MaxLogScale: 150, Degenerate: true}

// forEachBatch calls f with every batch of b indices from n, each once:
// the n^b ordered tuples with replacement, the C(n, b) subsets without.
func forEachBatch(n, b int, without bool, f func(idx []int)) {
	idx := make([]int, b)
	var rec func(pos, from int)
	rec = func(pos, from int) {
		if pos == b {
			f(idx)
			return
		}
		for i := from; i < n; i++ {
			idx[pos] = i
			if without {
				rec(pos+1, i+1)
			} else {
				rec(pos+1, 0)
			}
		}
	}
	rec(0, 0)
}

// drawBatch draws B and the sampling (without replacement needs B <= n).
func drawBatch(t *T, n int) (int, oracle.Sampling) {
	s := oracle.Sampling(rapid.IntRange(0, 1).Draw(t.T, "sampling (0 with, 1 without replacement)"))
	maxB := 3
	if s == oracle.WithoutReplacement {
		maxB = min(3, n)
	}
	return rapid.IntRange(1, maxB).Draw(t.T, "B"), s
}

// lemma32 checks Lemma 3.2 for SGD noise, with and without replacement:
// the mean of L((I - ηH_I)θ) over every batch against r(θ)L(θ) + η²v(θ),
// r from theory.GrowthFactor (p x p), v = Tr(HΣ(θ))/(2B)·f with f = 1 with
// replacement and (n-B)/(n-1) without, Tr(HΣ) from State.Noise (e = Qθ),
// and v from Tr(HS) = Tr(HΣ)·f/B by the formula handed to it.
func lemma32(v func(trHS float64) float64) func(*T) {
	return func(t *T) {
		spec := fixtures.Features(enumBounds).Draw(t.T, "features")
		tallyCorners(t, spec)
		n, p := spec.N, spec.P
		q := normalized(spec.Build())
		theta := fixtures.Theta(p, 50).Draw(t.T, "theta")
		b, s := drawBatch(t, n)
		qm := mat.NewDense(n, p, q)
		h := mat.NewSymDense(p, nil)
		h.SymOuterK(1/float64(n), qm.T())
		lmax, err := theory.LambdaMax(h)
		if err != nil {
			t.Fatalf("LambdaMax: %v", err)
		}
		var e mat.VecDense
		e.MulVec(qm, mat.NewVecDense(p, theta))
		st := mustState(t, q, n, p, e.RawVector().Data)
		nz, err := st.Noise()
		if err != nil {
			t.Tally("θ in the null space of Q (L = 0)")
			return
		}
		r, err := theory.GrowthFactor(h, theta, 0) // r(θ) at η = 0 is 1: checks θᵀHθ > 0
		if err != nil || r != 1 {
			t.Tally("θ in the null space of H (skipped)")
			return
		}
		edge := 2 / lmax
		eta := fixtures.EtaAround(edge, 3, 1).Draw(t.T, "eta")

		// Brute force: the mean over every batch of L(θ - ηH_Iθ).
		count, mean := 0, 0.0
		gmax := 0.0
		for i := 0; i < n; i++ {
			gmax = math.Max(gmax, mat.Dot(qm.RowView(i), qm.RowView(i)))
		}
		forEachBatch(n, b, s == oracle.WithoutReplacement, func(idx []int) {
			next := mat.NewVecDense(p, append([]float64(nil), theta...))
			for _, i := range idx {
				next.AddScaledVec(next, -eta/float64(b)*e.AtVec(i), qm.RowView(i))
			}
			var en mat.VecDense
			en.MulVec(qm, next)
			mean += mat.Dot(&en, &en) / (2 * float64(n))
			count++
		})
		mean /= float64(count)

		r, err = theory.GrowthFactor(h, theta, eta)
		if err != nil {
			t.Fatalf("GrowthFactor: %v", err)
		}
		f := 1.0
		if s == oracle.WithoutReplacement && n > 1 {
			f = float64(n-b) / float64(n-1)
		}
		want := r*nz.Loss + eta*eta*v(nz.TrGSigma*f/float64(b))
		// Every term is at most S = (1 + η max‖g_i‖²)²‖Q‖_F²‖θ‖²/(2n) in
		// size, and each is a chain of at most p + n + B + 16 roundings.
		th := mat.NewVecDense(p, theta)
		scale := sq(1+eta*gmax) * sq(mat.Norm(qm, 2)) * mat.Dot(th, th) / (2 * float64(n))
		tol := 64 * gamma(p+n+b+16) * scale
		t.Close(fmt.Sprintf("E[L(θ')] = rL + η²v (%v, B=%d)", s, b), mean, want, tol)
		t.AtLeast("r(θ) >= 0", r, 0, 64*gamma(3*p+4)*sq(1+eta*lmax))
		if eta <= edge {
			t.AtMost("r(θ) <= 1 when η <= 2/λ_1", r, 1, 64*gamma(3*p+4)*sq(1+eta*lmax))
		}
		t.Tally(s.String())
	}
}

// lemma32Oracle checks the oracle's one step from a point, E[L] of
// T(e eᵀ) (e = Qθ), against r(θ)L(θ) + η²Tr(HΣ(θ))/(2B) (with
// replacement) through the n x n route (State.Noise) and the p x p one
// (GrowthFactor), for B up to 16.
func lemma32Oracle(t *T) {
	c := drawStability(t, sec3Bounds)
	theta := fixtures.Theta(c.p, 50).Draw(t.T, "theta")
	b := rapid.IntRange(1, 16).Draw(t.T, "B")
	qm := mat.NewDense(c.n, c.p, c.q)
	var e mat.VecDense
	e.MulVec(qm, mat.NewVecDense(c.p, theta))
	st := mustState(t, c.q, c.n, c.p, e.RawVector().Data)
	nz, err := st.Noise()
	if err != nil {
		t.Tally("θ in the null space of Q (L = 0)")
		return
	}
	h := mat.NewSymDense(c.p, nil)
	h.SymOuterK(1/float64(c.n), qm.T())
	d := sgdDynamics(t, c.o, b, oracle.WithReplacement)
	eta := drawEtaAround(t, criticalRate(t, d), "η*")
	r, err := theory.GrowthFactor(h, theta, eta)
	if err != nil {
		t.Tally("θ in the null space of H (skipped)")
		return
	}
	m, err := c.o.PointMoment(e.RawVector().Data)
	if err != nil {
		t.Fatalf("PointMoment: %v", err)
	}
	next, err := d.Step(eta, m)
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	got := c.o.Loss(next)
	want := r*nz.Loss + eta*eta*nz.TrGSigma/float64(b)/2
	// Both sides are sums of terms at most S = (1 + η‖H‖_F)²‖Q‖_F²‖θ‖²
	// in size (θ may be nearly in the null space, so e = Qθ cancels):
	// chains of at most p + 3n + 16 roundings.
	th := mat.NewVecDense(c.p, theta)
	scale := sq(1+eta*c.froH) * sq(mat.Norm(qm, 2)) * mat.Dot(th, th)
	t.Close("E[L] of T(eeᵀ) = r(θ)L + η²Tr(HΣ)/(2B)", got, want, 64*gamma(c.p+3*c.n+16)*scale)
}

// operatorVsEnumeration checks the oracle's operator on the residual
// second moments, R' = E[(I - (η/B)K D_I) R (I - (η/B)D_I K)] (D_I the
// batch counts), that is T(M) = M - η(HM + MH) + η²E[H_I M H_I] for
// R = QMQᵀ, against the mean over every batch, for a random positive
// semi-definite R of random rank. The operator is built from the batch
// moments of s that moments gives (a negative control hands it wrong ones);
// η is drawn around the critical rate of s's own.
func operatorVsEnumeration(s oracle.Sampling, moments batchMoments) func(*T) {
	return func(t *T) {
		c := drawStability(t, enumBounds)
		maxB := 3
		if s == oracle.WithoutReplacement {
			maxB = min(3, c.n)
		}
		b := rapid.IntRange(1, maxB).Draw(t.T, "B")
		d := sgdDynamics(t, c.o, b, s)
		eta := drawEtaAround(t, criticalRate(t, d), "η*")
		m, err := moments(s, c.n, b)
		if err != nil {
			t.Fatalf("Moments: %v", err)
		}
		if d, err = c.o.WithMoments(m); err != nil {
			t.Fatalf("WithMoments: %v", err)
		}
		n := c.n
		qm := mat.NewDense(n, c.p, c.q)
		var k mat.Dense
		k.Mul(qm, qm.T())
		// R = W Wᵀ, W n x j Gaussian, j in 1..n.
		j := rapid.IntRange(1, n).Draw(t.T, "rank of R")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t.T, "R seed"), 3))
		w := mat.NewDense(n, j, fixtures.Gaussians(rng, n*j))
		r := mat.NewSymDense(n, nil)
		r.SymOuterK(1, w)

		want := mat.NewSymDense(n, nil)
		count := 0
		forEachBatch(n, b, s == oracle.WithoutReplacement, func(idx []int) {
			step := mat.NewDense(n, n, nil) // I - (η/B) K D_I
			for _, i := range idx {
				for a := 0; a < n; a++ {
					step.Set(a, i, step.At(a, i)-eta/float64(b)*k.At(a, i))
				}
			}
			for a := 0; a < n; a++ {
				step.Set(a, a, step.At(a, a)+1)
			}
			var sr, srs mat.Dense
			sr.Mul(step, r)
			srs.Mul(&sr, step.T())
			for a := 0; a < n; a++ {
				for c := a; c < n; c++ {
					want.SetSym(a, c, want.At(a, c)+srs.At(a, c))
				}
			}
			count++
		})
		want.ScaleSym(1/float64(count), want)
		got, err := d.Step(eta, r)
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		// Entries of both sides are at most (1 + η‖K‖_F)²‖R‖_F in size
		// (‖K D_I‖/B <= ‖K‖): chains of p + 3n + B roundings.
		tol := 16 * gamma(c.p+3*n+b+8) * sq(1+eta*mat.Norm(&k, 2)) * mat.Norm(r, 2)
		for a := 0; a < n; a++ {
			for c := a; c < n; c++ {
				t.Close(fmt.Sprintf("T(R)[%d,%d] = mean over %d batches (%v, B=%d)", a, c, count, s, b),
					got.At(a, c), want.At(a, c), tol)
			}
		}
		t.Tally(fmt.Sprintf("B = %d", b))
	}
}
