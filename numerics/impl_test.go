package numerics

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// forEachImpl runs f once per implementation this CPU has, each forced in
// turn, the generic twin last.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			defer forceImpl(im)()
			f(t)
		})
	}
}

// forceImpl makes im the active implementation until restore is called.
func forceImpl(im *impl) (restore func()) {
	old := active
	active = im
	return func() { active = old }
}

// setSize sets the cache size *size (l2Size or l1Size) to v until the
// function it returns restores it.
func setSize(size *int, v int) (restore func()) {
	old := *size
	*size = v
	return func() { *size = old }
}

// withL2 runs f with the blocking of a core of l2 bytes of L2 (cache.go).
func withL2(l2 int, f func()) {
	defer setSize(&l2Size, l2)()
	f()
}

// withL1 runs f with the kernels of a core of l1 bytes of L1 (cache.go).
func withL1(l1 int, f func()) {
	defer setSize(&l1Size, l1)()
	f()
}

// withProcs runs f with GOMAXPROCS set to n.
func withProcs(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}

// same reports whether a and b have the same bits; NaN payloads are not part
// of any kernel's contract, so all NaNs are the same.
func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

func sameSlices(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if !same(got[i], want[i]) {
			t.Fatalf("%s: element %d is %v (%#x), want %v (%#x)", what, i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

// guardNaN fills the guards around an operand: a NaN no kernel produces.
var guardNaN = math.Float64frombits(0x7ff8_dead_beef_0001)

const guardLen = 9

// guarded returns x of length n inside buf, with guardLen guard NaNs on each
// side (guardNaN, narrowed for float32), filled by fill.
func guarded[T float32 | float64](n int, fill func(i int) T) (buf, x []T) {
	buf = make([]T, n+2*guardLen)
	for i := range buf {
		buf[i] = T(guardNaN)
	}
	x = buf[guardLen : guardLen+n]
	for i := range x {
		x[i] = fill(i)
	}
	return buf, x
}

// checkGuards fails t if a guard of buf was written.
func checkGuards[T float32 | float64](t *testing.T, what string, buf []T) {
	t.Helper()
	n := len(buf) - 2*guardLen
	guard := math.Float64bits(float64(T(guardNaN)))
	for i, v := range buf {
		if (i < guardLen || i >= guardLen+n) && math.Float64bits(float64(v)) != guard {
			t.Fatalf("%s: guard %d written: %v", what, i, v)
		}
	}
}

// uniform returns a filler of values in [-1, 1) from r.
func uniform(r *rand.Rand) func(int) float64 {
	return func(int) float64 { return 2*r.Float64() - 1 }
}

// lengths are the vector lengths of the tests: every tail of every unroll,
// and a few large ones.
func lengths() []int {
	var l []int
	for n := range 71 {
		l = append(l, n)
	}
	return append(l, 127, 128, 129, 1000, 4099)
}

// longLengths are the lengths of the tests of long vectors: around the
// boundaries of one, two and three chunks of Dot, Axpy and Nrm2, around
// 2^18 = 16 chunks, from which two goroutines share them, and past 1e6
// (62 chunks, the last of 555 elements); with -short (CI's race pass), one
// of each kind.
func longLengths() []int {
	const c = vecChunk
	if testing.Short() {
		return []int{c, c + 33, 2*c - 1, minWork + 7}
	}
	return []int{c - 1, c, c + 1, c + 31, c + 32, c + 33, 2*c - 1, 2 * c, 2*c + 1, 3*c + 17,
		minWork - 1, minWork, minWork + 7, 1e6 + 3}
}
