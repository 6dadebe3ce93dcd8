package peak

// fmaYMM runs n iterations of 12 independent VFMADD231PD on ymm registers
// (AVX2+FMA): 96 flops an iteration.
//
//go:noescape
func fmaYMM(n int)

// fmaZMM is fmaYMM on zmm registers (AVX-512F and DQ): 192 flops an
// iteration.
//
//go:noescape
func fmaZMM(n int)
