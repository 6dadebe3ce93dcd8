package numerics

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"
)

// symmetricCase draws a symmetric matrix from the corners an eigensolver
// finds hard: rank-deficient Grams, repeated and clustered eigenvalues,
// duplicated and zero rows, diagonal and zero matrices, and scales from
// subnormal to near overflow (both of Dsyev's and Dsteqr's rescalings).
func symmetricCase(t *rapid.T, n int) []float64 {
	a := make([]float64, n*n)
	scale := math.Pow(2, float64(rapid.SampledFrom([]int{0, 0, -40, 40, -1000, -1060, 1000, 1020}).Draw(t, "log2 scale")))
	switch rapid.IntRange(0, 4).Draw(t, "kind") {
	case 0: // a random symmetric matrix
		for i := range n {
			for j := i; j < n; j++ {
				v := rapid.Float64Range(-1, 1).Draw(t, "entry")
				a[i*n+j], a[j*n+i] = v, v
			}
		}
	case 1: // a Gram QQᵀ of rank at most k, rows duplicated or zeroed
		k := rapid.IntRange(1, max(1, n)).Draw(t, "rank")
		q := make([]float64, n*k)
		for i := range n {
			switch rapid.IntRange(0, 5).Draw(t, "row") {
			case 0:
				continue // a zero row
			case 1:
				if i > 0 {
					copy(q[i*k:(i+1)*k], q[(i-1)*k:i*k])
					continue
				}
			}
			for c := range k {
				q[i*k+c] = rapid.Float64Range(-1, 1).Draw(t, "q")
			}
		}
		for i := range n {
			for j := range n {
				for c := range k {
					a[i*n+j] += q[i*k+c] * q[j*k+c]
				}
			}
		}
	case 2: // few distinct eigenvalues: c·I plus a low-rank term
		c := rapid.SampledFrom([]float64{0, 1, -1, 1e-12}).Draw(t, "shift")
		for i := range n {
			a[i*n+i] = c
		}
		if n > 0 {
			j := rapid.IntRange(0, n-1).Draw(t, "spike")
			a[j*n+j] += 1
		}
	case 3: // diagonal, possibly with repeats
		for i := range n {
			a[i*n+i] = float64(rapid.IntRange(-3, 3).Draw(t, "diag"))
		}
	case 4: // tridiagonal with tiny off-diagonals (early splitting)
		for i := range n {
			a[i*n+i] = rapid.Float64Range(-1, 1).Draw(t, "d")
			if i+1 < n {
				v := rapid.SampledFrom([]float64{0, 1e-300, 1e-17, 0.5}).Draw(t, "e")
				a[i*n+i+1], a[(i+1)*n+i] = v, v
			}
		}
	}
	for i := range a {
		a[i] *= scale
	}
	return a
}

// gonumEigen is mat.EigenSym with vectors, which calls lapack Dsyev.
func gonumEigen(n int, a []float64) (w, v []float64, ok bool) {
	var es mat.EigenSym
	if n == 0 {
		return nil, nil, true
	}
	if !es.Factorize(mat.NewSymDense(n, slices.Clone(a)), true) {
		return nil, nil, false
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	return es.Values(nil), vecs.RawMatrix().Data, true
}

// dsyevEigenvalues is the reference the eigenvalues are checked against:
// gonum's Dsyev with vectors (its Dsytrd and Dorgtr, on the global BLAS)
// but with the Dsteqr scaling bug fixed (tridiagonalQL), which is what
// SymmetricEigen was, bit for bit, before the reduction came to numerics.
// gonum's Dsyev without vectors would not do: its Dsterf panics on the
// rescaled blocks these cases reach (see SymmetricEigenvalues).
func dsyevEigenvalues(n int, a []float64) ([]float64, bool) {
	if n <= 1 {
		return slices.Clone(a[:n]), true
	}
	var impl gonum.Implementation
	a = slices.Clone(a)
	w := make([]float64, n)
	sigma := scaleSymmetric(n, a)
	nb := impl.Ilaenv(1, "DSYTRD", "U", n, -1, -1, -1)
	e, tau, work := make([]float64, n), make([]float64, n), make([]float64, nb*n)
	impl.Dsytrd(blas.Upper, n, a, n, w, e, tau, work, len(work))
	impl.Dorgtr(blas.Upper, n, a, n, tau, work, len(work))
	if !tridiagonalQL(n, w, e, a) {
		return nil, false
	}
	unscale(w, sigma)
	return w, true
}

// overflowed reports whether a holds an infinity: a Gram of symmetricCase
// at scale 2^1020 whose entries overflowed, outside every contract.
func overflowed(a []float64) bool {
	return slices.ContainsFunc(a, func(x float64) bool { return math.IsInf(x, 0) })
}

// checkEigen checks SymmetricEigen on A: an eigen-decomposition to
// LAPACK's test threshold (accurate), its eigenvalues (DSTEQR's on the
// reduction's T) near SymmetricEigenvalues' (DSTERF's on the same T). A
// decomposition with an eigenvalue beyond the float64 range (a matrix near
// overflow) cannot be checked by residuals; its eigenvalues still must be
// near SymmetricEigenvalues'.
func checkEigen(n int, a []float64) error {
	v, w := slices.Clone(a), make([]float64, n)
	ok := SymmetricEigen(n, v, w)
	wv := make([]float64, n)
	okv := SymmetricEigenvalues(n, slices.Clone(a), wv)
	if ok != okv {
		return fmt.Errorf("n=%d: ok %v, SymmetricEigenvalues %v", n, ok, okv)
	}
	if !ok {
		return nil
	}
	if err := nearEigenvalues(w, wv); err != nil {
		return fmt.Errorf("n=%d: against SymmetricEigenvalues: %v", n, err)
	}
	if overflowed(w) {
		return nil
	}
	if !accurate(n, a, w, v) {
		return fmt.Errorf("n=%d: not an accurate eigen-decomposition", n)
	}
	return nil
}

// accurate reports whether w, V is an eigen-decomposition of A to the
// threshold of LAPACK's own test of Dsyev (DSYT21): ‖AV - VΛ‖ and
// ‖VᵀV - I‖ within 30·n·ulp of ‖A‖ and 1, each column's residual measured
// on A scaled by a power of two to unit size (exact), so that subnormal
// inputs keep their digits; an eigenvalue of a matrix scaled below
// 2^-1022 is rounded to a multiple of 2^-1074 when it is unscaled, which
// adds 2^-1074 (in that scale) to the residual's bound.
func accurate(n int, a, w, v []float64) bool {
	norm := 0.0
	for _, x := range a {
		norm = math.Max(norm, math.Abs(x))
	}
	if norm == 0 {
		return slices.Equal(w, make([]float64, n))
	}
	_, e := math.Frexp(norm)
	tol := 30 * float64(n) * 0x1p-52
	for k := range n {
		for i := range n {
			r := -math.Ldexp(w[k], -e) * v[i*n+k]
			for j := range n {
				r += math.Ldexp(a[i*n+j], -e) * v[j*n+k]
			}
			if math.Abs(r) > tol*float64(n)+math.Ldexp(0x1p-1074, -e) {
				return false
			}
		}
		for l := range n {
			dot := 0.0
			for i := range n {
				dot += v[i*n+k] * v[i*n+l]
			}
			if l == k {
				dot--
			}
			if math.Abs(dot) > tol {
				return false
			}
		}
	}
	return true
}

// SymmetricEigen is an accurate eigen-decomposition on every generated
// finite matrix, its eigenvalues near those of SymmetricEigenvalues.
func TestSymmetricEigenAccurate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "n")
		a := symmetricCase(t, n)
		if overflowed(a) {
			return
		}
		if err := checkEigen(n, a); err != nil {
			t.Fatal(err)
		}
	})
}

// The case rapid found: a 9 x 9 tridiagonal matrix whose block
// [[6e-123, 1e-300], [1e-300, 0]] is rescaled inside the QL iteration; gonum v0.17.0 then
// "unscales" the later block [[1, 0.5], [0.5, 1]] too and reports 1 for its
// eigenvalue 0.5. SymmetricEigen resets the flag per block, as LAPACK does.
func TestSymmetricEigenGonumScalingBug(t *testing.T) {
	d := []float64{1, 1, 1, 1, 1, 6.05092486695206e-123, 0, 1, 1}
	e := []float64{0, 0, 0, 0, 0, 1e-300, 0, 0.5}
	n := len(d)
	a := tridiagonalDense(d, e)
	want := []float64{0, 6.05092486695206e-123, 0.5, 1, 1, 1, 1, 1, 1.5}
	v, w := slices.Clone(a), make([]float64, n)
	if !SymmetricEigen(n, v, w) {
		t.Fatal("no convergence")
	}
	for i := range w {
		// Each block's eigenvalues to a few ulps; the coupling 1e-300
		// moves 6e-123 and 0 by far less than an ulp of 6e-123 (the
		// second-order shift is 1e-600/6e-123).
		if math.Abs(w[i]-want[i]) > 4*0x1p-53*math.Max(want[i], 1e-300) {
			t.Errorf("eigenvalue %d is %v, want %v", i, w[i], want[i])
		}
	}
	if !accurate(n, a, w, v) {
		t.Error("the decomposition is not accurate")
	}
	if gw, gv, _ := gonumEigen(n, a); accurate(n, a, gw, gv) {
		t.Log("gonum's Dsteqr no longer has the scaling bug: SymmetricEigen's doc comment can drop the exception")
	}
}

// Sizes of several panels of the reduction and blocks of formQ, where the
// log is replayed several times and the rows split unevenly into blocks of
// four: accurate, and the same bits on every path, at one core and at
// several.
func TestSymmetricEigenLarge(t *testing.T) {
	for _, n := range []int{150, 257} {
		a := sineMatrix(n)
		if err := checkEigen(n, a); err != nil {
			t.Fatal(err)
		}
		var want []float64
		withProcs(1, func() {
			defer forceImpl(generic)()
			want = slices.Clone(a)
			SymmetricEigen(n, want, make([]float64, n))
		})
		forEachImpl(t, func(t *testing.T) {
			for _, procs := range []int{1, 2, 3} {
				withProcs(procs, func() {
					v := slices.Clone(a)
					SymmetricEigen(n, v, make([]float64, n))
					sameSlices(t, fmt.Sprintf("n=%d GOMAXPROCS=%d", n, procs), v, want)
				})
			}
		})
	}
}

// The negative control: the same generator and check catch the rotations
// replayed in the wrong order within each batch (Dlasr's Forward for
// Backward), a mistake that still leaves an orthogonal matrix.
func TestSymmetricEigenControl(t *testing.T) {
	correct := replay
	replay = func(z []float64, n int, rot []rotation) {
		rev := slices.Clone(rot)
		slices.Reverse(rev)
		correct(z, n, rev)
	}
	defer func() { replay = correct }()
	caught := false
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(3, 40).Draw(t, "n")
		a := symmetricCase(t, n)
		if !overflowed(a) && checkEigen(n, a) != nil {
			caught = true
		}
	})
	if !caught {
		t.Fatal("the reversed rotation order went unnoticed in every case")
	}
}

// BenchmarkSymmetricEigen times the decomposition with vectors against
// what SymmetricEigen was before its reduction came to numerics (gonum's
// Dsytrd and Dorgtr on numerics' kernels as gonum's BLAS, then
// tridiagonalQL: dsyev-before) and gonum's mat.EigenSym on the same BLAS.
func BenchmarkSymmetricEigen(b *testing.B) {
	for _, n := range []int{500, 1000, 2000} {
		a := sineMatrix(n)
		b.Run(fmt.Sprintf("numerics/n=%d", n), func(b *testing.B) {
			v, w := make([]float64, n*n), make([]float64, n)
			for b.Loop() {
				copy(v, a)
				SymmetricEigen(n, v, w)
			}
		})
		b.Run(fmt.Sprintf("dsyev-before/n=%d", n), func(b *testing.B) {
			defer UseAsGonumBLAS()()
			for b.Loop() {
				dsyevEigenvalues(n, a)
			}
		})
		if n > 1000 {
			continue
		}
		b.Run(fmt.Sprintf("gonum/n=%d", n), func(b *testing.B) {
			defer UseAsGonumBLAS()()
			for b.Loop() {
				gonumEigen(n, a)
			}
		})
	}
}

// sineMatrix is a dense symmetric n x n matrix with entries sin(k), k the
// index of the upper-triangle entry: distinct eigenvalues, no structure.
func sineMatrix(n int) []float64 {
	a := make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			v := math.Sin(float64(i*n + j + 1))
			a[i*n+j], a[j*n+i] = v, v
		}
	}
	return a
}

// dsteqrStall is the symmetric 22 x 22 matrix, times scale, on which the QL
// iteration of SymmetricEigen (LAPACK's DSTEQR, as gonum v0.17.0 has it)
// does not converge, found by TestSymmetricEigenAccurate with a random
// seed: the Gram of rows q_i = (1, 0) at i = 0, 10, 11, 12, q_20 = (2^-729,
// 0) and q_21 = (0.75, 0), summed in float64 (so q_20's square underflows
// to a zero diagonal), the other rows zero. Its entries span 2^-729 to 1.
func dsteqrStall(scale float64) []float64 {
	const n = 22
	a := make([]float64, n*n)
	set := func(i, j int, v float64) { a[i*n+j], a[j*n+i] = v*scale, v*scale }
	big := []int{0, 10, 11, 12}
	for _, i := range big {
		for _, j := range big {
			set(i, j, 1)
		}
		set(i, 20, 0x1p-729)
		set(i, 21, 0.75)
	}
	set(20, 21, 0.75*0x1p-729)
	set(21, 21, 0.5625)
	return a
}

// TestSymmetricEigenDsteqrStall: on dsteqrStall times 2^300 or 2^1000 the
// QL iteration does not converge (tridiagonalQL reports false), and
// SymmetricEigen still returns an accurate decomposition, by the Jacobi
// fallback, with the eigenvalues of SymmetricEigenvalues (the root-free
// QR of DSTERF, which converges). At scale 1 the smallest products
// underflow to zero in the reduction and QL converges.
func TestSymmetricEigenDsteqrStall(t *testing.T) {
	const n = 22
	for _, scale := range []float64{0x1p300, 0x1p1000} {
		a := dsteqrStall(scale)
		t.Run(fmt.Sprint(scale), func(t *testing.T) {
			if qlConverges(n, a) {
				t.Error("the QL iteration converged: this case no longer exercises the fallback")
			}
			if err := checkEigen(n, a); err != nil {
				t.Error(err)
			}
		})
	}
}

// SymmetricEigen reports false for a matrix holding a NaN or an
// infinity, and the Jacobi fallback gives up on such a T before its first
// rotation instead of running all its sweeps (tens of seconds at n = 200).
func TestSymmetricEigenNonFinite(t *testing.T) {
	const n = 200
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		a := sineMatrix(n)
		a[3*n+5], a[5*n+3] = bad, bad
		if SymmetricEigen(n, a, make([]float64, n)) {
			t.Errorf("%v: reported convergence", bad)
		}
		if jacobiRotates(3, []float64{1, bad, 1}, []float64{0.5, 0.5}) {
			t.Errorf("%v: the fallback rotates a non-finite T", bad)
		}
	}
}

// jacobiRotates reports whether tridiagonalJacobi computes a rotation on T.
func jacobiRotates(n int, d, e []float64) (rotated bool) {
	correct := jacobiRotation
	defer func() { jacobiRotation = correct }()
	jacobiRotation = func(app, aqq, apq float64) (c, s float64) {
		rotated = true
		return correct(app, aqq, apq)
	}
	tridiagonalJacobi(n, d, e, make([]float64, n*n))
	return rotated
}

// qlConverges reports whether SymmetricEigen's QL iteration converges on
// A's tridiagonal form.
func qlConverges(n int, a []float64) bool {
	a = slices.Clone(a)
	scaleSymmetric(n, a)
	d, e, tau := make([]float64, n), make([]float64, n-1), make([]float64, n)
	tridiagonalize(n, a, d, e, tau)
	return tridiagonalQL(n, d, e, make([]float64, n*n))
}

// tridiagonalCase draws a symmetric tridiagonal matrix from the corners
// of symmetricCase's kind 4 and beyond: entries spanning hundreds of
// binades, zero and repeated diagonals, and a whole matrix scaled from
// subnormal to near overflow.
func tridiagonalCase(t *rapid.T, n int) (d, e []float64) {
	d, e = make([]float64, n), make([]float64, max(n-1, 0))
	scale := math.Pow(2, float64(rapid.SampledFrom([]int{0, -40, 40, -1000, 1000}).Draw(t, "log2 scale")))
	values := []float64{0, 1, -1, 0.5, 0x1p-729, 0x1p-300, 1e-17}
	for i := range d {
		d[i] = scale * rapid.OneOf(rapid.SampledFrom(values), rapid.Float64Range(-1, 1)).Draw(t, "d")
	}
	for i := range e {
		e[i] = scale * rapid.OneOf(rapid.SampledFrom(values), rapid.Float64Range(-1, 1)).Draw(t, "e")
	}
	return d, e
}

// checkJacobi checks tridiagonalJacobi on T: it converges, to an accurate
// decomposition with ascending eigenvalues.
func checkJacobi(d, e []float64) error {
	n := len(d)
	w, vt := slices.Clone(d), make([]float64, n*n)
	if !tridiagonalJacobi(n, w, slices.Clone(e), vt) {
		return fmt.Errorf("n=%d: no convergence", n)
	}
	if !slices.IsSorted(w) {
		return fmt.Errorf("n=%d: eigenvalues not ascending: %v", n, w)
	}
	v := make([]float64, n*n)
	for i := range n {
		for k := range n {
			v[i*n+k] = vt[k*n+i]
		}
	}
	if !accurate(n, tridiagonalDense(d, e), w, v) {
		return fmt.Errorf("n=%d: not an accurate eigen-decomposition", n)
	}
	return nil
}

// tridiagonalJacobi converges to an accurate decomposition on every
// generated tridiagonal matrix.
func TestTridiagonalJacobi(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "n")
		if err := checkJacobi(tridiagonalCase(t, n)); err != nil {
			t.Fatal(err)
		}
	})
}

// The negative control: the same generator and check catch each rotation
// turned the wrong way (s negated), still orthogonal but doubling the
// entry it should annihilate.
func TestTridiagonalJacobiControl(t *testing.T) {
	correct := jacobiRotation
	jacobiRotation = func(app, aqq, apq float64) (c, s float64) {
		c, s = correct(app, aqq, apq)
		return c, -s
	}
	defer func() { jacobiRotation = correct }()
	caught := false
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 30).Draw(t, "n")
		if checkJacobi(tridiagonalCase(t, n)) != nil {
			caught = true
		}
	})
	if !caught {
		t.Fatal("the wrong rotation went unnoticed in every case")
	}
}
