package numerics

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
)

// SymmetricEigen computes every eigenvalue of the symmetric n x n matrix A
// (row-major, its upper triangle read) into w in ascending order, and
// overwrites a with the orthonormal eigenvectors, column k belonging to
// w[k]. It reports false only if both the QL/QR iteration and the Jacobi
// fallback fail to converge, which no finite input is known to cause.
//
// It is LAPACK's DSYEV with vectors on this package's kernels: A scaled
// into range (scaleSymmetric), reduced to tridiagonal form T = QᵀAQ by
// SymmetricEigenvalues' reduction (tridiagonalize), Q formed from its
// reflectors as DORGTR forms it (formQ, on Gemm), then the implicit QL/QR
// iteration, LAPACK's DSTEQR in gonum's row-major translation. Below
// twoStageMin rows the eigenvalues are those of SymmetricEigenvalues' T,
// by another iteration (DSTEQR, not DSTERF): equal to rounding; from
// twoStageMin on, SymmetricEigenvalues reduces A in two stages, to another
// T, and the two agree to their backward errors. The result is the same bits on
// every path and for every GOMAXPROCS. It is not gonum's Dsyev bit for bit (this function
// was until the reduction came to numerics), but an eigen-decomposition to
// LAPACK's own test threshold (TestSymmetricEigenAccurate). Where the
// QL iteration stalls, which DSTEQR does on rare matrices whose entries span
// hundreds of binades (TestSymmetricEigenDsteqrStall), the eigenvectors of
// T come from the cyclic Jacobi method instead (tridiagonalJacobi: about
// 25 times slower, 6 s at n = 500) and are multiplied by Q.
//
// Two departures from gonum v0.17.0's Dsteqr. LAPACK resets its scaling
// flag for every diagonal block, gonum sets it once, so after one block
// that had to be rescaled (norm below about 1e-122 or above 1e153) every
// later block is "unscaled" though it never was, and its eigenvalues come
// out wrong (TestSymmetricEigenGonumScalingBug); here the flag is per
// block, as in LAPACK. And gonum applies each sweep's plane rotations down
// the columns of a row-major matrix, a stride of n per element and the
// bulk of the time at n = 1000; here they are logged and replayed a block
// of rows at a time, each row in L1 cache, the blocks on every core: each
// element undergoes the same operations in the same order, so no bit
// changes, on any number of cores.
func SymmetricEigen(n int, a, w []float64) (ok bool) {
	if n < 0 || len(a) < n*n || len(w) < n {
		panic("numerics: SymmetricEigen: slice too short")
	}
	if n == 0 {
		return true
	}
	if n == 1 {
		w[0], a[0] = a[0], 1
		return true
	}
	sigma := scaleSymmetric(n, a)
	e, tau := make([]float64, n-1), make([]float64, n)
	tridiagonalize(n, a, w[:n], e, tau)
	d0, e0 := slices.Clone(w[:n]), slices.Clone(e)
	z := make([]float64, n*n)
	formQ(n, a, tau, z)
	if tridiagonalQL(n, w, e, z) {
		copy(a, z)
	} else {
		// QL stalled: T's eigenvectors by Jacobi, then Q times them.
		copy(w, d0)
		if !tridiagonalJacobi(n, w, e0, z) {
			return false
		}
		q := make([]float64, n*n)
		formQ(n, a, tau, q)
		Gemm(false, true, n, n, n, 1, q, n, z, n, 0, a, n)
	}
	unscale(w[:n], sigma)
	return true
}

// scaleSymmetric scales the upper triangle of the symmetric n x n A into
// the range where the reduction and the iteration neither overflow nor
// underflow, as Dsyev does: by sigma = rmin/‖A‖_max when 0 < ‖A‖_max <
// rmin = sqrt(2^-1022/ε), by rmax/‖A‖_max when ‖A‖_max > rmax = 1/rmin, ε
// = 2^-52 (Dlascl, which multiplies in steps that do not overflow), and
// returns sigma (1: not scaled).
func scaleSymmetric(n int, a []float64) (sigma float64) {
	var impl gonum.Implementation
	smlnum := dlamchS / dlamchP
	rmin, rmax := math.Sqrt(smlnum), math.Sqrt(1/smlnum)
	anrm := impl.Dlansy(lapack.MaxAbs, blas.Upper, n, a, n, nil)
	sigma = 1.0
	if anrm > 0 && anrm < rmin {
		sigma = rmin / anrm
	} else if anrm > rmax {
		sigma = rmax / anrm
	}
	if sigma != 1 {
		impl.Dlascl(lapack.UpperTri, 0, 0, 1, sigma, n, n, a, n)
	}
	return sigma
}

// unscale undoes scaleSymmetric on the eigenvalues, w[i] = (1/sigma)·w[i],
// as Dsyev does (Dscal).
func unscale(w []float64, sigma float64) {
	if sigma != 1 {
		r := 1 / sigma
		for i := range w {
			w[i] *= r
		}
	}
}

// LAPACK's machine constants (dlamch) as gonum's Dsyev and Dsteqr use them.
const (
	dlamchE = 0x1p-53   // relative machine precision ε
	dlamchP = 0x1p-52   // ε·base: the precision Dsyev scales by
	dlamchS = 0x1p-1022 // the safe minimum
)

// tridiagonalQL is gonum's Dsteqr with compz = EVOrig (LAPACK's DSTEQR):
// the eigenvalues of the symmetric tridiagonal matrix with diagonal d and
// off-diagonal e into d (ascending), z (n x n, row-major) multiplied on the
// right by the eigenvectors; e is destroyed. The rotations go through a
// rotationLog instead of Dlasr.
func tridiagonalQL(n int, d, e, z []float64) bool {
	var impl gonum.Implementation
	const maxit = 30
	ssfmax := math.Sqrt(1/dlamchS) / 3
	ssfmin := math.Sqrt(dlamchS) / (dlamchE * dlamchE)
	log := newRotationLog(z, n)
	nmaxit := n * maxit
	jtot := 0
	l1 := 0
	for l1 <= n-1 {
		if l1 > 0 {
			e[l1-1] = 0
		}
		m := l1
		for ; m < n-1; m++ {
			test := math.Abs(e[m])
			if test == 0 {
				break
			}
			if test <= (math.Sqrt(math.Abs(d[m]))*math.Sqrt(math.Abs(d[m+1])))*dlamchE {
				e[m] = 0
				break
			}
		}
		l, lend := l1, m
		lsv, lendsv := l, lend
		l1 = m + 1
		if lend == l {
			continue
		}
		// Scale the block into range.
		anorm := impl.Dlanst(lapack.MaxAbs, lend-l+1, d[l:], e[l:])
		scale := 0.0
		switch {
		case anorm == 0:
			continue
		case anorm > ssfmax:
			scale = ssfmax
		case anorm < ssfmin:
			scale = ssfmin
		}
		if scale != 0 {
			impl.Dlascl(lapack.General, 0, 0, anorm, scale, lend-l+1, 1, d[l:], 1)
			impl.Dlascl(lapack.General, 0, 0, anorm, scale, lend-l, 1, e[l:], 1)
		}
		// QL when the bottom of the block is larger, QR otherwise.
		if math.Abs(d[lend]) < math.Abs(d[l]) {
			l, lend = lendsv, lsv
		}
		if lend > l {
			jtot = qlSweeps(impl, d, e, l, lend, jtot, nmaxit, log)
		} else {
			jtot = qrSweeps(impl, d, e, l, lend, jtot, nmaxit, log)
		}
		if scale != 0 {
			impl.Dlascl(lapack.General, 0, 0, scale, anorm, lendsv-lsv+1, 1, d[lsv:], 1)
			impl.Dlascl(lapack.General, 0, 0, scale, anorm, lendsv-lsv, 1, e[lsv:], 1)
		}
		if jtot >= nmaxit {
			break
		}
	}
	log.flush()
	if jtot >= nmaxit {
		for i := 0; i < n-1; i++ {
			if e[i] != 0 {
				return false
			}
		}
	}
	// Selection sort of the eigenvalues, swapping the vectors along, as
	// Dsteqr does (the order of equal eigenvalues' vectors is part of the
	// result).
	bi := blas64.Implementation()
	for i := 0; i < n-1; i++ {
		k, p := i, d[i]
		for j := i + 1; j < n; j++ {
			if d[j] < p {
				k, p = j, d[j]
			}
		}
		if k != i {
			d[k], d[i] = d[i], p
			bi.Dswap(n, z[i:], n, z[k:], n)
		}
	}
	return true
}

// qlSweeps runs implicit QL sweeps on the block l..lend (l < lend) until
// its eigenvalues are found or the sweep budget runs out, and returns the
// sweeps used so far.
func qlSweeps(impl gonum.Implementation, d, e []float64, l, lend, jtot, nmaxit int, log *rotationLog) int {
	for {
		m := lend
		for k := l; k < lend; k++ {
			v := math.Abs(e[k])
			if v*v <= (dlamchE*dlamchE*math.Abs(d[k]))*math.Abs(d[k+1])+dlamchS {
				m = k
				break
			}
		}
		if m < lend {
			e[m] = 0
		}
		p := d[l]
		if m == l {
			if l++; l > lend {
				return jtot
			}
			continue
		}
		if m == l+1 {
			var c, s float64
			d[l], d[l+1], c, s = impl.Dlaev2(d[l], e[l], d[l+1])
			log.add(l, c, s)
			e[l] = 0
			if l += 2; l > lend {
				return jtot
			}
			continue
		}
		if jtot == nmaxit {
			return jtot
		}
		jtot++
		g := (d[l+1] - p) / (2 * e[l])
		r := impl.Dlapy2(g, 1)
		g = d[m] - p + e[l]/(g+math.Copysign(r, g))
		s, c := 1.0, 1.0
		p = 0
		// Dlasr(Right, Variable, Backward) applies the rotation of plane
		// (i, i+1) for i = l .. m-1 in decreasing i: the order they are made.
		for i := m - 1; i >= l; i-- {
			f := s * e[i]
			b := c * e[i]
			c, s, r = impl.Dlartg(g, f)
			if i != m-1 {
				e[i+1] = r
			}
			g = d[i+1] - p
			r = (d[i]-g)*s + 2*c*b
			p = s * r
			d[i+1] = g + p
			g = c*r - b
			log.add(i, c, -s)
		}
		d[l] -= p
		e[l] = g
	}
}

// qrSweeps is qlSweeps for a block to be chased upwards (l > lend).
func qrSweeps(impl gonum.Implementation, d, e []float64, l, lend, jtot, nmaxit int, log *rotationLog) int {
	for {
		m := lend
		for k := l; k > lend; k-- {
			v := math.Abs(e[k-1])
			if v*v <= (dlamchE*dlamchE*math.Abs(d[k])*math.Abs(d[k-1]) + dlamchS) {
				m = k
				break
			}
		}
		if m > lend {
			e[m-1] = 0
		}
		p := d[l]
		if m == l {
			if l--; l < lend {
				return jtot
			}
			continue
		}
		if m == l-1 {
			var c, s float64
			d[l-1], d[l], c, s = impl.Dlaev2(d[l-1], e[l-1], d[l])
			log.add(m, c, s)
			e[l-1] = 0
			if l -= 2; l < lend {
				return jtot
			}
			continue
		}
		if jtot == nmaxit {
			return jtot
		}
		jtot++
		g := (d[l-1] - p) / (2 * e[l-1])
		r := impl.Dlapy2(g, 1)
		g = d[m] - p + e[l-1]/(g+math.Copysign(r, g))
		s, c := 1.0, 1.0
		p = 0
		// Dlasr(Right, Variable, Forward): planes (i, i+1) for i = m .. l-1
		// in increasing i, again the order they are made.
		for i := m; i < l; i++ {
			f := s * e[i]
			b := c * e[i]
			c, s, r = impl.Dlartg(g, f)
			if i != m {
				e[i-1] = r
			}
			g = d[i] - p
			r = (d[i+1]-g)*s + 2*c*b
			p = s * r
			d[i] = g + p
			g = c*r - b
			log.add(i, c, s)
		}
		d[l] -= p
		e[l-1] = g
	}
}

// rotation is the plane rotation of columns j and j+1 that Dlasr applies:
// (x_j, x_{j+1}) <- (s·x_{j+1} + c·x_j, c·x_{j+1} - s·x_j).
type rotation struct {
	j    int
	c, s float64
}

// rotationLog collects rotations in the order they are to be applied to
// the columns of z and replays them when full: every row takes all of them
// in that order, rowBlock rows at a time so that the row block stays in L1
// and the log in L2, the row blocks split over the cores.
type rotationLog struct {
	z       []float64
	n       int
	pending []rotation
}

// logCapacity rotations (24 bytes each) are replayed at a time: 384 KiB,
// within L2, and enough to amortize one pass over z.
const logCapacity = 1 << 14

// rowBlock rows are rotated together, interleaving independent dependency
// chains (each rotation of a row reads what the previous one wrote).
const rowBlock = 4

func newRotationLog(z []float64, n int) *rotationLog {
	return &rotationLog{z: z, n: n, pending: make([]rotation, 0, logCapacity)}
}

// add logs the rotation of plane (j, j+1), skipped when it is the identity
// as Dlasr skips it.
func (g *rotationLog) add(j int, c, s float64) {
	if c == 1 && s == 0 {
		return
	}
	g.pending = append(g.pending, rotation{j, c, s})
	if len(g.pending) == logCapacity {
		g.flush()
	}
}

// flush applies the pending rotations to every row of z.
func (g *rotationLog) flush() {
	if len(g.pending) == 0 {
		return
	}
	n, rot := g.n, g.pending
	blocks := (n + rowBlock - 1) / rowBlock
	w := workers(3 * float64(n) * float64(len(rot)))
	w = min(w, blocks)
	parallel(w, func(t int) {
		for b := t * blocks / w; b < (t+1)*blocks/w; b++ {
			lo := b * rowBlock
			hi := min(lo+rowBlock, n)
			replay(g.z[lo*n:hi*n], n, rot)
		}
	})
	g.pending = g.pending[:0]
}

// replay applies the rotations in order to each row of the block z
// (rows of length n); a variable so that a test can plant a wrong order.
var replay = func(z []float64, n int, rot []rotation) {
	if len(z) == rowBlock*n {
		rotateRows4(z, n, rot)
		return
	}
	for i := 0; i < len(z); i += n {
		rotateRow(z[i:i+n], rot)
	}
}

// rotateRow applies the rotations to one row, with Dlasr's arithmetic.
func rotateRow(x []float64, rot []rotation) {
	for _, r := range rot {
		t, t2 := x[r.j+1], x[r.j]
		x[r.j+1] = r.c*t - r.s*t2
		x[r.j] = r.s*t + r.c*t2
	}
}

// rotateRows4 is rotateRow on four consecutive rows of length n at once.
func rotateRows4(z []float64, n int, rot []rotation) {
	x0, x1, x2, x3 := z[:n], z[n:2*n], z[2*n:3*n], z[3*n:4*n]
	for _, r := range rot {
		j, c, s := r.j, r.c, r.s
		_ = x0[j+1]
		_ = x1[j+1]
		_ = x2[j+1]
		_ = x3[j+1]
		t0, u0 := x0[j+1], x0[j]
		t1, u1 := x1[j+1], x1[j]
		t2, u2 := x2[j+1], x2[j]
		t3, u3 := x3[j+1], x3[j]
		x0[j+1], x0[j] = c*t0-s*u0, s*t0+c*u0
		x1[j+1], x1[j] = c*t1-s*u1, s*t1+c*u1
		x2[j+1], x2[j] = c*t2-s*u2, s*t2+c*u2
		x3[j+1], x3[j] = c*t3-s*u3, s*t3+c*u3
	}
}
