package numerics

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// refDotChunk is the order Dot documents on one chunk, written from its doc
// comment.
func refDotChunk(x, y []float64) float64 {
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

// refChunks are the chunks [lo, hi) of Dot's doc comment: 2^14 elements
// each, the last one shorter; one chunk, maybe empty, for n ≤ 2^14.
func refChunks(n int) [][2]int {
	c := [][2]int{{0, min(n, 1<<14)}}
	for lo := 1 << 14; lo < n; lo += 1 << 14 {
		c = append(c, [2]int{lo, min(n, lo+1<<14)})
	}
	return c
}

// refPairwise is the pairwise sum of Dot's doc comment.
func refPairwise(s []float64) float64 {
	if h := len(s) / 2; h > 0 {
		return refPairwise(s[:h]) + refPairwise(s[h:])
	}
	return s[0]
}

// refDot is the order Dot documents: refDotChunk on each chunk, the chunks'
// sums added pairwise.
func refDot(x, y []float64) float64 {
	var s []float64
	for _, c := range refChunks(len(x)) {
		s = append(s, refDotChunk(x[c[0]:c[1]], y[c[0]:c[1]]))
	}
	return refPairwise(s)
}

// refScale is Nrm2's scale(a): min(1023, -exponent(a)), 0 for a = 0.
func refScale(a float64) int {
	_, e := math.Frexp(a)
	if a == 0 {
		return 0
	}
	return min(1023, -e)
}

// refMaxAbs is the largest |x[i]|, NaNs ignored, 0 if there is none.
func refMaxAbs(x []float64) float64 {
	a := 0.0
	for _, v := range x {
		if !math.IsNaN(v) {
			a = math.Max(a, math.Abs(v))
		}
	}
	return a
}

// refNrm2 is the order Nrm2 documents, written from its doc comment.
func refNrm2(x []float64) float64 {
	var amax, sums []float64
	for _, c := range refChunks(len(x)) {
		xc := x[c[0]:c[1]]
		a := refMaxAbs(xc)
		if math.IsInf(a, 1) {
			return a
		}
		xs := make([]float64, len(xc))
		for i, v := range xc {
			xs[i] = v * math.Ldexp(1, refScale(a))
		}
		amax, sums = append(amax, a), append(sums, refDotChunk(xs, xs))
	}
	e := refScale(slices.Max(amax))
	for c := range sums {
		sums[c] = math.Ldexp(sums[c], 2*(e-refScale(amax[c])))
	}
	return math.Ldexp(math.Sqrt(refPairwise(sums)), -e)
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

// TestDot: every implementation gives the bits of Dot's documented order,
// on every unroll tail and around the chunk boundaries, with GOMAXPROCS 1,
// 2 and 3 (three shares of chunks on two cores), and reads and writes
// nothing outside x and y.
func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	forEachImpl(t, func(t *testing.T) {
		for _, fill := range []func(int) float64{uniform(r), wild(r)} {
			for _, n := range append(lengths(), longLengths()...) {
				bx, x := guarded(n, fill)
				by, y := guarded(n+1, fill)
				x0, y0 := slices.Clone(x), slices.Clone(y)
				want := refDot(x, y)
				for procs := 1; procs <= 3; procs++ {
					var got float64
					withProcs(procs, func() { got = Dot(x, y) })
					what := fmt.Sprintf("Dot n=%d GOMAXPROCS %d", n, procs)
					if !same(got, want) {
						t.Fatalf("%s = %v, want %v", what, got, want)
					}
					checkGuards(t, what, bx)
					checkGuards(t, what, by)
					sameSlices(t, what+" x", x, x0)
					sameSlices(t, what+" y", y, y0)
				}
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

// TestAxpyScal: Axpy is one FMA an element and Scal one product, on every
// implementation, length and GOMAXPROCS, writing nothing past y or x.
func TestAxpyScal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	forEachImpl(t, func(t *testing.T) {
		for _, fill := range []func(int) float64{uniform(r), wild(r)} {
			for _, n := range append(lengths(), longLengths()...) {
				alpha := fill(0)
				bx, x := guarded(n, fill)
				by, y := guarded(n, fill)
				x0, y0 := slices.Clone(x), slices.Clone(y)
				for procs := 1; procs <= 3; procs++ {
					copy(y, y0)
					withProcs(procs, func() { Axpy(alpha, x, y) })
					what := fmt.Sprintf("Axpy n=%d alpha=%v GOMAXPROCS %d", n, alpha, procs)
					for i := range y {
						if want := math.FMA(alpha, x0[i], y0[i]); !same(y[i], want) {
							t.Fatalf("%s: y[%d] = %v, want %v", what, i, y[i], want)
						}
					}
					checkGuards(t, what, bx)
					checkGuards(t, what, by)
					sameSlices(t, what+" x", x, x0)
				}

				Scal(alpha, x)
				what := fmt.Sprintf("Scal n=%d alpha=%v", n, alpha)
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
	// Every implementation gives the bits of the documented order.
	forEachImpl(t, func(t *testing.T) {
		for _, sc := range scales {
			for _, n := range lengths() {
				fill := uniform(r)
				bx, x := guarded(n, func(i int) float64 { return sc * fill(i) })
				x0 := slices.Clone(x)
				got, want := Nrm2(x), refNrm2(x)
				what := fmt.Sprintf("Nrm2 n=%d scale=%v", n, sc)
				if !same(got, want) {
					t.Fatalf("%s = %v, want %v", what, got, want)
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
			// Put each case past the vector blocks, then inside them, then
			// across the boundary of two chunks, in the third chunk, and
			// where two goroutines share the chunks.
			for _, pad := range []int{0, 40, vecChunk - 1, 2*vecChunk + 3, minWork - 1} {
				x := append(make([]float64, pad), c.x...)
				for procs := 1; procs <= 3; procs++ {
					var got float64
					withProcs(procs, func() { got = Nrm2(x) })
					if !same(got, c.want) {
						t.Fatalf("Nrm2(%v after %d zeros) GOMAXPROCS %d = %v, want %v", c.x, pad, procs, got, c.want)
					}
				}
			}
		}
		// Squares overflow, the norm does not.
		if got := Nrm2([]float64{1e308, 1e308}); math.Abs(got-math.Sqrt2*1e308) > 1e293 {
			t.Fatalf("Nrm2(1e308, 1e308) = %v", got)
		}
	})
}

// dot2 returns Σ x[i]*y[i] by Dot2 of Ogita, Rump and Oishi (2005): products
// split exactly by FMA, sums by TwoSum, the errors summed apart. Its error is
// at most u|Σ| + γ_n² Σ|x[i]y[i]| (their Proposition 5.5, u = 2^-53), while
// the float64 sum abs of the |x[i]*y[i]| it also returns is within a factor
// 1 + γ_n of the exact one.
func dot2(x, y []float64) (s, abs float64) {
	var c float64
	for i := range x {
		p := x[i] * y[i]
		e := math.FMA(x[i], y[i], -p)
		t := s + p
		z := t - s
		c += (s - (t - z)) + (p - z) + e
		s = t
		abs += math.Abs(p)
	}
	return s + c, abs
}

// gamma is γ_k = ku/(1-ku), u = 2^-53: the bound on the relative error of k
// roundings in a row.
func gamma(k int) float64 {
	ku := float64(k) * 0x1p-53
	return ku / (1 - ku)
}

// dotRoundings bounds the roundings a product goes through in Dot's order
// on n elements: at most vecChunk/32 FMAs in its lane, 5 adds of the tree, 31
// FMAs of the tail, and a level of the pairwise sum for each halving of the
// number of chunks.
func dotRoundings(n int) int {
	levels := 0
	for k := chunks(n); k > 1; k = (k + 1) / 2 {
		levels++
	}
	return vecChunk/32 + 5 + 31 + levels
}

// TestDotLongAccuracy: on long vectors, Dot is within the bound of its order,
// γ_k Σ|x[i]y[i]| with k = dotRoundings(n), of a compensated float64
// reference (whose own error is added). The negative control: the same sum
// rounded to float32 at every step breaks the bound.
func TestDotLongAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 4))
	for _, n := range []int{3*vecChunk + 17, 1e6 + 3} {
		x, y := randSlice(r, n), randSlice(r, n)
		ref, abs := dot2(x, y)
		g := gamma(n)
		tol := gamma(dotRoundings(n))*(1+g)*abs + 0x1p-53*math.Abs(ref) + g*g*(1+g)*abs
		if got := Dot(x, y); math.Abs(got-ref) > tol {
			t.Errorf("Dot n=%d = %v, reference %v: error %.3g > bound %.3g", n, got, ref, math.Abs(got-ref), tol)
		}
		var s32 float32
		for i := range x {
			s32 += float32(x[i] * y[i])
		}
		if math.Abs(float64(s32)-ref) <= tol {
			t.Errorf("control: a float32 sum n=%d is within the bound %.3g", n, tol)
		}
	}
}

// TestDotOrderControl: the inputs of the bit tests tell chunk orders apart:
// on them, the one-chunk order over the whole vector and the sum of the two
// halves (an order that followed the number of goroutines, 1 or 2) give
// other bits than each other, so a Dot whose bits followed GOMAXPROCS, or
// that dropped the chunking, would fail TestDot.
func TestDotOrderControl(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{3*vecChunk + 17, minWork, 1e6 + 3} {
		x, y := randSlice(r, n), randSlice(r, n)
		h := n / 2 &^ 31
		one, two := refDotChunk(x, y), refDotChunk(x[:h], y[:h])+refDotChunk(x[h:], y[h:])
		if same(one, two) || same(one, refDot(x, y)) {
			t.Errorf("n=%d: one chunk %v, two halves %v, Dot's order %v: the orders are not told apart", n, one, two, refDot(x, y))
		}
	}
}

// TestNrm2Long: on long vectors with every scale, the same one in every
// chunk or a different one chunk by chunk, every implementation gives the
// bits of the documented order with GOMAXPROCS 1 to 3, within the bound
// of that order of a compensated reference. The negative control: the
// unscaled sqrt(Dot(x, x)) overflows or underflows on the extreme scales
// and breaks the bound.
func TestNrm2Long(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 5))
	for _, scales := range [][]float64{{1}, {1e300}, {1e-300}, {1e-320}, {0x1p1000}, {1, 0x1p-20, 0x1p10, 1e-300}, {1e-300, 1e300, 1e-320, 1}} {
		for _, n := range []int{vecChunk + 1, 2*vecChunk + 31, 3*vecChunk + 17, minWork + 7, 1e6 + 3} {
			if testing.Short() && n > minWork {
				continue
			}
			x := make([]float64, n)
			for i := range x {
				x[i] = scales[i/vecChunk%len(scales)] * (2*r.Float64() - 1)
			}
			want := refNrm2(x)
			// The reference: x scaled exactly by the power of two of its
			// largest entry, its sum of squares by dot2, whose error with
			// the square root's makes at most (2u + γ_n²) of the norm.
			e := refScale(refMaxAbs(x))
			xs := make([]float64, n)
			for i, v := range x {
				xs[i] = v * math.Ldexp(1, e)
			}
			s, _ := dot2(xs, xs)
			ref := math.Ldexp(math.Sqrt(s), -e)
			// Nrm2's sum of squares has relative error γ_k, halved by the
			// square root, which rounds once more; a subnormal norm is
			// rounded to a multiple of 2^-1074 in both.
			g := gamma(n)
			tol := (gamma(dotRoundings(n))/2+4*0x1p-53+g*g)*ref + 0x1p-1074
			what := fmt.Sprintf("Nrm2 n=%d scales %v", n, scales)
			forEachImpl(t, func(t *testing.T) {
				for procs := 1; procs <= 3; procs++ {
					var got float64
					withProcs(procs, func() { got = Nrm2(x) })
					if !same(got, want) {
						t.Fatalf("%s GOMAXPROCS %d = %v, want %v", what, procs, got, want)
					}
				}
			})
			if math.Abs(want-ref) > tol {
				t.Errorf("%s = %v, reference %v: error %.3g > bound %.3g", what, want, ref, math.Abs(want-ref), tol)
			}
			if naive := math.Sqrt(Dot(x, x)); len(scales) == 1 && (scales[0] == 1e300 || scales[0] == 1e-300) && math.Abs(naive-ref) <= tol {
				t.Errorf("control: %s: the unscaled norm %v is within the bound of %v", what, naive, ref)
			}
		}
	}
}
