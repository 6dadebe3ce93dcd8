package peak

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// BenchmarkPeak measures the FMA peak of one core in GFLOP/s: ymm, the
// ceiling of the AVX2+FMA path, and zmm, that of the AVX-512 path (skipped
// without AVX-512). Run it in the same session as the kernels: on a shared
// machine both move together.
func BenchmarkPeak(b *testing.B) {
	const iters = 1 << 20
	for _, c := range []struct {
		name  string
		flops float64
		ok    bool
		f     func(int)
	}{
		{"ymm", 12 * 4 * 2, cpu.X86.HasAVX2 && cpu.X86.HasFMA, fmaYMM},
		{"zmm", 12 * 8 * 2, cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ, fmaZMM},
	} {
		b.Run(c.name, func(b *testing.B) {
			if !c.ok {
				b.Skip("not on this CPU")
			}
			for b.Loop() {
				c.f(iters)
			}
			b.ReportMetric(c.flops*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
