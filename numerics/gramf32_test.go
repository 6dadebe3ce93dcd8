package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// widened returns q widened to float64, exactly (a copy for float64).
func widened[T float32 | float64](q []T) []float64 {
	x := make([]float64, len(q))
	for i, v := range q {
		x[i] = float64(v)
	}
	return x
}

// specials32 are the float32 values that break kernels: the specials float32
// has, and its own extremes, whose squares overflow or underflow float32 but
// not float64.
var specials32 = []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 0x1p-126, math.MaxFloat32, -math.MaxFloat32}

// wild32 returns a filler drawing from specials32 half the time, otherwise
// from the whole exponent range of float32.
func wild32(r *rand.Rand) func(int) float32 {
	return func(int) float32 {
		if r.IntN(2) == 0 {
			return specials32[r.IntN(len(specials32))]
		}
		return float32(math.Ldexp(2*r.Float64()-1, r.IntN(300)-150))
	}
}

// narrowed returns f's values rounded to float32.
func narrowed(f func(int) float64) func(int) float32 {
	return func(i int) float32 { return float32(f(i)) }
}

// TestGramFloat32Procs: GramFloat32 gives the bits of Gram's order on the
// widened matrix with GOMAXPROCS 1 and 2, rows of one block (n = 150, the
// kernel of rows in L2) and of two (n = 400, the kernel of packed rows,
// rows past the block widened by tile column), and packed rows whose last
// tile column has 4 columns of K on AVX-512 (n = 260).
func TestGramFloat32Procs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ n, p int }{{150, 2100}, {400, 530}, {260, 530}} {
		_, q := guarded(s.n*s.p, narrowed(uniform(r)))
		want := refGram(widened(q), s.n, s.p)
		forEachImpl(t, func(t *testing.T) {
			for procs := 1; procs <= 2; procs++ {
				k := make([]float64, s.n*s.n)
				withProcs(procs, func() { GramFloat32(k, q, s.n, s.p) })
				sameSlices(t, fmt.Sprintf("GramFloat32 n=%d p=%d GOMAXPROCS %d", s.n, s.p, procs), k, want)
			}
		})
	}
}

// TestGramFloat32Add: GramFloat32Add is GramAdd on the widened block, bit
// for bit, from a symmetric K; over column blocks of widths a multiple of
// GramBlock from K = 0 it gives GramFloat32's bits, and blocks of half that
// (the control) change them.
func TestGramFloat32Add(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, s := range []struct {
		n, p   int
		widths []int
	}{
		{5, 7, nil},
		{13, 2061, []int{512, 1024}},
		{50, 1536, []int{512, 1024}}, // the last block is empty
		{263, 1545, []int{512, 512}},
	} {
		if testing.Short() && s.n > gramBlockRows() {
			continue // TestGramFloat32Procs has two blocks
		}
		q := make([]float32, s.n*s.p)
		for i := range q {
			q[i] = float32(2*r.Float64() - 1)
		}
		// K0: a symmetric K of other gradients, as of an earlier block.
		k0 := make([]float64, s.n*s.n)
		Gram(k0, randSlice(r, s.n*3), s.n, 3)
		what := fmt.Sprintf("n=%d p=%d", s.n, s.p)
		forEachImpl(t, func(t *testing.T) {
			got, want := slices.Clone(k0), slices.Clone(k0)
			GramFloat32Add(got, q, s.n, s.p)
			GramAdd(want, widened(q), s.n, s.p)
			sameSlices(t, "GramFloat32Add "+what, got, want)

			whole := make([]float64, s.n*s.n)
			GramFloat32(whole, q, s.n, s.p)
			sameSlices(t, fmt.Sprintf("%s blocks %v", what, s.widths), gramByBlocks(GramFloat32Add, q, s.n, s.p, s.widths...), whole)
			if s.p > 2*GramBlock {
				got := gramByBlocks(GramFloat32Add, q, s.n, s.p, GramBlock/2)
				if slices.EqualFunc(got, whole, same) {
					t.Errorf("%s: blocks of %d columns gave GramFloat32's bits: the control does not test the chunk order", what, GramBlock/2)
				}
			}
		})
	}
}

// TestWiden: every implementation widens every float32 exactly (a NaN to a
// NaN), on every tail, writing nothing past dst.
func TestWiden(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 6))
	forEachImpl(t, func(t *testing.T) {
		for _, n := range lengths() {
			_, src := guarded(n+1, wild32(r))
			bd, dst := guarded(n, func(int) float64 { return 0 })
			active.widen(dst, src)
			for i := range dst {
				if want := float64(src[i]); !same(dst[i], want) {
					t.Fatalf("widen n=%d: dst[%d] = %v, want %v", n, i, dst[i], want)
				}
			}
			checkGuards(t, fmt.Sprintf("widen n=%d", n), bd)
		}
	})
}
