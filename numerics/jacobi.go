package numerics

import (
	"cmp"
	"math"
	"slices"
)

// jacobiMaxSweeps bounds the cyclic Jacobi iteration. Each sweep reduces
// the off-diagonal mass quadratically once the rotations are small
// (Schönhage 1964; Wilkinson, The Algebraic Eigenvalue Problem §5.14), so
// a matrix of any size that has not converged after 100 sweeps is not
// going to; in practice 6 to 12 suffice.
const jacobiMaxSweeps = 100

// tridiagonalJacobi is SymmetricEigen's fallback when the QL iteration
// does not converge (TestSymmetricEigenDsteqrStall): the cyclic Jacobi
// method with Rutishauser's threshold rules (Handbook for Automatic
// Computation II, contribution II/1) on the symmetric tridiagonal T with
// diagonal d and off-diagonal e, which fill in as the rotations proceed.
// It writes the eigenvalues of T into d in ascending order (ties keep
// their diagonal order), and the eigenvectors of T, transposed, into vt
// (n x n, row-major: row k belongs to d[k]); e is left as it was. It
// reports false at once for a NaN or an infinity in T, and if the sweeps
// run out.
//
// Jacobi is slower than QL (each sweep costs about 3n³ flops, n²/2 rotations
// of two rows and columns of T and two rows of the vectors, the columns
// strided; about 25 times SymmetricEigen's time at n = 500) but it converges on every
// symmetric matrix, and its rotations are relatively accurate even when
// T's entries span hundreds of binades, where the shifts of QL can cycle.
func tridiagonalJacobi(n int, d, e, vt []float64) bool {
	for _, x := range append(d[:n:n], e[:max(n-1, 0)]...) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false // no sweep would zero a NaN
		}
	}
	a := tridiagonalDense(d[:n], e)
	vt = vt[:n*n]
	clear(vt)
	for i := range n {
		vt[i*n+i] = 1
	}
	converged := false
	for sweep := 0; sweep < jacobiMaxSweeps && !converged; sweep++ {
		converged = true
		for p := 0; p < n-1; p++ {
			for q := p + 1; q < n; q++ {
				apq := a[p*n+q]
				if apq == 0 {
					continue
				}
				converged = false
				app, aqq := a[p*n+p], a[q*n+q]
				// After a few sweeps an element below an ulp of
				// both diagonal entries it couples is dropped: a
				// rotation would change neither (Rutishauser's rule).
				g := 100 * math.Abs(apq)
				if sweep > 3 && math.Abs(app)+g == math.Abs(app) && math.Abs(aqq)+g == math.Abs(aqq) {
					a[p*n+q], a[q*n+p] = 0, 0
					continue
				}
				c, s := jacobiRotation(app, aqq, apq)
				rotateSymmetric(a, n, p, q, c, s)
				rotatePair(vt[p*n:(p+1)*n], vt[q*n:(q+1)*n], c, s)
			}
		}
	}
	if !converged {
		return false
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(a[i*n+i], a[j*n+j]) })
	sorted := make([]float64, n*n)
	for k, i := range order {
		d[k] = a[i*n+i]
		copy(sorted[k*n:(k+1)*n], vt[i*n:(i+1)*n])
	}
	copy(vt, sorted)
	return true
}

// tridiagonalDense is the n x n symmetric matrix (row-major, both
// triangles) with diagonal d and off-diagonal e[:n-1], n = len(d).
func tridiagonalDense(d, e []float64) []float64 {
	n := len(d)
	a := make([]float64, n*n)
	for i := range n {
		a[i*n+i] = d[i]
		if i+1 < n {
			a[i*n+i+1], a[(i+1)*n+i] = e[i], e[i]
		}
	}
	return a
}

// jacobiRotation is the rotation that annihilates the off-diagonal entry
// apq of the 2 x 2 symmetric [[app, apq], [apq, aqq]] (apq != 0): c = cos θ, s =
// sin θ with t = s/c the smaller root of t² + 2θt - 1 = 0, θ = (aqq -
// app)/(2apq), so that |angle| <= π/4 (Rutishauser). When apq is below an
// ulp of aqq - app, θ² would overflow and t = apq/(aqq - app) to full
// precision.
var jacobiRotation = func(app, aqq, apq float64) (c, s float64) {
	h := aqq - app
	var t float64
	if g := 100 * math.Abs(apq); math.Abs(h)+g == math.Abs(h) {
		t = apq / h
	} else {
		theta := 0.5 * h / apq
		t = 1 / (math.Abs(theta) + math.Sqrt(1+theta*theta))
		if theta < 0 {
			t = -t
		}
	}
	c = 1 / math.Sqrt(1+t*t)
	return c, t * c
}

// rotateSymmetric applies the rotation J of jacobiRotation to the
// symmetric n x n A (both triangles stored) as A ← JᵀAJ in the (p, q)
// plane: apq becomes zero, app and aqq move by ∓t·apq, and the other
// entries of rows and columns p and q rotate (Rutishauser's updates with
// τ = s/(1 + c), which keep the small corrections apart from the entries).
func rotateSymmetric(a []float64, n, p, q int, c, s float64) {
	apq := a[p*n+q]
	t := s / c
	tau := s / (1 + c)
	a[p*n+p] -= t * apq
	a[q*n+q] += t * apq
	a[p*n+q], a[q*n+p] = 0, 0
	for r := range n {
		if r == p || r == q {
			continue
		}
		arp, arq := a[r*n+p], a[r*n+q]
		np := arp - s*(arq+tau*arp)
		nq := arq + s*(arp-tau*arq)
		a[r*n+p], a[p*n+r] = np, np
		a[r*n+q], a[q*n+r] = nq, nq
	}
}

// rotatePair rotates the rows x (p) and y (q) of the transposed vectors
// by the same plane rotation, x ← c·x - s·y, y ← s·x + c·y.
func rotatePair(x, y []float64, c, s float64) {
	for i := range x {
		xi, yi := x[i], y[i]
		x[i] = c*xi - s*yi
		y[i] = s*xi + c*yi
	}
}
