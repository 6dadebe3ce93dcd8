//go:build !purego

package numerics

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate sh -c "cd _asm && go run . -out ../asm_amd64.s -stubs ../asm_amd64.go -pkg numerics"

// impls lists the implementations this CPU runs, best first: AVX-512 (F, DQ
// and VL), AVX2 with FMA, then the generic twin.
var impls = available(
	cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL,
	cpu.X86.HasAVX2 && cpu.X86.HasFMA,
)

// cpuL2 returns the size in bytes of the L2 cache of a core from CPUID leaf
// 0x80000006 (bits 31-16 of ECX, in KB, on Intel and AMD alike), or 0 when
// the CPU does not have that leaf.
func cpuL2() int {
	if top, _, _, _ := cpuid(0x80000000, 0); top < 0x80000006 {
		return 0
	}
	_, _, c, _ := cpuid(0x80000006, 0)
	return int(c>>16) << 10
}

// cpuL1 returns the size in bytes of the L1 data cache of a core: on AMD
// from CPUID leaf 0x80000005 (bits 31-24 of ECX, in KB), which Intel leaves
// zero, else from Intel's leaf 4, the first cache of level 1 that holds data
// (ways x partitions x line size x sets); 0 when neither says.
func cpuL1() int {
	if top, _, _, _ := cpuid(0x80000000, 0); top >= 0x80000005 {
		if _, _, c, _ := cpuid(0x80000005, 0); c>>24 != 0 {
			return int(c>>24) << 10
		}
	}
	if top, _, _, _ := cpuid(0, 0); top < 4 {
		return 0
	}
	for sub := uint32(0); sub < 16; sub++ {
		a, b, c, _ := cpuid(4, sub)
		kind, level := a&0x1f, a>>5&7
		if kind == 0 { // no more caches
			break
		}
		if level == 1 && (kind == 1 || kind == 3) { // data or unified
			return int(b>>22+1) * int(b>>12&0x3ff+1) * int(b&0xfff+1) * int(c+1)
		}
	}
	return 0
}

func available(hasAVX512, hasAVX2 bool) []*impl {
	var l []*impl
	if hasAVX512 {
		// The last tile column of 1-2 or 3-4 columns of K, in place or
		// packed.
		avx512Narrow := []gramNarrow{{2, gramAsmIn(3, 2, 8, gram3x2AVX512)}, {4, gramAsmIn(3, 4, 8, gram3x4AVX512)}}
		// The diagonal block of a tile column, in place or packed, and the
		// one or two rows above it that the tiles of 3 rows leave.
		avx512Tri := gramTrapAsm(8, gramTrap048AVX512, gramTrap488AVX512)
		avx512Gap := []func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64){
			nil, gramAsm(1, 8, gram1x8AVX512), gramAsm(2, 8, gram2x8AVX512)}
		l = append(l, &impl{
			name:     "avx512",
			dot:      dotAVX512,
			sumSq:    sumSqAVX512,
			maxAbs:   maxAbsAVX512,
			axpy:     axpyAVX512,
			scal:     scalAVX512,
			widen:    widenAVX512,
			gather:   gatherAsm(8, gatherAVX512),
			addBlock: addBlockAsm(addBlockAVX512),
			gemm:     gemmKernel{mr: 8, nr: 24, mc: 240, fn: gemmAsm(8, 24, gemm8x24AVX512), packA: packAAsm(8, packA8AVX512), packB: packBAsm(24, packB24AVX512)},
			gemmFew:  gemmKernel{mr: 5, nr: 24, mc: 240, fn: gemmAsm(5, 24, gemm5x24AVX512)},
			// rowTiles is the generator's gramShape.every of the kernels of
			// the tile columns (numerics/_asm/gen.go).
			gram: gramKernel{tr: 3, tc: 8, fn: gramAsm(3, 8, gram3x8AVX512), rowTiles: 2,
				tri: avx512Tri, gap: avx512Gap, narrow: avx512Narrow},
			// Packed, rowTiles is left 0 although the tiles fetch their pf rows
			// as in place: the diagonal blocks then prefetch the rows the
			// driver packs again after them once more, which measured 1-4 %
			// faster at n = 1000 than leaving it to the tiles (BENCHMARKS.md).
			gramPacked: gramKernel{tr: 3, tc: 8, fn: gramAsm(3, 8, gram3x8PackedAVX512),
				next: gramAsm(3, 8, gram3x8PackedNextAVX512),
				tri:  avx512Tri, gap: avx512Gap, narrow: avx512Narrow},
		})
	}
	if hasAVX2 {
		// rowTiles: gramShape.every, as above.
		avx2Gram := gramKernel{tr: 3, tc: 4, fn: gramAsm(3, 4, gram3x4AVX2), rowTiles: 4,
			narrow: []gramNarrow{{2, gramAsmIn(3, 2, 4, gram3x2AVX2)}},
			tri:    gramAsm(4, 4, gramTri4AVX2),
			gap: []func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64){
				nil, gramAsm(1, 4, gram1x4AVX2), gramAsm(2, 4, gram2x4AVX2)}}
		avx2Packed := gramKernel{tr: 2, tc: 6, fn: gramAsm(2, 6, gram2x6AVX2), next: gramAsm(2, 6, gram2x6NextAVX2)}
		// The same, but for tiles that fetch the next tile's rows.
		avx2GramBigL1, avx2PackedBigL1 := avx2Gram, avx2Packed
		avx2GramBigL1.fn = gramAsm(3, 4, gram3x4BigL1AVX2)
		avx2PackedBigL1.fn, avx2PackedBigL1.next = gramAsm(2, 6, gram2x6BigL1AVX2), gramAsm(2, 6, gram2x6BigL1NextAVX2)
		l = append(l, &impl{
			name:            "avx2",
			dot:             dotAVX2,
			sumSq:           sumSqAVX2,
			maxAbs:          maxAbsAVX2,
			axpy:            axpyAVX2,
			scal:            scalAVX2,
			widen:           widenAVX2,
			gather:          gatherAsm(4, gatherAVX2),
			addBlock:        addBlockAsm(addBlockAVX2),
			gemm:            gemmKernel{mr: 4, nr: 12, mc: 120, fn: gemmAsm(4, 12, gemm4x12AVX2), packA: packAAsm(4, packA4AVX2), packB: packBAsm(12, packB12AVX2)},
			gram:            avx2Gram,
			gramBigL1:       avx2GramBigL1,
			gramPacked:      avx2Packed,
			gramPackedBigL1: avx2PackedBigL1,
		})
	}
	return append(l, generic)
}

// gemmAsm adapts an assembly micro-kernel to slices, checking the bounds it
// relies on.
func gemmAsm(mr, nr int, f func(kc int, a *float64, as int, b, c *float64, ldc, tiles int, next *float64, nb *byte, fetch int, zero bool)) func(kc int, a []float64, as int, b, c []float64, ldc, tiles int, next, nb []float64, fetch int, zero bool) {
	return func(kc int, a []float64, as int, b, c []float64, ldc, tiles int, next, nb []float64, fetch int, zero bool) {
		if tiles <= 0 || fetch < 0 {
			panic("numerics: gemm: bad tiles")
		}
		_, _, _ = a[(tiles-1)*as+kc*mr-1], b[kc*nr-1], c[((tiles-1)*mr+mr-1)*ldc+nr-1]
		f(kc, &a[0], as, &b[0], &c[0], ldc, tiles, &next[0], (*byte)(unsafe.Pointer(&nb[0])), fetch, zero)
	}
}

// packAAsm adapts an assembly packing of a whole panel of mr rows of A to
// slices, checking the bounds it relies on.
func packAAsm(mr int, f func(dst, src *float64, rs, kb int)) func(dst, src []float64, rs, kb int) {
	return func(dst, src []float64, rs, kb int) {
		if kb <= 0 || kb%mr != 0 {
			panic("numerics: packA: bad panel")
		}
		_, _ = dst[kb*mr-1], src[(mr-1)*rs+kb-1]
		f(&dst[0], &src[0], rs, kb)
	}
}

// packBAsm adapts an assembly copy of the rows of whole panels of B (nr
// columns) to slices, checking the bounds it relies on.
func packBAsm(nr int, f func(dst *float64, ps int, src *float64, rs, np, kb int)) func(dst []float64, ps int, src []float64, rs, np, kb int) {
	return func(dst []float64, ps int, src []float64, rs, np, kb int) {
		if np <= 0 || kb <= 0 {
			panic("numerics: packB: bad group")
		}
		_, _ = dst[(np-1)*ps+kb*nr-1], src[(kb-1)*rs+np*nr-1]
		f(&dst[0], ps, &src[0], rs, np, kb)
	}
}

// gatherAsm adapts an assembly gather of vectors of width offsets to
// slices: lines whose length is not a multiple of width, and empty ones, go
// to the generic twin. Gather has checked the indices.
func gatherAsm(width int, f func(dst, src *float64, outer *int, no int, inner *int, ni int)) func(dst, src []float64, outer, inner []int) {
	return func(dst, src []float64, outer, inner []int) {
		if len(outer) == 0 || len(inner) == 0 || len(inner)%width != 0 {
			gatherGeneric(dst, src, outer, inner)
			return
		}
		_ = dst[len(outer)*len(inner)-1]
		f(&dst[0], &src[0], &outer[0], len(outer), &inner[0], len(inner))
	}
}

// addBlockAsm adapts an assembly AddBlock to slices, checked by AddBlock.
func addBlockAsm(f func(dst *float64, ldd int, src *float64, lds int, rows, cols int)) func(dst []float64, ldd int, src []float64, lds int, rows, cols int) {
	return func(dst []float64, ldd int, src []float64, lds int, rows, cols int) {
		f(&dst[0], ldd, &src[0], lds, rows, cols)
	}
}

// gramAsm adapts an assembly Gram kernel of tr x tc tiles to slices,
// checking the bounds it relies on; a nil pf prefetches nothing new.
func gramAsm(tr, tc int, f func(x *float64, xs, nx int, y *float64, ys, n int, pf *byte, pfs int, out *float64)) func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64) {
	return gramAsmIn(tr, tc, tc, f)
}

// gramAsmIn is gramAsm for a kernel that writes its tiles into the first tc
// columns of tiles of tr x oc entries.
func gramAsmIn(tr, tc, oc int, f func(x *float64, xs, nx int, y *float64, ys, n int, pf *byte, pfs int, out *float64)) func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64) {
	return func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64) {
		if n <= 0 || n%8 != 0 || nx <= 0 {
			panic("numerics: Gram kernel: bad chunk")
		}
		_, _, _ = x[(tr*nx-1)*xs+n-1], y[(tc-1)*ys+n-1], out[(tr*nx-1)*oc+tc-1]
		if pf == nil {
			pf, pfs = (*byte)(unsafe.Pointer(&y[0])), 8*ys
		}
		f(&x[0], xs, nx, &y[0], ys, n, pf, pfs, &out[0])
	}
}

// gramTrapAsm adapts the assembly parts of a diagonal block of c x c entries
// (gramTrap) to the tri of a gramKernel, checking the bounds they rely on;
// a nil pf prefetches nothing new.
func gramTrapAsm(c int, parts ...func(y *float64, ys, n int, pf *byte, pfs int, out *float64)) func(x []float64, xs, nx int, y []float64, ys, n int, pf *byte, pfs int, out []float64) {
	return func(_ []float64, _, _ int, y []float64, ys, n int, pf *byte, pfs int, out []float64) {
		if n <= 0 || n%8 != 0 {
			panic("numerics: Gram kernel: bad chunk")
		}
		_, _ = y[(c-1)*ys+n-1], out[c*c-1]
		if pf == nil {
			pf, pfs = (*byte)(unsafe.Pointer(&y[0])), 8*ys
		}
		for _, f := range parts {
			f(&y[0], ys, n, pf, pfs, &out[0])
		}
	}
}
