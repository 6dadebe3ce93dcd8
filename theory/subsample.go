package theory

import (
	"math"
)

// Subsampling (paper, Appendix A.1: for large models the quantities of
// eq. (11) are estimated on B = 50 samples drawn at random, at cost O(B²p)
// instead of O(n²p)).
//
// Each of ‖G‖_F², Tr(Σ1G), Tr(Σ2G) and ‖Σ‖_F² is an index sum
//
//	V = n^-d Σ_{i_1, …, i_d in [n]} f(i_1, …, i_d)
//
// of degree d <= 4, f a product of entries of K and e:
//
//	‖G‖_F²   = n^-2 Σ_ij K_ij²
//	Tr(Σ1G)  = n^-2 Σ_ij e_i² K_ij²
//	Tr(Σ2G)  = n^-3 Σ_ijk e_i K_ij K_jk e_k
//	‖Σ1‖_F²  = n^-2 Σ_ij e_i² e_j² K_ij²
//	Tr(Σ1Σ2) = n^-3 Σ_ijk e_i² e_j e_k K_ij K_ik
//	‖Σ2‖_F²  = n^-4 Σ_ijkl e_i e_j K_ij e_k e_l K_kl
//
// with Tr(GΣ) = Tr(Σ1G) - Tr(Σ2G) and ‖Σ‖_F² = ‖Σ1‖_F² - 2Tr(Σ1Σ2) + ‖Σ2‖_F².
// The plug-in estimate from a sample S of m samples, m^-d times the same
// sum over S^d, is biased: a tuple with b distinct indices lies in S^d
// with probability (m)_b/(n)_b ((x)_b = x(x-1)…(x-b+1)), so in
// expectation the terms with repeated indices (b < d) weigh about
// (n/m)^(d-b) times too much: E‖G_S‖_F² counts the diagonal Σ K_ii² with
// weight 1/(mn) instead of 1/n², n/m times too much.
//
// Unbiased: split the sum over S^d by the pattern π of equal indices (a
// set partition of the d positions, |π| = b its blocks): E_π(S) is the sum
// over the tuples of S^d whose indices are equal exactly within π's blocks.
// Each such tuple of [n]^d is in S^d with probability (m)_b/(n)_b, so for a
// sample drawn uniformly without replacement
//
//	V̂ = n^-d Σ_π (n)_|π| / (m)_|π| · E_π(S)
//
// has E[V̂] = V exactly (a U-statistic for each pattern; for m = n it is V).
// E_π comes from the sums S_σ over tuples that are merely constant on the
// blocks of the coarser σ >= π, by Möbius inversion on the partition lattice:
// E_π = Σ_{σ >= π} μ(π, σ) S_σ, μ = Π over σ's blocks of (-1)^(k-1)(k-1)!,
// k the blocks of π each holds. Every S_σ here is a contraction of at most
// two matrices and costs O(m²).
//
// What is unbiased is then: the loss and Tr(G) (sample means), ‖G‖_F²,
// Tr(Σ1G), Tr(Σ2G), Tr(GΣ) and ‖Σ‖_F². ‖G‖_F (the flatness) and ‖Σ‖_F are
// the square roots of unbiased estimates, and α, β, μ, μ1, μ2 their ratios:
// consistent, with a bias of order 1/m that has no closed form (Jensen's
// inequality for the root; a ratio of estimates), which flatmin measure
// --subsample --compare measures against the full values.

// SubsampleEstimate is what a sample of M of N samples, drawn uniformly
// without replacement, estimates of the population's quantities (the
// fields of Geometry and Noise of the same names).
type SubsampleEstimate struct {
	N, M int
	// Unbiased.
	Loss, TraceG, FroGSquared, TrSigma1G, TrSigma2G, TrGSigma, FroSigmaSquared float64
	// FroG = sqrt(FroGSquared), FroSigma = sqrt(max(0, FroSigmaSquared)): the
	// unbiased square can be negative for ‖Σ‖_F² on a small sample.
	FroG, FroSigma float64
	// The ratios of the unbiased estimates: α (NaN when the estimate of
	// ‖Σ‖_F² is not positive), β, μ, μ1, μ2.
	Alpha, Beta, Mu, Mu1, Mu2 float64
}

// MinSubsample is the smallest sample Subsample takes: ‖Σ2‖_F² has terms
// of four distinct samples, which a smaller sample never sees.
const MinSubsample = 4

// Subsample returns the unbiased estimates (and their roots and ratios) of
// the quantities of a population of n samples of which s holds a sample of
// m = s.N() drawn uniformly without replacement; m <= n, m >= MinSubsample,
// and e must not be zero (ErrZeroLoss).
func (s *State) Subsample(n int) (SubsampleEstimate, error) {
	m := s.n
	if m < MinSubsample || n < m {
		return SubsampleEstimate{}, paramErr("n", "a sample of %d of %d samples: want %d <= m <= n", m, n, MinSubsample)
	}
	if sumSquares(s.e) == 0 {
		return SubsampleEstimate{}, inputErr(ErrZeroLoss, "e", NoIndex, NoIndex, "all residuals are zero")
	}
	k, e := s.k, s.e
	var v [numNoiseSums]float64
	for i, f := range noiseSums(k, e) {
		v[i] = f.unbiased(n, m)
	}
	fro, t1, t2 := v[sumFroG], v[sumSigma1G], v[sumSigma2G]
	fs := v[sumSigma11] - 2*v[sumSigma12] + v[sumSigma22]
	tgs := t1 - t2
	twoL, tr := 0.0, 0.0
	for i := range m {
		twoL += e[i] * e[i]
		tr += k[i*m+i]
	}
	twoL /= float64(m)
	tr /= float64(m)

	kx, ex := s.kExp, s.eExp
	r := SubsampleEstimate{N: n, M: m,
		Loss:            math.Ldexp(twoL/2, 2*ex),
		TraceG:          math.Ldexp(tr, kx),
		FroGSquared:     math.Ldexp(fro, 2*kx),
		FroG:            math.Ldexp(math.Sqrt(fro), kx),
		TrSigma1G:       math.Ldexp(t1, 2*kx+2*ex),
		TrSigma2G:       math.Ldexp(t2, 2*kx+2*ex),
		TrGSigma:        math.Ldexp(tgs, 2*kx+2*ex),
		FroSigmaSquared: math.Ldexp(fs, 2*kx+4*ex),
		FroSigma:        math.Ldexp(math.Sqrt(math.Max(fs, 0)), kx+2*ex),
	}
	// The ratios in the scaled space, where the powers of two cancel.
	rootFS := math.Sqrt(math.Max(fs, 0))
	r.Alpha = tgs / (math.Sqrt(fro) * rootFS)
	if !(fs > 0) {
		r.Alpha = math.NaN()
	}
	r.Beta = rootFS / (twoL * math.Sqrt(fro))
	r.Mu = tgs / (twoL * fro)
	r.Mu1 = t1 / (twoL * fro)
	r.Mu2 = t2 / (twoL * fro)
	return r, nil
}

// The index sums of noiseSums, in order.
const (
	sumFroG    = iota // ‖G‖_F²
	sumSigma1G        // Tr(Σ1G)
	sumSigma2G        // Tr(Σ2G)
	sumSigma11        // ‖Σ1‖_F²
	sumSigma12        // Tr(Σ1Σ2)
	sumSigma22        // ‖Σ2‖_F²
	numNoiseSums
)

// noiseSums are the index sums of the doc above over K (m x m, symmetric)
// and e (m).
func noiseSums(k, e []float64) [numNoiseSums]indexSum {
	m := len(e)
	a := make([]float64, m) // e_i²
	for i, v := range e {
		a[i] = v * v
	}
	k2 := make([]float64, m*m) // K ∘ K
	for i, v := range k[:m*m] {
		k2[i] = v * v
	}
	return [numNoiseSums]indexSum{
		sumFroG:    {d: 2, mats: []matFactor{{0, 1, k2}}},
		sumSigma1G: {d: 2, vecs: [][]float64{a, nil}, mats: []matFactor{{0, 1, k2}}},
		sumSigma2G: {d: 3, vecs: [][]float64{e, nil, e}, mats: []matFactor{{0, 1, k}, {1, 2, k}}},
		sumSigma11: {d: 2, vecs: [][]float64{a, a}, mats: []matFactor{{0, 1, k2}}},
		sumSigma12: {d: 3, vecs: [][]float64{a, e, e}, mats: []matFactor{{0, 1, k}, {0, 2, k}}},
		sumSigma22: {d: 4, vecs: [][]float64{e, e, e, e}, mats: []matFactor{{0, 1, k}, {2, 3, k}}},
	}
}

// sumSquares is ‖x‖².
func sumSquares(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return s
}

// indexSum is Σ over index tuples (i_0, …, i_{d-1}) in [m]^d of
// f = Π_v vecs[v][i_v] · Π over mats of M[i_a][i_b]: a vector on each
// position (nil for none) and at most two symmetric m x m matrices, each on
// two distinct positions.
type indexSum struct {
	d    int
	vecs [][]float64
	mats []matFactor
}

// matFactor is the factor M[i_a][i_b] of an indexSum; M is symmetric,
// row-major m x m.
type matFactor struct {
	a, b int
	m    []float64
}

// unbiased is n^-d Σ_π (n)_|π|/(m)_|π| E_π: the unbiased estimate of the
// population's n^-d Σ f from a sample of m of its n samples.
func (f indexSum) unbiased(n, m int) float64 {
	parts := partitions(f.d)
	pat := f.patternSums(m, parts)
	v := 0.0
	for p, part := range parts {
		v += fallingRatio(n, m, blocks(part)) * pat[p]
	}
	return v / math.Pow(float64(n), float64(f.d))
}

// fallingRatio is (n)_b/(m)_b.
func fallingRatio(n, m, b int) float64 {
	r := 1.0
	for t := range b {
		r *= float64(n-t) / float64(m-t)
	}
	return r
}

// partitions lists the set partitions of {0, …, d-1} as restricted growth
// strings: part[v] is the block of position v, blocks numbered in order of
// first appearance (d = 2: 2 partitions, 3: 5, 4: 15).
func partitions(d int) [][]int {
	out := [][]int{{}}
	for v := 0; v < d; v++ {
		var next [][]int
		for _, p := range out {
			for b := 0; b <= blocks(p); b++ {
				next = append(next, append(append([]int(nil), p...), b))
			}
		}
		out = next
	}
	return out
}

// blocks is the number of blocks of a partition.
func blocks(part []int) int {
	b := 0
	for _, x := range part {
		b = max(b, x+1)
	}
	return b
}

// coarser reports whether σ >= π: every block of π lies in one of σ.
func coarser(sigma, pi []int) bool {
	for u := range pi {
		for v := range pi {
			if pi[u] == pi[v] && sigma[u] != sigma[v] {
				return false
			}
		}
	}
	return true
}

// mobius is μ(π, σ) on the partition lattice, for σ >= π: the product over
// σ's blocks of (-1)^(k-1)(k-1)!, k the number of π's blocks it holds.
func mobius(pi, sigma []int) float64 {
	mu := 1.0
	for b := range blocks(sigma) {
		held := map[int]bool{}
		for v := range sigma {
			if sigma[v] == b {
				held[pi[v]] = true
			}
		}
		for k := 1; k < len(held); k++ {
			mu *= -float64(k)
		}
	}
	return mu
}

// patternSums returns E_π for each partition π of parts (those of d): the
// sum of f over the tuples of [m]^d whose indices are equal exactly within
// π's blocks, by Möbius inversion of the sums constantOn.
func (f indexSum) patternSums(m int, parts [][]int) []float64 {
	s := make([]float64, len(parts))
	for q, sigma := range parts {
		s[q] = f.constantOn(sigma, m)
	}
	e := make([]float64, len(parts))
	for p, pi := range parts {
		for q, sigma := range parts {
			if coarser(sigma, pi) {
				e[p] += mobius(pi, sigma) * s[q]
			}
		}
	}
	return e
}

// constantOn is S_σ, the sum of f over the tuples of [m]^d constant on the
// blocks of σ (no other constraint): the blocks are the indices of a
// contraction whose vertices carry the vectors (and the diagonals of the
// matrices within a block) and whose edges are the matrices across blocks.
// With at most two matrices, each connected part is a vertex, an edge, a
// double edge or a path of two edges: O(m²) each.
func (f indexSum) constantOn(sigma []int, m int) float64 {
	nb := blocks(sigma)
	w := make([][]float64, nb)
	for b := range w {
		w[b] = make([]float64, m)
		for i := range w[b] {
			w[b][i] = 1
		}
	}
	for v, vec := range f.vecs {
		if vec != nil {
			for i := range m {
				w[sigma[v]][i] *= vec[i]
			}
		}
	}
	type edge struct {
		u, v int
		m    []float64
	}
	var edges []edge
	for _, mf := range f.mats {
		u, v := sigma[mf.a], sigma[mf.b]
		if u == v {
			for i := range m {
				w[u][i] *= mf.m[i*m+i]
			}
			continue
		}
		edges = append(edges, edge{u, v, mf.m})
	}
	// The connected parts: vertex by vertex, each edge joins two.
	comp := make([]int, nb)
	for b := range comp {
		comp[b] = b
	}
	for _, e := range edges {
		from, to := comp[e.v], comp[e.u]
		for b := range comp {
			if comp[b] == from {
				comp[b] = to
			}
		}
	}
	total := 1.0
	for c := range nb {
		var verts []int
		for b := range nb {
			if comp[b] == c {
				verts = append(verts, b)
			}
		}
		var es []edge
		for _, e := range edges {
			if comp[e.u] == c {
				es = append(es, e)
			}
		}
		switch {
		case len(verts) == 0:
			continue
		case len(es) == 0: // Σ_i w(i)
			s := 0.0
			for _, x := range w[verts[0]] {
				s += x
			}
			total *= s
		case len(es) == 1: // w_uᵀ M w_v
			total *= bilinear(w[es[0].u], es[0].m, w[es[0].v], nil, m)
		case len(verts) == 2: // two edges between u and v: Σ_ij w_u(i) M1_ij M2_ij w_v(j)
			total *= bilinear(w[es[0].u], es[0].m, w[es[0].v], es[1].m, m)
		default: // three vertices, a path u - c - v: Σ_c w_c(c) (M1 w_u)(c) (M2 w_v)(c)
			c := shared(es[0].u, es[0].v, es[1].u, es[1].v)
			x := matVec(es[0].m, w[other(es[0].u, es[0].v, c)], m)
			y := matVec(es[1].m, w[other(es[1].u, es[1].v, c)], m)
			s := 0.0
			for i := range m {
				s += w[c][i] * x[i] * y[i]
			}
			total *= s
		}
	}
	return total
}

// bilinear is Σ_ij x_i M_ij y_j, with M ∘ M2 for M when M2 is not nil.
func bilinear(x, mat []float64, y, mat2 []float64, m int) float64 {
	s := 0.0
	for i := range m {
		r := 0.0
		for j := range m {
			v := mat[i*m+j]
			if mat2 != nil {
				v *= mat2[i*m+j]
			}
			r += v * y[j]
		}
		s += x[i] * r
	}
	return s
}

// matVec is M x.
func matVec(mat, x []float64, m int) []float64 {
	out := make([]float64, m)
	for i := range m {
		for j := range m {
			out[i] += mat[i*m+j] * x[j]
		}
	}
	return out
}

// shared is the vertex two edges (a, b) and (c, d) have in common.
func shared(a, b, c, d int) int {
	if a == c || a == d {
		return a
	}
	return b
}

// other is the end of edge (a, b) that is not c.
func other(a, b, c int) int {
	if a == c {
		return b
	}
	return a
}
