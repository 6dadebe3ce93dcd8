package numerics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// testL2Sizes are the L2 caches whose blocking the tests run: Intel client
// cores of 256 KB, AMD Zen 2 and Zen 3 (512 KB), Zen 4 and Skylake-SP
// (1 MB), Ice Lake (1.25 MB) and the reference machine (2 MB).
var testL2Sizes = []int{256 << 10, 512 << 10, 1 << 20, 1280 << 10, referenceL2}

// testL1Sizes are the L1 data caches whose kernels the tests run: the 32 KB
// of AMD Zen 2 to Zen 4 and the bigL1 of the reference machine.
var testL1Sizes = []int{32 << 10, bigL1}

func TestToL2(t *testing.T) {
	for _, c := range []struct{ l2, ref, unit, want int }{
		{referenceL2, 288, 24, 288},
		{4 * referenceL2, 288, 24, 288}, // never larger than measured
		{1 << 20, 288, 24, 144},
		{1280 << 10, 288, 24, 168}, // 180 rounded down
		{512 << 10, 288, 24, 72},
		{256 << 10, 288, 24, 72}, // not below a quarter
		{64 << 10, 288, 24, 72},
		{256 << 10, 20, 24, 24}, // at least one unit
		{512 << 10, 120, 4, 28}, // AVX2's mc: 30 rounded down
		{512 << 10, 240, 8, 56},
	} {
		withL2(c.l2, func() {
			if got := toL2(c.ref, c.unit); got != c.want {
				t.Errorf("L2 %d KB: toL2(%d, %d) = %d, want %d", c.l2>>10, c.ref, c.unit, got, c.want)
			}
		})
	}
	for _, b := range []int{0, 1 << 10, 63 << 10, 65 << 20} {
		if got := plausibleL2(b); got != referenceL2 {
			t.Errorf("plausibleL2(%d) = %d, want the reference %d", b, got, referenceL2)
		}
	}
	if got := plausibleL2(512 << 10); got != 512<<10 {
		t.Errorf("plausibleL2(512 KB) = %d", got)
	}
	// CacheL2 and CacheL1 as the package starts, before TestMain sets the
	// reference.
	withL2(plausibleL2(cpuL2()), func() {
		if b, reported := CacheL2(); b != plausibleL2(cpuL2()) || reported != (b == cpuL2()) {
			t.Errorf("CacheL2() = %d, %v; the CPU reports %d", b, reported, cpuL2())
		}
	})
	withL1(cpuL1(), func() {
		if b, reported := CacheL1(); b != cpuL1() || reported != (b > 0) {
			t.Errorf("CacheL1() = %d, %v; the CPU reports %d", b, reported, cpuL1())
		}
	})
}

// The block sizes of every L2 of testL2Sizes (of 512 KB with -short) give
// the bits of the reference blocking: the Gram in place and packed, in one
// block or several, of float64 and float32 rows and with GramAdd's start,
// and Gemm, Syrk and a GemmPacked of pre-packed A over blocks of rows (mc)
// of every size. The L2 sizes take the L1 sizes of testL1Sizes in turn (32
// KB with -short), so that the Gram's kernels for a small L1, in place and
// packed, give the bits of those for a large one, which TestMain sets.
func TestBlockingBits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	type result struct {
		what string
		k    []float64
	}
	run := func(n, p, m int, q, a, b []float64) []result {
		var out []result
		k := make([]float64, n*n)
		Gram(k, q, n, p)
		out = append(out, result{"Gram", k})
		k = make([]float64, n*n)
		GramFloat32(k, narrowed64(q), n, p)
		out = append(out, result{"GramFloat32", k})
		k = slices.Clone(out[0].k)
		GramAdd(k, q, n, p)
		out = append(out, result{"GramAdd", k})
		c := make([]float64, m*n)
		Gemm(false, true, m, n, p, 1, a, p, b, p, 0, c, n)
		out = append(out, result{"Gemm", c})
		c = make([]float64, m*m)
		Syrk(true, false, m, p, 1, a, p, 0, c, m)
		out = append(out, result{"Syrk", c})
		mr := PanelHeight(m)
		ap := make([]float64, (m+mr-1)/mr*mr*p)
		PackA(ap, false, m, p, a, p)
		c = make([]float64, m*n)
		GemmPacked(m, n, p, Operand{Data: ap, Stride: p * mr}, Operand{Data: b, Ld: p, Trans: true}, 0, c, n)
		out = append(out, result{"GemmPacked", c})
		return out
	}
	shapes, sizes := []struct{ n, p, m int }{{300, 1100, 250}, {420, 530, 100}}, testL2Sizes
	if testing.Short() { // the race detector's run: one shape, the 512 KB blocking
		shapes, sizes = shapes[:1], []int{512 << 10}
	}
	for _, s := range shapes {
		q := randSlice(r, s.n*s.p)
		a := randSlice(r, s.m*s.p)
		t.Run(fmt.Sprintf("n=%d", s.n), func(t *testing.T) {
			forEachImpl(t, func(t *testing.T) {
				var want []result
				withL2(referenceL2, func() { want = run(s.n, s.p, s.m, q, a, q) })
				for j, l2 := range sizes {
					l1 := testL1Sizes[j%len(testL1Sizes)]
					withL1(l1, func() {
						withL2(l2, func() {
							for i, got := range run(s.n, s.p, s.m, q, a, q) {
								sameSlices(t, fmt.Sprintf("%s n=%d p=%d m=%d, L2 %d KB, L1 %d KB", got.what, s.n, s.p, s.m, l2>>10, l1>>10), got.k, want[i].k)
							}
						})
					})
				}
			})
		})
	}
}
