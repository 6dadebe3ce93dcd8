package numerics

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// refDot is the order Dot documents, written from its doc comment.
func refDot(x, y []float64) float64 {
	var lane [32]float64
	m := len(x) &^ 31
	for i := range m {
		lane[i%32] = math.FMA(x[i], y[i], lane[i%32])
	}
	for w := 16; w >= 1; w /= 2 {
		for l := range w {
			lane[l] += lane[l+w]
		}
	}
	s := lane[0]
	for i := m; i < len(x); i++ {
		s = math.FMA(x[i], y[i], s)
	}
	return s
}

// specials are the values that break kernels.
var specials = []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.NaN(),
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-1022, math.MaxFloat64, -math.MaxFloat64, 1e300, 1e-300}

// wild returns a filler drawing from specials half the time.
func wild(r *rand.Rand) func(int) float64 {
	return func(int) float64 {
		if r.IntN(2) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return math.Ldexp(2*r.Float64()-1, r.IntN(2100)-1050)
	}
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	forEachImpl(t, func(t *testing.T) {
		for _, fill := range []func(int) float64{uniform(r), wild(r)} {
			for _, n := range lengths() {
				bx, x := guarded(n, fill)
				by, y := guarded(n+1, fill)
				x0, y0 := slices.Clone(x), slices.Clone(y)
				got, want := Dot(x, y), refDot(x, y)
				what := fmt.Sprintf("Dot n=%d", n)
				if !same(got, want) {
					t.Fatalf("%s = %v, want %v", what, got, want)
				}
				checkGuards(t, what, bx)
				checkGuards(t, what, by)
				sameSlices(t, what+" x", x, x0)
				sameSlices(t, what+" y", y, y0)
			}
		}
	})
}

func TestDotShortY(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Dot with y shorter than x did not panic")
		}
	}()
	Dot(make([]float64, 3), make([]float64, 2))
}

func TestAxpyScal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	forEachImpl(t, func(t *testing.T) {
		for _, fill := range []func(int) float64{uniform(r), wild(r)} {
			for _, n := range lengths() {
				alpha := fill(0)
				bx, x := guarded(n, fill)
				by, y := guarded(n, fill)
				x0, y0 := slices.Clone(x), slices.Clone(y)
				Axpy(alpha, x, y)
				what := fmt.Sprintf("Axpy n=%d alpha=%v", n, alpha)
				for i := range y {
					if want := math.FMA(alpha, x0[i], y0[i]); !same(y[i], want) {
						t.Fatalf("%s: y[%d] = %v, want %v", what, i, y[i], want)
					}
				}
				checkGuards(t, what, bx)
				checkGuards(t, what, by)
				sameSlices(t, what+" x", x, x0)

				Scal(alpha, x)
				what = fmt.Sprintf("Scal n=%d alpha=%v", n, alpha)
				for i := range x {
					if want := alpha * x0[i]; !same(x[i], want) {
						t.Fatalf("%s: x[%d] = %v, want %v", what, i, x[i], want)
					}
				}
				checkGuards(t, what, bx)
			}
		}
	})
}

// bigNorm is the norm in 200-bit arithmetic, rounded once.
func bigNorm(x []float64) float64 {
	s := new(big.Float).SetPrec(200)
	for _, v := range x {
		b := new(big.Float).SetPrec(200).SetFloat64(v)
		s.Add(s, b.Mul(b, b))
	}
	f, _ := s.Sqrt(s).Float64()
	return f
}

func TestNrm2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	scales := []float64{1, 1e300, 1e-300, 1e-320, 0x1p1000}
	// want[impl] per case: every implementation gives the generic bits.
	forEachImpl(t, func(t *testing.T) {
		for _, sc := range scales {
			for _, n := range lengths() {
				fill := uniform(r)
				bx, x := guarded(n, func(i int) float64 { return sc * fill(i) })
				x0 := slices.Clone(x)
				got := Nrm2(x)
				var want float64
				func() {
					defer forceImpl(generic)()
					want = Nrm2(x)
				}()
				what := fmt.Sprintf("Nrm2 n=%d scale=%v", n, sc)
				if !same(got, want) {
					t.Fatalf("%s = %v, generic %v", what, got, want)
				}
				// Error bound: n+2 roundings of relative size 2^-53 on the
				// sum of squares, halved by the square root; subnormal inputs
				// carry absolute error instead.
				exact := bigNorm(x)
				tol := float64(n+3) * 0x1p-53 * exact
				if sc == 1e-320 {
					tol = math.Max(tol, 1e-320)
				}
				if math.Abs(got-exact) > tol || math.IsInf(got, 0) || math.IsNaN(got) {
					t.Fatalf("%s = %v, exact %v", what, got, exact)
				}
				checkGuards(t, what, bx)
				sameSlices(t, what, x, x0)
			}
		}
		for _, c := range []struct {
			x    []float64
			want float64
		}{
			{nil, 0},
			{[]float64{0, math.Copysign(0, -1)}, 0},
			{[]float64{3, -4}, 5},
			{[]float64{1e308, 1e308, 1e308, 1e308}, math.Inf(1)}, // 2e308 overflows
			{[]float64{math.NaN(), 1}, math.NaN()},
			{[]float64{math.NaN(), math.Inf(-1)}, math.Inf(1)},
			{[]float64{1, math.Inf(1), math.NaN()}, math.Inf(1)},
		} {
			// Put each case past the vector blocks, then inside them.
			for _, pad := range []int{0, 40} {
				x := append(make([]float64, pad), c.x...)
				if got := Nrm2(x); !same(got, c.want) {
					t.Fatalf("Nrm2(%v) = %v, want %v", c.x, got, c.want)
				}
			}
		}
		// Squares overflow, the norm does not.
		if got := Nrm2([]float64{1e308, 1e308}); math.Abs(got-math.Sqrt2*1e308) > 1e293 {
			t.Fatalf("Nrm2(1e308, 1e308) = %v", got)
		}
	})
}
