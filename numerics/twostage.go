package numerics

import (
	"math"
	"sync"
	"sync/atomic"
)

// The two-stage reduction of SymmetricEigenvalues from twoStageMin rows on:
// LAPACK's DSYTRD_2STAGE without Q, that is DSYTRD_SY2SB (dense to band,
// reduceToBand) then DSYTRD_SB2ST (band to tridiagonal by bulge chasing,
// lowerBand.tridiagonalize, on DSB2ST_KERNELS), after Haidar, Ltaief and
// Dongarra, "Parallel reduction to condensed forms for symmetric eigenvalue
// problems using aggregated fine-grained and memory-aware kernels" (SC
// 2011). The one-stage DSYTRD (tridiagonalize) spends half its n³·4/3 flops
// in symmetric matrix-vector products that stream the trailing matrix from
// memory for every column; the first stage here does the same flops as
// matrix products on panels of nb columns (Gemm's kernels; one pass over
// the trailing matrix per panel, not per column), the second about 6·n²·nb
// flops on a band of n·(2nb+1) elements.

// bandWidth returns the bandwidth nb of the band form for an n x n matrix
// (LAPACK's KD): a wider band makes the first stage's products richer and
// its passes over the trailing matrix fewer (n/nb of them), the second
// stage's bulge chasing dearer (about 6·n²·nb flops). 33 and 65 make the
// vectors of the chase 32 and 64 elements long, whole lanes of Axpy's
// kernels. Measured (BenchmarkSymmetricEigenvalues, CPU time), 33 is faster
// up to n = 2000, 65 at 5000, about equal at 3000. Changing it changes the
// bits of every matrix of twoStageMin rows or more.
func bandWidth(n int) int {
	if n < 2500 {
		return 33
	}
	return 65
}

// twoStageMin is the size from which SymmetricEigenvalues takes the
// two-stage reduction: measured in CPU time, the one-stage one is faster
// at n = 800 (about 130 ms against 155), slower at 1000 (250 against 190).
// Changing it changes the bits of the matrices between the old and the new
// value.
const twoStageMin = 900

// Blocking of the symmetric product Y = A·V of the first stage (symm):
// the trailing matrix is cut into tiles of symmTile x symmTile of its upper
// triangle, whose rows of tiles are shared by symmParts parts, each with its
// own partial product, whatever GOMAXPROCS is. Changing either changes the
// bits of every matrix of twoStageMin rows or more.
const (
	symmTile  = 256
	symmParts = 4
)

// twoStageTridiagonal reduces the symmetric n x n matrix A (row-major,
// upper triangle read; n >= 1) to a symmetric tridiagonal matrix with the
// same eigenvalues, diagonal d (len n) and off-diagonal e (len n-1), by
// the two stages of bandwidth nb >= 1: reduceToBand, then
// lowerBand.tridiagonalize. a is overwritten.
func twoStageTridiagonal(n, nb int, a, d, e []float64) {
	reduceToBand(n, nb, a)
	band := newLowerBand(n, nb, a)
	band.tridiagonalize(d, e)
}

// reduceToBand is LAPACK's DSYTRD_SY2SB with uplo = 'L' on the column-major
// view of a (row i of the upper triangle is column i of the lower one): it
// reduces the symmetric n x n A (upper triangle) to the band B = QᵀAQ of
// bandwidth nb, B[i][j] = a[i*n+j] for i <= j <= i+nb; the rest of the
// upper triangle is overwritten by reflectors. For each panel, the rows
// [s, s+nb) and columns [s+nb, n) of the upper triangle (m = n-s-nb >= 1
// columns), in s = 0, nb, 2nb, …:
//
//   - the panel is factored as L·Q̃ (LAPACK's DGEQR2 on its transpose, the
//     m x nb block below the band): for k < pk = min(nb, m), reflector
//     H_k = I - tau_k·v_k·v_kᵀ (householder) annihilates row k after column
//     k, v_k stored in it, then is applied to the later rows r of the panel,
//     row_r[k:] -= (tau_k·(row_r[k] + Dot(row_r[k+1:], v_k[1:])))·v_k (the
//     1 at v_k[0] applied apart, then Axpy);
//   - T (pk x pk) with H_0 ⋯ H_{pk-1} = I - V·T·Vᵀ (DLARFT, blockReflector);
//   - Yᵀ = Vᵀ·A₂₂ by symmWork.product (A₂₂ the trailing m x m matrix), then
//     by Gemm in this order Xᵀ = Tᵀ·Yᵀ, M = Vᵀ·X, Z = Tᵀ·M and
//     Wᵀ = Xᵀ - ½·Zᵀ·Vᵀ (the transposes of X = A₂₂VT, W = X - ½·V·Z);
//   - A₂₂ <- A₂₂ - V·Wᵀ - W·Vᵀ on its upper triangle as one product of
//     Gemm's order over the 2pk rows of [Vᵀ; Wᵀ] and [Wᵀ; Vᵀ], as
//     tridiagonalize's update.
//
// This is QᵀA₂₂Q with Q = I - V·T·Vᵀ: X = A₂₂VT, and VWᵀ + WVᵀ = VXᵀ + XVᵀ
// - V(TᵀVᵀA₂₂VT)Vᵀ. Every product is on this package's kernels and cut
// independently of GOMAXPROCS, so the band is the same bits everywhere.
func reduceToBand(n, nb int, a []float64) {
	if n-nb < 1 {
		return // already a band
	}
	var s2b sy2sb
	for s := 0; n-s-nb >= 1; s += nb {
		s2b.panel(n, nb, a[s*n+s:], n-s-nb)
	}
}

// sy2sb is the workspace of reduceToBand.
type sy2sb struct {
	vt, t, tmp, m, z, s1, s2 []float64
	symm                     symmWork
}

// panel reduces the panel whose diagonal element is a[0], in the n x n
// matrix (leading dimension n), the trailing matrix being the m x m one
// from a[nb*n+nb].
func (w *sy2sb) panel(n, nb int, a []float64, m int) {
	pk := min(nb, m)
	p := func(r int) []float64 { return a[r*n+nb : r*n+nb+m] } // row r of the panel
	tau := grow(w.tmp, 2*pk)
	taus, tmp := tau[:pk], tau[pk:]
	for k := range pk {
		rk := p(k)
		beta, t := householder(rk[k], rk[k+1:])
		rk[k] = beta
		taus[k] = t
		if t == 0 {
			continue
		}
		for r := k + 1; r < nb; r++ {
			rr := p(r)
			f := t * (rr[k] + Dot(rr[k+1:], rk[k+1:]))
			rr[k] -= f
			Axpy(-f, rk[k+1:], rr[k+1:])
		}
	}
	w.tmp = tau
	// Vᵀ: row k is v_k, zero before k, one at k.
	vt := grow(w.vt, pk*m)
	w.vt = vt
	clear(vt)
	for k := range pk {
		vt[k*m+k] = 1
		copy(vt[k*m+k+1:(k+1)*m], p(k)[k+1:])
	}
	t := grow(w.t, pk*pk)
	w.t = t
	blockReflector(pk, m, vt, taus, t, tmp)
	a22 := a[nb*n+nb:]
	// [Vᵀ; Wᵀ] and [Wᵀ; Vᵀ], 2pk x m; Wᵀ is first Yᵀ = Vᵀ·A₂₂, then Xᵀ.
	s1, s2 := grow(w.s1, 2*pk*m), grow(w.s2, 2*pk*m)
	w.s1, w.s2 = s1, s2
	copy(s1, vt)
	yt, xt := s2[:pk*m], s1[pk*m:]
	w.symm.product(m, pk, a22, n, vt, yt)
	Gemm(true, false, pk, m, pk, 1, t, pk, yt, m, 0, xt, m)
	mm := grow(w.m, pk*pk)
	w.m = mm
	Gemm(false, true, pk, pk, m, 1, vt, m, xt, m, 0, mm, pk)
	z := grow(w.z, pk*pk)
	w.z = z
	Gemm(true, false, pk, pk, pk, 1, t, pk, mm, pk, 0, z, pk)
	Gemm(true, false, pk, m, pk, -0.5, z, pk, vt, m, 1, xt, m) // Wᵀ
	copy(s2, xt)
	copy(s2[pk*m:], vt)
	product(upper, m, m, 2*pk, -1, matrix{d: s1, rs: 1, cs: m}, matrix{d: s2, rs: m, cs: 1}, 1, a22, n)
}

// blockReflector is LAPACK's DLARFT (forward, columnwise) as formQ uses
// it: the b x b upper triangular T (row-major) with H_0 ⋯ H_{b-1} =
// I - V·T·Vᵀ, the reflectors v_k in the rows of vt (b x m) and tau[k]:
// T[i][i] = tau_i, T[:i][i] = T[:i][:i]·t with t_j = -tau_i·(v_j·v_i) (Dot),
// the product summed in increasing k. tmp holds b elements.
func blockReflector(b, m int, vt, tau, t, tmp []float64) {
	clear(t[:b*b])
	for i := range b {
		t[i*b+i] = tau[i]
		for j := range i {
			tmp[j] = -tau[i] * Dot(vt[j*m:(j+1)*m], vt[i*m:(i+1)*m])
		}
		for j := range i {
			sum := 0.0
			for k := j; k < i; k++ {
				sum += t[j*b+k] * tmp[k]
			}
			t[j*b+i] = sum
		}
	}
}

// symmWork holds the partial products and the diagonal tiles of the
// symmetric product of reduceToBand.
type symmWork struct {
	parts []float64
	diag  [symmParts][]float64
}

// product sets yt = Vᵀ·A (k x m, row-major), the transpose of A·V, for the
// symmetric m x m matrix A whose upper triangle is row-major in a with
// leading dimension lda, V given as its transpose vt (k x m), reading each
// element of the triangle once.
//
// Order: A is cut into tiles A_IJ of symmTile rows and columns (the last
// shorter), I <= J. The rows of tiles are cut into symmParts parts of about
// equal numbers of tiles (split), each with its partial product Yᵀ_p, zero
// at first. Part p runs, for each of its rows of tiles I in increasing
// order and each J = I, I+1, … in increasing order, Yᵀ_p[I] +=
// Vᵀ[I]·A_II (the diagonal tile made whole by symmetry) when J = I, else
// Yᵀ_p[J] += Vᵀ[I]·A_IJ and then Yᵀ_p[I] += Vᵀ[J]·A_IJᵀ: each a product of
// Gemm's order (k <= symmTile, one FMA chain added to Yᵀ_p), Vᵀ[I] and
// Yᵀ_p[I] being the columns of tile I. Then yt = Yᵀ_0 + Yᵀ_1 + … added in
// increasing p.
// The parts run on the goroutines workers allows, consecutive parts
// together, which changes nothing in what each computes.
func (s *symmWork) product(m, k int, a []float64, lda int, vt, yt []float64) {
	nt := (m + symmTile - 1) / symmTile
	cuts := split(nt, symmParts, 1, func(i int) float64 { return float64(nt - i) })
	parts := len(cuts) - 1
	s.parts = grow(s.parts, (parts-1)*m*k)
	out := func(p int) []float64 {
		if p == 0 {
			return yt[:m*k]
		}
		return s.parts[(p-1)*m*k : p*m*k]
	}
	run := func(p int) {
		yp := out(p)
		for l := range k {
			clear(yp[l*m+cuts[p]*symmTile : (l+1)*m])
		}
		for I := cuts[p]; I < cuts[p+1]; I++ {
			i0 := I * symmTile
			ti := min(symmTile, m-i0)
			d := grow(s.diag[p], ti*ti)
			s.diag[p] = d
			mirrorTile(ti, a[i0*lda+i0:], lda, d)
			vi := matrix{d: vt[i0:], rs: m, cs: 1}
			gemmSerial(k, ti, ti, vi, matrix{d: d, rs: ti, cs: 1}, yp[i0:], m)
			for J := I + 1; J < nt; J++ {
				j0 := J * symmTile
				tj := min(symmTile, m-j0)
				aij := a[i0*lda+j0:]
				gemmSerial(k, tj, ti, vi, matrix{d: aij, rs: lda, cs: 1}, yp[j0:], m)
				gemmSerial(k, ti, tj, matrix{d: vt[j0:], rs: m, cs: 1}, matrix{d: aij, rs: 1, cs: lda}, yp[i0:], m)
			}
		}
	}
	g := min(parts, workers(float64(m)*float64(m)*float64(k)))
	parallel(g, func(t int) {
		for p := t * parts / g; p < (t+1)*parts/g; p++ {
			run(p)
		}
	})
	for p := 1; p < parts; p++ {
		u := out(p)
		for l := range k {
			for i := l*m + cuts[p]*symmTile; i < (l+1)*m; i++ {
				yt[i] += u[i]
			}
		}
	}
}

// mirrorTile writes the symmetric t x t matrix whose upper triangle is
// row-major in a (leading dimension lda) whole into d (t x t), copying the
// upper triangle by rows and transposing it into the lower one by blocks
// of 8 x 8.
func mirrorTile(t int, a []float64, lda int, d []float64) {
	for i := range t {
		copy(d[i*t+i:(i+1)*t], a[i*lda+i:i*lda+t])
	}
	const bs = 8
	for i0 := 0; i0 < t; i0 += bs {
		for j0 := i0; j0 < t; j0 += bs {
			for i := i0; i < min(i0+bs, t); i++ {
				for j := max(j0, i+1); j < min(j0+bs, t); j++ {
					d[j*t+i] = d[i*t+j]
				}
			}
		}
	}
}

// gemmSerial adds op(A)·op(B) (m x k times k x n) to C on the calling
// goroutine, in Gemm's order with alpha = beta = 1.
func gemmSerial(m, n, k int, a, b matrix, c []float64, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	columns(active.gemm, full, m, 0, n, k, 1, a, b, false, c, ldc)
}

// lowerBand is a symmetric band matrix of bandwidth nb during the bulge
// chasing, its lower triangle stored by rows: element (r, c), r-2nb <= c
// <= r, at d[r*ld + c-r+2nb], ld = 2nb+1, room for the bulges, which
// reach 2nb-1 below the diagonal (LAPACK's DSB2ST stores its columns with
// the same room).
type lowerBand struct {
	n, nb, ld int
	d         []float64
}

// newLowerBand copies the band of bandwidth nb of the symmetric n x n A
// (upper triangle, row-major: (r, c) = a[c*n+r] for c <= r) into a
// lowerBand.
func newLowerBand(n, nb int, a []float64) *lowerBand {
	ld := 2*nb + 1
	b := &lowerBand{n: n, nb: nb, ld: ld, d: make([]float64, n*ld)}
	for r := range n {
		for c := max(0, r-nb); c <= r; c++ {
			b.d[r*ld+c-r+2*nb] = a[c*n+r]
		}
	}
	return b
}

// row returns the elements (r, c0), …, (r, c1-1), c1 <= r+1.
func (b *lowerBand) row(r, c0, c1 int) []float64 {
	at := r*b.ld + c0 - r + 2*b.nb
	return b.d[at : at+c1-c0]
}

// at returns the index of (r, c), c <= r, in d.
func (b *lowerBand) at(r, c int) int { return r*b.ld + c - r + 2*b.nb }

// tridiagonalize is LAPACK's DSYTRD_SB2ST without Q (DSB2ST_KERNELS, uplo
// = 'L'), one sweep after the other (the order of one thread): sweep c =
// 0, …, n-3 annihilates column c below its subdiagonal with a reflector on
// rows p..q = c+1..min(c+nb, n-1) (type 1: generated by householder from
// the column, then applied on both sides of the diagonal block [p, q],
// twoSided), then chases the bulge down: for each next block of rows
// r0..r1 = q+1..min(q+nb, n-1) (type 2), the reflector is applied from the
// right to the block's columns p..q (rightReflect), a new reflector
// annihilates the block's column p below r0 and is applied from the left
// to the columns p+1..q (leftReflect), then on both sides of the diagonal
// block [r0, r1] (type 3), and the chase goes on with it. A reflector with
// tau = 0 is the identity and is not applied (as DLARFX, DLARFY skip it).
// The diagonal and subdiagonal are then d and e.
func (b *lowerBand) tridiagonalize(d, e []float64) {
	n, nb := b.n, b.nb
	if nb > 1 && n > 2 {
		sweeps := n - 2
		g := min(chaseWorkers, sweeps, workers(6*float64(n)*float64(n)*float64(nb)))
		var pr progress
		if g > 1 {
			pr.done = make([]atomic.Int64, sweeps)
			pr.cond.L = &pr.mu
		}
		parallel(g, func(t int) {
			v, w, f := make([]float64, nb), make([]float64, nb), make([]float64, nb*nb)
			for c := t; c < sweeps; c += g {
				b.sweep(c, v, w, f, &pr)
			}
		})
	}
	for i := range n {
		d[i] = b.d[b.at(i, i)]
		if i+1 < n {
			e[i] = b.d[b.at(i+1, i)]
		}
	}
}

// chaseWorkers is the most goroutines the bulge chasing runs on.
const chaseWorkers = 4

// progress records how many steps each sweep has done, when sweeps run on
// several goroutines (done is nil on one).
type progress struct {
	mu   sync.Mutex
	cond sync.Cond
	done []atomic.Int64
}

// wait returns once sweep c has done k steps, or all of its steps. A step
// takes microseconds, so it polls a while before it sleeps.
func (pr *progress) wait(c, k int) {
	if pr.done == nil || c < 0 {
		return
	}
	for range 2000 {
		if pr.done[c].Load() >= int64(k) {
			return
		}
	}
	pr.mu.Lock()
	for pr.done[c].Load() < int64(k) {
		pr.cond.Wait()
	}
	pr.mu.Unlock()
}

// step records that sweep c has done k steps; math.MaxInt marks it done.
func (pr *progress) step(c, k int) {
	if pr.done == nil {
		return
	}
	pr.done[c].Store(int64(k))
	pr.mu.Lock() // a waiter between its test and its sleep holds mu
	//lint:ignore SA2001 the empty section orders the store above before a waiter's sleep
	pr.mu.Unlock()
	pr.cond.Broadcast()
}

// sweep runs sweep c of tridiagonalize: step 0 (type 1) on the rows
// c+1..min(c+nb, n-1) of the band's storage, step k >= 1 (types 2 and 3)
// on the rows c+1+k·nb..min(c+(k+1)·nb, n-1). Step k of sweep c-1 touches
// rows up to c+k·nb, so step k of sweep c may run once sweep c-1 has done
// its steps 0..k+1, and then touches no row a later step of sweep c-1
// will: every element undergoes the same operations in the same order as
// when the sweeps run one after the other, whichever goroutines run them
// (LAPACK's DSYTRD_SB2ST runs its sweeps so on several threads).
func (b *lowerBand) sweep(c int, v, w, f []float64, pr *progress) {
	n, nb := b.n, b.nb
	pr.wait(c-1, 2)
	p, q := c+1, min(c+nb, n-1)
	tau := b.reflector(c, p, q, v[:q-p+1])
	b.twoSided(p, q, tau, v[:q-p+1], w, f)
	k := 1
	for ; q+1 < n; k++ {
		pr.step(c, k)
		pr.wait(c-1, k+2)
		r0, r1 := q+1, min(q+nb, n-1)
		b.rightReflect(r0, r1, p, q, tau, v[:q-p+1])
		tau = b.reflector(p, r0, r1, v[:r1-r0+1])
		b.leftReflect(r0, r1, p+1, q, tau, v[:r1-r0+1], w)
		b.twoSided(r0, r1, tau, v[:r1-r0+1], w, f)
		p, q = r0, r1
	}
	pr.step(c, math.MaxInt)
}

// reflector generates the reflector annihilating (p+1, c), …, (q, c) into
// (p, c) (householder), writing beta there and zeros below; v gets the
// reflector (v[0] = 1) and tau is returned.
func (b *lowerBand) reflector(c, p, q int, v []float64) (tau float64) {
	for i := p; i <= q; i++ {
		v[i-p] = b.d[b.at(i, c)]
	}
	beta, tau := householder(v[0], v[1:])
	v[0] = 1
	b.d[b.at(p, c)] = beta
	for i := p + 1; i <= q; i++ {
		b.d[b.at(i, c)] = 0
	}
	return tau
}

// twoSided applies H = I - tau·v·vᵀ on both sides of the symmetric
// diagonal block [p, q] of l = q-p+1 rows (LAPACK's DLARFY), indices
// relative to p: the block is copied whole into f (l x l), then
//
//	Axpy(v[r], f[r], w) for r = 0, …, l-1 (w = A·v, from zero),
//	Scal(tau, w), s = Dot(w, v), Axpy(-tau/2·s, v, w),
//	Axpy(-v[r], w, f[r]) and then Axpy(-w[r], v, f[r]) for each row r,
//
// and the lower triangle of f is copied back (the upper one is the same
// arithmetic on the transposed elements, on whole rows, which Axpy runs on
// vectors).
func (b *lowerBand) twoSided(p, q int, tau float64, v, w, f []float64) {
	if tau == 0 {
		return
	}
	l := q - p + 1
	v, w, f = v[:l], w[:l], f[:l*l]
	for r := range l {
		ar := b.row(p+r, p, p+r+1)
		copy(f[r*l:r*l+r+1], ar)
		for j, x := range ar[:r] {
			f[j*l+r] = x
		}
	}
	clear(w)
	for r, vr := range v {
		Axpy(vr, f[r*l:(r+1)*l], w)
	}
	Scal(tau, w)
	Axpy(-0.5*tau*Dot(w, v), v, w)
	for r := range l {
		fr := f[r*l : (r+1)*l]
		Axpy(-v[r], w, fr)
		Axpy(-w[r], v, fr)
		copy(b.row(p+r, p, p+r+1), fr[:r+1])
	}
}

// rightReflect applies H = I - tau·v·vᵀ (v on columns p..q) from the right
// to the rows r0..r1: each row x = A[r][p:q+1], in increasing r,
// Axpy(-tau·Dot(x, v), v, x).
func (b *lowerBand) rightReflect(r0, r1, p, q int, tau float64, v []float64) {
	if tau == 0 {
		return
	}
	for r := r0; r <= r1; r++ {
		x := b.row(r, p, q+1)
		Axpy(-tau*Dot(x, v), v, x)
	}
}

// leftReflect applies H = I - tau·v·vᵀ (v on rows r0..r1) from the left to
// the columns c0..c1 of those rows: w = 0, Axpy(v[r], A[r][c0:c1+1], w) for
// r increasing, then Axpy(-tau·v[r], w, A[r][c0:c1+1]).
func (b *lowerBand) leftReflect(r0, r1, c0, c1 int, tau float64, v, w []float64) {
	if tau == 0 || c0 > c1 {
		return
	}
	w = w[:c1-c0+1]
	clear(w)
	for r := r0; r <= r1; r++ {
		Axpy(v[r-r0], b.row(r, c0, c1+1), w)
	}
	for r := r0; r <= r1; r++ {
		Axpy(-tau*v[r-r0], w, b.row(r, c0, c1+1))
	}
}
