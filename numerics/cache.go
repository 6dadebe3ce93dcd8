package numerics

// The blocking of Gemm and of the packed Gram keeps a block of operands in a
// core's L2 cache while it is read over and over: Gemm's mc rows of A, the
// Gram's gramBlockRows rows of Q. Their sizes were measured on the machine of
// BENCHMARKS.md, whose L2 is referenceL2; on a core with a smaller L2 (the
// 512 KB of AMD Zen 2 and Zen 3, the 1 MB or 1.25 MB of many Intel cores)
// they would not fit, and shrink with it, down to a quarter (toL2). On that
// machine blocks as large as its L2 or twice as large ran Gemm 2048 7-12 %
// slower and the Gram at n = 1000 12-25 % slower than the measured ones,
// and blocks a quarter of their size 0-2 % and 7-16 % slower (BENCHMARKS.md,
// "Blocking for the L2 at hand"). No block size changes a bit of any result.

// referenceL2 is the L2 of a core of the machine on which the block sizes
// were measured, in bytes.
const referenceL2 = 2 << 20

// l2Size is the size in bytes of the L2 cache of a core, as the CPU reports
// it, or referenceL2 when it reports none or an implausible one (outside
// 64 KB to 64 MB). Tests set it to run the blocking of other machines.
var l2Size = plausibleL2(cpuL2())

// plausibleL2 returns the L2 size of b bytes, or referenceL2 when b is not
// one a core has.
func plausibleL2(b int) int {
	if b < 64<<10 || b > 64<<20 {
		return referenceL2
	}
	return b
}

// toL2 returns the block size ref, measured on the machine of referenceL2,
// for a core with l2Size bytes of L2: ref scaled by l2Size/referenceL2, but
// not below a quarter of ref (the size for 512 KB), rounded down to a
// multiple of unit, and at most ref (a larger L2 keeps the measured size).
// The floor: on the reference machine blocks of a quarter of the measured
// size cost Gemm 0-2 % and the Gram 7-16 %, blocks of a tenth or a twelfth
// Gemm up to 12 % and the Gram 29-41 %, while blocks 1.1 times L2 cost the
// Gram 12-14 %: below 512 KB of L2, a block somewhat larger than L2 loses
// less than one that fits.
func toL2(ref, unit int) int {
	v := ref * (max(l2Size, referenceL2/4) >> 10) / (referenceL2 >> 10)
	return max(unit, min(ref, v)/unit*unit)
}

// CacheL2 returns the size in bytes of the L2 cache of a core that the
// blocking of Gemm and Gram is scaled to, and whether the CPU reported it
// (when it does not, on other architectures or with the purego tag, the
// blocking is that of the machine of BENCHMARKS.md, 2 MB). The blocking
// changes the speed only, never the bits.
func CacheL2() (bytes int, reported bool) {
	b := cpuL2()
	return l2Size, plausibleL2(b) == b
}

// bigL1 is the size in bytes of the L1 data cache from which the AVX2 Gram
// runs on tiles that fetch the next tile's rows into L1 a whole tile ahead
// (impl.gramBigL1 and gramPackedBigL1): they hold 40 KB there, which the
// 48 KB of this machine's cores (and of Intel's since Ice Lake, and AMD's
// Zen 5) takes and the 32 KB of Zen 2 to Zen 4 does not (BENCHMARKS.md,
// "the AVX2 packed tile's loop and its x rows"). A core that reports no L1
// size gets the tiles that fit 32 KB.
const bigL1 = 48 << 10

// l1Size is the size in bytes of the L1 data cache of a core as the CPU
// reports it (cpuL1), 0 when it reports none. Tests set it to run the
// kernels of other machines.
var l1Size = cpuL1()

// CacheL1 returns the size in bytes of the L1 data cache of a core that
// the choice of the Gram's kernels goes by, and whether the
// CPU reported it (when it does not, on other architectures or with the
// purego tag, the size is 0 and the kernels are those of a small L1). Like
// the blocking, it changes the speed only, never the bits.
func CacheL1() (bytes int, reported bool) {
	return l1Size, cpuL1() > 0
}
