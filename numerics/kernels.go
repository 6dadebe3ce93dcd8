package numerics

import "math"

// Dot returns Σ x[i]*y[i] over the len(x) elements of x; y must be at least as
// long as x (Dot panics otherwise).
//
// The order of the sum is part of the contract, the same on every path: with
// m = len(x)&^31, lane l (0 ≤ l < 32) is the FMA chain
//
//	lane[l] = FMA(x[i], y[i], lane[l]) for i ≡ l (mod 32), i < m, i increasing,
//
// the lanes are summed by the tree lane[l] += lane[l+w] for w = 16, 8, 4, 2, 1,
// and the tail i = m, …, len(x)-1 follows as s = FMA(x[i], y[i], s).
func Dot(x, y []float64) float64 {
	return active.dot(x, y[:len(x)])
}

// Axpy sets y[i] = FMA(alpha, x[i], y[i]) (y += alpha*x with one rounding) for
// i < len(x); y must be at least as long as x (Axpy panics otherwise).
func Axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
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
// It takes two passes. The first finds a = max |x[i]| (NaNs ignored) and the
// power of two s = 2^e, e = min(1023, -exponent(a)), that brings a into
// [1/2, 1); the second is the sum of squares of the exactly scaled x[i]*s in
// the lane order of Dot (32 FMA lanes, the same tree, then the tail), and the
// result is Ldexp(sqrt(sum), -e). Scaling by a power of two is exact, so only
// entries below 2^-1022·a, which cannot change the result, lose bits.
func Nrm2(x []float64) float64 {
	a := active.maxAbs(x)
	if math.IsInf(a, 1) {
		return a
	}
	e := 0
	if a != 0 {
		_, exp := math.Frexp(a)
		e = min(1023, -exp)
	}
	return math.Ldexp(math.Sqrt(active.sumSq(x, math.Ldexp(1, e))), -e)
}
