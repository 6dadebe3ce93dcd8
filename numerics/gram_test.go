package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGram is the order Gram documents, from its doc comment.
func refGram(q []float64, n, p int) []float64 {
	k := make([]float64, n*n)
	m := p &^ 7
	for i := range n {
		for j := i; j < n; j++ {
			x, y := q[i*p:(i+1)*p], q[j*p:(j+1)*p]
			var s float64
			for c := 0; c < m; c += 512 {
				var lane [8]float64
				for e := c; e < min(c+512, m); e++ {
					lane[e%8] = math.FMA(x[e], y[e], lane[e%8])
				}
				s += ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]))
			}
			for e := m; e < p; e++ {
				s = math.FMA(x[e], y[e], s)
			}
			k[i*n+j], k[j*n+i] = s, s
		}
	}
	return k
}

// TestGram: every implementation gives the bits of Gram's documented order,
// Gram on float64 rows and GramFloat32 on float32 rows (on their widened
// values), across the tiles, tails and chunks, with extreme values (whose
// products a float32 product would round to 0 or Inf) in some, and reads
// and writes nothing outside q and k.
func TestGram(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 1))
	forEachImpl(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 9, 13, 50} {
			for _, p := range []int{0, 1, 7, 8, 9, 63, 511, 512, 513, 1025, 2061} {
				fill, fill32 := uniform(r), narrowed(uniform(r))
				if p == 9 {
					fill = wild(r)
				}
				if p == 9 || p == 513 {
					fill32 = wild32(r)
				}
				checkGramOn(t, fmt.Sprintf("Gram n=%d p=%d", n, p), Gram, n, p, fill)
				checkGramOn(t, fmt.Sprintf("GramFloat32 n=%d p=%d", n, p), GramFloat32, n, p, fill32)
			}
		}
	})
}

// checkGramOn runs gram on an n x p q filled by fill, between guards, and
// fails t unless K has the bits of refGram on q widened and neither the
// guards nor q were written.
func checkGramOn[T float32 | float64](t *testing.T, what string, gram func(k []float64, q []T, n, p int), n, p int, fill func(int) T) {
	t.Helper()
	bq, q := guarded(n*p, fill)
	bk, k := guarded(n*n, func(int) float64 { return math.NaN() })
	q0 := widened(q)
	gram(k, q, n, p)
	sameSlices(t, what, k, refGram(q0, n, p))
	checkGuards(t, what, bq)
	checkGuards(t, what, bk)
	sameSlices(t, what+" Q", widened(q), q0)
}

// The parallel Gram gives the bits of one goroutine and is exactly
// symmetric, with rows read in place (n = 150, and n = 256, the most) and
// packed (n = 263, past 256 rows, one block; n = 416, two blocks of
// gramBlockRows = 288, over three chunks, the last short, which the blocks
// pack again as their units finish with the rows, and whose tile columns
// past the first block fetch those of the next; n = 258 and 260, whose
// last tile column has 2 and 4 columns of K on AVX-512).
func TestGramProcs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 2))
	for _, s := range []struct{ n, p int }{{150, 2100}, {256, 1030}, {263, 1030}, {416, 1100}, {258, 530}, {260, 530}} {
		q := randSlice(r, s.n*s.p)
		want := refGram(q, s.n, s.p)
		forEachImpl(t, func(t *testing.T) {
			for procs := 1; procs <= 2; procs++ {
				k := make([]float64, s.n*s.n)
				withProcs(procs, func() { Gram(k, q, s.n, s.p) })
				sameSlices(t, fmt.Sprintf("Gram n=%d p=%d GOMAXPROCS %d", s.n, s.p, procs), k, want)
			}
		})
	}
}
