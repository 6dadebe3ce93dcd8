// Command _asm generates numerics/asm_amd64.s and its Go declarations
// numerics/asm_amd64.go with avo. Run it through `go generate` in numerics
// (or `make asm` there); `check.sh` regenerates and fails when a file changes.
//
// Every kernel exists twice, for AVX-512 (8 float64 lanes a register) and for
// AVX2+FMA (4 lanes), and both keep the lane layout and accumulation order of
// the pure-Go twins in numerics/kernel_generic.go: the assembly only replaces
// the inner loops, the tails and final reductions that fix the order live in
// Go or are emitted here as the same tree.
package main

import (
	"fmt"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa describes one vector instruction set.
type isa struct {
	name  string // suffix of the generated functions
	width int    // float64 lanes a register
	vec   func() VecVirtual
	zero  func(r Op)
	// half extracts the upper 128 bits of a 256-bit register.
	half func(y, x Op)
	// gemm tile shape: rows broadcast x vector columns; gemmFewMR, if not
	// 0, the rows of a second kernel for products of few rows.
	gemmMR, gemmNR, gemmFewMR int
	// gemmRotate: the mr = width rows of A of a step are one vector load,
	// rotated in registers instead of broadcast (gemmKernel).
	gemmRotate bool
	// gram tile shapes: rows x columns, and whether to prefetch.
	gram []gramShape
	// gramTraps: the parts {r0, r1, c} of diagonal blocks too large for
	// one kernel (gramTrap).
	gramTraps [][3]int
}

// gramFetch is how a Gram tile kernel fetches the next chunk of the c rows
// read in place (rows packed in L2 need no help).
type gramFetch int

const (
	noFetch gramFetch = iota
	// fetchFirst: all c rows during the first tile, c lines a step.
	fetchFirst
	// fetchSpread: row b during tiles kb to kb+k-1, a line every k steps
	// (of the first pass), k = gramShape.every: a steady trickle, where
	// fetchFirst's bursts of prefetches from memory hold up the loads of
	// the x rows (BENCHMARKS.md).
	fetchSpread
)

type gramShape struct {
	r, c  int
	fetch gramFetch
	// halves: run over the chunk twice, lanes 0-3 of every entry, then
	// lanes 4-7, so that an entry holds one register at a time instead of
	// two (AVX2): the lanes are independent chains, so this is the same
	// order, and a tile can have twice the entries.
	halves bool
	// tri: the diagonal block of c x c entries (r = c): the rows y against
	// themselves, only the entries a <= b computed (gramTri).
	tri bool
	// stride: the entries of a tile row lie stride apart in out (0: c),
	// so that tiles of c columns fill the first c columns of the tiles of
	// stride columns that the other kernels write.
	stride int
	// ahead, if not 0, is how far ahead in bytes each step prefetches the
	// x rows into L1 (in the first pass), for x rows that stream from L2.
	// Rows packed one after the other, the prefetches past the end of a
	// chunk fetch the next rows.
	ahead int
	// kind tells the kernel's name from another kernel of its shape.
	kind string
	// every is fetchSpread's number of steps a line (and of tiles a row).
	every int
	// unroll, if more than 1 (a power of 2), is the number of steps of
	// each pass that one iteration of its loop runs.
	unroll int
	// nextTile: each step of the second pass (halves), which reads the
	// x rows from L1, prefetches into L1 the line of the next tile's x
	// rows at its offset, so that the first pass of the next tile finds
	// them there.
	nextTile bool
}

var avx512 = isa{
	name:  "AVX512",
	width: 8,
	vec:   ZMM,
	zero:  func(r Op) { VPXORQ(r, r, r) },
	half:  func(y, x Op) { VEXTRACTF64X2(U8(1), y, x) },
	// 24 zmm accumulators (8 rows x 3 vectors), the 3 vectors of B and a
	// broadcast of A: 11 loads a step of 24 FMAs. The 15 x 16 tiles that
	// took their broadcasts inside the FMAs (all 32 registers, 32 loads a
	// step of 30 FMAs) ran 4-7 % slower, and 9 x 24 and 6 x 32 no faster
	// (BENCHMARKS.md).
	gemmMR: 8, gemmNR: 24,
	// And 5 x 24 tiles: a product of 20 rows (the convolutions of
	// models.CNN) in whole tiles.
	gemmFewMR: 5,
	// 3 x 8 tiles, 24 zmm accumulators and 3 loads from L2 a step of 24
	// FMAs, for rows in place and packed. In place, the first 16 tiles of
	// a tile column fetch its rows' next chunk, a line every two steps (a
	// line a step over 8 tiles was 1-5 % slower at n = 50 and 100, every
	// four steps mixed; fetched in the diagonal block alone, 4 lines a
	// step, 4-7 % slower); packed rows pass no pf, so the prefetches go to
	// the y rows, in L1 (measured no slower). Each tile column, in place or
	// packed (there 1-2 % faster at n = 1000 than whole 3 x 8 tiles across
	// the diagonal), ends in its 8 x 8 diagonal block, in two parts
	// (gramTraps) that prefetch the
	// block's rows when the tiles have not, and above it the 1 or 2 rows
	// that the tiles of 3 leave, 1 x 8 and 2 x 8 (measured: the 4 x 4
	// tiles, 8 loads a step of 16 FMAs, which prefetched, ran at
	// 0.95-1.03x; BENCHMARKS.md).
	// The last tile column of a Gram of n rows with n mod 8 in 1..2 or
	// 3..4 runs on 3 x 2 or 3 x 4 tiles written into the 3 x 8 layout,
	// instead of 3 x 8 tiles most of whose columns are zero rows (measured
	// at n = 50 and 100: BENCHMARKS.md).
	// Packed rows run on a twin of the 3 x 8 tiles that prefetches its x
	// rows into L1 8 lines ahead: 5-6 % faster at n = 1000 (ahead 384 to
	// 768 measured, 512 and 640 best); in place, at n = 50 and 100, the
	// same prefetches were 1-2 % slower. It also fetches, a line every two
	// steps, the rows the driver packs again after its tile column
	// (gramRun's refill): 1-2 % faster at n = 1000; a line every four
	// steps was 1-2 % slower (BENCHMARKS.md). Its twin that fetches a
	// line every 8 steps fetches the next tile column's rows from Q
	// (gramKernel.next): a line every 2 or 4 steps slowed the tiles by as
	// much as the fetched rows saved, every 16 was no better
	// (BENCHMARKS.md).
	gram: []gramShape{{r: 3, c: 8, fetch: fetchSpread, every: 2}, {r: 1, c: 8}, {r: 2, c: 8},
		{r: 3, c: 4, fetch: fetchSpread, every: 2, stride: 8}, {r: 3, c: 2, fetch: fetchSpread, every: 2, stride: 8},
		{r: 3, c: 8, fetch: fetchSpread, every: 2, ahead: 512, kind: "Packed"},
		{r: 3, c: 8, fetch: fetchSpread, every: 8, ahead: 512, kind: "PackedNext"}},
	gramTraps: [][3]int{{0, 4, 8}, {4, 8, 8}},
}

var avx2 = isa{
	name:  "AVX2",
	width: 4,
	vec:   YMM,
	zero:  func(r Op) { VXORPD(r, r, r) },
	half:  func(y, x Op) { VEXTRACTF128(U8(1), y, x) },
	// 12 ymm accumulators: the 16 registers of AVX2 hold no more. The
	// four rows of A of a step are one load, rotated, not four broadcasts:
	// 4 loads a step of 12 FMAs instead of 7, as OpenBLAS's Haswell kernel.
	gemmMR: 4, gemmNR: 12, gemmRotate: true,
	// Tiles of 12 entries in two passes (halves): 12 ymm accumulators, and
	// the registers of x and the one of y of a step. Rows in place, 3 x 4
	// tiles: 7 loads a step of 12 FMAs (the 2 x 2 tiles of whole entries,
	// 8 accumulators, took 8 loads for 8 FMAs and ran at 0.75x OpenBLAS's
	// dsyrk at n = 1000); the next chunk of a tile column's rows is fetched
	// over its first 16 tiles, a line every four steps: 6-9 % faster at
	// n = 50 and 100 than the 4 rows in the first tile, 4 lines a step
	// (every two steps: 4 % slower than four). Rows packed in L2, 2 x 6
	// tiles: 8 loads a step, but the first pass streams two x rows from L2
	// instead of three (measured: 5-7 % faster at n = 1000 than 3 x 4; a
	// 3 x 4 twin that also fetched the next tile's x rows into L1 was
	// not), and prefetches them into L1 8 lines ahead in the first pass
	// (4-5 % faster at n = 1000), and the rows packed again after the tile
	// column as the 3 x 4 tiles fetch theirs (gramRun's refill; at n = 1000
	// no slower, 0-1 % faster). BENCHMARKS.md.
	// The twin of the 2 x 6 tiles that fetches the next tile column's rows
	// from Q (gramKernel.next) does so a line every 16 steps, over 96 of the
	// 144 tiles of a block of 288 rows: with blocks of 384 rows, every 4
	// or 8 steps slowed the tiles more than every 32 (which now fetches 3/4
	// of the rows, and measured the same as 16; BENCHMARKS.md).
	gram: []gramShape{{r: 3, c: 4, fetch: fetchSpread, every: 4, halves: true}, {r: 2, c: 6, halves: true, ahead: 512, fetch: fetchSpread, every: 4},
		{r: 2, c: 6, halves: true, ahead: 512, fetch: fetchSpread, every: 16, kind: "Next"},
		// The 2 x 6 tiles and their Next twin for a core with an L1 of 48 KB
		// or more (numerics' bigL1): the second pass fetches the next
		// tile's x rows into L1 instead of the first pass 8 lines ahead, so
		// that L2 sends a line every 6 cycles through both passes, not two
		// in the first alone, and the loop runs four steps an iteration:
		// 0.7-2.5 % faster at n = 300 to 2000 in paired runs (the unrolled
		// loop alone was no faster in the Gram). The tiles then hold 40 KB in
		// L1 (the y rows and two tiles of x rows), which does not fit the
		// 32 KB of the Zen 2-4 cores (BENCHMARKS.md).
		{r: 2, c: 6, halves: true, fetch: fetchSpread, every: 4, unroll: 4, nextTile: true, kind: "BigL1"},
		{r: 2, c: 6, halves: true, fetch: fetchSpread, every: 16, unroll: 4, nextTile: true, kind: "BigL1Next"},
		// And the 3 x 4 tiles of rows in place likewise (40 KB in L1 too):
		// 1.2-1.9 % faster at n = 50 and 100 in paired runs, where each
		// alone was not (BENCHMARKS.md).
		{r: 3, c: 4, fetch: fetchSpread, every: 4, halves: true, unroll: 4, nextTile: true, kind: "BigL1"},
		// The diagonal blocks of 4 columns of the 3 x 4 tiles, and the
		// one or two rows above them that the tiles of 3 rows leave.
		{r: 4, c: 4, fetch: fetchFirst, halves: true, tri: true}, {r: 1, c: 4, halves: true}, {r: 2, c: 4, halves: true},
		// The last tile column when n mod 4 is 1 or 2.
		{r: 3, c: 2, fetch: fetchSpread, every: 4, halves: true, stride: 4}},
}

// block is the number of elements the one-dimensional kernels take a loop
// step: the 32 lanes of the Dot and sum-of-squares order.
const block = 32

func main() {
	ConstraintExpr("!purego")
	for _, s := range []isa{avx512, avx2} {
		dot(s)
		sumSq(s)
		maxAbs(s)
		axpy(s)
		scal(s)
		widen(s)
		gather(s)
		addBlock(s)
		packA(s)
		packB(s)
		gemmKernel(s)
		if s.gemmFewMR > 0 {
			few := s
			few.gemmMR = s.gemmFewMR
			gemmKernel(few)
		}
		for _, g := range s.gram {
			gramTile(s, g)
		}
		for _, t := range s.gramTraps {
			gramTrap(s, t[0], t[1], t[2])
		}
	}
	cpuid()
	Generate()
}

// cpuid emits the CPUID instruction, from which the package reads the sizes of
// the L2 cache that its blocking is scaled to and of the L1 data cache that
// its choice of Gram kernels goes by (numerics/cache.go).
func cpuid() {
	TEXT("cpuid", NOSPLIT, "func(leaf, sub uint32) (eax, ebx, ecx, edx uint32)")
	Doc("cpuid returns the registers that CPUID sets for leaf and sub-leaf sub.")
	Load(Param("leaf"), EAX)
	Load(Param("sub"), ECX)
	CPUID()
	Store(EAX, Return("eax"))
	Store(EBX, Return("ebx"))
	Store(ECX, Return("ecx"))
	Store(EDX, Return("edx"))
	RET()
}

// blocks loads the slice x and returns its base, its number of 32-element
// blocks and its length, having jumped to done when there is no block.
func blocks(x, done string) (base, n, length Register) {
	base = Load(Param(x).Base(), GP64())
	length = Load(Param(x).Len(), GP64())
	n = GP64()
	MOVQ(length, n)
	SHRQ(U8(5), n)
	JZ(LabelRef(done))
	return base, n, length
}

func accumulators(s isa, k int) []VecVirtual {
	acc := make([]VecVirtual, k)
	for i := range acc {
		acc[i] = s.vec()
		s.zero(acc[i])
	}
	return acc
}

func ret() {
	VZEROUPPER()
	RET()
}

// reduce32 sums the 32 lanes of acc by the tree of numerics.reduce32, lane l
// plus lane l+w for w = 16, 8, 4, 2, 1, with op (VADDPD, or VMAXPD where the
// order does not matter), and returns the register whose lane 0 is the sum.
func reduce32(s isa, acc []VecVirtual, op func(a, b, dst Op)) Register {
	for len(acc) > 1 { // w = 16, 8, then 4 on AVX2: whole registers
		h := len(acc) / 2
		for i := range h {
			op(acc[i+h], acc[i], acc[i])
		}
		acc = acc[:h]
	}
	y := acc[0].AsY()
	if s.width == 8 { // w = 4 on AVX-512
		h := YMM()
		VEXTRACTF64X4(U8(1), acc[0], h)
		op(h, y, y)
	}
	xh := XMM()
	s.half(y, xh)
	xl := asX(y)
	op(xh, xl, xl)
	VPERMILPD(U8(1), xl, xh)
	op(xh, xl, xl)
	return xl
}

// tail runs body over the len%32 elements past the blocks, pointed at by the
// registers ptrs, advancing them by size[i] bytes (8 if size is nil) a time.
func tail(length Register, ptrs []Register, size []int, body func()) {
	ANDQ(U32(block-1), length)
	JZ(LabelRef("end"))
	Label("tail")
	body()
	for i, p := range ptrs {
		b := 8
		if size != nil {
			b = size[i]
		}
		ADDQ(U8(b), p)
	}
	DECQ(length)
	JNZ(LabelRef("tail"))
	Label("end")
}

// reduceKernel emits what dot, sumSq and maxAbs share: 32 lanes of
// accumulators over the 32-element blocks of the slice param x (and of the
// slices others, walked alongside), step(p, i, a) folding register i of a
// block into a, p being the current bases; the tree of reduce32 with op;
// then tail(p, r) folding the element at p into the scalar r, for each
// element past the blocks; and r returned.
func reduceKernel(s isa, x string, others []string, step func(p []Register, i int, a VecVirtual), op func(a, b, dst Op), tail1 func(p []Register, r Register)) {
	acc := accumulators(s, block/s.width)
	var p []Register
	for _, o := range others {
		p = append(p, Load(Param(o).Base(), GP64()))
	}
	base, n, length := blocks(x, "reduce")
	p = append([]Register{base}, p...)
	Label("loop")
	for i, a := range acc {
		step(p, i, a)
	}
	for _, r := range p {
		ADDQ(U32(8*block), r)
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("reduce")
	r := reduce32(s, acc, op)
	tail(length, p, nil, func() { tail1(p, r) })
	Store(r, ReturnIndex(0))
	ret()
}

func add(a, b, dst Op) { VADDPD(a, b, dst) }

func dot(s isa) {
	TEXT("dot"+s.name, NOSPLIT, "func(x, y []float64) float64")
	Doc("dot" + s.name + " returns Dot(x, y) in its documented order; y is at least as long as x.")
	reduceKernel(s, "x", []string{"y"}, func(p []Register, i int, a VecVirtual) {
		t := s.vec()
		VMOVUPD(Mem{Base: p[0], Disp: 8 * s.width * i}, t)
		VFMADD231PD(Mem{Base: p[1], Disp: 8 * s.width * i}, t, a)
	}, add, func(p []Register, r Register) {
		t := XMM()
		VMOVSD(Mem{Base: p[0]}, t)
		VFMADD231SD(Mem{Base: p[1]}, t, r)
	})
}

func sumSq(s isa) {
	TEXT("sumSq"+s.name, NOSPLIT, "func(x []float64, scale float64) float64")
	Doc("sumSq" + s.name + " returns Σ (x[i]*scale)² in the order of Dot.")
	sx := Load(Param("scale"), XMM())
	sc := s.vec()
	VBROADCASTSD(sx, sc)
	reduceKernel(s, "x", nil, func(p []Register, i int, a VecVirtual) {
		t := s.vec()
		VMULPD(Mem{Base: p[0], Disp: 8 * s.width * i}, sc, t)
		VFMADD231PD(t, t, a)
	}, add, func(p []Register, r Register) {
		t := XMM()
		VMULSD(Mem{Base: p[0]}, sx, t)
		VFMADD231SD(t, t, r)
	})
}

// absMask returns a register with every lane 0x7fff_ffff_ffff_ffff.
func absMask(s isa) VecVirtual {
	g := GP64()
	MOVQ(U64(0x7fffffffffffffff), g)
	x := XMM()
	MOVQ(g, x)
	m := s.vec()
	VPBROADCASTQ(x, m)
	return m
}

func maxAbs(s isa) {
	TEXT("maxAbs"+s.name, NOSPLIT, "func(x []float64) float64")
	Doc("maxAbs" + s.name + " returns the largest |x[i]|, ignoring NaNs (0 if none).")
	m := absMask(s)
	// MAXPD and MAXSD return their second source (here the accumulator)
	// when either is NaN; the maximum of the rest is the same in any order.
	reduceKernel(s, "x", nil, func(p []Register, i int, a VecVirtual) {
		t := s.vec()
		VANDPD(Mem{Base: p[0], Disp: 8 * s.width * i}, m, t)
		VMAXPD(a, t, a)
	}, func(a, b, dst Op) { VMAXPD(a, b, dst) }, func(p []Register, r Register) {
		t := XMM()
		VMOVSD(Mem{Base: p[0]}, t)
		VANDPD(asX(m), t, t)
		VMAXSD(r, t, r)
	})
}

// elementwise emits the loop of a kernel that rewrites dst[i] for
// i < len(dst)&^31 from one vector t loaded from dst and the broadcast alpha.
func elementwise(s isa, dst string, op func(i int, alpha, t VecVirtual)) {
	alpha := s.vec()
	VBROADCASTSD(Load(Param("alpha"), XMM()), alpha)
	d, n, _ := blocks(dst, "done")
	Label("loop")
	for i := 0; i < block/s.width; i++ {
		t := s.vec()
		m := Mem{Base: d, Disp: 8 * s.width * i}
		VMOVUPD(m, t)
		op(i, alpha, t)
		VMOVUPD(t, m)
	}
	ADDQ(U32(8*block), d)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	ret()
}

func axpy(s isa) {
	TEXT("axpy"+s.name, NOSPLIT, "func(alpha float64, x, y []float64)")
	Doc("axpy" + s.name + " sets y[i] = FMA(alpha, x[i], y[i]) for i < len(y)&^31; x is at least as long.")
	x := Load(Param("x").Base(), GP64())
	elementwise(s, "y", func(i int, alpha, t VecVirtual) {
		VFMADD231PD(Mem{Base: x, Disp: 8 * s.width * i}, alpha, t)
		if i == block/s.width-1 {
			ADDQ(U32(8*block), x)
		}
	})
}

func scal(s isa) {
	TEXT("scal"+s.name, NOSPLIT, "func(alpha float64, x []float64)")
	Doc("scal" + s.name + " sets x[i] = alpha*x[i] for i < len(x)&^31.")
	elementwise(s, "x", func(_ int, alpha, t VecVirtual) { VMULPD(t, alpha, t) })
}

// widen emits the conversion of float32 rows to float64 that Gram of float32
// rows packs its chunks with: VCVTPS2PD loads, exact.
func widen(s isa) {
	TEXT("widen"+s.name, NOSPLIT, "func(dst []float64, src []float32)")
	Doc("widen" + s.name + " sets dst[i] = float64(src[i]) (exact) for i < len(dst); src is at least as long.")
	src := Load(Param("src").Base(), GP64())
	dst, n, length := blocks("dst", "rest")
	Label("loop")
	for i := 0; i < block/s.width; i++ {
		t := s.vec()
		VCVTPS2PD(Mem{Base: src, Disp: 4 * s.width * i}, t)
		VMOVUPD(t, Mem{Base: dst, Disp: 8 * s.width * i})
	}
	ADDQ(U32(4*block), src)
	ADDQ(U32(8*block), dst)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("rest")
	tail(length, []Register{src, dst}, []int{4, 8}, func() {
		t := XMM()
		VCVTSS2SD(Mem{Base: src}, t, t)
		VMOVSD(t, Mem{Base: dst})
	})
	ret()
}

// gather emits the kernel of Gather: a vector of the inner offsets plus the
// broadcast outer one indexes one VGATHERQPD (under a full mask, which the
// instruction clears, so it is set again each time). Measured on the
// patches of models.CNN: 3.5x the speed of the Go loop.
func gather(s isa) {
	TEXT("gather"+s.name, NOSPLIT, "func(dst, src *float64, outer *int, no int, inner *int, ni int)")
	Doc("gather"+s.name+" sets dst[a*ni+j] = src[outer[a]+inner[j]] for a < no and j < ni;",
		fmt.Sprintf("no > 0, ni a positive multiple of %d, every index inside src.", s.width))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	outer := Load(Param("outer"), GP64())
	no := Load(Param("no"), GP64())
	inner := Load(Param("inner"), GP64())
	ni := Load(Param("ni"), GP64())
	SHRQ(U8(map[int]uint8{4: 2, 8: 3}[s.width]), ni) // vectors a line
	in, k := GP64(), GP64()
	Label("line")
	o := s.vec()
	VPBROADCASTQ(Mem{Base: outer}, o)
	MOVQ(inner, in)
	MOVQ(ni, k)
	Label("vector")
	idx, v := s.vec(), s.vec()
	VPADDQ(Mem{Base: in}, o, idx)
	at := Mem{Base: src}.Idx(idx, 8)
	if s.width == 8 {
		mask := K()
		KXNORB(mask, mask, mask)
		VGATHERQPD(at, mask, v)
	} else {
		mask := s.vec()
		VPCMPEQQ(mask, mask, mask)
		VGATHERQPD(mask, at, v)
	}
	VMOVUPD(v, Mem{Base: dst})
	ADDQ(U32(8*s.width), in)
	ADDQ(U32(8*s.width), dst)
	DECQ(k)
	JNZ(LabelRef("vector"))
	ADDQ(U8(8), outer)
	DECQ(no)
	JNZ(LabelRef("line"))
	ret()
}

// addBlock emits the kernel of AddBlock: full vectors, then (AVX-512) one
// of four lanes, one of two and a scalar; VADDPD, one rounding a sum.
func addBlock(s isa) {
	TEXT("addBlock"+s.name, NOSPLIT, "func(dst *float64, ldd int, src *float64, lds int, rows, cols int)")
	Doc("addBlock"+s.name+" sets dst[r*ldd+j] += src[r*lds+j] for r < rows, j < cols;",
		"rows > 0.")
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	rows := Load(Param("rows"), GP64())
	cols := Load(Param("cols"), GP64())
	SHLQ(U8(3), ldd) // bytes
	SHLQ(U8(3), lds)
	d, sp, n := GP64(), GP64(), GP64()
	Label("row")
	MOVQ(dst, d)
	MOVQ(src, sp)
	MOVQ(cols, n)
	SHRQ(U8(map[int]uint8{4: 2, 8: 3}[s.width]), n) // full vectors
	JZ(LabelRef(fmt.Sprintf("tail%d", s.width/2)))
	Label("vector")
	t := s.vec()
	VMOVUPD(Mem{Base: sp}, t)
	VADDPD(Mem{Base: d}, t, t)
	VMOVUPD(t, Mem{Base: d})
	ADDQ(U32(8*s.width), sp)
	ADDQ(U32(8*s.width), d)
	DECQ(n)
	JNZ(LabelRef("vector"))
	// The tail: 4 (AVX-512), 2 and 1 columns.
	for _, w := range []int{4, 2, 1} {
		if w >= s.width {
			continue
		}
		Label(fmt.Sprintf("tail%d", w))
		TESTQ(U32(w), cols)
		JZ(LabelRef(fmt.Sprintf("tail%d", w/2)))
		switch w {
		case 4:
			y := YMM()
			VMOVUPD(Mem{Base: sp}, y)
			VADDPD(Mem{Base: d}, y, y)
			VMOVUPD(y, Mem{Base: d})
			ADDQ(U32(32), sp)
			ADDQ(U32(32), d)
		case 2:
			x := XMM()
			VMOVUPD(Mem{Base: sp}, x)
			VADDPD(Mem{Base: d}, x, x)
			VMOVUPD(x, Mem{Base: d})
			ADDQ(U32(16), sp)
			ADDQ(U32(16), d)
		case 1:
			x := XMM()
			VMOVSD(Mem{Base: sp}, x)
			VADDSD(Mem{Base: d}, x, x)
			VMOVSD(x, Mem{Base: d})
		}
	}
	Label("tail0")
	ADDQ(ldd, dst)
	ADDQ(lds, src)
	DECQ(rows)
	JNZ(LabelRef("row"))
	ret()
}

// packA emits the packing of a whole panel of A, the width rows of its
// micro-kernel (gemmMR = width on both paths): a width x width block of
// columns at a time, loaded as rows and stored as columns after a transpose
// in registers, where the Go twin stores an element at a time.
func packA(s isa) {
	w := s.width
	name := fmt.Sprintf("packA%d%s", w, s.name)
	TEXT(name, NOSPLIT, "func(dst, src *float64, rs, kb int)")
	Doc(fmt.Sprintf("%s sets dst[l*%d+i] = src[i*rs+l] for i < %d and l < kb; kb > 0 is a", name, w, w),
		fmt.Sprintf("multiple of %d.", w))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rs := Load(Param("rs"), GP64())
	SHLQ(U8(3), rs) // bytes
	row := make([]Register, w)
	for i := range row {
		row[i] = GP64()
		MOVQ(src, row[i])
		ADDQ(rs, src)
	}
	off := Load(Param("kb"), GP64())
	SHLQ(U8(3), off)
	for i := range row {
		ADDQ(off, row[i]) // at the end of the row: off runs from -8kb up to 0
	}
	NEGQ(off)
	Label("block")
	a := make([]VecVirtual, w)
	for i := range a {
		a[i] = s.vec()
		VMOVUPD(Mem{Base: row[i], Index: off, Scale: 1}, a[i])
	}
	// Rows 2m and 2m+1 interleaved: the even columns of the pair, then the
	// odd ones, by 128-bit blocks.
	t := make([]VecVirtual, w)
	for m := 0; m < w; m += 2 {
		t[m], t[m+1] = s.vec(), s.vec()
		VUNPCKLPD(a[m+1], a[m], t[m])
		VUNPCKHPD(a[m+1], a[m], t[m+1])
	}
	var col []VecVirtual
	if w == 4 {
		// Blocks 0 of two pairs are columns 0 (1), blocks 1 columns 2 (3).
		col = make([]VecVirtual, 4)
		for k := range 2 {
			col[k], col[k+2] = s.vec(), s.vec()
			VPERM2F128(U8(0x20), t[k+2], t[k], col[k])
			VPERM2F128(U8(0x31), t[k+2], t[k], col[k+2])
		}
	} else {
		// Blocks 0, 2 of two pairs (u[4p+2k]) and blocks 1, 3 (u[4p+2k+1]),
		// for pairs of pairs p; then blocks 0, 2 and 1, 3 of those across
		// p give the columns c and c+4.
		u := make([]VecVirtual, w)
		for p := 0; p < w; p += 4 {
			for k := range 2 {
				u[p+2*k], u[p+2*k+1] = s.vec(), s.vec()
				VSHUFF64X2(U8(0x88), t[p+2+k], t[p+k], u[p+2*k])
				VSHUFF64X2(U8(0xdd), t[p+2+k], t[p+k], u[p+2*k+1])
			}
		}
		// u[2k+h] holds columns 2h+k and 2h+k+4 of rows 0-3 (k parity,
		// h half); u[4+2k+h] the same of rows 4-7.
		col = make([]VecVirtual, 8)
		for k := range 2 {
			for h := range 2 {
				c := 2*h + k
				col[c], col[c+4] = s.vec(), s.vec()
				VSHUFF64X2(U8(0x88), u[4+2*k+h], u[2*k+h], col[c])
				VSHUFF64X2(U8(0xdd), u[4+2*k+h], u[2*k+h], col[c+4])
			}
		}
	}
	for c := range col {
		VMOVUPD(col[c], Mem{Base: dst, Disp: 8 * w * c})
	}
	ADDQ(U32(8*w*w), dst)
	ADDQ(U32(8*w), off)
	JNZ(LabelRef("block"))
	ret()
}

// packB emits the copy of the rows of a group of whole panels of B, nr =
// gemmNR columns a panel: a panel row is nr/width vector loads and stores,
// where the Go twin calls memmove for each.
func packB(s isa) {
	nr := s.gemmNR
	name := fmt.Sprintf("packB%d%s", nr, s.name)
	TEXT(name, NOSPLIT, "func(dst *float64, ps int, src *float64, rs, np, kb int)")
	Doc(fmt.Sprintf("%s sets dst[p*ps+l*%d+j] = src[l*rs+p*%d+j] for p < np, l < kb and", name, nr, nr),
		fmt.Sprintf("j < %d; np and kb are positive.", nr))
	dst := Load(Param("dst"), GP64())
	ps := Load(Param("ps"), GP64())
	src := Load(Param("src"), GP64())
	rs := Load(Param("rs"), GP64())
	kb := Load(Param("kb"), GP64())
	SHLQ(U8(3), ps) // bytes
	SHLQ(U8(3), rs)
	d, sp, p := GP64(), GP64(), GP64()
	Label("row")
	MOVQ(dst, d)
	MOVQ(src, sp)
	Load(Param("np"), p)
	Label("panel")
	for v := 0; v < nr/s.width; v++ {
		t := s.vec()
		VMOVUPD(Mem{Base: sp, Disp: 8 * s.width * v}, t)
		VMOVUPD(t, Mem{Base: d, Disp: 8 * s.width * v})
	}
	ADDQ(U32(8*nr), sp)
	ADDQ(ps, d)
	DECQ(p)
	JNZ(LabelRef("panel"))
	ADDQ(U32(8*nr), dst)
	ADDQ(rs, src)
	DECQ(kb)
	JNZ(LabelRef("row"))
	ret()
}

// gemmKernel emits the register-blocked micro-kernel of Gemm and Syrk.
func gemmKernel(s isa) {
	mr, nr := s.gemmMR, s.gemmNR
	nv := nr / s.width
	name := fmt.Sprintf("gemm%dx%d%s", mr, nr, s.name)
	TEXT(name, NOSPLIT, "func(kc int, a *float64, as int, b, c *float64, ldc, tiles int, next *float64, nb *byte, fetch int, zero bool)")
	Doc(fmt.Sprintf("%s adds to the tiles t < tiles of C (tiles > 0), the %dx%d tiles at", name, mr, nr),
		fmt.Sprintf("c[t*%d*ldc:] (row stride ldc) one k-panel of the product of the panel of A at", mr),
		fmt.Sprintf("a[t*as:] and the panel of B at b: s = FMA(a[t*as+k*%d+i], b[k*%d+j], s) for", mr, nr),
		"k = 0, …, kc-1 in order from s = +0, then c[i*ldc+j] = c[i*ldc+j] + s, or",
		"c[i*ldc+j] = s when zero (c is then only written). next is the tile after the",
		"last, prefetched. The tiles from fetch on prefetch into L2 the lines of 64 bytes",
		"from nb on, kc/2 lines a tile, a line every two steps, the others lines of b;",
		"nb need not be valid memory.")
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(3), ldc)
	c := Load(Param("c"), GP64())
	// Locals: the next tile's panel of A, the tiles left, the tiles left
	// before fetching nb (-1 once fetching).
	aNext, tilesLeft, fetchLeft := AllocLocal(8), AllocLocal(8), AllocLocal(8)
	t := Load(Param("a"), GP64())
	MOVQ(t, aNext)
	t = Load(Param("tiles"), GP64())
	MOVQ(t, tilesLeft)
	t = Load(Param("fetch"), GP64())
	MOVQ(t, fetchLeft)
	acc := make([][]VecVirtual, mr)
	for i := range acc {
		acc[i] = make([]VecVirtual, nv)
		for j := range acc[i] {
			acc[i][j] = s.vec()
		}
	}
	pf := GP64()
	Label("tile")
	for i := range acc {
		for j := range acc[i] {
			s.zero(acc[i][j])
		}
	}
	// The tile to come (the next in c, or next after the last): into L2
	// now, into L1 at the end.
	prefetchTile := func(label string, prefetch func(Op)) {
		next := GP64()
		MOVQ(c, next)
		for range mr {
			ADDQ(ldc, next)
		}
		CMPQ(tilesLeft, U8(1))
		JNE(LabelRef(label))
		Load(Param("next"), next)
		Label(label)
		for i := 0; i < mr; i++ {
			for j := 0; j < nr*8; j += 64 {
				prefetch(Mem{Base: next, Disp: j})
			}
			ADDQ(ldc, next)
		}
	}
	prefetchTile("nextL2", func(m Op) { PREFETCHT1(m) })
	// The lines this tile fetches into L2: of b before tile fetch, then
	// of nb, on from where the tile before left off.
	b := Load(Param("b"), GP64())
	t = GP64()
	MOVQ(fetchLeft, t)
	TESTQ(t, t)
	JS(LabelRef("fetching"))
	JZ(LabelRef("fetch"))
	DECQ(fetchLeft)
	MOVQ(b, pf)
	JMP(LabelRef("fetching"))
	Label("fetch")
	Load(Param("nb"), pf)
	MOVQ(I32(-1), fetchLeft)
	Label("fetching")
	a := GP64()
	MOVQ(aNext, a)
	t = Load(Param("as"), GP64())
	SHLQ(U8(3), t)
	ADDQ(a, t)
	MOVQ(t, aNext)
	kc := Load(Param("kc"), GP64())
	// step emits the FMAs of step k of the chain, k steps past a and b.
	step := func(k int) {
		// The panel of B overflows L1 (96 KB on AVX-512, 48 KB on AVX2
		// with A's) and streams from L2 with A's: each line of both
		// panels once, eight steps ahead, those that start in the bytes
		// of step k+8 (the panels are 64-byte aligned).
		for _, p := range []struct {
			base Register
			w    int
		}{{a, 8 * mr}, {b, 8 * nr}} {
			for o := (k*p.w + 63) / 64 * 64; o < (k+1)*p.w; o += 64 {
				PREFETCHT0(Mem{Base: p.base, Disp: 8*p.w + o})
			}
		}
		bv := make([]VecVirtual, nv)
		for j := range bv {
			bv[j] = s.vec()
			VMOVUPD(Mem{Base: b, Disp: 8 * (k*nr + s.width*j)}, bv[j])
		}
		if s.gemmRotate {
			// acc[p] gathers the products of rotation p of the rows:
			// lane t of acc[p][j] is the element of row t^p.
			av := s.vec()
			VMOVUPD(Mem{Base: a, Disp: 8 * k * mr}, av)
			for p := range mr {
				switch p {
				case 1, 3: // swap the rows of each pair: t^1, then t^3
					VPERMILPD(U8(0x05), av, av)
				case 2: // reverse the rows: t^1^3 = t^2
					VPERMPD(U8(0x1b), av, av)
				}
				for j := range bv {
					VFMADD231PD(bv[j], av, acc[p][j])
				}
			}
			return
		}
		for i := 0; i < mr; i++ {
			t := s.vec()
			VBROADCASTSD(Mem{Base: a, Disp: 8 * (k*mr + i)}, t)
			for j := range bv {
				VFMADD231PD(bv[j], t, acc[i][j])
			}
		}
	}
	// An odd first step, then two steps a loop.
	BTQ(U8(0), kc)
	JCC(LabelRef("pairs"))
	step(0)
	ADDQ(U32(8*mr), a)
	ADDQ(U32(8*nr), b)
	Label("pairs")
	SHRQ(U8(1), kc)
	JZ(LabelRef("store"))
	alignLoop()
	Label("loop")
	// A line of the next panel of B (of this one before tile fetch).
	PREFETCHT1(Mem{Base: pf})
	ADDQ(U32(64), pf)
	step(0)
	step(1)
	ADDQ(U32(16*mr), a)
	ADDQ(U32(16*nr), b)
	DECQ(kc)
	JNZ(LabelRef("loop"))
	Label("store")
	prefetchTile("nextL1", func(m Op) { PREFETCHT0(m) })
	sums := make([][]VecVirtual, mr) // unrotate replaces registers
	for i := range acc {
		sums[i] = slices.Clone(acc[i])
	}
	if s.gemmRotate {
		unrotate(sums)
	}
	// The panel's sums go to c once, added to it unless zero.
	row := GP64()
	MOVQ(c, row)
	z := Load(Param("zero"), GP8())
	TESTB(z, z)
	JNZ(LabelRef("write"))
	for i := range sums {
		for j := range sums[i] {
			VADDPD(Mem{Base: row, Disp: 8 * s.width * j}, sums[i][j], sums[i][j])
		}
		ADDQ(ldc, row)
	}
	MOVQ(c, row)
	Label("write")
	for i := range sums {
		for j := range sums[i] {
			VMOVUPD(sums[i][j], Mem{Base: row, Disp: 8 * s.width * j})
		}
		ADDQ(ldc, row)
	}
	MOVQ(row, c) // the next tile, mr rows down
	DECQ(tilesLeft)
	JNZ(LabelRef("tile"))
	ret()
}

// alignLoop starts the next instruction at a multiple of 64 bytes: the
// AVX2 Gemm kernel's loop ran 0.4-1 % faster starting there than 16 bytes
// past one, and 1-1.5 % slower starting 32 bytes past (BENCHMARKS.md).
func alignLoop() {
	Instruction(&ir.Instruction{Opcode: "PCALIGN", Operands: []Op{Imm(64)}})
}

// unrotate puts the sums of gemmKernel's rotations back in rows: lane t of
// acc[p][j] on entry is row t^p, column t, of column block j (mr = width =
// 4), and acc[i][j] holds row i on return. Blends only move lanes, so the
// sums keep their bits: row r is acc[r][0], acc[r^1][1], acc[r^2][2],
// acc[r^3][3], its low half from the pair of rotations (r, r^1) and its high
// half from the other pair.
func unrotate(acc [][]VecVirtual) {
	// blend returns lane t of x where bit t of imm is 0, of y where it is 1.
	blend := func(imm uint8, x, y VecVirtual) VecVirtual {
		d := YMM()
		VBLENDPD(U8(imm), y, x, d)
		return d
	}
	for j := range acc[0] {
		x01 := blend(0b1010, acc[0][j], acc[1][j]) // lanes of rows 0, 0, 2, 2
		y01 := blend(0b0101, acc[0][j], acc[1][j]) // rows 1, 1, 3, 3
		x23 := blend(0b1010, acc[2][j], acc[3][j]) // rows 2, 2, 0, 0
		y23 := blend(0b0101, acc[2][j], acc[3][j]) // rows 3, 3, 1, 1
		acc[0][j] = blend(0b1100, x01, x23)
		acc[1][j] = blend(0b1100, y01, y23)
		acc[2][j] = blend(0b1100, x23, x01)
		acc[3][j] = blend(0b1100, y23, y01)
	}
}

// gramTile emits the tile kernel of Gram: for each of nx tiles, R rows
// against the same C rows, each entry an 8-lane FMA chain along the rows
// reduced by the tree of reduce8.
func gramTile(s isa, g gramShape) {
	r, cc := g.r, g.c
	oc := cc // the stride of out's tile rows
	if g.stride > 0 {
		oc = g.stride
	}
	name := fmt.Sprintf("gram%dx%d%s%s", r, cc, g.kind, s.name)
	if g.fetch == fetchSpread && (g.every <= 0 || 64%g.every != 0) {
		panic(name + ": fetchSpread needs every, a divisor of the 64 bytes of a line")
	}
	if g.nextTile && !g.halves {
		panic(name + ": nextTile fetches in the second pass, which needs halves")
	}
	if g.unroll < 0 || g.unroll&(g.unroll-1) != 0 {
		panic(name + ": unroll must be a power of 2")
	}
	if g.tri {
		if r != cc {
			panic("a diagonal block is square")
		}
		name = fmt.Sprintf("gramTri%d%s", cc, s.name)
	}
	TEXT(name, NOSPLIT, "func(x *float64, xs, nx int, y *float64, ys, n int, pf *byte, pfs int, out *float64)")
	below := "" // the columns of out it writes, when not all
	if oc != cc {
		below = fmt.Sprintf(" and b < %d", cc)
	}
	// Doc replaces the lines of an earlier call: one call with them all.
	doc := []string{
		fmt.Sprintf("%s adds to out[k*%d+a*%d+b], for the tiles k < nx%s, the chunk sum", name, r*oc, oc, below),
		fmt.Sprintf("reduce8(lanes) of row x[(%d*k+a)*xs:] against row y[b*ys:] over their first n", r),
		"elements (n > 0, a multiple of 8): lane l is the FMA chain of the products of",
		"elements i ≡ l (mod 8) in increasing i.",
	}
	if g.tri {
		doc = []string{
			fmt.Sprintf("%s adds to out[a*%d+b], for a <= b < %d, the chunk sum reduce8(lanes) of row", name, cc, cc),
			"y[a*ys:] against row y[b*ys:] over their first n elements (n > 0, a multiple of 8):",
			"lane l is the FMA chain of the products of elements i ≡ l (mod 8) in increasing i.",
			fmt.Sprintf("It adds zero to out[a*%d+b] for a > b, and ignores x, xs and nx (one block).", cc),
		}
	}
	if g.halves {
		doc = append(doc, "It runs over the chunk twice, lanes 0-3 of every entry of a tile, then lanes 4-7.")
	}
	switch g.fetch {
	case fetchFirst:
		doc = append(doc, "It prefetches into L2, during the first tile, the 8n bytes at pf+b*pfs (pfs in",
			fmt.Sprintf("bytes) for b < %d, which need not be valid memory.", cc))
	case fetchSpread:
		doc = append(doc, "It prefetches into L2 the 8n bytes at pf+b*pfs (pfs in bytes), which need not",
			fmt.Sprintf("be valid memory, during tiles %db to %db+%d for b < %d: a line every %d steps.", g.every, g.every, g.every-1, cc, g.every))
	case noFetch:
		doc = append(doc, "It ignores pf and pfs.")
	}
	if g.ahead > 0 {
		steps := "Each step"
		if g.halves {
			steps = "Each step of the first pass"
		}
		doc = append(doc, fmt.Sprintf("%s prefetches into L1 the x rows %d bytes ahead (past the end", steps, g.ahead),
			"of a chunk: the next rows of x when they are packed one after the other).")
	}
	if g.nextTile {
		doc = append(doc, "Each step of the second pass prefetches into L1 the next tile's x rows at its",
			"offset, which need not be valid memory.")
	}
	Doc(doc...)
	// Every row pointer points at the end of its chunk, and off runs from
	// -8n up to 0 over them.
	n8 := Load(Param("n"), GP64())
	SHLQ(U8(3), n8)
	// rows returns k row pointers from base, stride<<shift bytes apart.
	rows := func(base, stride string, k int, shift uint8) []Register {
		p := Load(Param(base), GP64())
		st := Load(Param(stride), GP64())
		if shift > 0 {
			SHLQ(U8(shift), st)
		}
		ADDQ(n8, p)
		ptr := make([]Register, k)
		for b := range ptr {
			ptr[b] = GP64()
			MOVQ(p, ptr[b])
			ADDQ(st, p)
		}
		return ptr
	}
	yr := rows("y", "ys", cc, 3)
	// The rows being prefetched: fetchFirst's c rows, at the end of their
	// chunk; fetchSpread's next line, from the start of its row: 1/every
	// of the row a tile, then pfs-8n (pjump) on to the next row, and past
	// the c rows y row 0, in L1, over and over (pjump -8n).
	var pr []Register
	var pleft, pjump, prows Mem
	switch g.fetch {
	case fetchFirst:
		pr = rows("pf", "pfs", cc, 0) // pfs is in bytes
	case fetchSpread:
		pr = []Register{Load(Param("pf"), GP64())}
		pleft, pjump, prows = AllocLocal(8), AllocLocal(8), AllocLocal(8)
		t := Load(Param("pfs"), GP64())
		SUBQ(n8, t)
		MOVQ(t, pjump)
		MOVQ(U32(g.every), pleft)
		MOVQ(U32(cc), prows)
	}
	var xr []Register // the tri kernel's rows are the y rows
	if !g.tri {
		xr = rows("x", "xs", r, 3)
	}
	// Locals: how far the x rows move a tile, and the end of out.
	step, last := AllocLocal(8), AllocLocal(8)
	t := Load(Param("xs"), GP64())
	IMUL3Q(U32(8*r), t, t)
	MOVQ(t, step)
	out := Load(Param("out"), GP64())
	t = Load(Param("nx"), GP64())
	if g.tri {
		MOVQ(U32(1), t)
	}
	IMUL3Q(U32(8*r*oc), t, t)
	ADDQ(out, t)
	MOVQ(t, last)
	per := 8 / s.width // registers an entry
	passes := 1
	var saved Mem // lanes 0-3 of every entry, between the passes
	if g.halves {
		if per != 2 {
			panic("halves needs two registers an entry")
		}
		passes, per = 2, 1
		saved = AllocLocal(8 * s.width * r * cc)
	}
	Label("tile")
	var acc [][]VecVirtual
	for h := range passes {
		acc = make([][]VecVirtual, r*cc)
		for e := range acc {
			if !g.tri || e/cc <= e%cc {
				acc[e] = accumulators(s, per)
			}
		}
		// The next tile's x rows, which the second pass fetches.
		var nextX []Register
		if g.nextTile && h == 1 {
			for _, p := range xr {
				q := GP64()
				MOVQ(step, q)
				ADDQ(p, q)
				nextX = append(nextX, q)
			}
		}
		off := Load(Param("n"), GP64())
		SHLQ(U8(3), off)
		NEGQ(off)
		// emitStep emits the step d bytes past off.
		emitStep := func(d int) {
			// at addresses register k of the entry's lanes in this pass.
			at := func(row Register, k int) Mem {
				return Mem{Base: row, Index: off, Scale: 1, Disp: d + 8*s.width*(h*per+k)}
			}
			xi := make([][]VecVirtual, len(xr))
			for a := range xi {
				xi[a] = make([]VecVirtual, per)
				for k := range xi[a] {
					xi[a][k] = s.vec()
					VMOVUPD(at(xr[a], k), xi[a][k])
				}
			}
			if h == 0 {
				for _, p := range pr {
					if g.fetch == fetchSpread {
						PREFETCHT1(Mem{Base: p})
						ADDQ(U32(64/g.every), p)
						continue
					}
					PREFETCHT1(Mem{Base: p, Index: off, Scale: 1, Disp: d})
				}
				if g.ahead > 0 {
					for _, p := range xr {
						PREFETCHT0(Mem{Base: p, Index: off, Scale: 1, Disp: d + g.ahead})
					}
				}
			}
			for _, p := range nextX {
				PREFETCHT0(Mem{Base: p, Index: off, Scale: 1, Disp: d})
			}
			// The tri kernel's row a is its y row a, loaded with column a.
			yv := make([][]VecVirtual, cc)
			for b := 0; b < cc; b++ {
				t := make([]VecVirtual, per)
				for k := range t {
					t[k] = s.vec()
					VMOVUPD(at(yr[b], k), t[k])
				}
				yv[b] = t
				if g.tri {
					for a := 0; a <= b; a++ {
						for k := range t {
							VFMADD231PD(t[k], yv[a][k], acc[a*cc+b][k])
						}
					}
					continue
				}
				for a := 0; a < r; a++ {
					for k := range t {
						VFMADD231PD(t[k], xi[a][k], acc[a*cc+b][k])
					}
				}
			}
		}
		loop := fmt.Sprintf("loop%d", h)
		if u := g.unroll; u > 1 {
			// The first (n/8) mod u steps one at a time, then u steps
			// a loop step: the same steps in the same order.
			single, done := fmt.Sprintf("single%d", h), fmt.Sprintf("done%d", h)
			t := Load(Param("n"), GP64())
			SHRQ(U8(3), t)
			ANDQ(U32(u-1), t)
			JZ(LabelRef(loop))
			Label(single)
			emitStep(0)
			ADDQ(U32(64), off)
			DECQ(t)
			JNZ(LabelRef(single))
			TESTQ(off, off)
			JZ(LabelRef(done))
			Label(loop)
			for i := range u {
				emitStep(64 * i)
			}
			ADDQ(U32(64*u), off)
			JNZ(LabelRef(loop))
			Label(done)
		} else {
			Label(loop)
			emitStep(0)
			ADDQ(U32(64), off)
			JNZ(LabelRef(loop))
		}
		if h < passes-1 {
			for e, v := range acc {
				if v != nil {
					VMOVUPD(v[0], saved.Offset(8*s.width*e))
				}
			}
		}
	}
	if passes > 1 {
		// Level 1 of reduce8, lane l plus lane l+4: lanes 4-7 plus the
		// saved lanes 0-3, the same sums (addition commutes).
		for e, v := range acc {
			if v != nil {
				VADDPD(saved.Offset(8*s.width*e), v[0], v[0])
			}
		}
	}
	if g.tri {
		// The entries below the diagonal are zero: out[e] + 0.
		z := accumulators(s, per)
		for e, v := range acc {
			if v == nil {
				acc[e] = z
			}
		}
	}
	if oc != cc {
		// Padded to whole groups of entries with zero registers, whose
		// sums are not stored.
		z := accumulators(s, per)
		for len(acc)%s.width != 0 {
			acc = append(acc, z)
		}
	}
	reduceEntries(s, acc, out, r*cc, func(e int) int { return 8 * (e/cc*oc + e%cc) })
	switch g.fetch {
	case fetchFirst:
		// One tile's worth of prefetches is the whole of the pf rows:
		// the next tiles prefetch the y rows, which are in L1.
		for b, p := range pr {
			MOVQ(yr[b], p)
		}
	case fetchSpread:
		DECQ(pleft)
		JNZ(LabelRef("fetching"))
		MOVQ(U32(g.every), pleft)
		ADDQ(pjump, pr[0])
		DECQ(prows)
		JNZ(LabelRef("fetching"))
		t := Load(Param("n"), GP64())
		SHLQ(U8(3), t)
		MOVQ(yr[0], pr[0])
		SUBQ(t, pr[0])
		NEGQ(t)
		MOVQ(t, pjump)
		Label("fetching")
	}
	for _, p := range xr {
		ADDQ(step, p)
	}
	ADDQ(U32(8*r*oc), out)
	CMPQ(out, last)
	JNE(LabelRef("tile"))
	ret()
}

// reduceEntries adds to the float64 at out+at(e) the sum of the 8 lanes of
// entry e, acc[e] being its registers, for e < live (the entries from live
// on pad acc to whole groups and are dropped), by the tree of reduce8 (lane
// l plus lane l+4, then l plus l+2, then lane 0 plus lane 1), eight
// (AVX-512) or four (AVX2) entries at a time: shuffles put the operands of
// each level of several entries side by side, so that one add does that
// level for all of them, and the entries come out in order, stored a group
// at a time when at places them one after the other, else by halves.
func reduceEntries(s isa, acc [][]VecVirtual, out Register, live int, at func(e int) int) {
	// level3 adds lane 0 and lane 1 of each 128-bit block of x and of y,
	// returning the sums interleaved x, y, x, y, ….
	level3 := func(x, y VecVirtual) VecVirtual {
		lo, hi := s.vec(), s.vec()
		VUNPCKLPD(y, x, lo)
		VUNPCKHPD(y, x, hi)
		VADDPD(hi, lo, lo)
		return lo
	}
	// store adds the k sums in v (k float64s: a zmm, ymm or xmm register,
	// or one in the low lane of an xmm) to the entries from e, a run of
	// entries that at places one after the other at a time; the entries
	// from live on are padding, not stored.
	var store func(v Register, e, k int)
	store = func(v Register, e, k int) {
		switch {
		case e >= live:
			return
		case k == 1:
			m := Mem{Base: out, Disp: at(e)}
			VADDSD(m, v, v)
			VMOVSD(v, m)
			return
		case runs(at, e, k, live):
			m := Mem{Base: out, Disp: at(e)}
			VADDPD(m, v, v)
			VMOVUPD(v, m)
			return
		}
		lo := v
		switch k {
		case 8:
			lo = v.(Vec).AsY()
		case 4:
			lo = asX(v)
		}
		// The high half first: an instruction on the low half clears it.
		if e+k/2 < live {
			hi := XMM()
			switch k {
			case 8:
				hi = YMM()
				VEXTRACTF64X4(U8(1), v, hi)
			case 4:
				VEXTRACTF128(U8(1), v, hi)
			default:
				VUNPCKHPD(v, v, hi)
			}
			store(hi, e+k/2, k/2)
		}
		store(lo, e, k/2)
	}
	if s.width == 4 {
		// Entry e is acc[e][0] (lanes 0-3) and acc[e][1] (lanes 4-7),
		// or acc[e][0] alone when level 1 is done (halves).
		for _, v := range acc {
			if len(v) > 1 {
				VADDPD(v[1], v[0], v[0])
			}
		}
		// Level 2 of two entries: their low halves plus their high halves.
		level2 := func(p, q VecVirtual) VecVirtual {
			lo, hi := s.vec(), s.vec()
			VPERM2F128(U8(0x20), q, p, lo)
			VPERM2F128(U8(0x31), q, p, hi)
			VADDPD(hi, lo, lo)
			return lo
		}
		for g := 0; g < len(acc); g += 4 {
			e := func(i int) VecVirtual { return acc[g+i][0] }
			store(level3(level2(e(0), e(2)), level2(e(1), e(3))), g, 4)
		}
		return
	}
	// shuffle adds the 128-bit blocks of p and q that imm1 selects to those
	// imm2 selects (VSHUFF64X2 takes two blocks of p, then two of q).
	shuffle := func(imm1, imm2 uint8, p, q VecVirtual) VecVirtual {
		lo, hi := s.vec(), s.vec()
		VSHUFF64X2(U8(imm1), q, p, lo)
		VSHUFF64X2(U8(imm2), q, p, hi)
		VADDPD(hi, lo, lo)
		return lo
	}
	for g := 0; g < len(acc); g += 8 {
		e := func(i int) VecVirtual { return acc[g+i][0] }
		// Level 1, blocks 0,1 plus blocks 2,3: entries paired so that
		// level 3 interleaves them back into order.
		level1 := func(i, j int) VecVirtual { return shuffle(0x44, 0xee, e(i), e(j)) }
		// Level 2, blocks 0,2 plus blocks 1,3 of two level-1 results.
		level2 := func(p, q VecVirtual) VecVirtual { return shuffle(0x88, 0xdd, p, q) }
		x := level2(level1(0, 2), level1(4, 6))
		y := level2(level1(1, 3), level1(5, 7))
		store(level3(x, y), g, 8)
	}
}

// runs reports whether the k entries from e are live (below live) and
// placed one after the other.
func runs(at func(e int) int, e, k, live int) bool {
	for i := range k {
		if e+i >= live || at(e+i) != at(e)+8*i {
			return false
		}
	}
	return true
}

// asX names the low 128 bits of a vector register.
func asX(r Op) Register { return r.(interface{ AsX() Register }).AsX() }

// gramTrap emits the part on rows [r0, r1) of the diagonal block of c x c
// entries of a Gram: the entries a <= b of those rows against the c rows y,
// each an 8-lane FMA chain reduced by the tree of reduce8 as in gramTile,
// added to out[a*c+b], a zmm register an entry (AVX-512). Row a of the part
// is loaded once a step, as column a, and kept for the later columns. The
// sums are reduced eight entries at a time into a local block that starts
// at -0 (so that it holds each sum's own bits, -0 included), then added to
// out one by one; only the entries a <= b are written.
func gramTrap(s isa, r0, r1, c int) {
	if s.width != 8 {
		panic("gramTrap needs a register an entry")
	}
	name := fmt.Sprintf("gramTrap%d%d%d%s", r0, r1, c, s.name)
	TEXT(name, NOSPLIT, "func(y *float64, ys, n int, pf *byte, pfs int, out *float64)")
	Doc(fmt.Sprintf("%s adds to out[a*%d+b], for %d <= a < %d and a <= b < %d, the chunk sum", name, c, r0, r1, c),
		"reduce8(lanes) of row y[a*ys:] against row y[b*ys:] over their first n elements",
		"(n > 0, a multiple of 8): lane l is the FMA chain of the products of elements",
		"i ≡ l (mod 8) in increasing i. It prefetches into L2 the 8n bytes at pf+a*pfs",
		fmt.Sprintf("(pfs in bytes) for %d <= a < %d, which need not be valid memory.", r0, r1))
	n8 := Load(Param("n"), GP64())
	SHLQ(U8(3), n8)
	// Row pointers at the end of their chunk: y rows r0, …, c-1, pf rows
	// r0, …, r1-1.
	rows := func(base, stride string, from, to int, shift uint8) []Register {
		p := Load(Param(base), GP64())
		st := Load(Param(stride), GP64())
		if shift > 0 {
			SHLQ(U8(shift), st)
		}
		ADDQ(n8, p)
		for range from {
			ADDQ(st, p)
		}
		ptr := make([]Register, to-from)
		for b := range ptr {
			ptr[b] = GP64()
			MOVQ(p, ptr[b])
			ADDQ(st, p)
		}
		return ptr
	}
	yr := rows("y", "ys", r0, c, 3)
	pr := rows("pf", "pfs", r0, r1, 0)
	type entry struct{ a, b int }
	var ents []entry
	acc := map[entry]VecVirtual{}
	for a := r0; a < r1; a++ {
		for b := a; b < c; b++ {
			e := entry{a, b}
			ents = append(ents, e)
			acc[e] = s.vec()
			s.zero(acc[e])
		}
	}
	off := Load(Param("n"), GP64())
	SHLQ(U8(3), off)
	NEGQ(off)
	Label("loop")
	row := map[int]VecVirtual{}
	for b := r0; b < c; b++ {
		t := s.vec()
		VMOVUPD(Mem{Base: yr[b-r0], Index: off, Scale: 1}, t)
		if b < r1 {
			row[b] = t
		}
		for a := r0; a < r1 && a <= b; a++ {
			VFMADD231PD(t, row[a], acc[entry{a, b}])
		}
		if b-r0 < len(pr) {
			PREFETCHT1(Mem{Base: pr[b-r0], Index: off, Scale: 1})
		}
	}
	ADDQ(U32(64), off)
	JNZ(LabelRef("loop"))
	// Reduce into the local block, eight entries at a time, padded with a
	// zero register.
	groups := (len(ents) + 7) / 8
	local := AllocLocal(64 * groups)
	g := GP64()
	MOVQ(U64(0x8000000000000000), g)
	negz := s.vec()
	VPBROADCASTQ(g, negz)
	for i := range groups {
		VMOVUPD(negz, local.Offset(64*i))
	}
	regs := make([][]VecVirtual, 8*groups)
	var pad VecVirtual
	for i := range regs {
		if i < len(ents) {
			regs[i] = []VecVirtual{acc[ents[i]]}
			continue
		}
		if pad == nil {
			pad = s.vec()
			s.zero(pad)
		}
		regs[i] = []VecVirtual{pad}
	}
	lp := GP64()
	LEAQ(local, lp)
	reduceEntries(s, regs, lp, len(regs), func(e int) int { return 8 * e })
	out := Load(Param("out"), GP64())
	for i, e := range ents {
		x := XMM()
		VMOVSD(local.Offset(8*i), x)
		VADDSD(Mem{Base: out, Disp: 8 * (e.a*c + e.b)}, x, x)
		VMOVSD(x, Mem{Base: out, Disp: 8 * (e.a*c + e.b)})
	}
	ret()
}
