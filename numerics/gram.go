package numerics

import (
	"fmt"
	"math"
)

// gramKernel is a Gram kernel of t x t tiles: for each tile k < nx, fn adds
// to out[k*t*t+a*t+b] the chunkSum of row x[(t*k+a)*xs:] against row
// y[b*ys:] over their first n elements (n > 0, a multiple of 8), and may
// prefetch the first n elements of the rows pf[b*pfs:] (which may run past
// pf).
type gramKernel struct {
	t  int
	fn func(x []float64, xs, nx int, y []float64, ys, n int, pf []float64, pfs int, out []float64)
}

const (
	// gramL2 is the size in bytes up to which the chunks of all rows stay in
	// L2 together: then the next chunk is prefetched, else the next tile.
	gramL2 = 1 << 20
)

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
func Gram(k, q []float64, n, p int) {
	if n < 0 || p < 0 {
		panic(fmt.Sprintf("numerics: Gram: negative size %dx%d", n, p))
	}
	if len(q) < n*p || len(k) < n*n {
		panic("numerics: Gram: slice too short")
	}
	kern := active.gram
	t := kern.t
	nt := (n + t - 1) / t
	out := make([]float64, nt*(nt+1)/2*t*t)
	m := p &^ 7
	if m > 0 && n > 0 {
		units, cost := gramUnits(nt, max(1, gramBlockRows/t))
		w := workers(float64(n) * float64(n) * float64(p) / 2)
		cuts := split(len(units), w, 1, cost)
		parallel(len(cuts)-1, func(g int) {
			gramRun(kern, units[cuts[g]:cuts[g+1]], q, n, p, m, out)
		})
	}
	for j := range n {
		for i := 0; i <= j; i++ {
			s := out[tileIndex(i/t, j/t)*t*t+i%t*t+j%t]
			x, y := q[i*p:(i+1)*p], q[j*p:(j+1)*p]
			for e := m; e < p; e++ {
				s = math.FMA(x[e], y[e], s)
			}
			k[i*n+j], k[j*n+i] = s, s
		}
	}
}

const (
	// gramChunk is the length of the chunks of the Gram order, such that the
	// chunks of the eight rows of a 4x4 tile stay in L1. Changing it changes
	// the bits of every Gram of more than gramChunk columns.
	gramChunk = 512
	// gramBlockRows is the number of rows of Q whose chunks stay in L2 while
	// every tile of theirs runs over the chunk.
	gramBlockRows = 256
)

// gramUnit is the work on tile column J of the upper triangle from the tile
// rows of block b, which are [b*bt, (b+1)*bt).
type gramUnit struct{ b, bt, j int }

// rows returns the tile rows of the unit: those of its block up to J.
func (u gramUnit) rows() (lo, hi int) {
	return u.b * u.bt, min(u.j+1, (u.b+1)*u.bt)
}

// gramUnits lists the units of an upper triangle of nt x nt tiles, block by
// block, with their cost in tiles.
func gramUnits(nt, bt int) ([]gramUnit, func(int) float64) {
	var units []gramUnit
	for b := 0; b*bt < nt; b++ {
		for j := b * bt; j < nt; j++ {
			units = append(units, gramUnit{b, bt, j})
		}
	}
	return units, func(i int) float64 {
		lo, hi := units[i].rows()
		return float64(hi - lo)
	}
}

// tileIndex is the position of tile (I, J), I <= J, in the packed triangle.
func tileIndex(i, j int) int { return j*(j+1)/2 + i }

// gramRun runs units (consecutive ones sharing a block) chunk by chunk.
//
// When the chunks of all rows fit in L2 the kernels read them in place and
// prefetch the next chunk of each row. Otherwise the chunk of the rows of a
// block is packed, gramChunk apart, so that the kernels stream it from L2
// without a page break every row, and they prefetch the rows of the next
// tile. The rows of the last tile are padded with zero rows past n.
func gramRun(kern gramKernel, units []gramUnit, q []float64, n, p, m int, out []float64) {
	t := kern.t
	last := (n+t-1)/t - 1
	partial := n%t != 0
	pack := n*gramChunk*8 > gramL2
	buf := getBuffer((units[0].bt + 1) * t * gramChunk)
	defer putBuffer(buf)
	xp, pad := (*buf)[t*gramChunk:], (*buf)[:t*gramChunk]
	// fill copies the chunk [c, c+cl) of rows [r0, r1) to dst, a row each
	// gramChunk elements, zero past row n.
	fill := func(dst []float64, r0, r1, c, cl int) {
		for r := r0; r < r1; r++ {
			row := dst[(r-r0)*gramChunk : (r-r0)*gramChunk+cl]
			if r < n {
				copy(row, q[r*p+c:])
			} else {
				clear(row)
			}
		}
	}
	// from returns q from element at, or nothing past its end.
	from := func(at int) []float64 {
		if at < len(q) {
			return q[at:]
		}
		return nil
	}
	for len(units) > 0 {
		run := 1
		for run < len(units) && units[run].b == units[0].b {
			run++
		}
		// The tile rows of the block.
		b0, b1 := units[0].b*units[0].bt, min((units[0].b+1)*units[0].bt, last+1)
		for c := 0; c < m; c += gramChunk {
			cl := min(gramChunk, m-c)
			if pack {
				fill(xp, b0*t, b1*t, c, cl)
			}
			if partial {
				fill(pad, last*t, (last+1)*t, c, cl)
			}
			// rows returns tile row i from column c on and its stride.
			rows := func(i int) ([]float64, int) {
				switch {
				case pack && i >= b0 && i < b1:
					return xp[(i-b0)*t*gramChunk:], gramChunk
				case partial && i == last:
					return pad, gramChunk
				}
				return q[i*t*p+c:], p
			}
			for _, u := range units[:run] {
				y, ys := rows(u.j)
				pf := from(u.j*t*p + c + cl) // the next chunk of these rows
				if pack && u.j >= b1 {
					pf = from((u.j+1)*t*p + c) // this chunk of the next tile
				}
				lo, hi := u.rows()
				for lo < hi {
					k := hi // tiles of one stride go in one call
					if !pack && partial && lo < last && last < hi {
						k = last
					}
					x, xs := rows(lo)
					o := tileIndex(lo, u.j) * t * t
					kern.fn(x, xs, k-lo, y, ys, cl, pf, p, out[o:o+(k-lo)*t*t])
					lo = k
				}
			}
		}
		units = units[run:]
	}
}
