package numerics

import (
	"fmt"
	"math"
)

// gramKernel is a Gram tile kernel: fn adds to out[a*t+b] the chunkSum of
// rows[a] against rows[t+b] over their first n elements, n a multiple of 8.
type gramKernel struct {
	t  int
	fn func(rows [][]float64, n int, out []float64)
}

const (
	// gramChunk is the length of the chunks of the Gram order. Changing it
	// changes the bits of every Gram of more than gramChunk columns.
	gramChunk = 1024
	// gramBlockRows is the number of rows of Q whose chunks stay in L2 while
	// every tile of theirs runs over the chunk.
	gramBlockRows = 64
)

// Gram writes K = Q Qᵀ into k (n x n, row-major, both triangles) for the
// row-major n x p matrix q. It panics if n or p is negative or a slice is
// too short. K is exactly symmetric: the upper triangle is computed and
// mirrored.
//
// Order, the same on every path and for every GOMAXPROCS: with x, y the rows
// i <= j and m = p&^7, K[i][j] = s where s = 0, then for each chunk
// [c, c+1024) ∩ [0, m) in increasing c, s += reduce8(lane), lane l being the
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
	if m > 0 {
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
func gramRun(kern gramKernel, units []gramUnit, q []float64, n, p, m int, out []float64) {
	t := kern.t
	rows := make([][]float64, 2*t)
	// setRows points rows[off:off+t] at the chunk [c, c+cl) of tile row r,
	// repeating the last row of q past n (its results are dropped).
	setRows := func(off, r, c, cl int) {
		for a := range t {
			i := min(r*t+a, n-1)
			rows[off+a] = q[i*p+c : i*p+c+cl]
		}
	}
	for len(units) > 0 {
		run := 1
		for run < len(units) && units[run].b == units[0].b {
			run++
		}
		for c := 0; c < m; c += gramChunk {
			cl := min(gramChunk, m-c)
			for _, u := range units[:run] {
				setRows(t, u.j, c, cl)
				lo, hi := u.rows()
				for i := lo; i < hi; i++ {
					setRows(0, i, c, cl)
					o := tileIndex(i, u.j) * t * t
					kern.fn(rows, cl, out[o:o+t*t])
				}
			}
		}
		units = units[run:]
	}
}
