package golden

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/flatmin/flatmin/numerics"
)

// kernelInputs are seeded vectors and matrices of lengths that cross every
// vector width and unroll tail of the kernels.
func kernelInputs(seed uint64, n int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x6b65726e656c))
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

type kernelGolden struct {
	Dot     map[string]float64 // n past 2^14: chunked, and parallel past 2^18
	Nrm2    map[string]float64
	Axpy    []float64
	Gram    []float64 // K = QQᵀ, Q 7 x 131
	Gemm    []float64 // C = 1.5·A·Bᵀ - 0.5·C, 9 x 11 from k = 37
	Syrk    []float64 // upper C = AᵀA, 6 x 6 from k = 45
	GramBig float64   // ‖K‖_F for Q 33 x 1000: the blocked, parallel path
	// GramFloat32 is K for the float32 Q 7 x 131 of Gram's inputs rounded,
	// GramFloat32Big ‖K‖_F for a float32 Q 300 x 1100: two blocks of rows,
	// the rows past the first widened by tile column.
	GramFloat32    []float64
	GramFloat32Big float64
}

// narrow returns x rounded to float32.
func narrow(x []float64) []float32 {
	q := make([]float32, len(x))
	for i, v := range x {
		q[i] = float32(v)
	}
	return q
}

// TestKernels pins the bits of every kernel on seeded inputs. The kernels
// keep one accumulation order on the AVX-512, AVX2 and pure-Go paths and for
// any GOMAXPROCS, so this file holds under `-tags purego` and GOMAXPROCS=1 too.
func TestKernels(t *testing.T) {
	var g kernelGolden
	g.Dot, g.Nrm2 = map[string]float64{}, map[string]float64{}
	for _, n := range []int{1, 7, 8, 15, 16, 17, 31, 33, 63, 65, 1000, 3<<14 + 17, 1e6 + 3} {
		x, y := kernelInputs(1, n), kernelInputs(2, n)
		key := "n=" + strconv.Itoa(n)
		g.Dot[key] = numerics.Dot(x, y)
		g.Nrm2[key] = numerics.Nrm2(x)
	}
	huge := kernelInputs(3, 50)
	tiny := kernelInputs(4, 50)
	for i := range huge {
		huge[i] *= 1e300
		tiny[i] *= 1e-300
	}
	g.Nrm2["huge 1e300"] = numerics.Nrm2(huge)
	g.Nrm2["tiny 1e-300"] = numerics.Nrm2(tiny)
	// Chunks of 2^14 of 1e300, 1e-300 and 1, and a tail of 1e-320: each
	// chunk scaled on its own, their sums rescaled to the largest.
	mixed := kernelInputs(13, 3<<14+17)
	for i := range mixed {
		mixed[i] *= []float64{1e300, 1e-300, 1, 1e-320}[i>>14]
	}
	g.Nrm2["chunks 1e300, 1e-300, 1, 1e-320"] = numerics.Nrm2(mixed)
	y := kernelInputs(5, 37)
	numerics.Axpy(-0.75, kernelInputs(6, 37), y)
	g.Axpy = y

	q := kernelInputs(7, 7*131)
	g.Gram = make([]float64, 7*7)
	numerics.Gram(g.Gram, q, 7, 131)

	a, b := kernelInputs(8, 9*37), kernelInputs(9, 11*37)
	g.Gemm = kernelInputs(10, 9*11)
	numerics.Gemm(false, true, 9, 11, 37, 1.5, a, 37, b, 37, -0.5, g.Gemm, 11)

	g.Syrk = make([]float64, 6*6)
	numerics.Syrk(true, true, 6, 45, 1, kernelInputs(11, 45*6), 6, 0, g.Syrk, 6)

	big := kernelInputs(12, 33*1000)
	k := make([]float64, 33*33)
	numerics.Gram(k, big, 33, 1000)
	g.GramBig = numerics.Nrm2(k)
	if math.IsNaN(g.GramBig) {
		t.Fatal("NaN")
	}

	g.GramFloat32 = make([]float64, 7*7)
	numerics.GramFloat32(g.GramFloat32, narrow(q), 7, 131)
	k = make([]float64, 300*300)
	numerics.GramFloat32(k, narrow(kernelInputs(14, 300*1100)), 300, 1100)
	g.GramFloat32Big = numerics.Nrm2(k)
	check(t, "kernels", g)
}
