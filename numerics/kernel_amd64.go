//go:build !purego

package numerics

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd _asm && go run . -out ../asm_amd64.s -stubs ../asm_amd64.go -pkg numerics"

// impls lists the implementations this CPU runs, best first: AVX-512 (F, DQ
// and VL), AVX2 with FMA, then the generic twin.
var impls = available(
	cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL,
	cpu.X86.HasAVX2 && cpu.X86.HasFMA,
)

func available(hasAVX512, hasAVX2 bool) []*impl {
	var l []*impl
	if hasAVX512 {
		l = append(l, &impl{
			name:   "avx512",
			dot:    dotAVX512,
			sumSq:  sumSqAVX512,
			maxAbs: maxAbsAVX512,
			axpy:   axpyAVX512,
			scal:   scalAVX512,
			gemm:   gemmKernel{mr: 8, nr: 24, fn: gemmAsm(8, 24, gemm8x24AVX512)},
			gram: gramKernel{t: 4, fn: func(rows [][]float64, n int, out []float64) {
				var p [8]*float64
				rowPointers(p[:], rows, n)
				gram4x4AVX512(&p, n, (*[16]float64)(out))
			}},
		})
	}
	if hasAVX2 {
		l = append(l, &impl{
			name:   "avx2",
			dot:    dotAVX2,
			sumSq:  sumSqAVX2,
			maxAbs: maxAbsAVX2,
			axpy:   axpyAVX2,
			scal:   scalAVX2,
			gemm:   gemmKernel{mr: 4, nr: 12, fn: gemmAsm(4, 12, gemm4x12AVX2)},
			gram: gramKernel{t: 2, fn: func(rows [][]float64, n int, out []float64) {
				var p [4]*float64
				rowPointers(p[:], rows, n)
				gram2x2AVX2(&p, n, (*[4]float64)(out))
			}},
		})
	}
	return append(l, generic)
}

// gemmAsm adapts an assembly micro-kernel to slices, checking the bounds it
// relies on.
func gemmAsm(mr, nr int, f func(kc int, a, b, c *float64, ldc int, next *float64)) func(kc int, a, b, c []float64, ldc int, next []float64) {
	return func(kc int, a, b, c []float64, ldc int, next []float64) {
		_, _, _ = a[kc*mr-1], b[kc*nr-1], c[(mr-1)*ldc+nr-1]
		f(kc, &a[0], &b[0], &c[0], ldc, &next[0])
	}
}

// rowPointers sets p[i] to the first element of rows[i], each holding n.
func rowPointers(p []*float64, rows [][]float64, n int) {
	for i := range p {
		r := rows[i][:n]
		p[i] = &r[0]
	}
}
