package property

import "math"

// magnitudes bound the rounding errors of the eq. (11) quantities. Each is
// the quantity recomputed with |Q|, |e| and |P| (entries |δ_ij - 1/n|) in
// place of Q, e and P, so no cancellation happens in it: by the standard
// analysis of sums of products (Higham, ch. 3), a computation of the
// quantity by k operations in sequence has absolute error at most γ_k times
// it, whatever cancellation the signed computation suffers. Both the n x n
// path and the naive p x p path are covered: for Σ = Σ1 - Σ2 the naive path
// sums the positive parts of Σ1 and Σ2 separately, whose Frobenius norm is
// sqrt(Tr((WA)²))/n with W = D² + aaᵀ/n, A = |Q||Q|ᵀ, D = diag(|e|).
type magnitudes struct {
	froG     float64 // ‖A‖_F/n
	froSigma float64 // (‖|P|DAD|P|‖_F + sqrt(Tr((WA)²)))/n
	traces   float64 // bound for Tr(GΣ), Tr(Σ1G), Tr(Σ2G)
	chi      []float64
}

func magnitudesOf(q []float64, n, p int, e []float64) magnitudes {
	nf := float64(n)
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for k := 0; k < p; k++ {
				s += math.Abs(q[i*p+k]) * math.Abs(q[j*p+k])
			}
			a[i*n+j] = s
		}
	}
	absP := func(i, j int) float64 {
		if i == j {
			return 1 - 1/nf
		}
		return 1 / nf
	}
	abs := func(i int) float64 { return math.Abs(e[i]) }
	// DA, DAD, then |P|·DA and |P|·DAD·|P|.
	da := make([]float64, n*n)
	dad := make([]float64, n*n)
	w := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			da[i*n+j] = abs(i) * a[i*n+j]
			dad[i*n+j] = da[i*n+j] * abs(j)
			w[i*n+j] = abs(i) * abs(j) / nf
			if i == j {
				w[i*n+j] += abs(i) * abs(i)
			}
		}
	}
	pda := matmul(absPMatrix(n, absP), da, n)
	pdadp := matmul(matmul(absPMatrix(n, absP), dad, n), absPMatrix(n, absP), n)
	wa := matmul(w, a, n)
	aaw := matmul(matmul(a, a, n), w, n)
	var m magnitudes
	m.froG = frob(a) / nf
	m.froSigma = (frob(pdadp) + math.Sqrt(trace(matmul(wa, wa, n), n))) / nf
	m.traces = (sq(frob(pda)) + sq(frob(da)) + trace(aaw, n)) / (nf * nf)
	m.chi = make([]float64, n)
	for i := range m.chi {
		m.chi[i] = sq(frob(a[i*n:(i+1)*n])) / nf
	}
	return m
}

// opsBound is the length of the longest chain of operations behind any
// eq. (11) quantity on either path: p for an entry of K or G, n for a sum
// over samples, n² and p² for a Frobenius norm or trace, and a few more.
func opsBound(n, p int) int { return p + 2*n + n*n + p*p + 16 }

func absPMatrix(n int, f func(i, j int) float64) []float64 {
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m[i*n+j] = f(i, j)
		}
	}
	return m
}

func matmul(x, y []float64, n int) []float64 {
	z := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			for j := 0; j < n; j++ {
				z[i*n+j] += x[i*n+k] * y[k*n+j]
			}
		}
	}
	return z
}

func frob(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

func trace(x []float64, n int) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		s += x[i*n+i]
	}
	return s
}

func sq(x float64) float64 { return x * x }
