package numerics

import "math"

// SymmetricEigenvalues computes every eigenvalue of the symmetric n x n
// matrix A (row-major, its upper triangle read) into w in ascending order; a
// is overwritten. It reports false only if the QL/QR iteration fails to
// converge within LAPACK's 30n sweeps, which no finite input is known to
// cause (it converges on the matrices where SymmetricEigen's iteration with
// vectors stalls, TestSymmetricEigenDsteqrStall); it panics, like the
// kernels, on a negative n or slices too short.
//
// It is LAPACK's DSYEV without vectors: A is scaled into range as DSYEV
// scales it (see SymmetricEigen), reduced to a symmetric tridiagonal T =
// QᵀAQ by Householder reflections, and T's eigenvalues are computed by
// LAPACK's DSTERF (tridiagonalValues: gonum's Dsterf, O(n²), with the bug
// fixed that made it panic on a block it has to rescale). Below
// twoStageMin rows the reduction is LAPACK's blocked DSYTRD
// (tridiagonalize: DLATRD panels and a rank-2k update); from twoStageMin
// on it is LAPACK's two-stage DSYTRD_2STAGE (twoStageTridiagonal: dense to
// band by DSYTRD_SY2SB, band to tridiagonal by DSYTRD_SB2ST's bulge
// chasing; Haidar, Ltaief and Dongarra 2011), whose first stage runs on
// matrix products instead of DSYTRD's memory-bound matrix-vector ones. The
// reduction, n³·4/3 flops, is where the time goes; it runs on this
// package's kernels in a documented order, so the result is the same bits
// on every path and for every GOMAXPROCS. It is not gonum's Dsyev bit for
// bit: both are backward stable, the eigenvalues of A + E with ‖E‖_2 a
// small multiple of n·ε·‖A‖_2, and so agree to about that (Weyl's
// inequality; TestSymmetricEigenvaluesNearDsyev, TestTwoStageNearDsyev).
func SymmetricEigenvalues(n int, a, w []float64) (ok bool) {
	if n < 0 || len(a) < n*n || len(w) < n {
		panic("numerics: SymmetricEigenvalues: slice too short")
	}
	nb := 0
	if n >= twoStageMin {
		nb = bandWidth(n)
	}
	return symmetricEigenvalues(n, nb, a, w)
}

// symmetricEigenvalues is SymmetricEigenvalues with the one-stage reduction
// (tridiagonalize) when nb = 0, the two-stage one of bandwidth nb
// (twoStageTridiagonal) otherwise.
func symmetricEigenvalues(n, nb int, a, w []float64) (ok bool) {
	if n <= 1 {
		copy(w, a[:n]) // DSYEV's quick return: w = a, unscaled
		return true
	}
	sigma := scaleSymmetric(n, a)
	e := make([]float64, n-1)
	if nb == 0 {
		tridiagonalize(n, a, w[:n], e, make([]float64, n))
	} else {
		twoStageTridiagonal(n, nb, a, w[:n], e)
	}
	if !tridiagonalValues(n, w, e) {
		return false
	}
	unscale(w[:n], sigma)
	return true
}

// Blocking of the reduction. tridiagBlock is the number of columns of a
// DLATRD panel (LAPACK's ilaenv gives 32 for DSYTRD): a larger panel makes
// fewer passes of the rank-2k update over the trailing matrix but more of
// the panel's own Level-2 corrections, O(nb·n²) in all. Changing it changes
// the bits of every matrix of more than tridiagBlock+1 rows.
const tridiagBlock = 32

// tridiagonalize reduces the symmetric n x n matrix A (row-major, upper
// triangle; n >= 1) to the tridiagonal T = QᵀAQ with diagonal d and
// off-diagonal e (len n-1), Q = H_0 H_1 … H_{n-2}, H_i = I - tau_i v_i v_iᵀ.
// v_i is zero before i+1, one at i+1, and a[i*n+j] for j > i+1, stored in
// row i of the upper triangle; a[i*n+i+1] holds e_i, a[i*n+i] d_i.
//
// It is LAPACK's DSYTRD with uplo = 'L' on the column-major view of a, in
// which row i of the upper triangle is the contiguous column i of the lower
// one. Panels of nb = tridiagBlock columns (nb = min(nb, m-1) for the
// trailing m x m matrix, so that the last panel ends at the last column and
// every n takes the same path) are reduced by panel (DLATRD), which leaves
// the reflectors V and the matrix W of the update A <- A - VWᵀ - WVᵀ of the
// trailing matrix, applied as one product of Gemm's order,
//
//	A[i][j] = A[i][j] + s, s the FMA chain over l < 2nb of Xᵀ[i][l]·(-Y[l][j]),
//
// X = [V; W] and Y = [W; V] stacked by rows, for j >= i (the upper
// triangle). Each element is computed by one goroutine in that order.
func tridiagonalize(n int, a, d, e, tau []float64) {
	var p panel
	for s := 0; s < n-1; {
		m := n - s
		nb := min(tridiagBlock, m-1)
		p.reduce(a[s*n+s:], n, m, nb, e[s:], tau[s:])
		if m2 := m - nb; m2 > 0 {
			p.update(a[s*n+s:], n, m, nb)
		}
		for i := range nb {
			d[s+i] = a[(s+i)*n+s+i]
			a[(s+i)*n+s+i+1] = e[s+i]
		}
		s += nb
	}
	d[n-1] = a[n*n-1]
}

// panel is the workspace of one DLATRD panel: W (nb rows of the trailing
// size m, row k holding column k of LAPACK's W), the two small vectors of
// its corrections, and the stacked operands of the rank-2k update.
type panel struct {
	w, t1, t2, x, y []float64
	symv            symvWork
}

// reduce is LAPACK's DLATRD (uplo = 'L') on the trailing m x m matrix P
// (P[r][c] = a[r*lda+c], c >= r): it reduces its first nb (< m) columns,
// writing e[i] and tau[i] for i < nb, the reflector v_i into row i of P
// (P[i][i+1] = 1), and the rows of W. Column i (global row i of the upper
// triangle) is first brought up to date with the earlier reflectors of the
// panel,
//
//	P[i][i:] -= W_k[i]·v_k[i:] for k = 0, …, i-1, then -= v_k[i]·W_k[i:] (Axpy),
//
// then its reflector is generated (householder) and
//
//	W_i = P_{i+1:} v                    (symv, the original trailing matrix)
//	t1_k = W_k·v, t2_k = v_k·v          (Dot, k < i)
//	W_i -= t1_k·v_k, then -= t2_k·W_k   (Axpy, k increasing)
//	W_i = tau·W_i (Scal), W_i += (-tau/2 · W_i·v)·v (Dot, Axpy),
//
// every vector from index i+1 to m-1.
func (p *panel) reduce(a []float64, lda, m, nb int, e, tau []float64) {
	p.w = grow(p.w, nb*m)
	p.t1, p.t2 = grow(p.t1, nb), grow(p.t2, nb)
	row := func(r int) []float64 { return a[r*lda : r*lda+m] }
	wrow := func(k int) []float64 { return p.w[k*m : (k+1)*m] }
	for i := range nb {
		ai := row(i)[i:]
		for k := range i {
			Axpy(-wrow(k)[i], row(k)[i:], ai)
		}
		for k := range i {
			Axpy(-row(k)[i], wrow(k)[i:], ai)
		}
		beta, t := householder(ai[1], ai[2:])
		e[i], tau[i] = beta, t
		ai[1] = 1
		v, wi := ai[1:], wrow(i)[i+1:]
		p.symv.upper(m-i-1, a[(i+1)*lda+i+1:], lda, v, wi)
		for k := range i {
			p.t1[k] = Dot(wrow(k)[i+1:], v)
			p.t2[k] = Dot(row(k)[i+1:], v)
		}
		for k := range i {
			Axpy(-p.t1[k], row(k)[i+1:], wi)
		}
		for k := range i {
			Axpy(-p.t2[k], wrow(k)[i+1:], wi)
		}
		Scal(t, wi)
		Axpy(-0.5*t*Dot(wi, v), v, wi)
	}
}

// update applies A <- A - VWᵀ - WVᵀ to the trailing (m-nb) x (m-nb) matrix
// after the panel reduce left in a and p.w, as one product (see
// tridiagonalize).
func (p *panel) update(a []float64, lda, m, nb int) {
	m2 := m - nb
	p.x, p.y = grow(p.x, 2*nb*m2), grow(p.y, 2*nb*m2)
	for k := range nb {
		v, w := a[k*lda+nb:k*lda+m], p.w[k*m+nb:(k+1)*m]
		copy(p.x[k*m2:], v)
		copy(p.x[(nb+k)*m2:], w)
		copy(p.y[k*m2:], w)
		copy(p.y[(nb+k)*m2:], v)
	}
	product(upper, m2, m2, 2*nb, -1, matrix{d: p.x, rs: 1, cs: m2}, matrix{d: p.y, rs: m2, cs: 1}, 1, a[nb*lda+nb:], lda)
}

// grow returns b resized to n elements, reallocated if too small.
func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// householder is LAPACK's DLARFG: it returns beta and tau such that
// (I - tau·v·vᵀ)·(alpha, x) = (beta, 0) with v = (1, x'), overwriting x
// with x'. tau = 0 (H = I) when x = 0, else beta = -sign(alpha)·‖(alpha,
// x)‖ and tau = (beta - alpha)/beta, in [1, 2]. A beta below
// safmin = 2^-1022/ε is recomputed from (alpha, x) scaled up by 1/safmin
// (at most 20 times), as DLARFG does, so that x' keeps its digits.
func householder(alpha float64, x []float64) (beta, tau float64) {
	xnorm := Nrm2(x)
	if xnorm == 0 {
		return alpha, 0
	}
	beta = -math.Copysign(math.Hypot(alpha, xnorm), alpha)
	const safmin = dlamchS / dlamchE
	knt := 0
	if math.Abs(beta) < safmin {
		for {
			knt++
			Scal(1/safmin, x)
			beta /= safmin
			alpha /= safmin
			if math.Abs(beta) >= safmin || knt >= 20 {
				break
			}
		}
		xnorm = Nrm2(x)
		beta = -math.Copysign(math.Hypot(alpha, xnorm), alpha)
	}
	tau = (beta - alpha) / beta
	Scal(1/(alpha-beta), x)
	for range knt {
		beta *= safmin
	}
	return beta, tau
}

// symvParts is the number of row blocks the symmetric product is cut into,
// whatever GOMAXPROCS is, once it is large enough to share (see
// symvWork.upper): enough for the cores of a workstation, and few enough
// that adding up the blocks' partial products (symvParts·m) stays small
// next to the m²/2 of the product. Changing it changes the bits of every
// matrix of more than symvMinRows rows.
const symvParts = 8

// symvMinRows is the size from which the symmetric product is cut into
// symvParts blocks: m²/2 >= minWork, the work that is worth a goroutine.
var symvMinRows = int(math.Ceil(math.Sqrt(2 * minWork)))

// symvWork holds the partial products of the row blocks.
type symvWork struct{ parts []float64 }

// upper sets w = A·v for the symmetric m x m matrix A whose upper triangle
// is row-major in a with leading dimension lda, reading each element once.
//
// Order: the rows are cut into the blocks [r_b, r_{b+1}) of split (equal
// total row length), b < symvParts, or one block when m < symvMinRows,
// which depends on m alone. Block b keeps a partial product u_b, zero at
// first; for each of its rows j in increasing order, u_b[j] += Dot(A[j][j:],
// v[j:]) and then Axpy(v[j], A[j][j+1:], u_b[j+1:]). Then w[j] = u_0[j] +
// u_1[j] + … over the blocks b with r_b <= j, added in increasing b. The
// blocks run on the goroutines workers allows, consecutive blocks together,
// which changes nothing in what each computes.
func (s *symvWork) upper(m int, a []float64, lda int, v, w []float64) {
	v, w = v[:m], w[:m]
	parts := 1
	if m >= symvMinRows {
		parts = symvParts
	}
	cuts := split(m, parts, 1, func(i int) float64 { return float64(m - i) })
	parts = len(cuts) - 1
	s.parts = grow(s.parts, (parts-1)*m)
	// Block 0 writes w itself, block b > 0 its part of s.parts.
	out := func(b int) []float64 {
		if b == 0 {
			return w
		}
		return s.parts[(b-1)*m : b*m]
	}
	run := func(b int) {
		u := out(b)
		clear(u[cuts[b]:])
		for j := cuts[b]; j < cuts[b+1]; j++ {
			row := a[j*lda+j : j*lda+m]
			u[j] += Dot(row, v[j:])
			Axpy(v[j], row[1:], u[j+1:])
		}
	}
	g := min(parts, workers(float64(m)*float64(m)/2))
	parallel(g, func(t int) {
		for b := t * parts / g; b < (t+1)*parts/g; b++ {
			run(b)
		}
	})
	for b := 1; b < parts; b++ {
		u := out(b)
		for j := cuts[b]; j < m; j++ {
			w[j] += u[j]
		}
	}
}

// formQ writes Q = H_0 H_1 … H_{n-2} of tridiagonalize (n >= 2; the
// reflectors in the rows of a, a[i*n+i+1] not read, and tau) into z
// (n x n, row-major), as LAPACK's DORGTR (DORGQR: DLARFT, DLARFB) forms
// it: z = I, then for the blocks of tridiagBlock reflectors [s, s+b), from
// the last to the first, z[s+1:][s+1:] = (I - V·T·Vᵀ)·z[s+1:][s+1:], V the
// m x b matrix of v_s, …, v_{s+b-1} on rows s+1, …, n-1 (m = n-s-1) and T
// the b x b upper triangular factor with H_s ⋯ H_{s+b-1} = I - V·T·Vᵀ
// (DLARFT, forward and columnwise: T[i][i] = tau_i, T[:i][i] =
// T[:i][:i]·t with t_j = -tau_i·(v_j·v_i), Dot, the product summed in
// increasing k). The update is three products of Gemm's order: Y = Vᵀ·z
// (b x m), Y' = T·Y, z = z - V·Y'.
func formQ(n int, a, tau, z []float64) {
	z = z[:n*n]
	clear(z)
	for i := range n {
		z[i*n+i] = 1
	}
	nr := n - 1 // reflectors
	b0 := min(tridiagBlock, nr)
	vt := make([]float64, b0*(n-1))
	y, ty := make([]float64, b0*(n-1)), make([]float64, b0*(n-1))
	t, tmp := make([]float64, b0*b0), make([]float64, b0)
	for s := (nr - 1) / tridiagBlock * tridiagBlock; s >= 0; s -= tridiagBlock {
		b, m := min(tridiagBlock, nr-s), n-s-1
		// Vᵀ: row k is v_{s+k} on s+1, …, n-1: zero, one at s+k+1, a after.
		v := vt[:b*m]
		clear(v)
		for k := range b {
			v[k*m+k] = 1
			copy(v[k*m+k+1:(k+1)*m], a[(s+k)*n+s+k+2:(s+k+1)*n])
		}
		blockReflector(b, m, v, tau[s:], t, tmp)
		zt := z[(s+1)*n+s+1:]
		Gemm(false, false, b, m, m, 1, v, m, zt, n, 0, y[:b*m], m)
		Gemm(false, false, b, m, b, 1, t[:b*b], b, y[:b*m], m, 0, ty[:b*m], m)
		Gemm(true, false, m, m, b, -1, v, m, ty[:b*m], m, 1, zt, n)
	}
}
