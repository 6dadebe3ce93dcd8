package numerics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS is gonum's blas.Float64 running Ddot, Daxpy, Dscal, Dnrm2, Dgemv, Dgemm
// and Dsyrk on the kernels of this package; every other routine is the
// embedded gonum.Implementation. UseAsGonumBLAS installs it as gonum's
// global BLAS, so that gonum's mat and lapack run on these kernels.
//
// Arguments are checked, and bad ones panic, as in gonum. Strided vectors are
// gathered, so Ddot and Dnrm2 give the bits of Dot and Nrm2 on the gathered
// elements whatever the increments; Dscal with alpha == 0 sets zeros, like
// gonum, where Scal would keep NaNs.
type BLAS struct{ gonum.Implementation }

var _ blas.Float64 = BLAS{}

// UseAsGonumBLAS makes BLAS the implementation behind gonum's blas64, and
// so behind every gonum mat and lapack call of the process, and returns a
// function that puts back the one it replaced. Nothing installs it
// implicitly: a program opts in, once, before it starts the goroutines that
// use gonum (blas64.Use is not safe to call concurrently with them).
// cmd/flatmin and the tests of the packages built on theory do, and the
// golden files pin the bits it gives; another program that wants the same
// bits, or the speed, calls it too.
func UseAsGonumBLAS() (restore func()) {
	prev := blas64.Implementation()
	blas64.Use(BLAS{})
	return func() { blas64.Use(prev) }
}

// Panic messages, gonum's own.
const (
	msgNLT0     = "blas: n < 0"
	msgMLT0     = "blas: m < 0"
	msgKLT0     = "blas: k < 0"
	msgZeroIncX = "blas: zero x index increment"
	msgZeroIncY = "blas: zero y index increment"
	msgShortX   = "blas: insufficient length of x"
	msgShortY   = "blas: insufficient length of y"
	msgShortA   = "blas: insufficient length of a"
	msgShortB   = "blas: insufficient length of b"
	msgShortC   = "blas: insufficient length of c"
	msgBadLdA   = "blas: bad leading dimension of A"
	msgBadLdB   = "blas: bad leading dimension of B"
	msgBadLdC   = "blas: bad leading dimension of C"
	msgBadTrans = "blas: illegal transpose"
	msgBadUplo  = "blas: illegal triangle"
)

// checkOne panics like gonum on bad arguments of a routine of one vector,
// and reports whether there is anything to do: gonum ignores a vector with a
// negative increment there.
func checkOne(n int, x []float64, incX int) bool {
	switch {
	case incX == 0:
		panic(msgZeroIncX)
	case n < 0:
		panic(msgNLT0)
	case incX < 0:
		return false
	}
	checkVec(n, x, incX, msgShortX)
	return true
}

// checkTwo panics like gonum on bad arguments of a routine of two vectors.
func checkTwo(n int, x []float64, incX int, y []float64, incY int) {
	switch {
	case incX == 0:
		panic(msgZeroIncX)
	case incY == 0:
		panic(msgZeroIncY)
	case n < 0:
		panic(msgNLT0)
	}
	checkVec(n, x, incX, msgShortX)
	checkVec(n, y, incY, msgShortY)
}

// checkVec panics unless x holds n elements at increment inc (inc != 0).
func checkVec(n int, x []float64, inc int, short string) {
	if n > 0 && (n-1)*abs(inc) >= len(x) {
		panic(short)
	}
}

func abs(i int) int { return max(i, -i) }

// gather returns the n elements of x at increment inc in BLAS order (from the
// end when inc < 0), x itself when inc == 1.
func gather(n int, x []float64, inc int) []float64 {
	if inc == 1 {
		return x[:n]
	}
	g := make([]float64, n)
	ix := start(n, inc)
	for i := range g {
		g[i] = x[ix]
		ix += inc
	}
	return g
}

// scatter writes g back to the n elements of x at increment inc.
func scatter(g, x []float64, inc int) {
	if inc == 1 {
		return
	}
	ix := start(len(g), inc)
	for _, v := range g {
		x[ix] = v
		ix += inc
	}
}

// start is the index of the first element of a BLAS vector.
func start(n, inc int) int {
	if inc < 0 {
		return (1 - n) * inc
	}
	return 0
}

// Ddot returns Σ x[i]*y[i], as Dot does on the gathered vectors.
func (BLAS) Ddot(n int, x []float64, incX int, y []float64, incY int) float64 {
	checkTwo(n, x, incX, y, incY)
	return Dot(gather(n, x, incX), gather(n, y, incY))
}

// Dnrm2 returns the Euclidean norm of x, as Nrm2 does on the gathered vector,
// except that NaN wins over Inf as in gonum (Nrm2 gives +Inf when both are
// there); 0 for a negative increment, like gonum.
func (BLAS) Dnrm2(n int, x []float64, incX int) float64 {
	if !checkOne(n, x, incX) {
		return 0
	}
	g := gather(n, x, incX)
	r := Nrm2(g)
	if math.IsInf(r, 1) {
		for _, v := range g {
			if math.IsNaN(v) {
				return v
			}
		}
	}
	return r
}

// Daxpy sets y += alpha*x, element by element FMA(alpha, x[i], y[i]).
func (BLAS) Daxpy(n int, alpha float64, x []float64, incX int, y []float64, incY int) {
	checkTwo(n, x, incX, y, incY)
	if alpha == 0 || n == 0 {
		return
	}
	if incX == 1 && incY == 1 {
		Axpy(alpha, x[:n], y[:n])
		return
	}
	ix, iy := start(n, incX), start(n, incY)
	for range n {
		y[iy] = math.FMA(alpha, x[ix], y[iy])
		ix += incX
		iy += incY
	}
}

// Dscal sets x = alpha*x (zeros when alpha == 0); nothing for a negative
// increment, like gonum.
func (BLAS) Dscal(n int, alpha float64, x []float64, incX int) {
	if !checkOne(n, x, incX) {
		return
	}
	switch {
	case incX == 1 && alpha == 0:
		clear(x[:n])
	case incX == 1:
		Scal(alpha, x[:n])
	default:
		for i := 0; i < n*incX; i += incX {
			if alpha == 0 {
				x[i] = 0
			} else {
				x[i] *= alpha
			}
		}
	}
}

// checkSizes panics like gonum on a negative m, n or k.
func checkSizes(m, n, k int) {
	switch {
	case m < 0:
		panic(msgMLT0)
	case n < 0:
		panic(msgNLT0)
	case k < 0:
		panic(msgKLT0)
	}
}

// checkMat panics unless a holds the r x c matrix op(X), row-major with
// leading dimension ld (X, c x r, when trans).
func checkMat(trans bool, r, c int, a []float64, ld int, badLd, short string) {
	if trans {
		r, c = c, r
	}
	if ld < max(1, c) {
		panic(badLd)
	}
	if r > 0 && c > 0 && len(a) < (r-1)*ld+c {
		panic(short)
	}
}

func transposed(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic(msgBadTrans)
}

// Dgemv computes y = alpha*op(A)*x + beta*y for the m x n matrix A: y is
// first scaled by beta (zeroed if beta == 0), then y[i] = FMA(alpha,
// Dot(A[i,:], x), y[i]) without transpose, or y = Axpy(alpha*x[i], A[i,:], y)
// for i = 0, …, m-1 with it.
func (BLAS) Dgemv(tA blas.Transpose, m, n int, alpha float64, a []float64, lda int, x []float64, incX int, beta float64, y []float64, incY int) {
	trans := transposed(tA)
	switch {
	case m < 0:
		panic(msgMLT0)
	case n < 0:
		panic(msgNLT0)
	case incX == 0:
		panic(msgZeroIncX)
	case incY == 0:
		panic(msgZeroIncY)
	}
	checkMat(false, m, n, a, lda, msgBadLdA, msgShortA)
	lx, ly := n, m
	if trans {
		lx, ly = m, n
	}
	if m == 0 || n == 0 {
		return
	}
	checkVec(lx, x, incX, msgShortX)
	checkVec(ly, y, incY, msgShortY)
	if alpha == 0 && beta == 1 {
		return
	}
	yg := gather(ly, y, incY)
	if incY != 1 {
		yg = append([]float64(nil), yg...)
	}
	if beta == 0 {
		clear(yg)
	} else if beta != 1 {
		Scal(beta, yg)
	}
	if alpha != 0 {
		xg := gather(lx, x, incX)
		for i := range m {
			row := a[i*lda : i*lda+n]
			if trans {
				Axpy(alpha*xg[i], row, yg)
			} else {
				yg[i] = math.FMA(alpha, Dot(row, xg), yg[i])
			}
		}
	}
	scatter(yg, y, incY)
}

// Dgemm computes C = alpha*op(A)*op(B) + beta*C with Gemm.
func (BLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	ta, tb := transposed(tA), transposed(tB)
	checkSizes(m, n, k)
	checkMat(ta, m, k, a, lda, msgBadLdA, msgShortA)
	checkMat(tb, k, n, b, ldb, msgBadLdB, msgShortB)
	checkMat(false, m, n, c, ldc, msgBadLdC, msgShortC)
	Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dsyrk computes the ul triangle of C = alpha*op(A)*op(A)ᵀ + beta*C with Syrk.
func (BLAS) Dsyrk(ul blas.Uplo, tA blas.Transpose, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if ul != blas.Upper && ul != blas.Lower {
		panic(msgBadUplo)
	}
	trans := transposed(tA)
	checkSizes(0, n, k)
	checkMat(trans, n, k, a, lda, msgBadLdA, msgShortA)
	checkMat(false, n, n, c, ldc, msgBadLdC, msgShortC)
	Syrk(ul == blas.Upper, trans, n, k, alpha, a, lda, beta, c, ldc)
}
