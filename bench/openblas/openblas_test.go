package openblas

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/flatmin/flatmin/numerics"
)

// TestMain says which kernels OpenBLAS runs: its choice depends on
// OPENBLAS_CORETYPE, which these machines may set to an older core; and
// which flatmin runs, which FLATMIN_NUMERICS may force (to avx2 on an
// AVX-512 machine, say).
func TestMain(m *testing.M) {
	fmt.Fprintf(os.Stderr, "openblas: core %s; config %s; OPENBLAS_CORETYPE=%q\n",
		Core(), Config(), os.Getenv("OPENBLAS_CORETYPE"))
	name, ignored := numerics.Implementation()
	l2, reported := numerics.CacheL2()
	l1, l1Reported := numerics.CacheL1()
	fmt.Fprintf(os.Stderr, "flatmin: numerics %s, blocking for an L2 of %d KB (reported by the CPU: %v), kernels for an L1 of %d KB (reported: %v) %s\n",
		name, l2>>10, reported, l1>>10, l1Reported, ignored)
	os.Exit(m.Run())
}

func TestAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n, p := 37, 1111
	q := randSlice(r, n*p)
	k1, k2 := make([]float64, n*n), make([]float64, n*n)
	numerics.Gram(k1, q, n, p)
	Dsyrk(n, p, q, k2)
	for i := range n {
		for j := i; j < n; j++ {
			if d := k1[i*n+j] - k2[i*n+j]; d > 1e-9 || d < -1e-9 {
				t.Fatalf("K[%d][%d]: flatmin %v, OpenBLAS %v", i, j, k1[i*n+j], k2[i*n+j])
			}
		}
	}
}

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.Float64()*2 - 1
	}
	return x
}

// pair runs flatmin's and OpenBLAS's versions of a kernel as impl=flatmin
// and impl=openblas, OpenBLAS on GOMAXPROCS threads, reporting perCall
// units (flops or bytes) per second in units of 1e9.
//
// The first sample of a b.Loop benchmark runs before -cpu sets GOMAXPROCS:
// run each -cpu value on its own, with GOMAXPROCS set to it (BENCHMARKS.md).
func pair(b *testing.B, size string, perCall float64, unit string, ours, theirs func()) {
	for _, c := range []struct {
		name string
		f    func()
	}{{"flatmin", ours}, {"openblas", theirs}} {
		b.Run(fmt.Sprintf("%s/impl=%s", size, c.name), func(b *testing.B) {
			Threads(runtime.GOMAXPROCS(0))
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(perCall*float64(b.N)/b.Elapsed().Seconds()/1e9, unit)
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 4))
	for _, n := range []int{1024, 2048} {
		a, bb, c := randSlice(r, n*n), randSlice(r, n*n), make([]float64, n*n)
		pair(b, fmt.Sprint(n), 2*float64(n)*float64(n)*float64(n), "GFLOP/s",
			func() { numerics.Gemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n) },
			func() { Dgemm(n, a, bb, c) })
	}
}

func BenchmarkGram(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 5))
	for _, s := range []struct{ n, p int }{{50, 1e6}, {100, 1e5}, {1000, 1e5}} {
		q, k := randSlice(r, s.n*s.p), make([]float64, s.n*s.n)
		pair(b, fmt.Sprintf("n=%d,p=%d", s.n, s.p), float64(s.n)*float64(s.n+1)*float64(s.p), "GFLOP/s",
			func() { numerics.Gram(k, q, s.n, s.p) },
			func() { Dsyrk(s.n, s.p, q, k) })
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
		pair(b, s.name, 16*float64(s.n), "GB/s", func() { numerics.Dot(x, y) }, func() { Ddot(x, y) })
	}
}

func BenchmarkAxpy(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range vectorSizes {
		x, y := randSlice(r, s.n), randSlice(r, s.n)
		pair(b, s.name, 24*float64(s.n), "GB/s", func() { numerics.Axpy(1e-9, x, y) }, func() { Daxpy(1e-9, x, y) })
	}
}

func BenchmarkNrm2(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 3))
	for _, s := range []struct {
		name string
		n    int
	}{{"n=1e5", 1e5}, {"n=1e7", 1e7}} {
		x := randSlice(r, s.n)
		pair(b, s.name, 2*float64(s.n), "GFLOP/s", func() { numerics.Nrm2(x) }, func() { Dnrm2(x) })
	}
}
