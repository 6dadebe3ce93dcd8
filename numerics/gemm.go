package numerics

import (
	"fmt"
	"slices"
)

// gemmKernel is a register-blocked micro-kernel: fn adds one k-panel of the
// product to each of tiles mr x nr tiles of C one under the other, tile t
// at c[t*mr*ldc:] (row stride ldc), from the packed panel of A at a[t*as:]
// and the packed panel of B at b: s = FMA(a[t*as+k*mr+i], b[k*nr+j], s) for
// k = 0, …, kc-1 in order from s = +0, then c[i*ldc+j] = c[i*ldc+j] + s, or
// c[i*ldc+j] = s with zero (the tile is then only written). next is the
// tile after the last, which it may prefetch, and the tiles from fetch on
// may prefetch into L2 the next panel of B, nb, 4·kc elements a tile
// (fetchParts).
//
// mc is the number of rows of A in a block of the driver (a multiple of
// mr), whose mc x gemmKC panel stays in L2 while the panels of B stream
// through, on the machine of BENCHMARKS.md: 240 on AVX-512 (960 KB;
// measured: 176 no faster), 120 on AVX2 (480 KB; measured against 180: 2-3 %
// faster at n = 2048, the same at 1024; 96 the same, 60 and 240 slower). The
// driver scales it to the L2 at hand (toL2); gemmFor compares with mc itself,
// so that the layout of PackA does not depend on the cache.
//
// packA and packB, if not nil, pack whole panels as the Go loops of packA
// and packB do, faster: packA a panel of A, dst[l*mr+i] = src[i*rs+l] for
// i < mr and l < kb (kb > 0 a multiple of mr); packB np panels of B,
// dst[p*ps+l*nr+j] = src[l*rs+p*nr+j] for p < np, l < kb and j < nr.
type gemmKernel struct {
	mr, nr, mc int
	fn         func(kc int, a []float64, as int, b, c []float64, ldc, tiles int, next, nb []float64, fetch int, zero bool)
	packA      func(dst, src []float64, rs, kb int)
	packB      func(dst []float64, ps int, src []float64, rs, np, kb int)
}

// Blocking of the Gemm driver, in elements, tuned on the machine of
// BENCHMARKS.md: the mc x kc block of A (gemmKernel.mc) stays in L2, its
// mr x kc panels and the kc x nr panels of B stream from there into L1, the
// kc x nc block of B (12 MB) stays in L3; a large kc makes few passes over C, whose
// tiles every pass loads and stores (measured: kc = 192, 256 and 320 are
// slower, 768 and 1024 no faster). gemmKC is also the length of the k-panels
// of the Gemm order: changing it changes the bits of every product with
// k > gemmKC.
const (
	gemmKC = 512
	gemmNC = 3072
)

// KPanel is the length of the k-panels of the order of Gemm and GemmPacked,
// 512: a product over k ≤ KPanel is one FMA chain per element of C, and a
// longer one is, bit for bit, the products of its k-panels summed into C in
// turn, the first with the caller's beta and the others with beta = 1. A
// caller can so build a long packed B one k-panel at a time.
const KPanel = gemmKC

// matrix is a strided view: element (i, j) is d[i*rs+j*cs]; or, when ps > 0,
// an operand already packed in the panels the micro-kernel reads, with panel
// stride ps (Operand).
type matrix struct {
	d          []float64
	rs, cs, ps int
}

// view returns the r x c matrix stored row-major in d with leading dimension
// ld, transposed if trans (then d holds c x r).
func view(d []float64, trans bool, ld int) matrix {
	if trans {
		return matrix{d: d, rs: 1, cs: ld}
	}
	return matrix{d: d, rs: ld, cs: 1}
}

// triangle selects the elements of C a product writes.
type triangle int

const (
	full  triangle = iota
	upper          // j >= i
	lower          // j <= i
)

func (t triangle) has(i, j int) bool {
	switch t {
	case upper:
		return j >= i
	case lower:
		return j <= i
	}
	return true
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, op(X)
// being X or Xᵀ as tA, tB say: op(A) is m x k, op(B) k x n, C m x n, with
// leading dimensions lda, ldb, ldc. It panics on negative sizes, leading
// dimensions too small or slices too short, like gonum's Dgemm.
//
// Order, the same on every path and for every GOMAXPROCS: if beta != 0 and
// beta != 1, C[i][j] is first set to beta*C[i][j]. Then, unless alpha == 0
// or k == 0, for each k-panel P = [512q, 512q+512) ∩ [0, k), q = 0, 1, … in
// increasing q, one FMA chain from s = +0
//
//	s = FMA(op(A)[i][l], alpha*op(B)[l][j], s) for l in P increasing,
//
// alpha*op(B)[l][j] being op(B)[l][j] itself when alpha == 1, is added to C
// once: C[i][j] = C[i][j] + s, except that with beta == 0 the first panel is
// stored, C[i][j] = s. With beta == 0 and alpha == 0 or k == 0, C is set to
// +0. NaNs in C are not kept when beta == 0. Each panel summed from zero in
// registers, C is read and written once a panel, after its FMAs, as in
// OpenBLAS's kernels.
func Gemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkMatrix("Gemm", "A", tA, m, k, a, lda)
	checkMatrix("Gemm", "B", tB, k, n, b, ldb)
	checkMatrix("Gemm", "C", false, m, n, c, ldc)
	product(full, m, n, k, alpha, view(a, tA, lda), view(b, tB, ldb), beta, c, ldc)
}

// PanelWidth returns nr, the number of columns of the panels in which the
// micro-kernel of the implementation the kernels run on reads the B operand
// of a product (24 on AVX-512, 12 on AVX2, 4 on the generic twin): the
// layout of a packed B of GemmPacked.
func PanelWidth() int { return active.gemm.nr }

// gemmFor returns the micro-kernel of a product of m rows: the one of fewer
// rows when the product fits one block of rows (m ≤ mc) and it pads
// fewer rows. On AVX-512, the products of 20 rows of models.CNN's
// convolutions run in whole tiles of 5 rows instead of wasting a sixth of
// those of 8 (ties, such as its products of 40 rows, go to 8). The tile
// changes no bits.
func (im *impl) gemmFor(m int) gemmKernel {
	if f := im.gemmFew; f.fn != nil && m <= im.gemm.mc && roundUp(m, f.mr) < roundUp(m, im.gemm.mr) {
		return f
	}
	return im.gemm
}

// PanelHeight returns mr, the number of rows of the panels in which the
// micro-kernel reads the A operand of a product of m rows (on AVX-512 8, or
// 5 when that pads fewer rows of a product of at most 240; 4 on AVX2 and on
// the generic twin): the layout of PackA.
func PanelHeight(m int) int { return active.gemmFor(m).mr }

// Operand is an operand of GemmPacked: a row-major matrix (transposed if
// Trans) with leading dimension Ld, as Gemm takes them, or, when Stride > 0,
// a matrix already laid out in the panels the micro-kernel reads, whose copy
// into them GemmPacked skips. Packed, an m x k A has element (i, l) at
// Data[(i/mr)*Stride + l*mr + i%mr] with mr = PanelHeight(m) (PackA writes
// it so, with Stride = k*mr), and a k x n B has element (l, j) at
// Data[(j/nr)*Stride + l*nr + j%nr] with nr = PanelWidth(); Stride is at
// least k*mr (k*nr), and the entries of the last panel past row m (column
// n) are read but change nothing in C. The k-range [l0, l1) of a packed
// operand is Data[l0*mr:] (Data[l0*nr:]) with the same Stride.
type Operand struct {
	Data   []float64
	Ld     int
	Trans  bool
	Stride int
}

// GemmPacked computes C = op(A)*op(B) + beta*C like Gemm with alpha = 1, for
// operands each given as a matrix or packed: a caller that builds an operand
// anyway (the patch matrices of models.CNN's convolutions, which Gather
// reads from its images) writes it in panels at no extra cost, and one that
// multiplies by the same matrix many times (the network's weights, for every
// block of samples) packs it once. The order is Gemm's, so the bits are
// those of Gemm on the same matrices; it panics like Gemm on bad sizes.
func GemmPacked(m, n, k int, a, b Operand, beta float64, c []float64, ldc int) {
	am := operandView("GemmPacked", "A", a, m, k, PanelHeight(m))
	bm := operandView("GemmPacked", "B", b, n, k, PanelWidth())
	checkMatrix("GemmPacked", "C", false, m, n, c, ldc)
	product(full, m, n, k, 1, am, bm, beta, c, ldc)
}

// operandView checks o as the A (r = m, w = mr) or the B (r = n, w = nr) of a
// product over k and returns its view; an A is m x k, a B k x n.
func operandView(fn, name string, o Operand, r, k, w int) matrix {
	if o.Stride <= 0 {
		if name == "A" {
			checkMatrix(fn, name, o.Trans, r, k, o.Data, o.Ld)
		} else {
			checkMatrix(fn, name, o.Trans, k, r, o.Data, o.Ld)
		}
		return view(o.Data, o.Trans, o.Ld)
	}
	switch np := (r + w - 1) / w; {
	case r < 0 || k < 0:
		panic(fmt.Sprintf("numerics: %s: %s has negative size", fn, name))
	case o.Stride < k*w:
		panic(fmt.Sprintf("numerics: %s: panel stride %d of %s below its %d elements", fn, o.Stride, name, k*w))
	case r > 0 && k > 0 && len(o.Data) < (np-1)*o.Stride+k*w:
		panic(fmt.Sprintf("numerics: %s: %s holds %d elements, needs %d", fn, name, len(o.Data), (np-1)*o.Stride+k*w))
	}
	return matrix{d: o.Data, ps: o.Stride}
}

// PackA writes op(A) (m x k; A itself k x m when tA, with leading dimension
// lda) into ap as the packed A of GemmPacked with Stride k*mr, mr =
// PanelHeight(m): ap needs ⌈m/mr⌉·mr·k elements, and the rows of the last
// panel past m are zero. It panics like Gemm on bad sizes.
func PackA(ap []float64, tA bool, m, k int, a []float64, lda int) {
	checkMatrix("PackA", "A", tA, m, k, a, lda)
	mr := PanelHeight(m)
	if need := roundUp(m, mr) * k; len(ap) < need {
		panic(fmt.Sprintf("numerics: PackA: ap holds %d elements, needs %d", len(ap), need))
	}
	packA(ap, view(a, tA, lda), 0, m, m, 0, k, active.gemmFor(m))
}

// Gather sets dst[(g*len(outer)+a)*w + j] = src[outer[a] + inner[g*w+j]]
// for every group g < len(inner)/w of w inner offsets, a < len(outer) and
// j < w: lines of w entries of src read through tables of offsets, group
// after group. With w = PanelWidth() and a group a panel, this builds the
// packed B of GemmPacked from an array and the offsets of its entries:
// models.CNN's patch matrices from its zero-padded images, whose Pᵀ entry
// (q, col) is image[qoff[q] + base[col]] (outer = qoff and inner = base
// for the forward product's Pᵀ, the other way round for the weight
// gradient's P). On AVX-512 and AVX2 it is one VGATHERQPD a vector. It
// panics if w < 1, len(inner) is not a multiple of w, dst is shorter than
// len(outer)*len(inner) or an index is outside src.
func Gather(dst, src []float64, outer, inner []int, w int) {
	switch {
	case w < 1 || len(inner)%w != 0:
		panic(fmt.Sprintf("numerics: Gather: %d inner offsets are not groups of %d", len(inner), w))
	case len(dst) < len(outer)*len(inner):
		panic(fmt.Sprintf("numerics: Gather: dst holds %d elements, needs %d", len(dst), len(outer)*len(inner)))
	case len(outer) == 0 || len(inner) == 0:
		return
	}
	lo, hi := slices.Min(outer)+slices.Min(inner), slices.Max(outer)+slices.Max(inner)
	if lo < 0 || hi >= len(src) {
		panic(fmt.Sprintf("numerics: Gather: indices [%d, %d] outside the %d elements of src", lo, hi, len(src)))
	}
	n := len(outer) * w
	for g := range len(inner) / w {
		active.gather(dst[g*n:(g+1)*n], src, outer, inner[g*w:(g+1)*w])
	}
}

// AddBlock adds the rows x cols matrix src (row-major, leading dimension
// lds) into the one dst holds with leading dimension ldd: dst[r*ldd+j] +=
// src[r*lds+j], one rounding each, so that the sums an element of dst
// receives from successive calls are in the order of the calls (the col2im
// of models.CNN's convolutions, a tap's patch gradients at a time). It
// panics like Gemm on bad sizes.
func AddBlock(dst []float64, ldd int, src []float64, lds int, rows, cols int) {
	checkMatrix("AddBlock", "dst", false, rows, cols, dst, ldd)
	checkMatrix("AddBlock", "src", false, rows, cols, src, lds)
	if rows > 0 && cols > 0 {
		active.addBlock(dst, ldd, src, lds, rows, cols)
	}
}

// Syrk computes the triangle of C = alpha*op(A)*op(A)ᵀ + beta*C selected by
// upper (j >= i if upper, j <= i otherwise) for a row-major n x n C: op(A) is
// the n x k matrix A, or Aᵀ for a k x n A when trans. Elements outside the
// triangle are not touched. It panics like Gemm on bad sizes.
//
// Order: that of Gemm with op(B) = op(A)ᵀ, element by element of the triangle.
func Syrk(upper, trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	checkMatrix("Syrk", "A", trans, n, k, a, lda)
	checkMatrix("Syrk", "C", false, n, n, c, ldc)
	t := lowerOrUpper(upper)
	product(t, n, n, k, alpha, view(a, trans, lda), view(a, !trans, lda), beta, c, ldc)
}

func lowerOrUpper(up bool) triangle {
	if up {
		return upper
	}
	return lower
}

// checkMatrix panics unless d holds the r x c matrix op(X) (X itself c x r
// when trans) row-major with leading dimension ld.
func checkMatrix(fn, name string, trans bool, r, c int, d []float64, ld int) {
	if trans {
		r, c = c, r
	}
	switch {
	case r < 0 || c < 0:
		panic(fmt.Sprintf("numerics: %s: %s has negative size %dx%d", fn, name, r, c))
	case ld < max(1, c):
		panic(fmt.Sprintf("numerics: %s: leading dimension %d of %s below its %d columns", fn, ld, name, c))
	case r > 0 && c > 0 && len(d) < (r-1)*ld+c:
		panic(fmt.Sprintf("numerics: %s: %s holds %d elements, needs %d", fn, name, len(d), (r-1)*ld+c))
	}
}

// product is the driver of Gemm and Syrk: it splits the columns of C among
// goroutines, which own them whole, so no element depends on how many run.
func product(t triangle, m, n, k int, alpha float64, a, b matrix, beta float64, c []float64, ldc int) {
	kern := active.gemmFor(m)
	w := workers(float64(m) * float64(n) * float64(k))
	if w <= 1 { // no goroutine, nor its closures
		productColumns(kern, t, m, 0, n, k, alpha, a, b, beta, c, ldc)
		return
	}
	work := func(j int) float64 { // elements of column j in the triangle
		switch t {
		case upper:
			return float64(min(j+1, m))
		case lower:
			return float64(max(m-j, 0))
		}
		return float64(m)
	}
	cuts := split(n, w, kern.nr, work)
	parallel(len(cuts)-1, func(g int) {
		productColumns(kern, t, m, cuts[g], cuts[g+1], k, alpha, a, b, beta, c, ldc)
	})
}

// productColumns is the part of product on the columns [j0, j1) of C.
func productColumns(kern gemmKernel, t triangle, m, j0, j1, k int, alpha float64, a, b matrix, beta float64, c []float64, ldc int) {
	if alpha == 0 || k == 0 {
		scaleC(t, m, j0, j1, beta, c, ldc)
		return
	}
	// With beta == 0 the first panel is stored, not added to C.
	if beta != 0 {
		scaleC(t, m, j0, j1, beta, c, ldc)
	}
	columns(kern, t, m, j0, j1, k, alpha, a, b, beta == 0, c, ldc)
}

// scaleC applies beta to the elements of columns [j0, j1) in the triangle.
func scaleC(t triangle, m, j0, j1 int, beta float64, c []float64, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		lo, hi := j0, j1
		switch t {
		case upper:
			lo = max(lo, i)
		case lower:
			hi = min(hi, i+1)
		}
		if lo >= hi {
			continue
		}
		row := c[i*ldc+lo : i*ldc+hi]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// panels returns, from its start on, the w-wide panel of a pre-packed
// operand that starts at row or column i (a multiple of w) over the k-panel
// [pc, pc+kb), or else the one at offset off (rows or columns) of those
// packed into scratch; and the distance from a panel to the next.
func (o matrix) panels(i, w, pc, kb int, scratch []float64, off int) ([]float64, int) {
	if o.ps > 0 {
		return o.d[i/w*o.ps+pc*w:], o.ps
	}
	return scratch[off*kb:], w * kb
}

// columns runs the blocked product on the columns [j0, j1) of C, one k-panel
// of gemmKC after another. With zero, the first panel is stored, not added to
// C.
func columns(kern gemmKernel, t triangle, m, j0, j1, k int, alpha float64, a, b matrix, zero bool, c []float64, ldc int) {
	mr, nr, mc := kern.mr, kern.nr, toL2(kern.mc, kern.mr)
	kc := min(gemmKC, k)
	nc := min(gemmNC, roundUp(j1-j0, nr))
	nb, na := kc*nc, kc*min(mc, roundUp(m, mr)) // packed B and A, unless they come so
	if b.ps > 0 {
		nb = 0
	}
	if a.ps > 0 {
		na = 0
	}
	buf := getBuffer(nb + na + mr*nr)
	defer putBuffer(buf)
	bp, ap := (*buf)[:nb], (*buf)[nb:]
	tile := ap[len(ap)-mr*nr:]
	for jc := j0; jc < j1; jc += nc {
		jn := min(nc, j1-jc)
		// Rows that meet the triangle in these columns.
		ilo, ihi := 0, m
		switch t {
		case upper:
			ihi = min(m, jc+jn)
		case lower:
			ilo = jc - jc%mr
		}
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			if b.ps == 0 {
				packB(bp, b, pc, kb, jc, jn, j1, kern, alpha)
			}
			for ic := ilo; ic < ihi; ic += mc {
				ib := min(mc, ihi-ic)
				if a.ps == 0 {
					packA(ap, a, ic, ib, m, pc, kb, kern)
				}
				calls := (ib + mr - 1) / mr // on each panel of B
				parts := kern.fetchParts()
				// The last tiles on a panel of B fetch the next one
				// into L2, a part each, without which the first tile
				// on it took 1.7-1.9 times as long as the others,
				// waiting for it from L3 (BENCHMARKS.md).
				fetch := max(0, calls-parts)
				for jr := 0; jr < jn; jr += nr {
					bq, _ := b.panels(jc+jr, nr, pc, kb, bp, jr)
					// The panel of B that comes after this one, or
					// the first again, for the next rows of A.
					nb, _ := b.panels(jc, nr, pc, kb, bp, 0)
					if jr+nr < jn {
						nb, _ = b.panels(jc+jr+nr, nr, pc, kb, bp, jr+nr)
					}
					ir := 0
					// The whole tiles of C under each other, in one call.
					if whole := ib / mr; t == full && jc+jr+nr <= j1 && whole > 0 {
						aq, as := a.panels(ic, mr, pc, kb, ap, 0)
						at := ic*ldc + jc + jr
						next := c[at:]
						if nx := at + whole*mr*ldc; nx < len(c) {
							next = c[nx:]
						}
						kern.fn(kb, aq, as, bq, c[at:], ldc, whole, next, nb, fetch, zero && pc == 0)
						ir = whole * mr
					}
					for ; ir < ib; ir += mr {
						aq, _ := a.panels(ic+ir, mr, pc, kb, ap, ir)
						// The lines of B a tile fetches (fetchParts);
						// before the last tiles, lines of its own panel,
						// which are there already.
						pf := bq
						if q := ir/mr - fetch; q >= 0 {
							pf = nb[q*4*kb:]
						}
						microTile(kern, t, m, j1, ic+ir, jc+jr, kb, aq, bq, pf, zero && pc == 0, c, ldc, tile)
					}
				}
			}
		}
	}
}

// microTile runs the micro-kernel on the tile of C at (i0, j0), in place when
// the whole tile is in C and in the triangle, through the scratch tile
// otherwise (and not at all when no element is in the triangle).
func microTile(kern gemmKernel, t triangle, m, n, i0, j0, kb int, aq, bq, pf []float64, zero bool, c []float64, ldc int, tile []float64) {
	mr, nr := kern.mr, kern.nr
	i1, j1 := i0+mr-1, j0+nr-1 // last row and column
	if (t == upper && i0 > j1) || (t == lower && j0 > i1) {
		return
	}
	if i1 < m && j1 < n && t.has(i1, j0) && t.has(i0, j1) {
		at := i0*ldc + j0
		next := c[at:]
		if nx := at + mr*ldc; nx < len(c) {
			next = c[nx:]
		}
		kern.fn(kb, aq, 0, bq, c[at:], ldc, 1, next, pf, 0, zero)
		return
	}
	if t == full {
		// A tile that only sticks out of C: its rows inside C go through the
		// scratch tile as slices. With zero the kernel stores and reads
		// nothing of the tile; the part outside C is never copied back.
		rows, cols := min(mr, m-i0), min(nr, n-j0)
		if !zero {
			for i := range rows {
				copy(tile[i*nr:i*nr+cols], c[(i0+i)*ldc+j0:])
			}
		}
		kern.fn(kb, aq, 0, bq, tile, nr, 1, tile, pf, 0, zero)
		for i := range rows {
			copy(c[(i0+i)*ldc+j0:(i0+i)*ldc+j0+cols], tile[i*nr:])
		}
		return
	}
	for i := range mr {
		for j := range nr {
			v := 0.0
			if i0+i < m && j0+j < n && t.has(i0+i, j0+j) {
				v = c[(i0+i)*ldc+j0+j]
			}
			tile[i*nr+j] = v
		}
	}
	kern.fn(kb, aq, 0, bq, tile, nr, 1, tile, pf, 0, zero)
	for i := range mr {
		for j := range nr {
			if i0+i < m && j0+j < n && t.has(i0+i, j0+j) {
				c[(i0+i)*ldc+j0+j] = tile[i*nr+j]
			}
		}
	}
}

// fetchParts is the number of tiles that fetch a panel of B of nr columns
// into L2, kb/2 lines (4·kb elements) each: nr/4, at least 1.
func (k gemmKernel) fetchParts() int { return max(1, k.nr/4) }

// packA copies rows [ic, ic+ib) and columns [pc, pc+kb) of a into ap as
// panels of mr = kern.mr rows, column after column: ap[p*mr*kb + l*mr + i] =
// a(ic+p*mr+i, pc+l), zero past row m. It reads a in the order of memory:
// column by column when a is stored transposed, row by row otherwise, in
// blocks of packRows columns that keep the panel lines written in L1 (the
// weight gradients of models.CNN's convolutions pack their signals D so,
// thousands of columns long), or, for the columns of whole panels that
// kern.packA takes, mr x mr blocks at a time.
func packA(ap []float64, a matrix, ic, ib, m, pc, kb int, kern gemmKernel) {
	mr := kern.mr
	for p := 0; p*mr < ib; p++ {
		panel := ap[p*mr*kb : (p+1)*mr*kb]
		if a.cs != 1 {
			for l := range kb {
				dst := panel[l*mr : (l+1)*mr]
				at := (ic+p*mr)*a.rs + (pc+l)*a.cs
				for i := range dst {
					if ic+p*mr+i < m {
						dst[i] = a.d[at]
					} else {
						dst[i] = 0
					}
					at += a.rs
				}
			}
			continue
		}
		done := 0 // columns packed
		if kb >= mr && ic+p*mr+mr <= m && kern.packA != nil {
			done = kb - kb%mr
			kern.packA(panel, a.d[(ic+p*mr)*a.rs+pc:], a.rs, done)
		}
		for l0 := done; l0 < kb; l0 += packRows {
			lb := min(packRows, kb-l0)
			lines := panel[l0*mr : (l0+lb)*mr]
			for i := range mr {
				r := ic + p*mr + i
				if r >= m {
					for l := range lb {
						lines[l*mr+i] = 0
					}
					continue
				}
				for l, v := range a.d[r*a.rs+pc+l0 : r*a.rs+pc+l0+lb] {
					lines[l*mr+i] = v
				}
			}
		}
	}
}

// packRows is the number of lines of a panel packA and packB write at once
// when they read their matrix across the panel's lines: they stay in L1
// while the nr or mr lines of the matrix stream in.
const packRows = 64

// packB copies rows [pc, pc+kb) and columns [jc, jc+jn) of b, times alpha,
// into bp as panels of nr columns, row after row: bp[p*nr*kb + l*nr + j] =
// alpha*b(pc+l, jc+p*nr+j), zero from column n on. It reads b in the order
// of memory: row by row when b is stored as is, column by column when it is
// stored transposed (a row-by-row read would then walk nr·np columns at once,
// a cache line apiece: the convolutions' dW = D Pᵀ spent more time packing
// Pᵀ so than multiplying).
func packB(bp []float64, b matrix, pc, kb, jc, jn, n int, kern gemmKernel, alpha float64) {
	nr := kern.nr
	np := (jn + nr - 1) / nr
	if b.rs == 1 && b.cs != 1 {
		for p := range np {
			w := min(nr, n-jc-p*nr) // columns of the panel in B
			for l0 := 0; l0 < kb; l0 += packRows {
				lb := min(packRows, kb-l0)
				panel := bp[p*nr*kb+l0*nr : p*nr*kb+(l0+lb)*nr]
				for j := range w {
					col := b.d[pc+l0+(jc+p*nr+j)*b.cs:][:lb]
					for l, v := range col {
						panel[l*nr+j] = v
					}
					if alpha != 1 {
						for l := range col {
							panel[l*nr+j] *= alpha
						}
					}
				}
				for j := w; j < nr; j++ {
					for l := range lb {
						panel[l*nr+j] = 0
					}
				}
			}
		}
		return
	}
	// A group of packGroup panels at a time, row by row: the rows of the
	// group are read as packGroup·nr consecutive elements, and the group's
	// panels are written as packGroup sequential streams, which the
	// prefetchers follow; a whole row of B at a time would write into all
	// np panels at once, np streams kc·nr·8 bytes apart.
	for g0 := 0; g0 < np; g0 += packGroup {
		g1 := min(np, g0+packGroup)
		if kern.packB != nil && b.cs == 1 && alpha == 1 && jc+g1*nr <= n {
			kern.packB(bp[g0*nr*kb:], nr*kb, b.d[pc*b.rs+jc+g0*nr:], b.rs, g1-g0, kb)
			continue
		}
		for l := range kb {
			at := (pc+l)*b.rs + (jc+g0*nr)*b.cs
			for p := g0; p < g1; p++ {
				row := bp[p*nr*kb+l*nr : p*nr*kb+(l+1)*nr]
				w := min(nr, n-jc-p*nr) // columns of the panel in B
				if b.cs == 1 {
					copy(row, b.d[at:at+w])
				} else {
					for j := range w {
						row[j] = b.d[at+j*b.cs]
					}
				}
				clear(row[w:])
				if alpha != 1 {
					for j := range w {
						row[j] *= alpha
					}
				}
				at += nr * b.cs
			}
		}
	}
}

// packGroup is the number of panels packB writes at once when it reads B
// row by row (4, 8 and 32 measured no better: BENCHMARKS.md, "Packing B by
// groups of panels").
const packGroup = 16

func roundUp(x, m int) int { return (x + m - 1) / m * m }
