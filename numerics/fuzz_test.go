package numerics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// Property checks: every implementation against the documented order, bit
// for bit, on arbitrary lengths, alignments and values (NaN, ±Inf, ±0,
// subnormals, extremes). Each runs under `go test` through rapid.Check and
// as a fuzz target: go test -fuzz=FuzzDot ./numerics

// value draws any float64, specials often.
var value = rapid.Custom(func(t *rapid.T) float64 {
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		return rapid.SampledFrom(specials).Draw(t, "special")
	case 1:
		return rapid.Float64().Draw(t, "any")
	case 2:
		return math.Float64frombits(rapid.Uint64().Draw(t, "bits"))
	}
	return rapid.Float64Range(-1, 1).Draw(t, "unit")
})

// vector draws n values placed at a random offset into a larger slice, so
// the kernels meet every alignment. Past 200 values it repeats the first
// 200 and then overwrites up to 4 drawn places with drawn values: a long
// vector's chunks get specials of their own.
func vector(t *rapid.T, name string, n int) []float64 { return vectorOf(t, value, name, n) }

// vectorOf is vector with the values of gen.
func vectorOf[T any](t *rapid.T, gen *rapid.Generator[T], name string, n int) []T {
	off := rapid.IntRange(0, 7).Draw(t, name+" offset")
	buf := make([]T, off+n)
	x := buf[off:]
	for i := range min(n, 200) {
		x[i] = gen.Draw(t, name)
	}
	if n > 200 {
		for i := 200; i < n; i++ {
			x[i] = x[i-200]
		}
		for range rapid.IntRange(0, 4).Draw(t, name+" places") {
			x[rapid.IntRange(0, n-1).Draw(t, name+" place")] = gen.Draw(t, name)
		}
	}
	return x
}

// value32 draws any float32, specials often.
var value32 = rapid.Custom(func(t *rapid.T) float32 {
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		return rapid.SampledFrom(specials32).Draw(t, "special")
	case 1:
		return rapid.Float32().Draw(t, "any")
	case 2:
		return math.Float32frombits(rapid.Uint32().Draw(t, "bits"))
	}
	return rapid.Float32Range(-1, 1).Draw(t, "unit")
})

// length draws a vector length: up to 200, across every unroll tail, or
// one time in four within 40 of the end of the first, second or third
// chunk of the level-1 kernels.
func length(t *rapid.T) int {
	if rapid.IntRange(0, 3).Draw(t, "long") > 0 {
		return rapid.IntRange(0, 200).Draw(t, "n")
	}
	return rapid.IntRange(1, 3).Draw(t, "chunks")*vecChunk + rapid.IntRange(-40, 40).Draw(t, "past the chunks")
}

// eachImpl calls f with every implementation forced in turn.
func eachImpl(f func(name string)) {
	for _, im := range impls {
		restore := forceImpl(im)
		f(im.name)
		restore()
	}
}

func checkDot(t *rapid.T) {
	n := length(t)
	x, y := vector(t, "x", n), vector(t, "y", n)
	want := refDot(x, y)
	eachImpl(func(name string) {
		if got := Dot(x, y); !same(got, want) {
			t.Fatalf("%s: Dot = %v, want %v", name, got, want)
		}
	})
}

func checkAxpyScal(t *rapid.T) {
	n := length(t)
	alpha := value.Draw(t, "alpha")
	x, y := vector(t, "x", n), vector(t, "y", n)
	eachImpl(func(name string) {
		z := append([]float64(nil), y...)
		Axpy(alpha, x, z)
		for i := range z {
			if want := math.FMA(alpha, x[i], y[i]); !same(z[i], want) {
				t.Fatalf("%s: Axpy z[%d] = %v, want %v", name, i, z[i], want)
			}
		}
		copy(z, x)
		Scal(alpha, z)
		for i := range z {
			if want := alpha * x[i]; !same(z[i], want) {
				t.Fatalf("%s: Scal z[%d] = %v, want %v", name, i, z[i], want)
			}
		}
	})
}

func checkNrm2(t *rapid.T) {
	x := vector(t, "x", length(t))
	want := refNrm2(x)
	eachImpl(func(name string) {
		if got := Nrm2(x); !same(got, want) {
			t.Fatalf("%s: Nrm2 = %v, want %v", name, got, want)
		}
	})
	hasInf, hasNaN := false, false
	for _, v := range x {
		hasInf = hasInf || math.IsInf(v, 0)
		hasNaN = hasNaN || math.IsNaN(v)
	}
	switch {
	case hasInf && !math.IsInf(want, 1):
		t.Fatalf("Nrm2 = %v with an infinite entry", want)
	case !hasInf && hasNaN && !math.IsNaN(want):
		t.Fatalf("Nrm2 = %v with a NaN entry", want)
	case !hasInf && !hasNaN && math.Abs(want-bigNorm(x)) > float64(len(x)+3)*0x1p-53*want+1e-320:
		t.Fatalf("Nrm2 = %v, exact %v", want, bigNorm(x))
	}
}

func checkGemm(t *rapid.T) {
	// The blocking of an L2 of 256 KB to 2 MB: with 512 KB, m past 28 (AVX2),
	// 44 (generic) or 56 (AVX-512) takes two blocks of rows of A.
	defer drawL2(t)()
	m := rapid.OneOf(rapid.IntRange(0, 30), rapid.IntRange(31, 70)).Draw(t, "m")
	n := rapid.IntRange(0, 30).Draw(t, "n")
	k := rapid.IntRange(0, 30).Draw(t, "k")
	tA, tB := rapid.Bool().Draw(t, "tA"), rapid.Bool().Draw(t, "tB")
	alpha := rapid.SampledFrom([]float64{1, 0, -2.5, math.NaN()}).Draw(t, "alpha")
	beta := rapid.SampledFrom([]float64{1, 0, 0.5, math.Inf(1)}).Draw(t, "beta")
	a, b, c := vector(t, "a", m*k), vector(t, "b", k*n), vector(t, "c", m*n)
	lda, ldb := max(1, k), max(1, n)
	atA := func(i, l int) float64 { return a[i*k+l] }
	if tA {
		lda = max(1, m)
		atA = func(i, l int) float64 { return a[l*m+i] }
	}
	atB := func(l, j int) float64 { return b[l*n+j] }
	if tB {
		ldb = max(1, k)
		atB = func(l, j int) float64 { return b[j*k+l] }
	}
	want := append([]float64(nil), c...)
	refProduct(full, m, n, k, alpha, atA, atB, beta, want, max(1, n))
	eachImpl(func(name string) {
		got := append([]float64(nil), c...)
		Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, got, max(1, n))
		for i := range want {
			if !same(got[i], want[i]) {
				t.Fatalf("%s: C[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	})
}

// drawL2 gives the kernels the blocking of one of testL2Sizes, drawn, until
// the function it returns restores the L2 they had.
func drawL2(t *rapid.T) (restore func()) {
	return setSize(&l2Size, rapid.SampledFrom(testL2Sizes).Draw(t, "L2"))
}

// drawL1 gives the kernels the L1 of one of testL1Sizes, drawn, until the
// function it returns restores the L1 they had.
func drawL1(t *rapid.T) (restore func()) {
	return setSize(&l1Size, rapid.SampledFrom(testL1Sizes).Draw(t, "L1"))
}

func checkGram(t *rapid.T) {
	defer drawL1(t)()
	n := rapid.IntRange(0, 11).Draw(t, "n")
	p := rapid.SampledFrom([]int{0, 1, 5, 8, 13, 40, 1030}).Draw(t, "p")
	q := vector(t, "q", n*p)
	want := refGram(q, n, p)
	eachImpl(func(name string) {
		k := make([]float64, n*n)
		Gram(k, q, n, p)
		for i := range want {
			if !same(k[i], want[i]) {
				t.Fatalf("%s: K[%d] = %v, want %v", name, i, k[i], want[i])
			}
		}
	})
}

// checkGramFloat32: GramFloat32 is Gram's order on the widened matrix, and
// GramFloat32Add from K = 0 is GramFloat32.
func checkGramFloat32(t *rapid.T) {
	defer drawL1(t)()
	n := rapid.IntRange(0, 11).Draw(t, "n")
	p := rapid.SampledFrom([]int{0, 1, 5, 8, 13, 40, 1030}).Draw(t, "p")
	q := vectorOf(t, value32, "q", n*p)
	want := refGram(widened(q), n, p)
	eachImpl(func(name string) {
		for _, f := range []func(k []float64, q []float32, n, p int){GramFloat32, GramFloat32Add} {
			k := make([]float64, n*n)
			f(k, q, n, p)
			for i := range want {
				if !same(k[i], want[i]) {
					t.Fatalf("%s: K[%d] = %v, want %v", name, i, k[i], want[i])
				}
			}
		}
	})
}

// checkGramPacked: the Gram of more rows than gramInPlace lets it read in
// place, which packs them in blocks of gramBlockRows rows and packs each
// block again chunk by chunk as its units finish with the rows, gives every
// entry the bits of the Gram of its two rows alone, which runs in place and
// is checked against refGram by checkGram (K[i][j] depends on rows i and j
// only); float32 rows likewise through GramFloat32. The blocking is that of
// an L2 of 256 KB to 2 MB, the kernels those of a small or a large L1
// (testL1Sizes), and the shapes reach from the smallest packed
// Gram to three blocks, or two blocks more than it, and the ends of the
// blocks, chunks with short tails, and GOMAXPROCS 1 to 3; the rows include
// zero, duplicated and rescaled ones (by 2^±300).
func checkGramPacked(t *rapid.T) {
	defer drawL2(t)()
	defer drawL1(t)()
	// From the first packed Gram to one of two more blocks, or three blocks.
	b, lo := gramBlockRows(), gramInPlace/(gramChunk*8)+1
	hi := max(3*b-1, lo+2*b)
	var ends []int // the sizes around the ends of blocks
	for e := b; e <= hi; e += b {
		ends = append(ends, e-1, e, e+1)
	}
	ends = slices.DeleteFunc(ends, func(n int) bool { return n < lo || n > hi })
	n := rapid.OneOf(rapid.IntRange(lo, hi), rapid.SampledFrom(ends)).Draw(t, "n")
	p := rapid.SampledFrom([]int{8, 13, 520, 1031}).Draw(t, "p")
	procs := rapid.IntRange(1, 3).Draw(t, "GOMAXPROCS")
	narrow := rapid.Bool().Draw(t, "float32")
	r := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
	q := make([]float64, n*p)
	for i := range q {
		q[i] = r.NormFloat64()
		if narrow {
			q[i] = float64(float32(q[i]))
		}
	}
	for range rapid.IntRange(0, 4).Draw(t, "special rows") {
		i, j := rapid.IntRange(0, n-1).Draw(t, "row"), rapid.IntRange(0, n-1).Draw(t, "source")
		row := q[i*p : (i+1)*p]
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			clear(row)
		case 1:
			copy(row, q[j*p:(j+1)*p])
		default:
			scale := math.Ldexp(1, rapid.SampledFrom([]int{-300, 300}).Draw(t, "scale"))
			if narrow {
				scale = math.Ldexp(1, rapid.SampledFrom([]int{-60, 60}).Draw(t, "scale"))
			}
			for e := range row {
				row[e] *= scale
			}
		}
	}
	gram := func(k, q []float64, n, p int) { Gram(k, q, n, p) }
	if narrow {
		gram = func(k, q []float64, n, p int) { GramFloat32(k, narrowed64(q), n, p) }
	}
	// Pairs drawn at random, and the rows at the ends of the blocks.
	var pairs [][2]int
	for range 24 {
		pairs = append(pairs, [2]int{rapid.IntRange(0, n-1).Draw(t, "i"), rapid.IntRange(0, n-1).Draw(t, "j")})
	}
	edges := []int{0, n - 1} // the rows at the ends of the blocks
	for e := b; e < n; e += b {
		edges = append(edges, e-1, e)
	}
	for _, i := range edges {
		pairs = append(pairs, [2]int{i, n - 1}, [2]int{i, i}, [2]int{0, i})
	}
	eachImpl(func(name string) {
		k := make([]float64, n*n)
		withProcs(procs, func() { gram(k, q, n, p) })
		for _, ij := range pairs {
			i, j := ij[0], ij[1]
			two := slices.Concat(q[i*p:(i+1)*p], q[j*p:(j+1)*p])
			want := make([]float64, 4)
			gram(want, two, 2, p)
			if !same(k[i*n+j], want[1]) || !same(k[j*n+i], want[1]) {
				t.Fatalf("%s: K[%d][%d] = %v and K[%d][%d] = %v, the Gram of the two rows %v", name, i, j, k[i*n+j], j, i, k[j*n+i], want[1])
			}
		}
	})
}

// narrowed64 returns the float32 values of x, which must be exact.
func narrowed64(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestProperties(t *testing.T) {
	t.Run("Dot", rapid.MakeCheck(checkDot))
	t.Run("AxpyScal", rapid.MakeCheck(checkAxpyScal))
	t.Run("Nrm2", rapid.MakeCheck(checkNrm2))
	t.Run("Gemm", rapid.MakeCheck(checkGemm))
	t.Run("Gram", rapid.MakeCheck(checkGram))
	t.Run("GramFloat32", rapid.MakeCheck(checkGramFloat32))
	t.Run("GramPacked", rapid.MakeCheck(checkGramPacked))
}

func FuzzDot(f *testing.F)         { f.Fuzz(rapid.MakeFuzz(checkDot)) }
func FuzzAxpyScal(f *testing.F)    { f.Fuzz(rapid.MakeFuzz(checkAxpyScal)) }
func FuzzNrm2(f *testing.F)        { f.Fuzz(rapid.MakeFuzz(checkNrm2)) }
func FuzzGemm(f *testing.F)        { f.Fuzz(rapid.MakeFuzz(checkGemm)) }
func FuzzGram(f *testing.F)        { f.Fuzz(rapid.MakeFuzz(checkGram)) }
func FuzzGramFloat32(f *testing.F) { f.Fuzz(rapid.MakeFuzz(checkGramFloat32)) }
func FuzzGramPacked(f *testing.F)  { f.Fuzz(rapid.MakeFuzz(checkGramPacked)) }
