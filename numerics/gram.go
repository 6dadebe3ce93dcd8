package numerics

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// gramKernel is a Gram kernel of tr x tc tiles: for each tile k < nx, fn
// adds to out[k*tr*tc+a*tc+b] the chunkSum of row x[(tr*k+a)*xs:] against
// row y[b*ys:] over their first n elements (n > 0, a multiple of 8), and may
// prefetch the 8n bytes at pf+b*pfs (pfs in bytes, which may run past the
// object pf points into) for b < tc.
//
// tri, if not nil, runs the diagonal block of tile column j in place of the
// tiles that cross the diagonal: with the arguments of fn (x, xs and nx
// ignored), it adds to out[a*tc+b] the chunkSum of row y[a*ys:] against
// row y[b*ys:] for a <= b < tc (and may add zero to the entries a > b), and
// may prefetch as fn. gap[g] is then fn for tiles of g < tr rows (nil for
// g = 0), which covers the rows between the last whole tile above the
// block and the block when tr does not divide j*tc.
type gramKernel struct {
	tr, tc int
	fn     func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64)
	tri    func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64)
	gap    []func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64)
	// rowTiles, if not 0: fn prefetches the pf rows one after the other,
	// rowTiles tiles a row, so that a call of rowTiles*tc tiles or more
	// has fetched them all (narrow: nc rows).
	rowTiles int
	// next, if not nil, is fn with its pf rows fetched over more tiles: a
	// tile column whose rows come from Q, in place, fetches with it those
	// of the tile column that runs after it, when they come from Q too.
	next func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64)
	// narrow are fn on tiles of tr x nc entries, nc < tc increasing, which
	// write into the first nc columns of fn's tiles: the last tile column
	// runs on the first whose nc is at least its number of columns of K,
	// instead of on tiles whose other columns are zero rows.
	narrow []gramNarrow
}

// gramNarrow is a kernel of tiles of nc columns (gramKernel.narrow).
type gramNarrow struct {
	nc int
	fn func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64)
}

const (
	// gramChunk is the length of the chunks of the Gram order, such that the
	// chunks of the rows of a tile stay in L1. Changing it changes the bits
	// of every Gram of more than gramChunk columns.
	gramChunk = 512
	// gramBlockRowsRef is the number of rows of Q whose chunks stay in L2
	// while every tile of theirs runs over the chunk, on the machine of
	// BENCHMARKS.md: 1.1 MB of its 2 MB, 16-way L2, 9 of the 16 lines of
	// each set on average. Where the buffer's pages fall in L2's sets is the
	// machine's choice (a VM's host's, even for huge pages); with 384 rows
	// (12 of 16) some buffers overfilled sets, and ran the Gram at n = 1000
	// up to 13 % slower than others, buffer by buffer in one process. 288
	// rows ran as fast as the best buffers of 384 with every buffer, 256 no
	// faster (BENCHMARKS.md). gramBlockRows scales it to the L2 at hand.
	gramBlockRowsRef = 288
	// gramInPlace is the size in bytes of a chunk of all rows up to which
	// they are read in place, 256 rows; past it they are packed by blocks.
	// On the machine of BENCHMARKS.md the chunks then stay in L2 together,
	// but it is not scaled to a smaller L2 as the blocks are: read in place,
	// the chunks of 400 and 800 rows (78 % and 156 % of that L2) ran 0-3 %
	// and 6 % slower than packed, while packing 100 rows in the blocks of a
	// 512 KB L2 ran 15 % slower than in place.
	gramInPlace = 1 << 20
)

// gramBlockRows returns the number of rows of Q packed in a block for the
// L2 at hand (toL2): a multiple of 24, so of every kernel's tile rows and
// columns. It does not change the bits.
func gramBlockRows() int { return toL2(gramBlockRowsRef, 24) }

// Gram writes K = Q Qᵀ into k (n x n, row-major, both triangles) for the
// row-major n x p matrix q. It panics if n or p is negative or a slice is
// too short. K is exactly symmetric: the upper triangle is computed and
// mirrored.
//
// Order, the same on every path and for every GOMAXPROCS: with x, y the rows
// i <= j and m = p&^7, K[i][j] = s where s = 0, then for each chunk
// [c, c+512) ∩ [0, m) in increasing c, s += reduce8(lane), lane l being the
// FMA chain lane[l] = FMA(x[e], y[e], lane[l]) over the e ≡ l (mod 8) of the
// chunk in increasing e and reduce8 the tree lane[l] += lane[l+w], w = 4, 2,
// 1; then s = FMA(x[e], y[e], s) for e = m, …, p-1.
func Gram(k, q []float64, n, p int) { gram("Gram", k, gramMatrix{f64: q, n: n, p: p}, false) }

// GramAdd adds Q Qᵀ to the symmetric K: it is Gram with each sum s started
// at K[i][j] (read from the upper triangle) instead of 0. So the columns of
// Q can be given a block at a time: GramAdd over the column blocks
// Q[:, c_0:c_1], Q[:, c_1:c_2], … of a K that starts zero gives Gram(Q)'s
// bits exactly when every block but the last has a width that is a multiple
// of gramChunk = 512 (the chunks of each block are then Gram's chunks, in
// Gram's order, and only the last block has a tail past a multiple of 8).
// This is how a Q too large for memory is streamed from a file.
func GramAdd(k, q []float64, n, p int) { gram("GramAdd", k, gramMatrix{f64: q, n: n, p: p}, true) }

// GramBlock is the width that the blocks of GramAdd and GramFloat32Add must
// be a multiple of to give the bits of Gram and GramFloat32.
const GramBlock = gramChunk

// GramFloat32 writes K = Q Qᵀ into k (n x n, row-major, both triangles) for
// the row-major n x p matrix q of float32 values, such as the per-sample
// gradients PyTorch writes. Each float32 is widened to float64, which is
// exact, and the products and sums are float64 in Gram's order: K has the
// bits of Gram on the widened matrix, on every path and for every
// GOMAXPROCS, and no float32 rounding. It reads half the bytes Gram reads.
// It panics if n or p is negative or a slice is too short.
func GramFloat32(k []float64, q []float32, n, p int) {
	gram("GramFloat32", k, gramMatrix{f32: q, narrow: true, n: n, p: p}, false)
}

// GramFloat32Add adds Q Qᵀ to the symmetric K for float32 rows: it is to
// GramFloat32 what GramAdd is to Gram, with the same guarantee: over column
// blocks of widths a multiple of GramBlock, the last excepted, of a K that
// starts zero, it gives GramFloat32(Q)'s bits, which are Gram's on the
// widened Q. This is how float32 gradients streamed from a file a block of
// columns at a time are read without widening the blocks first.
func GramFloat32Add(k []float64, q []float32, n, p int) {
	gram("GramFloat32Add", k, gramMatrix{f32: q, narrow: true, n: n, p: p}, true)
}

// gramMatrix is the row-major n x p matrix Q of a Gram: float64 rows, which
// the kernels can read in place, or, when narrow, float32 rows, which they
// read widened to float64 a chunk at a time.
type gramMatrix struct {
	f64    []float64
	f32    []float32
	narrow bool
	n, p   int
}

// at returns Q[i][e] as a float64.
func (q gramMatrix) at(i, e int) float64 {
	if q.narrow {
		return float64(q.f32[i*q.p+e])
	}
	return q.f64[i*q.p+e]
}

// rows writes the chunk [c, c+cl) of rows [r0, r1) to dst as float64, a row
// each gramChunk elements, zero rows past n.
func (q gramMatrix) rows(dst []float64, r0, r1, c, cl int) {
	for r := r0; r < r1; r++ {
		row := dst[(r-r0)*gramChunk : (r-r0)*gramChunk+cl]
		switch {
		case r >= q.n:
			clear(row)
		case q.narrow:
			active.widen(row, q.f32[r*q.p+c:r*q.p+c+cl])
		default:
			copy(row, q.f64[r*q.p+c:])
		}
	}
}

// addr returns the address of Q[i][e] and the stride of Q's rows in bytes,
// for the kernels to prefetch from; nil past the end of Q.
func (q gramMatrix) addr(i, e int) (*byte, int) {
	at := i*q.p + e
	switch {
	case q.narrow && at < len(q.f32):
		return (*byte)(unsafe.Pointer(&q.f32[at])), 4 * q.p
	case !q.narrow && at < len(q.f64):
		return (*byte)(unsafe.Pointer(&q.f64[at])), 8 * q.p
	}
	return nil, 0
}

// gram is Gram, GramAdd (add), and their float32 twins.
func gram(name string, k []float64, q gramMatrix, add bool) {
	n, p := q.n, q.p
	if n < 0 || p < 0 {
		panic(fmt.Sprintf("numerics: %s: negative size %dx%d", name, n, p))
	}
	if max(len(q.f64), len(q.f32)) < n*p || len(k) < n*n {
		panic("numerics: " + name + ": slice too short")
	}
	// Rows of more than gramInPlace a chunk are packed a block at a time, for
	// the kernel of packed rows; float32 rows are always packed, widened,
	// for the kernel of their size.
	big := n*gramChunk*8 > gramInPlace
	kern := active.gramFor(big)
	pack := big || q.narrow
	lay := newGramLayout(n, kern.tr, kern.tc)
	// The diagonal block of the last tile column may reach past its tiles
	// (into entries below the diagonal, which are never read).
	out := make([]float64, lay.start[lay.nj]*kern.tr*kern.tc+kern.tc*kern.tc)
	if add {
		for j := range n {
			for i := 0; i <= j; i++ {
				out[lay.at(i, j)] = k[i*n+j]
			}
		}
	}
	m := p &^ 7
	if m > 0 && n > 0 {
		// Tile rows a block. Read in place, all rows are one block, so
		// that Q is read once (blocks of a smaller L2 would read the
		// rows past each block again, 4-9 % slower at n = 100-250).
		bt := lay.ni
		if big {
			bt = gramBlockRows() / kern.tr
		}
		units, cost := lay.units(bt)
		w := workers(float64(n) * float64(n) * float64(p) / 2)
		cuts := split(len(units), w, 1, cost)
		parallel(len(cuts)-1, func(g int) {
			gramRun(kern, lay, bt, units[cuts[g]:cuts[g+1]], q, m, pack, big, out)
		})
	}
	for j := range n {
		for i := 0; i <= j; i++ {
			s := out[lay.at(i, j)]
			for e := m; e < p; e++ {
				s = math.FMA(q.at(i, e), q.at(j, e), s)
			}
			k[i*n+j], k[j*n+i] = s, s
		}
	}
}

// gramLayout places the tiles that cover the upper triangle of K: tile
// (I, J) holds rows [I*tr, I*tr+tr) and columns [J*tc, J*tc+tc), tile column
// J the tiles I = 0, …, top(J), stored from tile start[J] on.
type gramLayout struct {
	n, tr, tc, ni, nj int
	start             []int
}

func newGramLayout(n, tr, tc int) gramLayout {
	l := gramLayout{n: n, tr: tr, tc: tc, ni: (n + tr - 1) / tr, nj: (n + tc - 1) / tc}
	l.start = make([]int, l.nj+1)
	for j := range l.nj {
		l.start[j+1] = l.start[j] + l.top(j) + 1
	}
	return l
}

// top is the last tile row that meets the upper triangle in tile column j.
func (l gramLayout) top(j int) int { return min(l.ni-1, (j*l.tc+l.tc-1)/l.tr) }

// at is the index in the packed tiles of entry (i, j), i <= j.
func (l gramLayout) at(i, j int) int {
	return (l.start[j/l.tc]+i/l.tr)*l.tr*l.tc + i%l.tr*l.tc + j%l.tc
}

// gramUnit is the work on tile column j from tile rows [lo, hi), which lie
// in block b.
type gramUnit struct{ b, j, lo, hi int }

// units lists the work block by block of bt tile rows, with its cost in
// tiles.
func (l gramLayout) units(bt int) ([]gramUnit, func(int) float64) {
	var units []gramUnit
	for b := 0; b*bt < l.ni; b++ {
		for j := range l.nj {
			if lo, hi := b*bt, min(l.top(j)+1, (b+1)*bt); lo < hi {
				units = append(units, gramUnit{b, j, lo, hi})
			}
		}
	}
	return units, func(i int) float64 { return float64(units[i].hi - units[i].lo) }
}

// gramRun runs units (consecutive ones sharing a block of bt tile rows)
// chunk by chunk.
//
// Read in place, the kernels prefetch the next chunk of each tile column.
// Packed, the chunk of the rows of a block is copied gramChunk apart, so
// that the kernels stream it from L2 without a page break every row. Float32
// rows are always packed, widened, those of a tile column past the block
// tile column by tile column, and the kernels that prefetch fetch their next
// chunk from Q. The rows of the last tile row and column are padded with
// zero rows past n.
//
// When refill, the block's units run in decreasing tile column, so that
// the last ones, which cross the diagonal, read fewer and fewer rows of the
// block: once a unit has run, the rows no unit after it reads are packed
// again with the next chunk, which the unit's kernel prefetched from Q while
// it ran. The next chunk is then copied from L2 rather than from memory
// (refill is for blocks too large to read in place). A unit with nothing to
// pack again whose tile column comes from Q, past the block, fetches with
// kern.next this chunk of the tile column of the unit after it, if that
// comes from Q too, so that it is read from L2 rather than from memory.
// The order of the units does not change a bit: each runs its entries'
// chunks in order.
func gramRun(kern gramKernel, lay gramLayout, bt int, units []gramUnit, q gramMatrix, m int, pack, refill bool, out []float64) {
	tr, tc, n, p := kern.tr, kern.tc, lay.n, q.p
	// A block has at most min(bt, ni) tile rows: a small Gram takes a
	// small buffer.
	buf := getBuffer((min(bt, lay.ni)*tr + tr + 2*tc) * gramChunk)
	defer putBuffer(buf)
	padI, padJ, yw, xp := (*buf)[:tr*gramChunk], (*buf)[tr*gramChunk:(tr+tc)*gramChunk],
		(*buf)[(tr+tc)*gramChunk:(tr+2*tc)*gramChunk], (*buf)[(tr+2*tc)*gramChunk:]
	lastI, lastJ := lay.ni-1, lay.nj-1
	partI, partJ := n%tr != 0, n%tc != 0
	// The kernel of the last tile column's tiles, and its width.
	lastFn, lastW := kern.fn, tc
	if i := slices.IndexFunc(kern.narrow, func(k gramNarrow) bool { return n%tc <= k.nc }); partJ && i >= 0 {
		lastFn, lastW = kern.narrow[i].fn, kern.narrow[i].nc
	}
	for len(units) > 0 {
		run := 1
		for run < len(units) && units[run].b == units[0].b {
			run++
		}
		block := units[:run]
		if refill {
			block = slices.Clone(block)
			slices.Reverse(block)
		}
		// The rows of the block.
		r0, r1 := units[0].b*bt*tr, min((units[0].b+1)*bt, lay.ni)*tr
		// need[k] is the end of the rows that block[k:] read, as tile
		// rows or as tile columns; need[0] that of the rows to pack (the
		// units another goroutine runs may read the rest).
		need := make([]int, run+1)
		need[run] = r0
		for k := run - 1; k >= 0; k-- {
			u := block[k]
			need[k] = max(need[k+1], u.hi*tr, min(r1, u.j*tc+tc))
		}
		// packedY is whether a unit's tile column is in the packed rows;
		// fromQ whether it is read from Q (in place, or widened), which
		// the last tile column, when partial, is not: so a unit fromQ
		// runs on kern.fn, and may run on its twin kern.next.
		packedY := func(u gramUnit) bool { return pack && u.j*tc >= r0 && u.j*tc+tc <= r1 }
		fromQ := func(u gramUnit) bool { return !packedY(u) && !(partJ && u.j == lastJ) }
		for c := 0; c < m; c += gramChunk {
			cl := min(gramChunk, m-c)
			next := c + cl // the next chunk
			if pack && (!refill || c == 0) {
				q.rows(xp, r0, need[0], c, cl)
			}
			if partI && !pack {
				q.rows(padI, lastI*tr, lastI*tr+tr, c, cl)
			}
			if partJ {
				q.rows(padJ, lastJ*tc, lastJ*tc+tc, c, cl)
			}
			// xrows returns tile row i from column c on, and its stride.
			xrows := func(i int) ([]float64, int) {
				switch {
				case pack:
					return xp[(i*tr-r0)*gramChunk:], gramChunk
				case partI && i == lastI:
					return padI, gramChunk
				}
				return q.f64[i*tr*p+c:], p
			}
			for k, u := range block {
				var y []float64
				ys := gramChunk
				switch {
				case packedY(u):
					y = xp[(u.j*tc-r0)*gramChunk:]
				case partJ && u.j == lastJ:
					y = padJ
				case q.narrow:
					q.rows(yw, u.j*tc, u.j*tc+tc, c, cl)
					y = yw
				default:
					y, ys = q.f64[u.j*tc*p+c:], p
				}
				fn, w := kern.fn, tc // the kernel of the tiles, and its width
				if u.j == lastJ {
					fn, w = lastFn, lastW
				}
				// The next chunk of these rows in Q, unless it is in
				// a packed copy already; when refill, of the rows
				// packed again after the unit, or else this chunk of the
				// tile column that runs next, if it comes from Q.
				var pf *byte
				var pfs int
				// Rows that no unit after this one reads, to pack again.
				again := refill && next < m && need[k+1] < need[k]
				switch {
				case again:
					pf, pfs = q.addr(need[k+1], next)
				case refill && kern.next != nil && fromQ(u) && k+1 < run && fromQ(block[k+1]):
					fn = kern.next
					pf, pfs = q.addr(block[k+1].j*tc, c)
				case refill: // nothing to fetch
				case !pack || q.narrow:
					pf, pfs = q.addr(u.j*tc, next)
				}
				// The tiles from tile row d on cross the diagonal: when
				// the unit has them all, the diagonal block and the gap
				// rows above it replace them.
				hi, d := u.hi, u.j*tc/tr
				diag := kern.tri != nil && u.lo <= d && lay.top(u.j) < u.hi
				if diag {
					hi = d
				}
				fetched := false // whether fn fetched the pf rows
				for lo := u.lo; lo < hi; {
					k := hi // tiles of one stride go in one call
					if !pack && partI && lo < lastI && lastI < hi {
						k = lastI
					}
					x, xs := xrows(lo)
					o := (lay.start[u.j] + lo) * tr * tc
					fn(x, xs, k-lo, y, ys, cl, pf, pfs, out[o:o+(k-lo)*tr*tc])
					fetched = fetched || kern.rowTiles > 0 && k-lo >= kern.rowTiles*w
					lo = k
				}
				if diag {
					// Within a tile column, row i of the tiles is
					// out[o+i*tc:], o its first tile.
					o := lay.start[u.j] * tr * tc
					if g := u.j*tc - d*tr; g > 0 {
						x, xs := xrows(d)
						at := o + d*tr*tc
						kern.gap[g](x, xs, 1, y, ys, cl, nil, 0, out[at:at+g*tc])
					}
					if fetched {
						pf = nil
					}
					at := o + u.j*tc*tc
					kern.tri(y, ys, 1, y, ys, cl, pf, pfs, out[at:at+tc*tc])
				}
				if again {
					q.rows(xp[(need[k+1]-r0)*gramChunk:], need[k+1], need[k], next, min(gramChunk, m-next))
				}
			}
		}
		units = units[run:]
	}
}
