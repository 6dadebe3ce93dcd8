package numerics

import "math"

// lanes is the number of independent accumulators of Dot and Nrm2: four
// AVX-512 registers, eight AVX2 ones, an array here.
const lanes = 32

// impl is one implementation of the inner loops every kernel runs on. Each
// field has the contract of the generic twin it is set to in generic; the
// SIMD ones in kernel_amd64.go keep the same order and so the same bits.
type impl struct {
	name   string
	dot    func(x, y []float64) float64
	sumSq  func(x []float64, scale float64) float64
	maxAbs func(x []float64) float64
	axpy   func(alpha float64, x, y []float64)
	scal   func(alpha float64, x []float64)
	widen  func(dst []float64, src []float32)
	gather func(dst, src []float64, outer, inner []int)
	// addBlock has the contract of AddBlock, its arguments checked.
	addBlock func(dst []float64, ldd int, src []float64, lds int, rows, cols int)
	gemm     gemmKernel
	// gemmFew, if its fn is not nil, is a micro-kernel of fewer rows for
	// products of few rows (gemmFor).
	gemmFew gemmKernel
	// gram reads rows in place and prefetches; gramPacked reads packed rows.
	gram, gramPacked gramKernel
	// gramBigL1 and gramPackedBigL1, where their fn is not nil, replace
	// gram and gramPacked on a core whose L1 holds bigL1 bytes or more
	// (gramFor). Their tiles are those they replace, and so are their bits.
	gramBigL1, gramPackedBigL1 gramKernel
}

// gramFor returns the Gram kernel of rows in place, or of packed rows, for
// the L1 at hand.
func (im *impl) gramFor(packed bool) gramKernel {
	k, big := im.gram, im.gramBigL1
	if packed {
		k, big = im.gramPacked, im.gramPackedBigL1
	}
	if big.fn != nil && l1Size >= bigL1 {
		return big
	}
	return k
}

// generic is the pure-Go twin of every kernel, always compiled: the only
// implementation with the purego tag and on other architectures, and the
// reference the SIMD ones are tested against bit for bit.
var generic = &impl{
	name:       "generic",
	dot:        dotGeneric,
	sumSq:      sumSqGeneric,
	maxAbs:     maxAbsGeneric,
	axpy:       axpyGeneric,
	scal:       scalGeneric,
	widen:      widenGeneric,
	gather:     gatherGeneric,
	addBlock:   addBlockGeneric,
	gemm:       gemmKernel{mr: 4, nr: 4, mc: 180, fn: gemmGeneric},
	gram:       gramKernel{tr: 2, tc: 2, fn: gramGeneric},
	gramPacked: gramKernel{tr: 2, tc: 2, fn: gramGeneric},
}

// dotGeneric returns Dot(x, y) in its documented order; y is as long as x.
func dotGeneric(x, y []float64) float64 {
	var l [lanes]float64
	m := len(x) &^ (lanes - 1)
	y = y[:len(x)]
	for i := 0; i < m; i += lanes {
		for j := range l {
			l[j] = math.FMA(x[i+j], y[i+j], l[j])
		}
	}
	s := reduce32(&l)
	for i := m; i < len(x); i++ {
		s = math.FMA(x[i], y[i], s)
	}
	return s
}

// sumSqGeneric returns Σ (x[i]*scale)² in the order of Dot.
func sumSqGeneric(x []float64, scale float64) float64 {
	var l [lanes]float64
	m := len(x) &^ (lanes - 1)
	for i := 0; i < m; i += lanes {
		for j := range l {
			v := x[i+j] * scale
			l[j] = math.FMA(v, v, l[j])
		}
	}
	s := reduce32(&l)
	for _, v := range x[m:] {
		v *= scale
		s = math.FMA(v, v, s)
	}
	return s
}

// maxAbsGeneric returns the largest |x[i]|, ignoring NaNs (0 if there is
// none).
func maxAbsGeneric(x []float64) float64 {
	var a float64
	for _, v := range x {
		if v := math.Abs(v); v > a {
			a = v
		}
	}
	return a
}

// axpyGeneric sets y[i] = FMA(alpha, x[i], y[i]) for i < len(y)&^31.
func axpyGeneric(alpha float64, x, y []float64) {
	y = y[:len(y)&^(lanes-1)]
	x = x[:len(y)]
	for i, v := range x {
		y[i] = math.FMA(alpha, v, y[i])
	}
}

// scalGeneric sets x[i] = alpha*x[i] for i < len(x)&^31.
func scalGeneric(alpha float64, x []float64) {
	x = x[:len(x)&^(lanes-1)]
	for i := range x {
		x[i] *= alpha
	}
}

// widenGeneric sets dst[i] = float64(src[i]) (exact) for i < len(dst); src
// is at least as long.
func widenGeneric(dst []float64, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float64(v)
	}
}

// gatherGeneric sets dst[a*len(inner)+j] = src[outer[a]+inner[j]] for every
// a and j, the indices inside src (Gather checked them). Four lines at a
// time share each load of inner and the loop's overhead.
func gatherGeneric(dst, src []float64, outer, inner []int) {
	n := len(inner)
	dst = dst[:len(outer)*n]
	a := 0
	for ; a+4 <= len(outer); a += 4 {
		o0, o1, o2, o3 := outer[a], outer[a+1], outer[a+2], outer[a+3]
		d := dst[a*n : (a+4)*n]
		d0, d1, d2, d3 := d[:n], d[n:2*n], d[2*n:3*n], d[3*n:4*n]
		for j, v := range inner {
			d0[j] = src[o0+v]
			d1[j] = src[o1+v]
			d2[j] = src[o2+v]
			d3[j] = src[o3+v]
		}
	}
	for ; a < len(outer); a++ {
		o, d := outer[a], dst[a*n:(a+1)*n]
		for j, v := range inner {
			d[j] = src[o+v]
		}
	}
}

// addBlockGeneric sets dst[r*ldd+j] += src[r*lds+j] for r < rows, j < cols.
func addBlockGeneric(dst []float64, ldd int, src []float64, lds int, rows, cols int) {
	for r := range rows {
		d, s := dst[r*ldd:r*ldd+cols], src[r*lds:r*lds+cols]
		for j, v := range s {
			d[j] += v
		}
	}
}

// reduce32 sums the lanes by the tree l[i] += l[i+w], w = 16, 8, 4, 2, 1.
func reduce32(l *[lanes]float64) float64 {
	for w := lanes / 2; w > 0; w /= 2 {
		for i := range w {
			l[i] += l[i+w]
		}
	}
	return l[0]
}

// reduce8 sums eight lanes by the tree l[i] += l[i+w], w = 4, 2, 1.
func reduce8(l *[8]float64) float64 {
	for w := 4; w > 0; w /= 2 {
		for i := range w {
			l[i] += l[i+w]
		}
	}
	return l[0]
}

// gemmGeneric is the 4x4 micro-kernel: for each tile t < tiles, the 4x4
// tile at c[t*4*ldc:] and the panel of A at a[t*as:], s = FMA(a[k*4+i],
// b[k*4+j], s) for k = 0, …, kc-1 in order from s = +0, then c[i*ldc+j] =
// c[i*ldc+j] + s, or c[i*ldc+j] = s when zero.
func gemmGeneric(kc int, a []float64, as int, b, c []float64, ldc, tiles int, _, _ []float64, _ int, zero bool) {
	for t := range tiles {
		gemmTileGeneric(kc, a[t*as:], b, c[t*4*ldc:], ldc, zero)
	}
}

// gemmTileGeneric is gemmGeneric on one tile.
func gemmTileGeneric(kc int, a, b, c []float64, ldc int, zero bool) {
	a, b = a[:4*kc], b[:4*kc]
	for i := range 4 {
		ci := c[i*ldc : i*ldc+4]
		var s0, s1, s2, s3 float64
		for k := 0; k < len(a); k += 4 {
			ai := a[k+i]
			bk := b[k : k+4]
			s0 = math.FMA(ai, bk[0], s0)
			s1 = math.FMA(ai, bk[1], s1)
			s2 = math.FMA(ai, bk[2], s2)
			s3 = math.FMA(ai, bk[3], s3)
		}
		if !zero {
			s0, s1, s2, s3 = ci[0]+s0, ci[1]+s1, ci[2]+s2, ci[3]+s3
		}
		ci[0], ci[1], ci[2], ci[3] = s0, s1, s2, s3
	}
}

// chunkSum is the Gram order on one chunk (len(x) a multiple of 8): eight FMA
// lanes over i ≡ l (mod 8) in increasing i, summed by reduce8.
func chunkSum(x, y []float64) float64 {
	var l [8]float64
	y = y[:len(x)]
	for i := 0; i < len(x); i += 8 {
		for j := range l {
			l[j] = math.FMA(x[i+j], y[i+j], l[j])
		}
	}
	return reduce8(&l)
}

// gramGeneric is the Gram kernel of 2x2 tiles: for each tile k < nx,
// out[k*4+a*2+b] += chunkSum of row x[(2k+a)*xs:] against row y[b*ys:] over
// their first n elements; it does not prefetch.
func gramGeneric(x []float64, xs, nx int, y []float64, ys, n int, _ *byte, _ int, out []float64) {
	for k := range nx {
		for a := range 2 {
			xa := x[(2*k+a)*xs:]
			for b := range 2 {
				out[k*4+a*2+b] += chunkSum(xa[:n], y[b*ys:b*ys+n])
			}
		}
	}
}
