package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refProduct is the order Gemm and Syrk document, from their doc comment:
// op(A) and op(B) given as element functions, C row-major with ldc.
func refProduct(t triangle, m, n, k int, alpha float64, a, b func(i, j int) float64, beta float64, c []float64, ldc int) {
	for i := range m {
		for j := range n {
			if !t.has(i, j) {
				continue
			}
			v := c[i*ldc+j]
			switch {
			case beta == 0:
				v = 0
			case beta != 1:
				v *= beta
			}
			if alpha != 0 {
				for p := 0; p < k; p += gemmKC {
					s := 0.0
					for l := p; l < min(p+gemmKC, k); l++ {
						bl := b(l, j)
						if alpha != 1 {
							bl *= alpha
						}
						s = math.FMA(a(i, l), bl, s)
					}
					if p == 0 && beta == 0 {
						v = s
					} else {
						v += s
					}
				}
			}
			c[i*ldc+j] = v
		}
	}
}

// operand is a guarded r x c matrix op(X) stored with leading dimension
// cols+2 (X transposed when trans), NaN in the padding.
type operand struct {
	buf, d []float64
	ld     int
	trans  bool
}

func newOperand(r, c int, trans bool, fill func(int) float64) operand {
	sr, sc := r, c
	if trans {
		sr, sc = c, r
	}
	ld := sc + 2
	buf, d := guarded(max(0, sr*ld), fill)
	for i := range sr {
		for j := sc; j < ld; j++ {
			d[i*ld+j] = guardNaN
		}
	}
	return operand{buf, d, ld, trans}
}

func (o operand) at(i, j int) float64 {
	if o.trans {
		i, j = j, i
	}
	return o.d[i*o.ld+j]
}

// checkPadding fails t if a padding element of o was written.
func (o operand) checkPadding(t *testing.T, what string, rows, cols int) {
	t.Helper()
	checkGuards(t, what, o.buf)
	for i := range rows {
		for j := cols; j < o.ld; j++ {
			if math.Float64bits(o.d[i*o.ld+j]) != math.Float64bits(guardNaN) {
				t.Fatalf("%s: padding (%d, %d) written", what, i, j)
			}
		}
	}
}

type gemmCase struct{ m, n, k int }

// gemmSizes cross every tail of the micro-kernels and every block of the
// driver (kc = 512, the k-panel of the order, mc = 240, 180 and 120, nc =
// 3072), and run the kernels of 8 and 4 rows over columns of whole tiles in
// one call (m = 64 and 250; the 5-row kernel takes m = 150).
var gemmSizes = []gemmCase{
	{0, 3, 4}, {3, 0, 4}, {3, 4, 0}, {1, 1, 1}, {5, 7, 3}, {8, 24, 16}, {9, 25, 17},
	{17, 49, 33}, {33, 13, 70}, {150, 50, 300}, {20, 3100, 3}, {17, 20, 1100},
	{64, 50, 40}, {250, 30, 600},
}

var scalars = []float64{1, 0, -0.75}

func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 1))
	forEachImpl(t, func(t *testing.T) {
		for _, s := range gemmSizes {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					alpha, beta := scalars[r.IntN(3)], scalars[r.IntN(3)]
					what := fmt.Sprintf("Gemm %dx%dx%d tA=%v tB=%v alpha=%v beta=%v", s.m, s.n, s.k, tA, tB, alpha, beta)
					a := newOperand(s.m, s.k, tA, uniform(r))
					b := newOperand(s.k, s.n, tB, uniform(r))
					c := newOperand(s.m, s.n, false, uniform(r))
					a0, b0 := slices.Clone(a.buf), slices.Clone(b.buf)
					want := slices.Clone(c.d)
					refProduct(full, s.m, s.n, s.k, alpha, a.at, b.at, beta, want, c.ld)
					Gemm(tA, tB, s.m, s.n, s.k, alpha, a.d, a.ld, b.d, b.ld, beta, c.d, c.ld)
					sameSlices(t, what, c.d, want)
					c.checkPadding(t, what, s.m, s.n)
					sameSlices(t, what+" A", a.buf, a0)
					sameSlices(t, what+" B", b.buf, b0)
				}
			}
		}
	})
}

func TestSyrk(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	forEachImpl(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 5, 9, 25, 50, 150} {
			for _, k := range []int{0, 3, 40, 300} {
				for _, up := range []bool{true, false} {
					for _, trans := range []bool{false, true} {
						alpha, beta := scalars[r.IntN(3)], scalars[r.IntN(3)]
						what := fmt.Sprintf("Syrk n=%d k=%d upper=%v trans=%v alpha=%v beta=%v", n, k, up, trans, alpha, beta)
						a := newOperand(n, k, trans, uniform(r))
						c := newOperand(n, n, false, uniform(r))
						tri := lowerOrUpper(up)
						for i := range n { // the other triangle must stay as it is
							for j := range n {
								if !tri.has(i, j) {
									c.d[i*c.ld+j] = guardNaN
								}
							}
						}
						want := slices.Clone(c.d)
						at := func(i, j int) float64 { return a.at(j, i) }
						refProduct(tri, n, n, k, alpha, a.at, at, beta, want, c.ld)
						Syrk(up, trans, n, k, alpha, a.d, a.ld, beta, c.d, c.ld)
						sameSlices(t, what, c.d, want)
						c.checkPadding(t, what, n, n)
						for i := range n {
							for j := range n {
								if !tri.has(i, j) && math.Float64bits(c.d[i*c.ld+j]) != math.Float64bits(guardNaN) {
									t.Fatalf("%s: (%d, %d) outside the triangle written", what, i, j)
								}
							}
						}
					}
				}
			}
		}
	})
}

// Parallel products give the bits of one goroutine.
func TestProductProcs(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	m, n, k := 130, 270, 300
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	forEachImpl(t, func(t *testing.T) {
		var c [2][]float64
		var s [2][]float64
		for p := range 2 {
			withProcs(p+1, func() {
				c[p] = make([]float64, m*n)
				Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c[p], n)
				s[p] = make([]float64, n*n)
				Syrk(true, true, n, k, 1, b, n, 0, s[p], n)
			})
		}
		sameSlices(t, "Gemm GOMAXPROCS 2 vs 1", c[1], c[0])
		sameSlices(t, "Syrk GOMAXPROCS 2 vs 1", s[1], s[0])
	})
}

func TestProductPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"negative": func() { Gemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) },
		"lda": func() {
			Gemm(false, false, 2, 2, 3, 1, make([]float64, 6), 2, make([]float64, 6), 2, 0, make([]float64, 4), 2)
		},
		"short C": func() {
			Gemm(false, false, 2, 2, 1, 1, make([]float64, 2), 1, make([]float64, 2), 2, 0, make([]float64, 3), 2)
		},
		"short A":   func() { Syrk(true, false, 3, 2, 1, make([]float64, 5), 2, 0, make([]float64, 9), 3) },
		"Gram size": func() { Gram(make([]float64, 4), make([]float64, 3), 2, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// packPanels lays out the r x k (an A, w = PanelHeight(r)) or k x r (a B,
// w = PanelWidth()) matrix x as GemmPacked reads it, x(i, l) being the
// element of row or column i and k-index l, with panel stride k*w + gap:
// NaN in the gaps and in the lines past r, which must change nothing.
func packPanels(r, k, w, gap int, x func(i, l int) float64) (d []float64, stride int) {
	stride = k*w + gap
	np := (r + w - 1) / w
	d = make([]float64, max(0, np*stride))
	for i := range d {
		d[i] = guardNaN
	}
	for i := range r {
		for l := range k {
			d[i/w*stride+l*w+i%w] = x(i, l)
		}
	}
	return d, stride
}

// GemmPacked gives the bits of the documented order (Gemm's with alpha = 1)
// on every combination of plain and packed operands, a packed one whole or
// as a k-range of a longer one, and PackA packs as GemmPacked reads.
func TestGemmPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 4))
	forEachImpl(t, func(t *testing.T) {
		nr := PanelWidth()
		for _, s := range append(gemmSizes, gemmCase{200, 20, 30}) { // and two blocks of rows
			mr := PanelHeight(s.m)
			for v := range 6 {
				tA, tB := v%2 == 1, v%3 == 1
				beta := scalars[r.IntN(3)]
				what := fmt.Sprintf("GemmPacked %dx%dx%d variant %d beta=%v", s.m, s.n, s.k, v, beta)
				a := newOperand(s.m, s.k+3, tA, uniform(r)) // k-indices [3, k+3) are the product's
				b := newOperand(s.k+3, s.n, tB, uniform(r))
				c := newOperand(s.m, s.n, false, uniform(r))
				at := func(i, l int) float64 { return a.at(i, l+3) }
				bt := func(l, j int) float64 { return b.at(l+3, j) }
				oa := Operand{Data: a.d[min(len(a.d), 3*a.ld):], Ld: a.ld, Trans: true}
				if !tA {
					oa = Operand{Data: a.d[min(len(a.d), 3):], Ld: a.ld}
				}
				ob := Operand{Data: b.d[min(len(b.d), 3):], Ld: b.ld, Trans: true}
				if !tB {
					ob = Operand{Data: b.d[min(len(b.d), 3*b.ld):], Ld: b.ld}
				}
				switch v / 2 {
				case 1: // packed A, plain B
					d, stride := packPanels(s.m, s.k+3, mr, 7, a.at)
					oa = Operand{Data: d[min(len(d), 3*mr):], Stride: stride}
				case 2: // both packed
					d, stride := packPanels(s.m, s.k+3, mr, 0, a.at)
					oa = Operand{Data: d[min(len(d), 3*mr):], Stride: stride}
					fallthrough
				case 0: // packed B
					d, stride := packPanels(s.n, s.k+3, nr, 5, func(j, l int) float64 { return b.at(l, j) })
					ob = Operand{Data: d[min(len(d), 3*nr):], Stride: stride}
				}
				want := slices.Clone(c.d)
				refProduct(full, s.m, s.n, s.k, 1, at, bt, beta, want, c.ld)
				GemmPacked(s.m, s.n, s.k, oa, ob, beta, c.d, c.ld)
				sameSlices(t, what, c.d, want)
				c.checkPadding(t, what, s.m, s.n)
			}
			a := newOperand(s.m, s.k, true, uniform(r))
			want, _ := packPanels(s.m, s.k, mr, 0, a.at)
			for i := range want {
				if math.IsNaN(want[i]) {
					want[i] = 0 // the rows past m
				}
			}
			got := make([]float64, len(want)+1)
			PackA(got, true, s.m, s.k, a.d, a.ld)
			sameSlices(t, fmt.Sprintf("PackA %dx%d", s.m, s.k), got, want)
		}
	})
}

func TestGemmPackedPanics(t *testing.T) {
	nr, mr := PanelWidth(), PanelHeight(2)
	a, c := Operand{Data: make([]float64, 6), Ld: 3}, make([]float64, 2*(nr+1))
	b := func(n, stride int) Operand { return Operand{Data: make([]float64, n), Stride: stride} }
	for name, f := range map[string]func(){
		"negative": func() { GemmPacked(2, -1, 3, a, b(3*nr, 3*nr), 0, c, nr+1) },
		"stride":   func() { GemmPacked(2, nr+1, 3, a, b(6*nr, 3*nr-1), 0, c, nr+1) },
		"short B":  func() { GemmPacked(2, nr+1, 3, a, b(6*nr-1, 3*nr), 0, c, nr+1) },
		"short C":  func() { GemmPacked(2, nr+1, 3, a, b(6*nr, 3*nr), 0, c[1:], nr+1) },
		"short A": func() {
			GemmPacked(2, nr+1, 3, Operand{Data: a.Data[1:], Ld: 2, Trans: true}, b(6*nr, 3*nr), 0, c, nr+1)
		},
		"A stride": func() {
			GemmPacked(2, nr+1, 3, Operand{Data: make([]float64, 3*mr), Stride: 3*mr - 1}, b(6*nr, 3*nr), 0, c, nr+1)
		},
		"short A 2": func() {
			GemmPacked(2, nr+1, 3, Operand{Data: make([]float64, 3*mr-1), Stride: 3 * mr}, b(6*nr, 3*nr), 0, c, nr+1)
		},
		"PackA": func() { PackA(make([]float64, 3*mr-1), false, 2, 3, a.Data, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	// The smallest operands that hold the panels are enough.
	GemmPacked(2, nr+1, 3, Operand{Data: make([]float64, 3*mr), Stride: 3 * mr}, b(6*nr, 3*nr), 0, c, nr+1)
}

// Gather reads src through its tables on every path: groups of every width
// the kernels meet (the panel widths and others), the vector kernels' tails
// of lines (fewer than four) and of groups not of their vector width.
func TestGather(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 5))
	src := randSlice(r, 500)
	forEachImpl(t, func(t *testing.T) {
		for _, w := range []int{1, 3, 4, 8, 12, 16} {
			for _, no := range []int{0, 1, 3, 4, 5, 9} {
				for _, groups := range []int{0, 1, 3} {
					outer := make([]int, no)
					for a := range outer {
						outer[a] = r.IntN(250)
					}
					inner := make([]int, groups*w)
					for j := range inner {
						inner[j] = r.IntN(250)
					}
					what := fmt.Sprintf("Gather w=%d lines=%d groups=%d", w, no, groups)
					buf, dst := guarded(no*groups*w, func(int) float64 { return guardNaN })
					Gather(dst, src, outer, inner, w)
					checkGuards(t, what, buf)
					for g := range groups {
						for a := range no {
							for j := range w {
								if got, want := dst[(g*no+a)*w+j], src[outer[a]+inner[g*w+j]]; !same(got, want) {
									t.Fatalf("%s: (%d, %d, %d) is %v, want %v", what, g, a, j, got, want)
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestGatherPanics(t *testing.T) {
	src, dst := make([]float64, 10), make([]float64, 8)
	for name, f := range map[string]func(){
		"width":     func() { Gather(dst, src, []int{0}, []int{0, 1, 2}, 2) },
		"zero w":    func() { Gather(dst, src, []int{0}, nil, 0) },
		"short dst": func() { Gather(dst[:5], src, []int{0, 1, 2}, []int{0, 1}, 2) },
		"past src":  func() { Gather(dst, src, []int{0, 5}, []int{0, 5}, 2) },
		"negative":  func() { Gather(dst, src, []int{3, -4}, []int{0, 2}, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	// The last element of src is inside.
	Gather(dst, src, []int{0, 5}, []int{0, 4}, 2)
}

// AddBlock adds every element once, on every path: widths around the
// vector kernels' full vectors and quarters and their scalar tails.
func TestAddBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 6))
	forEachImpl(t, func(t *testing.T) {
		for _, rows := range []int{0, 1, 2, 5} {
			for cols := range 30 {
				what := fmt.Sprintf("AddBlock %dx%d", rows, cols)
				dst := newOperand(rows, cols, false, uniform(r))
				src := newOperand(rows, cols+1, false, uniform(r)) // another stride
				want := slices.Clone(dst.d)
				for i := range rows {
					for j := range cols {
						want[i*dst.ld+j] += src.d[i*src.ld+j]
					}
				}
				AddBlock(dst.d, dst.ld, src.d, src.ld, rows, cols)
				sameSlices(t, what, dst.d, want)
				dst.checkPadding(t, what, rows, cols)
			}
		}
	})
	defer func() {
		if recover() == nil {
			t.Error("AddBlock on a short src: no panic")
		}
	}()
	AddBlock(make([]float64, 8), 4, make([]float64, 7), 4, 2, 4)
}
