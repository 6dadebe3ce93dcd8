package numerics

import (
	"math"
	"slices"
	"sync/atomic"
)

// vecChunk is the length of the chunks Dot, Axpy and Nrm2 cut a longer vector
// into: chunk c is [c*vecChunk, (c+1)*vecChunk) ∩ [0, len(x)). A chunk is the
// unit of their order and of their parallel work, whatever GOMAXPROCS is. Its
// 128 KiB of float64 stay in L2 between the two passes of Nrm2. Changing it
// changes the bits of Dot and Nrm2 on vectors longer than it.
const vecChunk = 1 << 14

// Dot returns Σ x[i]*y[i] over the len(x) elements of x; y must be at least as
// long as x (Dot panics otherwise).
//
// The order of the sum is part of the contract, the same on every path and
// for every GOMAXPROCS. On a vector of at most vecChunk = 2^14 elements, with
// m = len(x)&^31, lane l (0 ≤ l < 32) is the FMA chain
//
//	lane[l] = FMA(x[i], y[i], lane[l]) for i ≡ l (mod 32), i < m, i increasing,
//
// the lanes are summed by the tree lane[l] += lane[l+w] for w = 16, 8, 4, 2, 1,
// and the tail i = m, …, len(x)-1 follows as s = FMA(x[i], y[i], s). A longer
// vector is cut into chunks of 2^14 elements (the last one shorter), each
// chunk's dot product is taken in that order, and the chunks' sums s_0, …,
// s_{k-1} are added pairwise: sum(s) = sum(s[:h]) + sum(s[h:]) with
// h = len(s)/2, the sum of one being itself. Two or more goroutines share
// the chunks of vectors of 2^18 elements or more.
func Dot(x, y []float64) float64 {
	y = y[:len(x)]
	if len(x) <= vecChunk {
		return active.dot(x, y)
	}
	sums := make([]float64, chunks(len(x)))
	eachChunk(len(x), func(c, lo, hi int) { sums[c] = active.dot(x[lo:hi], y[lo:hi]) })
	return pairwise(sums)
}

// Axpy sets y[i] = FMA(alpha, x[i], y[i]) (y += alpha*x with one rounding) for
// i < len(x); y must be at least as long as x (Axpy panics otherwise). Two or
// more goroutines share the chunks of Dot on vectors of 2^18 elements or
// more; each element is one FMA, so the result never depends on it.
func Axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	if len(x) <= vecChunk {
		axpy(alpha, x, y)
		return
	}
	eachChunk(len(x), func(_, lo, hi int) { axpy(alpha, x[lo:hi], y[lo:hi]) })
}

// axpy is Axpy on one goroutine; y is as long as x.
func axpy(alpha float64, x, y []float64) {
	m := len(x) &^ (lanes - 1)
	if m > 0 {
		active.axpy(alpha, x[:m], y[:m])
	}
	for i := m; i < len(x); i++ {
		y[i] = math.FMA(alpha, x[i], y[i])
	}
}

// Scal sets x[i] = alpha*x[i] for every i.
func Scal(alpha float64, x []float64) {
	m := len(x) &^ (lanes - 1)
	if m > 0 {
		active.scal(alpha, x[:m])
	}
	for i := m; i < len(x); i++ {
		x[i] *= alpha
	}
}

// Nrm2 returns the Euclidean norm sqrt(Σ x[i]²) without overflow or harmful
// underflow: entries near 1e±300 give the right finite answer. It returns +Inf
// if any entry is infinite and NaN if any is NaN (and none is infinite).
//
// It cuts x into the chunks of Dot and takes two passes over each chunk,
// the second while the chunk is in cache. The first finds a_c = max |x[i]|
// over the chunk (NaNs ignored) and the power of two 2^e_c,
// e_c = scale(a_c) = min(1023, -exponent(a_c)) (0 for a_c = 0), that brings
// a_c into [1/2, 1); the second is the sum of squares S_c of the exactly
// scaled x[i]*2^e_c in the lane order of Dot (32 FMA lanes, the same tree,
// then the tail). With a = max_c a_c and e = scale(a), the result is
// Ldexp(sqrt(T), -e), T the pairwise sum (Dot's) of the Ldexp(S_c, 2(e-e_c)).
// Scaling by a power of two is exact, so only entries below 2^-1022·a_c, and
// chunk sums below 2^-1022·T, which cannot change the result, lose bits. On
// a vector of one chunk, T = S_0. Two or more goroutines share the chunks of
// vectors of 2^18 elements or more.
func Nrm2(x []float64) float64 {
	if len(x) <= vecChunk {
		a, s := nrm2Chunk(x)
		if math.IsInf(a, 1) {
			return a
		}
		return math.Ldexp(math.Sqrt(s), -nrm2Scale(a))
	}
	k := chunks(len(x))
	amax, sums := make([]float64, k), make([]float64, k)
	eachChunk(len(x), func(c, lo, hi int) { amax[c], sums[c] = nrm2Chunk(x[lo:hi]) })
	a := slices.Max(amax)
	if math.IsInf(a, 1) {
		return a
	}
	e := nrm2Scale(a)
	for c, s := range sums {
		sums[c] = math.Ldexp(s, 2*(e-nrm2Scale(amax[c])))
	}
	return math.Ldexp(math.Sqrt(pairwise(sums)), -e)
}

// nrm2Chunk returns a = max |x[i]| (NaNs ignored) and, unless a is infinite,
// the sum of squares of the x[i] scaled by 2^nrm2Scale(a).
func nrm2Chunk(x []float64) (a, s float64) {
	a = active.maxAbs(x)
	if math.IsInf(a, 1) {
		return a, 0
	}
	return a, active.sumSq(x, math.Ldexp(1, nrm2Scale(a)))
}

// nrm2Scale returns min(1023, -exponent(a)), where a = frac·2^exponent with
// frac in [1/2, 1), or 0 for a = 0: the power of two that brings a into
// [1/2, 1), or as close as a float64 scale can.
func nrm2Scale(a float64) int {
	if a == 0 {
		return 0
	}
	_, exp := math.Frexp(a)
	return min(1023, -exp)
}

// chunks returns how many chunks of vecChunk elements cut n.
func chunks(n int) int { return (n + vecChunk - 1) / vecChunk }

// eachChunk calls f(c, lo, hi) for every chunk c = [lo, hi) of [0, n), on
// the goroutines workers(n) allows. Goroutine g runs the chunks of its
// share, the g-th of w runs of consecutive chunks, in increasing order (one
// long stream for the hardware prefetchers, as OpenBLAS's threads read),
// then takes chunks from the ends of the other shares: a goroutine that
// starts late (a parked thread on an idle vCPU takes a while to wake) runs
// fewer chunks instead of holding up the call. Which goroutine runs a chunk
// changes nothing in what f computes on it.
func eachChunk(n int, f func(c, lo, hi int)) {
	k := chunks(n)
	w := min(k, workers(float64(n)))
	shares := make([]chunkShare, w)
	for g := range shares {
		shares[g].lo, shares[g].hi = g*k/w, (g+1)*k/w
	}
	run := func(c int) { f(c, c*vecChunk, min(n, (c+1)*vecChunk)) }
	parallel(w, func(g int) {
		for c, ok := shares[g].take(false); ok; c, ok = shares[g].take(false) {
			run(c)
		}
		for i := 1; i < w; i++ {
			s := &shares[(g+i)%w]
			for c, ok := s.take(true); ok; c, ok = s.take(true) {
				run(c)
			}
		}
	})
}

// chunkShare is a run [lo, hi) of chunks that its goroutine takes from the
// front and the others from the back.
type chunkShare struct {
	lo, hi             int
	taken, front, back atomic.Int64
	_                  [64]byte // apart from the next share's counters
}

// take returns the next chunk of the share from the back or the front, or
// false when every chunk is taken: the count of chunks taken comes first,
// so that front and back never meet on one chunk.
func (s *chunkShare) take(fromBack bool) (int, bool) {
	if s.taken.Add(1) > int64(s.hi-s.lo) {
		return 0, false
	}
	if fromBack {
		return s.hi - int(s.back.Add(1)), true
	}
	return s.lo + int(s.front.Add(1)-1), true
}

// pairwise returns the sum of s (not empty) by the tree
// sum(s) = sum(s[:h]) + sum(s[h:]), h = len(s)/2, the sum of one being itself.
func pairwise(s []float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	h := len(s) / 2
	return pairwise(s[:h]) + pairwise(s[h:])
}
