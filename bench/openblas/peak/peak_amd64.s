// The FMA peak of one core: twelve independent chains of VFMADD231PD, on
// ymm (AVX2+FMA) and zmm (AVX-512) registers, n iterations; nothing is read
// or written. BenchmarkPeak reports their GFLOP/s beside the kernels, in the
// same session, for the percent of peak in BENCHMARKS.md.

#include "textflag.h"

// PEAK is the body of fmaYMM and fmaZMM: a0-a11 the chains, s and t their
// operands.
#define PEAK(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, s, t) \
	MOVQ n+0(FP), CX; \
	VXORPD a0, a0, a0; \
	VXORPD a1, a1, a1; \
	VXORPD a2, a2, a2; \
	VXORPD a3, a3, a3; \
	VXORPD a4, a4, a4; \
	VXORPD a5, a5, a5; \
	VXORPD a6, a6, a6; \
	VXORPD a7, a7, a7; \
	VXORPD a8, a8, a8; \
	VXORPD a9, a9, a9; \
	VXORPD a10, a10, a10; \
	VXORPD a11, a11, a11; \
	VXORPD s, s, s; \
	VXORPD t, t, t; \
loop: \
	VFMADD231PD s, t, a0; \
	VFMADD231PD s, t, a1; \
	VFMADD231PD s, t, a2; \
	VFMADD231PD s, t, a3; \
	VFMADD231PD s, t, a4; \
	VFMADD231PD s, t, a5; \
	VFMADD231PD s, t, a6; \
	VFMADD231PD s, t, a7; \
	VFMADD231PD s, t, a8; \
	VFMADD231PD s, t, a9; \
	VFMADD231PD s, t, a10; \
	VFMADD231PD s, t, a11; \
	DECQ CX; \
	JNZ loop; \
	VZEROUPPER; \
	RET

// func fmaYMM(n int)
TEXT ·fmaYMM(SB), NOSPLIT, $0-8
	PEAK(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y14, Y15)

// func fmaZMM(n int)
TEXT ·fmaZMM(SB), NOSPLIT, $0-8
	PEAK(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z14, Z15)
