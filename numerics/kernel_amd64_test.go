//go:build !purego

package numerics

import "testing"

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
