package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"
)

// gonumEigenvalues is mat.EigenSym without vectors: gonum's Dsyev (Dsytrd,
// then Dsterf), what theory used before SymmetricEigenvalues. Its Dsterf
// panics on a block it has to rescale (see SymmetricEigenvalues), so it
// serves the benchmark, not the tests.
func gonumEigenvalues(n int, a []float64) ([]float64, bool) {
	if n == 0 {
		return nil, true
	}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, slices.Clone(a)), false) {
		return nil, false
	}
	return es.Values(nil), true
}

// eigenvalueSizes are the sizes the property draws from: the trivial ones,
// odd ones, and those around one and two panels of the reduction (a panel
// takes min(tridiagBlock, m-1) columns of the trailing m x m matrix).
func eigenvalueSizes() []int {
	s := []int{0, 1, 2, 3, 4, 5, 7, 9, 17}
	for _, b := range []int{tridiagBlock, 2 * tridiagBlock} {
		s = append(s, b-1, b, b+1, b+2, b+3)
	}
	return s
}

// SymmetricEigenvalues agrees with gonum's Dsyev to the backward error of
// the two, on the hard corners of symmetricCase (rank-deficient Grams with
// zero and duplicated rows, repeated eigenvalues, diagonal and tridiagonal
// matrices, scales from subnormal to near overflow).
//
// The bound: each solver computes the eigenvalues of A + E for some
// symmetric E with ‖E‖_2 <= 30·n·ε·‖A‖_2, ε = 2^-52, the threshold on
// which LAPACK's own tests accept DSYEV's decomposition (DSYT21's ratio
// ‖A - UΛUᵀ‖/(n·‖A‖·ulp) < 30; the rigorous worst case of Householder
// tridiagonalization, a multiple of n²·ε, assumes every rounding conspires
// and is never reached). By Weyl's inequality, |λ_i(A + E) - λ_i(A)| <=
// ‖E‖_2, so the two are within 60·n·ε·‖A‖_2 of each other, ‖A‖_2 =
// max|λ_i| read off gonum's (its own error, a 30nε fraction of it, is
// covered by the factor 2 of 60). Below 2^-1022 the final unscaling rounds
// each eigenvalue of both solvers to a multiple of 2^-1074: two such units
// more.
//
// The reference is dsyevEigenvalues, gonum's Dsyev with vectors but for the
// Dsteqr scaling bug (see there).
func TestSymmetricEigenvaluesNearDsyev(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.SampledFrom(eigenvalueSizes()).Draw(t, "n")
		a := symmetricCase(t, n)
		want, wantOK := dsyevEigenvalues(n, a)
		w := make([]float64, n)
		ok := SymmetricEigenvalues(n, slices.Clone(a), w)
		if overflowed(a) {
			return // no panic is all
		}
		if ok != wantOK {
			t.Fatalf("n=%d: ok %v, gonum %v", n, ok, wantOK)
		}
		if !ok || n == 0 {
			return
		}
		if err := nearEigenvalues(w, want); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !slices.IsSorted(w) {
			t.Fatalf("n=%d: eigenvalues not ascending: %v", n, w)
		}
	})
}

// nearEigenvalues checks two backward-stable solvers' ascending
// eigenvalues of the same matrix against each other, to the bound of
// TestSymmetricEigenvaluesNearDsyev: 60·n·ε·max|λ|, plus 2^-1073 for the
// rounding of subnormal results. Equal values pass (+Inf for both past the
// float64 range).
func nearEigenvalues(got, want []float64) error {
	n := len(want)
	if n == 0 {
		return nil
	}
	norm := math.Max(math.Abs(want[0]), math.Abs(want[n-1]))
	tol := 60*float64(n)*0x1p-52*norm + 2*0x1p-1074
	for i := range want {
		if got[i] != want[i] && !(math.Abs(got[i]-want[i]) <= tol) {
			return fmt.Errorf("eigenvalue %d is %v, the reference's %v: |difference| %g > %g", i, got[i], want[i], math.Abs(got[i]-want[i]), tol)
		}
	}
	return nil
}

// randomGram returns a symmetric positive semi-definite n x n Gram QQᵀ of
// rank at most k, Q with entries uniform in [-1, 1) and its second row a
// copy of the first.
func randomGram(r *rand.Rand, n, k int) []float64 {
	q := randSlice(r, n*k)
	if n > 1 {
		copy(q[k:2*k], q[:k])
	}
	a := make([]float64, n*n)
	Gram(a, q, n, k)
	return a
}

// The bits are the same on every path and for every GOMAXPROCS, at sizes
// of one and several panels, below and above symvMinRows (where the
// symmetric product is cut into symvParts blocks and the rank-2k update
// shared among goroutines), and from twoStageMin on (the two-stage
// reduction, not under -short; TestTwoStageSameBits forces it at smaller
// sizes).
func TestSymmetricEigenvaluesSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	sizes := []int{1, 2, 3, tridiagBlock + 1, 2*tridiagBlock + 3, 130, symvMinRows + 41}
	if !testing.Short() {
		sizes = append(sizes, twoStageMin+5)
	}
	for _, n := range sizes {
		for _, a := range [][]float64{sineMatrix(n), randomGram(r, n, max(1, n/3))} {
			var want []float64
			withProcs(1, func() {
				defer forceImpl(generic)()
				want = make([]float64, n)
				if !SymmetricEigenvalues(n, slices.Clone(a), want) {
					t.Fatalf("n=%d: no convergence", n)
				}
			})
			forEachImpl(t, func(t *testing.T) {
				for _, procs := range testProcs() {
					withProcs(procs, func() {
						w := make([]float64, n)
						SymmetricEigenvalues(n, slices.Clone(a), w)
						sameSlices(t, fmt.Sprintf("n=%d GOMAXPROCS=%d", n, procs), w, want)
					})
				}
			})
		}
	}
}

// The symmetric product is A·v, whichever block cut it runs on, to the
// rounding of its sums: checked against a plain sum over the full matrix.
func TestSymvUpper(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 7))
	for _, m := range []int{0, 1, 5, symvMinRows - 1, symvMinRows, symvMinRows + 13} {
		a := sineMatrix(m)
		v := randSlice(r, m)
		w := make([]float64, m)
		var s symvWork
		s.upper(m, a, m, v, w)
		for i := range m {
			want, abs := 0.0, 0.0
			for j := range m {
				want += a[i*m+j] * v[j]
				abs += math.Abs(a[i*m+j] * v[j])
			}
			// Both sums are within m·ε·Σ|a_ij v_j| of the exact one
			// (Higham, Accuracy and Stability, eq. 3.5).
			if math.Abs(w[i]-want) > 2*float64(m)*0x1p-53*abs {
				t.Fatalf("m=%d: (Av)[%d] = %v, want %v", m, i, w[i], want)
			}
		}
	}
}

// householder annihilates x: (I - tau·v·vᵀ)(alpha, x) = (beta, 0), also
// for a vector so small that DLARFG rescales it.
func TestHouseholder(t *testing.T) {
	for _, scale := range []float64{1, 0x1p-1000, 0x1p-1070, 0x1p1000} {
		x0 := []float64{3 * scale, 4 * scale, 12 * scale} // alpha, x
		x := slices.Clone(x0[1:])
		beta, tau := householder(x0[0], x)
		v := append([]float64{1}, x...)
		// H·(alpha, x) = (alpha, x) - tau·(vᵀ(alpha, x))·v, in exact
		// arithmetic (beta, 0, 0) with |beta| = 13·scale.
		dot := 0.0
		for i := range v {
			dot += v[i] * x0[i]
		}
		for i := range v {
			got := x0[i] - tau*dot*v[i]
			want := 0.0
			if i == 0 {
				want = beta
			}
			// A few roundings of 13·scale; subnormal scales lose
			// digits in x0 itself.
			if math.Abs(got-want) > 8*0x1p-52*13*scale+0x1p-1070 {
				t.Errorf("scale %g: (Hx)[%d] = %v, want %v", scale, i, got, want)
			}
		}
		if math.Abs(math.Abs(beta)-13*scale) > 4*0x1p-52*13*scale+0x1p-1070 {
			t.Errorf("scale %g: beta = %v, want ±%v", scale, beta, 13*scale)
		}
	}
	if beta, tau := householder(5, []float64{0, 0}); beta != 5 || tau != 0 {
		t.Errorf("x = 0: beta %v, tau %v, want 5, 0", beta, tau)
	}
}

func TestSymmetricEigenvaluesPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"negative": func() { SymmetricEigenvalues(-1, nil, nil) },
		"short a":  func() { SymmetricEigenvalues(2, make([]float64, 3), make([]float64, 2)) },
		"short w":  func() { SymmetricEigenvalues(2, make([]float64, 4), make([]float64, 1)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// BenchmarkSymmetricEigenvalues times the eigenvalues alone (numerics: the
// two-stage reduction from twoStageMin rows on) against the one-stage
// reduction (onestage), with the CPU time, and gonum's Dsyev without vectors (mat.EigenSym, what theory used before) on
// numerics' kernels as gonum's BLAS, as cmd/flatmin ran it.
func BenchmarkSymmetricEigenvalues(b *testing.B) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, n := range []int{1000, 2000, 5000} {
		a := randomGram(r, n, n/2)
		b.Run(fmt.Sprintf("numerics/n=%d", n), func(b *testing.B) {
			v, w := make([]float64, n*n), make([]float64, n)
			defer reportCPU(b)()
			for b.Loop() {
				copy(v, a)
				SymmetricEigenvalues(n, v, w)
			}
		})
		b.Run(fmt.Sprintf("onestage/n=%d", n), func(b *testing.B) {
			v, w := make([]float64, n*n), make([]float64, n)
			defer reportCPU(b)()
			for b.Loop() {
				copy(v, a)
				symmetricEigenvalues(n, 0, v, w)
			}
		})
		if n > 2000 {
			continue // about 4 minutes a run here
		}
		b.Run(fmt.Sprintf("gonum/n=%d", n), func(b *testing.B) {
			defer UseAsGonumBLAS()()
			for b.Loop() {
				gonumEigenvalues(n, a)
			}
		})
	}
}

// reportCPU, deferred at the start of a benchmark, reports the process's
// CPU time per iteration as cpu-ns/op: on a shared machine the steadier
// figure.
func reportCPU(b *testing.B) func() {
	c0 := cpuTime()
	return func() {
		if c := cpuTime() - c0; c > 0 && b.N > 0 {
			b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// tridiagonalValues on the blocks gonum's Dsterf mishandles: a 2 x 2 block
// it has to rescale (norm 1e-200, below 2^-511/ε² ≈ 1e-122; gonum panics)
// after a 1 x 1 block, and a 1 x 1 block in the middle. The eigenvalues are
// 1, a ± b and 3, each to a few roundings (4ε relative: the rescaling
// there and back and Dlae2's).
func TestTridiagonalValuesBlocks(t *testing.T) {
	const a, b = 1e-200, 1e-201
	d := []float64{1, a, a, 3}
	e := []float64{0, b, 0}
	if !tridiagonalValues(len(d), d, e) {
		t.Fatal("no convergence")
	}
	for i, want := range []float64{a - b, a + b, 1, 3} {
		if math.Abs(d[i]-want) > 4*0x1p-52*want {
			t.Errorf("eigenvalue %d is %v, want %v", i, d[i], want)
		}
	}
}

// testProcs is the GOMAXPROCS values of the same-bits tests: 1, 2 and 5, or
// under -short (CI's race run) 1 and 2, enough for a race to show.
func testProcs() []int {
	if testing.Short() {
		return []int{1, 2}
	}
	return []int{1, 2, 5}
}
