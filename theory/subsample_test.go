package theory

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// intGram is a random symmetric m x m matrix and an m-vector of small
// integers: every sum of products the index sums form of them is an
// integer below 2^53, so float64 computes it exactly.
func intGram(r *rand.Rand, m int) (k, e []float64) {
	k = make([]float64, m*m)
	for i := range m {
		for j := i; j < m; j++ {
			k[i*m+j] = float64(r.IntN(7) - 3)
			k[j*m+i] = k[i*m+j]
		}
		k[i*m+i] = float64(1 + r.IntN(4)) // a non-zero diagonal: the repeated-index terms are not zero
	}
	e = make([]float64, m)
	for i := range e {
		e[i] = float64(r.IntN(5) - 2)
	}
	e[0] = 1
	return k, e
}

// term evaluates f of an index sum at one tuple.
func (f indexSum) term(t []int, m int) float64 {
	v := 1.0
	for p, vec := range f.vecs {
		if vec != nil {
			v *= vec[t[p]]
		}
	}
	for _, mf := range f.mats {
		v *= mf.m[t[mf.a]*m+t[mf.b]]
	}
	return v
}

// tuples calls fn for every tuple of [m]^d.
func tuples(d, m int, fn func(t []int)) {
	t := make([]int, d)
	var rec func(p int)
	rec = func(p int) {
		if p == d {
			fn(t)
			return
		}
		for i := range m {
			t[p] = i
			rec(p + 1)
		}
	}
	rec(0)
}

// patternOf is the partition of a tuple's positions by equal indices, as a
// restricted growth string.
func patternOf(t []int) string {
	label := map[int]int{}
	s := ""
	for _, i := range t {
		if _, ok := label[i]; !ok {
			label[i] = len(label)
		}
		s += fmt.Sprint(label[i])
	}
	return s
}

// TestPatternSums: E_π by Möbius inversion of the O(m²) contractions equals
// the brute-force sum over the tuples of [m]^d of pattern π, exactly (the
// integers of intGram), for each of the six index sums.
func TestPatternSums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	const m = 5
	k, e := intGram(r, m)
	for s, f := range noiseSums(k, e) {
		for _, d := range patternMismatches(f, m) {
			t.Errorf("sum %d, %s", s, d)
		}
	}
}

// patternMismatches compares f's pattern sums over [m]^d (Möbius
// inversion) with the brute-force sum over every tuple, and describes each
// pattern where they differ.
func patternMismatches(f indexSum, m int) []string {
	parts := partitions(f.d)
	got := f.patternSums(m, parts)
	want := map[string]float64{}
	tuples(f.d, m, func(tp []int) { want[patternOf(tp)] += f.term(tp, m) })
	var bad []string
	for p, part := range parts {
		key := ""
		for _, b := range part {
			key += fmt.Sprint(b)
		}
		if got[p] != want[key] {
			bad = append(bad, fmt.Sprintf("pattern %s: Möbius gives %v, brute force %v", key, got[p], want[key]))
		}
	}
	return bad
}

// TestPatternSumsTwoMatrices: constantOn contracts any two symmetric
// matrices (indexSum's doc), not only the two copies of K that noiseSums
// gives it: with two different integer matrices A and B on a path
// (i_0 - i_1 - i_2, and the path's centre at either end of an edge), on a
// double edge, and on two separate edges, each pattern sum equals the
// brute-force sum exactly (small integers, as in TestPatternSums).
func TestPatternSumsTwoMatrices(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 3))
	const m = 4
	a, e := intGram(r, m)
	b, v := intGram(r, m)
	for _, f := range []indexSum{
		{d: 3, vecs: [][]float64{e, v, nil}, mats: []matFactor{{0, 1, a}, {1, 2, b}}},
		{d: 3, vecs: [][]float64{e, v, e}, mats: []matFactor{{1, 0, a}, {2, 1, b}}},
		{d: 3, vecs: [][]float64{nil, e, v}, mats: []matFactor{{0, 1, a}, {0, 2, b}}},
		{d: 2, vecs: [][]float64{e, v}, mats: []matFactor{{0, 1, a}, {1, 0, b}}},
		{d: 4, vecs: [][]float64{e, v, v, e}, mats: []matFactor{{0, 1, a}, {2, 3, b}}},
	} {
		for _, d := range patternMismatches(f, m) {
			t.Errorf("d = %d, A on (%d, %d), B on (%d, %d), %s", f.d, f.mats[0].a, f.mats[0].b, f.mats[1].a, f.mats[1].b, d)
		}
	}
}

// subsets calls fn for every m-subset of [n], ascending.
func subsets(n, m int, fn func(s []int)) {
	s := make([]int, m)
	var rec func(p, from int)
	rec = func(p, from int) {
		if p == m {
			fn(s)
			return
		}
		for i := from; i <= n-(m-p); i++ {
			s[p] = i
			rec(p+1, i+1)
		}
	}
	rec(0, 0)
}

// restrict is K[S, S] and e[S].
func restrict(k, e []float64, n int, s []int) ([]float64, []float64) {
	ks := make([]float64, len(s)*len(s))
	es := make([]float64, len(s))
	for a, i := range s {
		es[a] = e[i]
		for b, j := range s {
			ks[a*len(s)+b] = k[i*n+j]
		}
	}
	return ks, es
}

// TestSubsampleUnbiasedExact pins the bias correction by exact enumeration:
// over all C(n, m) samples of m of n = 7, the mean of
// Σ_π (n)_|π|/(m)_|π| E_π(S) is the population's Σ f over [n]^d, in exact
// rational arithmetic, for each index sum and m = 4, 5, 7. The negative
// control: the plug-in estimate, (n/m)^d Σ_π E_π(S), misses it for m < n,
// for every sum (the uncorrected estimator is caught).
func TestSubsampleUnbiasedExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2))
	const n = 7
	k, e := intGram(r, n)
	full := noiseSums(k, e)
	for _, m := range []int{4, 5, 7} {
		for s := range numNoiseSums {
			d := full[s].d
			want := new(big.Rat)
			tuples(d, n, func(tp []int) { want.Add(want, ratOf(full[s].term(tp, n))) })
			parts := partitions(d)
			sum, plug := new(big.Rat), new(big.Rat)
			count := 0
			subsets(n, m, func(sub []int) {
				ks, es := restrict(k, e, n, sub)
				pat := noiseSums(ks, es)[s].patternSums(m, parts)
				for p, part := range parts {
					b := blocks(part)
					w := new(big.Rat).SetFrac64(falling(n, b), falling(m, b))
					sum.Add(sum, new(big.Rat).Mul(w, ratOf(pat[p])))
					plug.Add(plug, new(big.Rat).Mul(big.NewRat(pow(n, d), pow(m, d)), ratOf(pat[p])))
				}
				count++
			})
			c := big.NewRat(int64(count), 1)
			sum.Quo(sum, c)
			plug.Quo(plug, c)
			if sum.Cmp(want) != 0 {
				t.Errorf("m = %d, sum %d: the corrected estimate averages %s, the population %s", m, s, sum.FloatString(6), want.FloatString(6))
			}
			if m < n && plug.Cmp(want) == 0 {
				t.Errorf("m = %d, sum %d: the plug-in estimate is unbiased too: the control does not test the correction", m, s)
			}
			if m < n {
				pf, _ := plug.Float64()
				wf, _ := want.Float64()
				t.Logf("m = %d, sum %d (degree %d): plug-in bias %+.3g relative", m, s, d, pf/wf-1)
			}
		}
	}
}

func ratOf(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }

// falling is (x)_b = x(x-1)…(x-b+1).
func falling(x, b int) int64 {
	r := int64(1)
	for t := range b {
		r *= int64(x - t)
	}
	return r
}

func pow(x, d int) int64 {
	r := int64(1)
	for range d {
		r *= int64(x)
	}
	return r
}

// TestSubsampleMatchesState: State.Subsample in floating point. With m = n
// it is the population's own value, so it must agree with Geometry and Noise
// (a separate computation, through ‖PEKEP‖_F and the like); averaged over
// all C(9, 5) = 126 samples of a 9-sample state, the unbiased fields must
// equal the population's to rounding, the roots and ratios need not.
//
// Tolerance 1e-11, relative. Each estimate sums at most 15 pattern sums,
// each a Möbius combination (coefficients at most 3! = 6 in size) of
// contractions of at most m² + 2m = 99 products of at most six factors:
// with u = 2^-53 each contraction is within (m² + 2m + 6)u ≈ 1.2e-14 of its
// value relative to the sum of the absolute values of its terms, and the
// estimate within that times the cancellation between its terms (‖Σ‖_F² =
// ‖Σ1‖² - 2Tr(Σ1Σ2) + ‖Σ2‖² is the worst). Theory's own path is within
// n·u times its cancellation (TestMeasureAgainstNumPy's derivation). 1e-11
// allows a cancellation of several hundred on these data (K = QQᵀ of a
// Gaussian 9 x 4 Q, Gaussian e), whose differences are about 1e-15; the
// plug-in estimates miss by 1e-1 and more.
func TestSubsampleMatchesState(t *testing.T) {
	const n, m, tol = 9, 5, 1e-11
	r := rand.New(rand.NewPCG(7, 3))
	q := make([]float64, n*4)
	for i := range q {
		q[i] = r.NormFloat64()
	}
	e := make([]float64, n)
	for i := range e {
		e[i] = r.NormFloat64()
	}
	full, err := NewState(q, n, 4, e)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGeometry(t, full)
	nz, err := full.Noise()
	if err != nil {
		t.Fatal(err)
	}
	want := SubsampleEstimate{N: n, M: n, Loss: nz.Loss, TraceG: g.TraceG, FroGSquared: g.FroG * g.FroG,
		TrSigma1G: nz.TrSigma1G, TrSigma2G: nz.TrSigma2G, TrGSigma: nz.TrGSigma, FroSigmaSquared: nz.FroSigma * nz.FroSigma,
		FroG: g.FroG, FroSigma: nz.FroSigma, Alpha: nz.Alpha, Beta: nz.Beta, Mu: nz.Mu, Mu1: nz.Mu1, Mu2: nz.Mu2}
	self, err := full.Subsample(n)
	if err != nil {
		t.Fatal(err)
	}
	compare := func(what string, got, want SubsampleEstimate, fields []string) {
		t.Helper()
		gv, wv := estimateFields(got), estimateFields(want)
		worst := 0.0
		for _, f := range fields {
			rel := math.Abs(gv[f]-wv[f]) / math.Abs(wv[f])
			if !(rel <= tol) {
				t.Errorf("%s: %s = %v, want %v (relative %.2g > %g)", what, f, gv[f], wv[f], rel, tol)
			}
			worst = math.Max(worst, rel)
		}
		t.Logf("%s: largest relative difference %.2g (tolerance %g)", what, worst, tol)
	}
	all := []string{"Loss", "TraceG", "FroGSquared", "TrSigma1G", "TrSigma2G", "TrGSigma", "FroSigmaSquared", "FroG", "FroSigma", "Alpha", "Beta", "Mu", "Mu1", "Mu2"}
	compare("m = n", self, want, all)

	k := full.Gram().RawSymmetric().Data
	var mean, plug SubsampleEstimate
	count := 0.0
	subsets(n, m, func(sub []int) {
		ks, es := restrict(k, e, n, sub)
		st, err := NewStateGram(ks, m, 4, es)
		if err != nil {
			t.Fatal(err)
		}
		est, err := st.Subsample(n)
		if err != nil {
			t.Fatal(err)
		}
		sg := mustGeometry(t, st)
		snz, err := st.Noise()
		if err != nil {
			t.Fatal(err)
		}
		mean = addEstimates(mean, est)
		plug = addEstimates(plug, SubsampleEstimate{Loss: snz.Loss, TraceG: sg.TraceG, FroGSquared: sg.FroG * sg.FroG,
			TrSigma1G: snz.TrSigma1G, TrSigma2G: snz.TrSigma2G, TrGSigma: snz.TrGSigma, FroSigmaSquared: snz.FroSigma * snz.FroSigma})
		count++
	})
	unbiased := []string{"Loss", "TraceG", "FroGSquared", "TrSigma1G", "TrSigma2G", "TrGSigma", "FroSigmaSquared"}
	compare("mean over all samples", scaleEstimate(mean, 1/count), want, unbiased)
	// The control: the plug-in estimates (a State of the sample, as if it
	// were the population) average to something else.
	pv, wv := estimateFields(scaleEstimate(plug, 1/count)), estimateFields(want)
	for _, f := range unbiased[2:] {
		rel := math.Abs(pv[f]-wv[f]) / math.Abs(wv[f])
		if rel <= 100*tol {
			t.Errorf("plug-in %s is within %.2g of the population: the control does not test the correction", f, rel)
		}
		t.Logf("plug-in %s: mean over the samples off by %.3g relative", f, rel)
	}
}

// estimateFields maps the float fields of an estimate by name.
func estimateFields(s SubsampleEstimate) map[string]float64 {
	return map[string]float64{"Loss": s.Loss, "TraceG": s.TraceG, "FroGSquared": s.FroGSquared, "TrSigma1G": s.TrSigma1G,
		"TrSigma2G": s.TrSigma2G, "TrGSigma": s.TrGSigma, "FroSigmaSquared": s.FroSigmaSquared, "FroG": s.FroG,
		"FroSigma": s.FroSigma, "Alpha": s.Alpha, "Beta": s.Beta, "Mu": s.Mu, "Mu1": s.Mu1, "Mu2": s.Mu2}
}

// addEstimates adds the unbiased fields of b to a.
func addEstimates(a, b SubsampleEstimate) SubsampleEstimate {
	a.Loss += b.Loss
	a.TraceG += b.TraceG
	a.FroGSquared += b.FroGSquared
	a.TrSigma1G += b.TrSigma1G
	a.TrSigma2G += b.TrSigma2G
	a.TrGSigma += b.TrGSigma
	a.FroSigmaSquared += b.FroSigmaSquared
	return a
}

// scaleEstimate multiplies the unbiased fields by c.
func scaleEstimate(a SubsampleEstimate, c float64) SubsampleEstimate {
	a.Loss *= c
	a.TraceG *= c
	a.FroGSquared *= c
	a.TrSigma1G *= c
	a.TrSigma2G *= c
	a.TrGSigma *= c
	a.FroSigmaSquared *= c
	return a
}

// TestSubsampleErrors: a sample below MinSubsample or above n, or zero
// residuals, is an error, not a NaN.
func TestSubsampleErrors(t *testing.T) {
	k := []float64{2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2}
	st, err := NewStateGram(k[:9], 3, 3, []float64{1, 2, 3})
	if err == nil {
		_, err = st.Subsample(10)
	}
	if err == nil {
		t.Error("a sample of 3: no error")
	}
	st, _ = NewStateGram(k, 4, 4, []float64{1, 2, 3, 4})
	if _, err := st.Subsample(3); err == nil {
		t.Error("a sample of 4 of 3: no error")
	}
	st, _ = NewStateGram(k, 4, 4, []float64{0, 0, 0, 0})
	if _, err := st.Subsample(8); err == nil {
		t.Error("zero residuals: no error")
	}
}
