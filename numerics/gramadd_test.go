package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// colBlock returns columns [c0, c1) of the row-major n x p matrix q as a
// row-major n x (c1-c0) matrix.
func colBlock[T any](q []T, n, p, c0, c1 int) []T {
	out := make([]T, 0, n*(c1-c0))
	for i := range n {
		out = append(out, q[i*p+c0:i*p+c1]...)
	}
	return out
}

// gramByBlocks is K = Q Qᵀ by add (GramAdd or GramFloat32Add) over column
// blocks of the given widths, the last block taking the rest.
func gramByBlocks[T any](add func(k []float64, q []T, n, p int), q []T, n, p int, widths ...int) []float64 {
	k := make([]float64, n*n)
	c := 0
	for _, w := range widths {
		w = min(w, p-c)
		add(k, colBlock(q, n, p, c, c+w), n, w)
		c += w
	}
	add(k, colBlock(q, n, p, c, p), n, p-c)
	return k
}

// TestGramAddBlocks: GramAdd over column blocks whose widths are multiples
// of GramBlock gives Gram's bits, for every implementation, with rows read
// in place (n <= 256) and packed (n = 263), the tail past a multiple of 8
// in the last block, and an empty last block. The negative control: blocks
// of 256 columns, half a chunk, change the bits (a stream that chose them
// would not be the in-memory Gram).
func TestGramAddBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 5))
	for _, s := range []struct {
		n, p   int
		widths []int
	}{
		{1, 1, nil},
		{5, 7, nil},
		{9, 1030, []int{512}},
		{13, 2061, []int{512, 1024}},
		{50, 1536, []int{512, 1024}}, // the last block is empty
		{150, 2100, []int{1024}},
		{263, 1545, []int{512, 512}},
	} {
		q := randSlice(r, s.n*s.p)
		forEachImpl(t, func(t *testing.T) {
			want := make([]float64, s.n*s.n)
			Gram(want, q, s.n, s.p)
			what := fmt.Sprintf("n=%d p=%d blocks %v", s.n, s.p, s.widths)
			sameSlices(t, what, gramByBlocks(GramAdd, q, s.n, s.p, s.widths...), want)
			if s.p > 2*GramBlock {
				got := gramByBlocks(GramAdd, q, s.n, s.p, GramBlock/2)
				differs := false
				for i := range got {
					differs = differs || !same(got[i], want[i])
				}
				if !differs {
					t.Errorf("%s: blocks of %d columns gave Gram's bits: the control does not test the chunk order", what, GramBlock/2)
				}
			}
		})
	}
}

// TestGramAddAccumulates: GramAdd continues each sum of Gram's order from
// K[i][j] of a random symmetric K (refGram's order with s started there),
// and leaves K exactly symmetric; with p = 0 it leaves K as it was.
func TestGramAddAccumulates(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 6))
	for _, s := range []struct{ n, p int }{{6, 20}, {7, 1100}} {
		q := randSlice(r, s.n*s.p)
		k0 := make([]float64, s.n*s.n)
		for i := range s.n {
			for j := i; j < s.n; j++ {
				k0[i*s.n+j] = r.Float64()
				k0[j*s.n+i] = k0[i*s.n+j]
			}
		}
		// refGram's order with each sum started at K0[i][j].
		want := make([]float64, s.n*s.n)
		m := s.p &^ 7
		for i := range s.n {
			for j := i; j < s.n; j++ {
				x, y := q[i*s.p:(i+1)*s.p], q[j*s.p:(j+1)*s.p]
				v := k0[i*s.n+j]
				for c := 0; c < m; c += 512 {
					var lane [8]float64
					for e := c; e < min(c+512, m); e++ {
						lane[e%8] = math.FMA(x[e], y[e], lane[e%8])
					}
					v += ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]))
				}
				for e := m; e < s.p; e++ {
					v = math.FMA(x[e], y[e], v)
				}
				want[i*s.n+j], want[j*s.n+i] = v, v
			}
		}
		forEachImpl(t, func(t *testing.T) {
			k := append([]float64(nil), k0...)
			GramAdd(k, q, s.n, s.p)
			sameSlices(t, fmt.Sprintf("GramAdd n=%d p=%d", s.n, s.p), k, want)
			k = append([]float64(nil), k0...)
			GramAdd(k, nil, s.n, 0)
			sameSlices(t, "p = 0", k, k0)
		})
	}
}

// TestGramAddSignedZeros: sums that are -0 stay -0. Rows of alternate sign
// whose products all underflow make every lane of an entry of an even and
// an odd row -0, so its chunk sums are -0, and GramAdd from a K0 of -0 keeps
// -0 there on every path: the diagonal blocks that reduce into a local block
// before adding to K (AVX-512) must start it at -0, not +0. Sizes cover the
// tiles, the diagonal blocks and the rows above them, in place and packed.
func TestGramAddSignedZeros(t *testing.T) {
	tiny := math.Ldexp(1, -600) // its square underflows to 0
	for _, n := range []int{2, 5, 8, 9, 13, 17, 24, 50, 100, 263} {
		for _, p := range []int{8, 512, 1030} {
			q := make([]float64, n*p)
			for i := range n {
				for e := range p {
					q[i*p+e] = tiny * float64(1+e%3)
					if i%2 == 1 {
						q[i*p+e] = -q[i*p+e]
					}
				}
			}
			want := make([]float64, n*n)
			for i := range n {
				for j := range n {
					want[i*n+j] = 0
					if (i+j)%2 == 1 {
						want[i*n+j] = math.Copysign(0, -1)
					}
				}
			}
			forEachImpl(t, func(t *testing.T) {
				k := make([]float64, n*n)
				for i := range k {
					k[i] = math.Copysign(0, -1)
				}
				GramAdd(k, q, n, p)
				sameSlices(t, fmt.Sprintf("GramAdd n=%d p=%d", n, p), k, want)
			})
		}
	}
}
