package numerics

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Benchmarks are named Benchmark<Kernel>/<size>/impl=<flatmin|gonum>, so
// that benchstat compares the two columns; each reports GFLOP/s or GB/s.
// BENCHMARKS.md at the repository root gives the commands and the figures.
// The first sample of a b.Loop benchmark runs before -cpu sets GOMAXPROCS,
// so run each -cpu value on its own, with GOMAXPROCS set to it.

// gonumImpl is the reference the benchmarks compare with.
var gonumImpl gonum.Implementation

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.Float64()*2 - 1
	}
	return x
}

// benchPair runs ours and theirs as impl=flatmin and impl=gonum under size,
// reporting rate units of unit ("GFLOP/s", "GB/s") per call, in units of 1e9.
func benchPair(b *testing.B, size string, perCall float64, unit string, ours, theirs func()) {
	benchImpls(b, size, perCall, unit, benchImpl{"flatmin", ours}, benchImpl{"gonum", theirs})
}

// benchImpl is a function benchmarked as impl=name.
type benchImpl struct {
	name string
	f    func()
}

// benchImpls runs each of impls under size as benchPair does.
func benchImpls(b *testing.B, size string, perCall float64, unit string, impls ...benchImpl) {
	for _, c := range impls {
		b.Run(fmt.Sprintf("%s/impl=%s", size, c.name), func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(perCall*float64(b.N)/b.Elapsed().Seconds()/1e9, unit)
		})
	}
}

var vectorSizes = []struct {
	name string
	n    int
}{{"n=1e3", 1e3}, {"n=1e7", 1e7}}

func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range vectorSizes {
		x, y := randSlice(r, s.n), randSlice(r, s.n)
		benchPair(b, s.name, 16*float64(s.n), "GB/s",
			func() { Dot(x, y) },
			func() { gonumImpl.Ddot(s.n, x, 1, y, 1) })
	}
}

func BenchmarkAxpy(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range vectorSizes {
		x, y := randSlice(r, s.n), randSlice(r, s.n)
		// 24 bytes an element: x and y read, y written.
		benchPair(b, s.name, 24*float64(s.n), "GB/s",
			func() { Axpy(1e-9, x, y) },
			func() { gonumImpl.Daxpy(s.n, 1e-9, x, 1, y, 1) })
	}
}

// BenchmarkNrm2 at n=1e5 runs in L2; at n=1e7 the vector streams from
// memory once, each chunk's second pass reading it from L2.
func BenchmarkNrm2(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 3))
	for _, s := range []struct {
		name string
		n    int
	}{{"n=1e5", 1e5}, {"n=1e7", 1e7}} {
		x := randSlice(r, s.n)
		benchPair(b, s.name, 2*float64(s.n), "GFLOP/s",
			func() { Nrm2(x) },
			func() { gonumImpl.Dnrm2(s.n, x, 1) })
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 4))
	for _, n := range []int{1024, 2048} {
		a, bb, c := randSlice(r, n*n), randSlice(r, n*n), make([]float64, n*n)
		benchPair(b, fmt.Sprint(n), 2*float64(n)*float64(n)*float64(n), "GFLOP/s",
			func() { Gemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n) },
			func() { gonumImpl.Dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, bb, n, 0, c, n) })
	}
}

// gramSizes are the n x p shapes of per-sample gradients the suite meets.
var gramSizes = []struct{ n, p int }{{50, 1e6}, {100, 1e5}, {1000, 1e5}}

// BenchmarkGram compares Gram with gonum's Dsyrk, which computes one
// triangle of the same K = Q Qᵀ; flops are counted n(n+1)p for both.
func BenchmarkGram(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 5))
	for _, s := range gramSizes {
		q, k := randSlice(r, s.n*s.p), make([]float64, s.n*s.n)
		benchPair(b, fmt.Sprintf("n=%d,p=%d", s.n, s.p), float64(s.n)*float64(s.n+1)*float64(s.p), "GFLOP/s",
			func() { Gram(k, q, s.n, s.p) },
			func() { gonumImpl.Dsyrk(blas.Upper, blas.NoTrans, s.n, s.p, 1, q, s.p, 0, k, s.n) })
	}
}

// BenchmarkGramFloat32 compares GramFloat32 on float32 rows (impl=float32)
// with Gram on the same rows widened (impl=float64), which gives the same
// bits; flops are counted n(n+1)p for both.
func BenchmarkGramFloat32(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 7))
	for _, s := range gramSizes {
		q32, k := make([]float32, s.n*s.p), make([]float64, s.n*s.n)
		for i := range q32 {
			q32[i] = float32(2*r.Float64() - 1)
		}
		q := widened(q32)
		benchImpls(b, fmt.Sprintf("n=%d,p=%d", s.n, s.p), float64(s.n)*float64(s.n+1)*float64(s.p), "GFLOP/s",
			benchImpl{"float32", func() { GramFloat32(k, q32, s.n, s.p) }},
			benchImpl{"float64", func() { Gram(k, q, s.n, s.p) }})
	}
}

// sink keeps the STREAM loops from being optimized away.
var sink float64

// quarters cuts x into four equal parts (its last len(x)%4 elements left
// out): streaming them side by side keeps more cache lines in flight than
// one scalar stream does.
func quarters(x []float64) [4][]float64 {
	q := len(x) / 4
	return [4][]float64{x[:q], x[q : 2*q], x[2*q : 3*q], x[3*q : 4*q]}
}

// BenchmarkStream measures the memory bandwidth in plain Go, the ceiling of
// Dot and Axpy at n=1e7: read is the dot pattern (two streams in), update
// the axpy one (two in, one out), each over four quarters of the vectors at
// once. Plain Go issues scalar loads, so this is a floor on what the memory
// gives: see BENCHMARKS.md.
func BenchmarkStream(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 6))
	n := int(1e7)
	x, y := quarters(randSlice(r, n)), quarters(randSlice(r, n))
	m := len(x[0])
	b.Run("read/n=1e7", func(b *testing.B) {
		for b.Loop() {
			var s [4]float64
			for i := range m {
				s[0] += x[0][i] * y[0][i]
				s[1] += x[1][i] * y[1][i]
				s[2] += x[2][i] * y[2][i]
				s[3] += x[3][i] * y[3][i]
			}
			sink = s[0] + s[1] + s[2] + s[3]
		}
		b.ReportMetric(16*float64(4*m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("update/n=1e7", func(b *testing.B) {
		for b.Loop() {
			for i := range m {
				y[0][i] += 1e-9 * x[0][i]
				y[1][i] += 1e-9 * x[1][i]
				y[2][i] += 1e-9 * x[2][i]
				y[3][i] += 1e-9 * x[3][i]
			}
		}
		b.ReportMetric(24*float64(4*m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
}
