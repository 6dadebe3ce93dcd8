package numerics

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gonumImpl is the reference the benchmarks compare with.
var gonumImpl gonum.Implementation

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.Float64()*2 - 1
	}
	return x
}

// benchImpls runs f once per implementation compared: flatmin's and gonum's.
func benchImpls(b *testing.B, size string, flops float64, ours, theirs func()) {
	for _, c := range []struct {
		name string
		f    func()
	}{{"flatmin", ours}, {"gonum", theirs}} {
		b.Run(fmt.Sprintf("%s/impl=%s", size, c.name), func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
			if flops > 0 {
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1024, 2048} {
		a, bb, c := randSlice(r, n*n), randSlice(r, n*n), make([]float64, n*n)
		benchImpls(b, fmt.Sprint(n), 2*float64(n)*float64(n)*float64(n),
			func() { Gemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n) },
			func() { gonumImpl.Dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, bb, n, 0, c, n) })
	}
}

func BenchmarkGram(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ n, p int }{{50, 1e6}, {100, 1e5}, {1000, 1e5}} {
		q, k := randSlice(r, s.n*s.p), make([]float64, s.n*s.n)
		benchImpls(b, fmt.Sprintf("n=%d,p=%d", s.n, s.p), float64(s.n)*float64(s.n+1)*float64(s.p),
			func() { Gram(k, q, s.n, s.p) },
			func() { gonumImpl.Dsyrk(blas.Upper, blas.NoTrans, s.n, s.p, 1, q, s.p, 0, k, s.n) })
	}
}
