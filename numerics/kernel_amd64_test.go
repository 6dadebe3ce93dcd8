//go:build !purego

package numerics

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemmBlocking checks that the blocks of rows of the Gemm driver end on
// a tile boundary for every micro-kernel, also those this CPU lacks, and the
// generic twin: a tile that straddles two blocks of mc rows would add its
// rows twice.
func TestGemmBlocking(t *testing.T) {
	for _, im := range available(true, true) {
		for _, k := range []gemmKernel{im.gemm, im.gemmFew} {
			if k.fn != nil && (k.mc <= 0 || k.mc%k.mr != 0) {
				t.Errorf("%s: mc = %d is not a positive multiple of mr = %d", im.name, k.mc, k.mr)
			}
		}
	}
}

// TestPackA checks the assembly packing of whole panels of A against the
// element-by-element packing of the generic twin, on row strides wider than
// the panel (a block of a larger A), and with the column tail the Go loop
// finishes: the same bits, every element placed. TestPackB does the same
// for B, with groups of panels cut by the end of the columns.
func TestPackA(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 12))
	for _, im := range impls {
		kern := im.gemm
		if kern.packA == nil {
			continue
		}
		for _, c := range []struct{ m, k, rs, pc int }{
			{kern.mr, kern.mr, kern.mr, 0}, {2 * kern.mr, 3 * kern.mr, 5*kern.mr + 3, 2},
			{3*kern.mr + 1, 517, 600, 7}, {kern.mr, kern.mr - 1, kern.mr, 0},
		} {
			a := randSlice(r, c.m*c.rs)
			kb := min(c.k, c.rs-c.pc)
			got, want := make([]float64, roundUp(c.m, kern.mr)*kb), make([]float64, roundUp(c.m, kern.mr)*kb)
			packA(got, matrix{d: a, rs: c.rs, cs: 1}, 0, c.m, c.m, c.pc, kb, kern)
			packA(want, matrix{d: a, rs: c.rs, cs: 1}, 0, c.m, c.m, c.pc, kb, gemmKernel{mr: kern.mr})
			if !slices.Equal(got, want) {
				t.Errorf("%s: packA of %d x %d from column %d of rows %d long differs from the Go loop", im.name, c.m, kb, c.pc, c.rs)
			}
		}
	}
}

func TestPackB(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 13))
	for _, im := range impls {
		kern := im.gemm
		if kern.packB == nil {
			continue
		}
		nr := kern.nr
		for _, c := range []struct{ k, n, rs, pc, jc int }{
			{1, nr, nr, 0, 0}, {7, 3 * nr, 3*nr + 5, 2, 0}, {33, 20*nr + 5, 21 * nr, 1, nr},
			{512, 40 * nr, 41*nr + 1, 0, 2 * nr},
		} {
			b := randSlice(r, (c.pc+c.k)*c.rs)
			jn := c.n - c.jc
			size := roundUp(jn, nr) * c.k
			got, want := make([]float64, size), make([]float64, size)
			packB(got, matrix{d: b, rs: c.rs, cs: 1}, c.pc, c.k, c.jc, jn, c.n, kern, 1)
			packB(want, matrix{d: b, rs: c.rs, cs: 1}, c.pc, c.k, c.jc, jn, c.n, gemmKernel{nr: nr}, 1)
			if !slices.Equal(got, want) {
				t.Errorf("%s: packB of %d x %d from (%d, %d) differs from the Go loop", im.name, c.k, jn, c.pc, c.jc)
			}
		}
	}
}
