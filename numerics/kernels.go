package numerics

import "math"

// Dot returns Σ x[i]*y[i] over len(x) elements; y must be at least as long as x.
func Dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s float64
	for i, v := range x {
		s = math.FMA(v, y[i], s)
	}
	return s
}

// Nrm2 returns sqrt(Σ x[i]²) without overflow or harmful underflow: like
// reference BLAS dnrm2 it scales by the largest magnitude before squaring, so
// entries near 1e±300 give the right finite answer. It returns +Inf if any
// entry is infinite and NaN if any is NaN (and none is infinite).
func Nrm2(x []float64) float64 {
	var scale, ssq float64 = 0, 1
	hasNaN := false
	for _, v := range x {
		if v == 0 {
			continue
		}
		a := math.Abs(v)
		switch {
		case math.IsInf(a, 1):
			return math.Inf(1)
		case math.IsNaN(a):
			hasNaN = true
		case a > scale:
			r := scale / a
			ssq = 1 + ssq*r*r
			scale = a
		default:
			r := a / scale
			ssq += r * r
		}
	}
	if hasNaN {
		return math.NaN()
	}
	return scale * math.Sqrt(ssq)
}

// Gram writes K = Q Qᵀ into k (n x n, row-major, both triangles) for the
// row-major n x p matrix q: K[i*n+j] = Dot(q[i*p:(i+1)*p], q[j*p:(j+1)*p]).
// The result is exactly symmetric: the upper triangle is computed and mirrored.
func Gram(k, q []float64, n, p int) {
	if len(q) < n*p || len(k) < n*n {
		panic("numerics: Gram: slice too short")
	}
	for i := 0; i < n; i++ {
		qi := q[i*p : (i+1)*p]
		for j := i; j < n; j++ {
			v := Dot(qi, q[j*p:(j+1)*p])
			k[i*n+j] = v
			k[j*n+i] = v
		}
	}
}
