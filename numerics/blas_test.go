package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/testblas"
)

// TestUseAsGonumBLAS: blas64 hands out BLAS once it is installed, and the
// implementation it replaced once restored.
func TestUseAsGonumBLAS(t *testing.T) {
	before := blas64.Implementation()
	restore := UseAsGonumBLAS()
	if _, ok := blas64.Implementation().(BLAS); !ok {
		t.Errorf("installed: blas64 uses %T, want numerics.BLAS", blas64.Implementation())
	}
	restore()
	if got := blas64.Implementation(); got != before {
		t.Errorf("restored: blas64 uses %T, want %T", got, before)
	}
}

// The conformance suite of gonum, on every implementation.
func TestBLASConformance(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		var b BLAS
		t.Run("Ddot", func(t *testing.T) { testblas.DdotTest(t, b) })
		t.Run("Daxpy", func(t *testing.T) { testblas.DaxpyTest(t, b) })
		t.Run("Dscal", func(t *testing.T) { testblas.DscalTest(t, b) })
		t.Run("Dnrm2", func(t *testing.T) { testblas.Dnrm2Test(t, b) })
		t.Run("Dgemv", func(t *testing.T) { testblas.DgemvTest(t, b) })
		t.Run("Dgemm", func(t *testing.T) { testblas.TestDgemm(t, b) })
		t.Run("Dsyrk", func(t *testing.T) { testblas.DsyrkTest(t, b) })
	})
}

// Strided and negative increments: the elements between the strides are
// guards that must stay as they are, and the results are those of the
// kernels on the gathered vectors.
func TestBLASStrided(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 1))
	var b BLAS
	forEachImpl(t, func(t *testing.T) {
		for _, inc := range []int{-3, -1, 2, 3} {
			for _, n := range []int{0, 1, 5, 33, 70} {
				what := fmt.Sprintf("n=%d inc=%d", n, inc)
				span := max(0, (n-1)*abs(inc)+1)
				bx, x := guarded(span, func(int) float64 { return guardNaN })
				by, y := guarded(span, func(int) float64 { return guardNaN })
				xs, ys := randSlice(r, n), randSlice(r, n)
				scatter(xs, x, inc)
				scatter(ys, y, inc)
				x0, y0 := slices.Clone(bx), slices.Clone(by)

				if got, want := b.Ddot(n, x, inc, y, inc), Dot(xs, ys); !same(got, want) {
					t.Fatalf("Ddot %s = %v, want %v", what, got, want)
				}
				if inc > 0 {
					if got, want := b.Dnrm2(n, x, inc), Nrm2(xs); !same(got, want) {
						t.Fatalf("Dnrm2 %s = %v, want %v", what, got, want)
					}
				}
				sameSlices(t, what+" x", bx, x0)
				sameSlices(t, what+" y", by, y0)

				b.Daxpy(n, 0.5, x, inc, y, inc)
				want := slices.Clone(y0)
				for i := range n {
					want[guardLen+start(n, inc)+i*inc] = math.FMA(0.5, xs[i], ys[i])
				}
				sameSlices(t, "Daxpy "+what, by, want)

				if inc > 0 {
					b.Dscal(n, -2, x, inc)
					for i, v := range gather(n, x, inc) {
						if !same(v, -2*xs[i]) {
							t.Fatalf("Dscal %s: element %d is %v, want %v", what, i, v, -2*xs[i])
						}
					}
					checkGuards(t, "Dscal "+what, bx)
					for i := range x {
						if i%inc != 0 && math.Float64bits(x[i]) != math.Float64bits(guardNaN) {
							t.Fatalf("Dscal %s: gap %d written", what, i)
						}
					}
				}
			}
		}
	})
}
