package oracle

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/numerics"
)

// The matrix-free spectral solver for SGD noise, for r too large for the
// n x m secular matrices of spectral.go (m = r(r+1)/2).
//
// Both spectral questions are the largest eigenvalue of one family of
// operators on the symmetric r x r matrices (full storage, Frobenius inner
// product), in the basis V of the range of H:
//
//	P(Y) = ω S∘(C1 (hhᵀ)∘(S∘Y) + C2 N(S∘Y)),  N(U) = Σ_i (a_iᵀUa_i) a_i a_iᵀ,
//
// S_kl = (x_kl)^{-1/2} with x_kl > 0 affine in h_k + h_l:
//
//   - η*: x_kl = h_k + h_l, ω = 1. Then P = A1^{-1/2}A2A1^{-1/2} (the
//     operators of spectral.go) and η* = 1/λ_max(P).
//   - ρ(η): x_kl = σ + η(h_k + h_l), ω = η². Then T(η) ⪯ (1 + σ)I iff
//     λ_max(P) <= 1, so ρ - 1 is the root σ of λ_max(P_σ) = 1.
//
// One product costs three passes over n x r data, O(n r²) flops (AY by
// Gemm, the quadratic forms a_iᵀ(AY)_i, then Σ d_i a_i a_iᵀ by Syrk), and
// memory O(n r + r²): nothing of size r² x r² or n·r² exists.
//
// P is self-adjoint and positive semi-definite, and it maps positive
// semi-definite matrices to positive semi-definite ones: S and hhᵀ are
// entrywise-positive positive definite kernels (1/sqrt(x + y) is completely
// monotone), so the Schur products preserve the cone, and N does. Two
// certificates follow, each checked in floating point with a bound on
// every rounding:
//
//   - a lower bound: λ_max(P) >= ⟨Y, P(Y)⟩/⟨Y, Y⟩ for any Y (Rayleigh);
//   - an upper bound (Collatz–Wielandt for cones): if Y ≻ 0 and
//     P(Y) ⪯ cY, then P^k(Y) ⪯ c^k Y, so λ_max(P) = ρ(P) <= c. Both
//     matrix inequalities are proven by Cholesky factorizations of
//     diagonally scaled matrices, shifted by the error bounds.
//
// The eigenvector Y comes from Lanczos with full reorthogonalization
// (restarted), started from the identity, whose component on the positive
// semi-definite Perron vector is its trace, never zero.
//
// The enclosures are proven for the operator built from the computed
// eigen-decomposition of K (which is backward stable: the exact one of a K
// within a few n·ε·‖K‖ of the given one).

// gamma is γ_k = k·u/(1 - k·u), the classical bound on the relative error
// of a sum or a dot product of k terms.
func gamma(k int) float64 {
	ku := float64(k) * unitRoundoff
	return ku / (1 - ku)
}

// sgdFeatures are the pieces of the SGD operator: the features Â (n x r,
// row-major, rows â_i), their absolute values, ĥ, and the batch moments.
type sgdFeatures struct {
	n, r    int
	a, absA []float64
	h       []float64
	c1, c2  float64
}

func (d *Dynamics) sgdFeatures() *sgdFeatures {
	o := d.o
	a := o.a.RawMatrix().Data // n x r, stride r
	f := &sgdFeatures{n: o.n, r: o.r, a: a, absA: make([]float64, len(a)), h: o.h, c1: d.mom.C1, c2: d.mom.C2}
	for i, v := range a {
		f.absA[i] = math.Abs(v)
	}
	return f
}

// pencil is the operator P for one x (through S) and ω, with its work
// space.
type pencil struct {
	f      *sgdFeatures
	omega  float64
	s      []float64 // S, r x r
	u, nu  []float64 // r x r
	w, sq  []float64 // n x r
	dd     []float64 // n
	wabs   []float64 // n x r, for the error bounds
	absU   []float64 // r x r
	errSum []float64 // r x r
}

// newPencil has x_kl = δ + τ((h_k - h0) + (h_l - h0)), so that with h0 the
// smallest h_k a tiny δ loses no digits to cancellation.
func newPencil(f *sgdFeatures, delta, tau, omega, h0 float64) *pencil {
	r := f.r
	p := &pencil{f: f, omega: omega, s: make([]float64, r*r),
		u: make([]float64, r*r), nu: make([]float64, r*r),
		w: make([]float64, f.n*r), sq: make([]float64, f.n*r), dd: make([]float64, f.n)}
	for k := 0; k < r; k++ {
		for l := 0; l < r; l++ {
			p.s[k*r+l] = 1 / math.Sqrt(delta+tau*((f.h[k]-h0)+(f.h[l]-h0)))
		}
	}
	return p
}

// sumRankOne writes dst = Σ_i c_i v_i v_iᵀ (r x r, both triangles) for the
// rows v_i of the n x r matrix v, by one Syrk over the rows with c_i > 0
// scaled by sqrt(c_i) and one over those with c_i < 0.
func (p *pencil) sumRankOne(dst, v, c []float64) {
	n, r := p.f.n, p.f.r
	pos, neg := 0, 0
	for i := 0; i < n; i++ {
		if c[i] == 0 {
			continue
		}
		var row []float64
		if c[i] > 0 {
			row = p.sq[pos*r : (pos+1)*r]
			pos++
		} else {
			neg++
			row = p.sq[(n-neg)*r : (n-neg+1)*r]
		}
		s := math.Sqrt(math.Abs(c[i]))
		for k, x := range v[i*r : (i+1)*r] {
			row[k] = s * x
		}
	}
	clear(dst)
	if pos > 0 {
		numerics.Syrk(true, true, r, pos, 1, p.sq, r, 0, dst, r)
	}
	if neg > 0 {
		numerics.Syrk(true, true, r, neg, -1, p.sq[(n-neg)*r:], r, 1, dst, r)
	}
	for k := 0; k < r; k++ {
		for l := k + 1; l < r; l++ {
			dst[l*r+k] = dst[k*r+l]
		}
	}
}

// apply writes dst = P(y).
func (p *pencil) apply(dst, y []float64) {
	f, n, r := p.f, p.f.n, p.f.r
	for i := range y {
		p.u[i] = p.s[i] * y[i]
	}
	numerics.Gemm(false, false, n, r, r, 1, f.a, r, p.u, r, 0, p.w, r)
	for i := 0; i < n; i++ {
		p.dd[i] = numerics.Dot(p.w[i*r:(i+1)*r], f.a[i*r:(i+1)*r])
	}
	p.sumRankOne(p.nu, f.a, p.dd)
	for k := 0; k < r; k++ {
		for l := 0; l < r; l++ {
			i := k*r + l
			dst[i] = p.omega * p.s[i] * (f.c1*f.h[k]*f.h[l]*p.u[i] + f.c2*p.nu[i])
		}
	}
}

// applyBounded is apply, and writes into p.errSum an entrywise bound on
// |fl(P(y)) - P(y)|. U = S∘y carries one rounding an entry; each quadratic
// form d_i = Σ_k â_ik (ÂU)_ik is a sum of 2r products (error at most
// γ_{2r+2}·t_i with t_i = |â_i|ᵀ|U||â_i|, from |Â||U| by a second Gemm);
// the Syrk sums n rank-one terms whose rows carry sqrt|d_i| (at most
// γ_{n+3}Σ|d_i||â_i||â_i|ᵀ entrywise); so |δN| <= Σ_i e_i|â_i||â_i|ᵀ with
// e_i = γ_{2r+2}t_i + γ_{n+3}|d_i|, itself one Syrk, inflated by γ_{n+3}
// for its own rounding; the last products and the sum add γ_6 of each
// term.
func (p *pencil) applyBounded(dst, y []float64) {
	f, n, r := p.f, p.f.n, p.f.r
	if p.wabs == nil {
		p.wabs = make([]float64, n*r)
		p.absU = make([]float64, r*r)
		p.errSum = make([]float64, r*r)
	}
	p.apply(dst, y)
	for i, v := range p.u {
		p.absU[i] = math.Abs(v)
	}
	numerics.Gemm(false, false, n, r, r, 1, f.absA, r, p.absU, r, 0, p.wabs, r)
	e := make([]float64, n)
	for i := 0; i < n; i++ {
		t := numerics.Dot(p.wabs[i*r:(i+1)*r], f.absA[i*r:(i+1)*r])
		e[i] = (gamma(2*r+2)*t + gamma(n+3)*math.Abs(p.dd[i])) * (1 + gamma(2*r+4))
	}
	p.sumRankOne(p.errSum, f.absA, e)
	for k := 0; k < r; k++ {
		for l := 0; l < r; l++ {
			i := k*r + l
			hh := f.c1 * f.h[k] * f.h[l] * p.absU[i]
			p.errSum[i] = p.omega * p.s[i] * (f.c2*p.errSum[i]*(1+gamma(n+3)) + gamma(8)*(hh+f.c2*math.Abs(p.nu[i])))
		}
	}
}

// lanczos returns an approximate unit eigenvector of the largest
// eigenvalue of p, from start, by Lanczos with full reorthogonalization
// restarted every kmax steps from its Ritz vector; it stops when the
// residual norm is at most tol times the Ritz value, or after maxApply
// products.
func (p *pencil) lanczos(start []float64, tol float64, kmax, maxApply int) []float64 {
	dim := len(start)
	x := append([]float64(nil), start...)
	numerics.Scal(1/numerics.Nrm2(x), x)
	v := make([][]float64, kmax+1)
	for i := range v {
		v[i] = make([]float64, dim)
	}
	alpha := make([]float64, kmax)
	beta := make([]float64, kmax)
	applies := 0
	for applies < maxApply {
		copy(v[0], x)
		var ritz []float64
		done := false
		for k := 0; k < kmax && applies < maxApply; k++ {
			p.apply(v[k+1], v[k])
			applies++
			w := v[k+1]
			alpha[k] = 0
			for range 2 { // twice is enough (Kahan, Parlett)
				for j := 0; j <= k; j++ {
					c := numerics.Dot(v[j], w)
					if j == k {
						alpha[k] += c
					}
					numerics.Axpy(-c, v[j], w)
				}
			}
			beta[k] = numerics.Nrm2(w)
			theta, s := tridiagonalTop(alpha[:k+1], beta[:k])
			ritz = s
			// β_k|s_k| is the residual norm of the Ritz pair.
			if done = beta[k]*math.Abs(s[k]) <= tol*math.Abs(theta); done {
				break
			}
			numerics.Scal(1/beta[k], w)
		}
		clear(x)
		for j, c := range ritz {
			numerics.Axpy(c, v[j], x)
		}
		numerics.Scal(1/numerics.Nrm2(x), x)
		if done {
			break
		}
	}
	return x
}

// tridiagonalTop returns the largest eigenvalue of the symmetric
// tridiagonal matrix (alpha on the diagonal, beta beside it) and its unit
// eigenvector.
func tridiagonalTop(alpha, beta []float64) (float64, []float64) {
	k := len(alpha)
	t := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		t.SetSym(i, i, alpha[i])
		if i+1 < k {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(t, true) {
		// Dsteqr does not fail on finite input; the entries are finite.
		return alpha[0], append(make([]float64, 0, k), unit(k)...)
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	return es.Values(nil)[k-1], mat.Col(nil, k-1, &vecs)
}

func unit(k int) []float64 {
	x := make([]float64, k)
	x[0] = 1
	return x
}

// topPair is the result of top: an approximate Perron vector y (unit, with
// positive trace), p(y) and its error bound, and a proven lower bound on
// λ_max(p).
type topPair struct {
	y, py, errPY []float64
	mu, lower    float64
	pI, errPI    []float64 // P(I) and its error bound, for proveAtMost
}

// top finds the largest eigenpair of p from start (see lanczos).
func (p *pencil) top(start []float64, tol float64) topPair {
	r := p.f.r
	dim := r * r
	// At most 20 Lanczos vectors, fewer when r² is large: the basis stays
	// under 2 GiB.
	kmax := min(20, max(4, (1<<28)/dim))
	y := p.lanczos(start, tol, kmax, 50*kmax)
	if tr := trace(y, r); tr < 0 {
		numerics.Scal(-1, y)
	}
	tp := topPair{y: y, py: make([]float64, dim)}
	p.applyBounded(tp.py, y)
	tp.errPY = append([]float64(nil), p.errSum...)
	tp.mu, tp.lower = rayleighLower(y, tp.py, tp.errPY)
	return tp
}

func trace(y []float64, r int) float64 {
	t := 0.0
	for k := 0; k < r; k++ {
		t += y[k*r+k]
	}
	return t
}

// rayleighLower returns ⟨y, py⟩/⟨y, y⟩ and a proven lower bound on the
// Rayleigh quotient of the exact P at y, given |fl(P(y)) - P(y)| <= errPY
// entrywise: the dot products of length r² are within γ_{r²} of their
// absolute sums. The bound counts relative roundings only, so no product
// may underflow: y is a unit vector (as Lanczos returns) and P(y) of order
// one (η̂ is scaled so).
func rayleighLower(y, py, errPY []float64) (float64, float64) {
	num, abs, errTerm, yy := 0.0, 0.0, 0.0, 0.0
	for i, v := range y {
		num += v * py[i]
		abs += math.Abs(v * py[i])
		errTerm += math.Abs(v) * errPY[i]
		yy += v * v
	}
	g := gamma(len(y) + 2)
	lowNum := num - g*abs - errTerm*(1+g)
	if lowNum >= 0 {
		return num / yy, lowNum / (yy * (1 + g)) * (1 - 2*unitRoundoff)
	}
	return num / yy, lowNum / (yy * (1 - g)) * (1 + 2*unitRoundoff)
}

// provesAtMost reports whether y proves λ_max(P) <= c: y ≻ 0 and
// c·y - P(y) ⪰ 0, given P(y) as computed with its entrywise error bound.
//
// Z = c·y - fl(P(y)) as computed is within F = errPY + 2u(|c·y| + |P(y)|)
// of the exact matrix, entrywise. With D = diag(Z) > 0, the exact matrix is
// ⪰ Z - φD for φ = ‖D^{-1/2}FD^{-1/2}‖_F. A Cholesky factorization that
// succeeds on a matrix M has a backward error of at most
// γ_{r+1}·r·sqrt(M_kk M_ll) entrywise (Demmel), so one that succeeds on
// Z - (φ + 2rγ_{r+1})D proves Z - φD ⪰ 0. y ≻ 0 likewise from
// y - 2rγ_{r+1}diag(y).
func provesAtMost(y, py, errPY []float64, r int, c float64) bool {
	z := mat.NewSymDense(r, nil)
	d := make([]float64, r)
	for k := 0; k < r; k++ {
		d[k] = c*y[k*r+k] - py[k*r+k]
		if !(d[k] > 0) || !(y[k*r+k] > 0) {
			return false
		}
	}
	phi := 0.0
	for k := 0; k < r; k++ {
		for l := 0; l < r; l++ {
			i := k*r + l
			f := errPY[i] + 2*unitRoundoff*(math.Abs(c*y[i])+math.Abs(py[i]))
			phi += f * f / (d[k] * d[l])
		}
	}
	chol := 2 * float64(r) * gamma(r+1)
	shift := math.Sqrt(phi)*(1+gamma(r*r+4)) + chol
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			z.SetSym(k, l, c*y[k*r+l]-py[k*r+l])
		}
		z.SetSym(k, k, d[k]*(1-shift))
	}
	var ch mat.Cholesky
	if !ch.Factorize(z) {
		return false
	}
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			z.SetSym(k, l, y[k*r+l])
		}
		z.SetSym(k, k, y[k*r+k]*(1-chol))
	}
	return ch.Factorize(z)
}

// proveAtMost reports whether λ_max(p) <= c is proven by the top pair's
// eigenvector, or, where that is singular (a reducible operator's Perron
// vector can be), by it pushed into the interior, y + εI for a few ε: then
// P(y + εI) = P(y) + εP(I), computed once.
func (p *pencil) proveAtMost(tp *topPair, c float64) bool {
	r := p.f.r
	if provesAtMost(tp.y, tp.py, tp.errPY, r, c) {
		return true
	}
	if tp.pI == nil {
		tp.pI = make([]float64, r*r)
		p.applyBounded(tp.pI, identity(r))
		tp.errPI = append([]float64(nil), p.errSum...)
	}
	y := make([]float64, r*r)
	py := make([]float64, r*r)
	errPY := make([]float64, r*r)
	for _, eps := range []float64{1e-12, 1e-9, 1e-6, 1e-3} {
		eps /= math.Sqrt(float64(r)) // ‖εI‖_F = eps·‖y‖_F
		copy(y, tp.y)
		for k := 0; k < r; k++ {
			y[k*r+k] += eps
		}
		for i := range py {
			py[i] = tp.py[i] + eps*tp.pI[i]
			errPY[i] = tp.errPY[i] + eps*tp.errPI[i] + 2*unitRoundoff*(math.Abs(tp.py[i])+eps*math.Abs(tp.pI[i]))
		}
		if provesAtMost(y, py, errPY, r, c) {
			return true
		}
	}
	return false
}

func identity(r int) []float64 {
	x := make([]float64, r*r)
	for k := 0; k < r; k++ {
		x[k*r+k] = 1
	}
	return x
}

// Interval is a closed interval [Lo, Hi] proven to contain a quantity, with
// the best estimate Value inside it.
type Interval struct {
	Value, Lo, Hi float64
}

// Contains reports whether x is in [Lo, Hi].
func (iv Interval) Contains(x float64) bool { return iv.Lo <= x && x <= iv.Hi }

// certificateSteps are the relative margins the upper certificates try, in
// turn: c = μ(1 + step) for η*, δ + step·(δ + 1/Σ y²/x) for ρ. The first
// is a few hundred ulps; the margin must exceed the eigenvector's residual
// scaled by the smallest eigenvalues of y, which an ill-conditioned Perron
// vector makes large, so they go up to the value itself (for ρ a step of
// 1 moves ρ by about the distance from ρ to 1 - 2ηh_r, still far inside
// the a-priori bound).
var certificateSteps = []float64{1e-13, 1e-11, 1e-9, 1e-7, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}

// krylovCriticalRate returns the enclosure of η̂* = 1/λ_max(P) (x = h_k +
// h_l, ω = 1).
//
// start is the Lanczos start (nil: the identity); the eigenvector found is
// returned for the next problem to start from.
func krylovCriticalRate(f *sgdFeatures, start []float64) (Interval, []float64) {
	if start == nil {
		start = identity(f.r)
	}
	p := newPencil(f, 0, 1, 1, 0)
	tp := p.top(start, 1e-12)
	upper := math.Inf(1)
	for _, step := range certificateSteps {
		if c := tp.mu * (1 + step); p.proveAtMost(&tp, c) {
			upper = c
			break
		}
	}
	iv := Interval{Value: 1 / tp.mu, Lo: 1 / upper * (1 - 2*unitRoundoff), Hi: math.Inf(1)}
	if tp.lower > 0 {
		iv.Hi = 1 / tp.lower * (1 + 2*unitRoundoff)
	}
	return iv, tp.y
}

// krylovSpectralRadius returns the enclosure of ρ(T(η̂)), given c >=
// λ_max(A1^{-1/2}A2A1^{-1/2}) (proven: the reciprocal of the lower end of
// η̂*'s enclosure).
//
// With h0 the smallest h_k, write ρ = 1 - 2η̂h0 + δ: δ > 0 (the diagonal
// entry of T at E_kk for the smallest h_k exceeds 1 - 2ηh0), and the pencil
// x_kl = δ + η((h_k - h0) + (h_l - h0)) is defined for every δ > 0;
// ρ <= 1 - 2ηh0 + δ iff λ_max(P_δ) <= 1. The search keeps a proven bracket
// [lo, hi] of the root:
//
//   - lo: at any probe δ with eigenvector estimate y, the Rayleigh
//     quotient of T at S∘y, δ + (⟨y, P y⟩ - 1)/Σ S²y² (shifted by
//     1 - 2ηh0), is a lower bound on ρ; near the root it is accurate to
//     the square of y's error. The first is the largest diagonal entry of T.
//   - hi: a probe where y proves λ_max(P_δ) <= 1; the first comes from
//     A2 ⪯ c·A1, which gives T ⪯ I - η(1 - ηc)A1 and so
//     ρ <= 1 - 2ηh0(1 - ηc) when ηc <= 1, ρ <= 1 + 2ηh1(ηc - 1) otherwise.
//
// The probes follow the root of the model μ ≈ a/(δ + b) + c' of secular
// equation solvers through the last two probes (Newton's step on the
// concave 1/λ_max(P_δ) when there is one probe), and fall back to the
// geometric mean of the bracket when a step leaves it or does not halve it.
//
// start is the Lanczos start (nil: the identity), for example the
// eigenvector of the η* problem, which the Perron vector of P_δ resembles.
func krylovSpectralRadius(f *sgdFeatures, eta, c float64, start []float64) Interval {
	n, r := f.n, f.r
	e2 := eta * eta
	h0, h1 := f.h[r-1], f.h[0]
	// ⟨E_kk, T E_kk⟩ - 1 + 2ηh0 = 2η(h0 - h_k) + η²(C1h_k² + C2Σ_i a_ik⁴),
	// less its rounding.
	lo := 0.0
	for k := 0; k < r; k++ {
		a4 := 0.0
		for i := 0; i < n; i++ {
			v := f.a[i*r+k] * f.a[i*r+k]
			a4 += v * v
		}
		pos := e2 * (f.c1*f.h[k]*f.h[k] + f.c2*a4)
		s := 2*eta*(h0-f.h[k]) + pos
		s -= gamma(n+8) * (2*eta*(f.h[k]-h0) + pos)
		lo = math.Max(lo, s)
	}
	hi := 2 * eta * eta * h0 * c
	if eta*c > 1 {
		hi = 2*eta*h0 + 2*eta*h1*(eta*c-1)
	}
	hi *= 1 + gamma(8)
	if math.IsNaN(hi) {
		hi = math.Inf(1)
	}
	delta := math.Max(lo, 0x1p-1022)
	y := start
	if y == nil {
		y = identity(r)
	}
	base := 0.0
	var prev *probe
	tol := 1e-4
	stalled := 0
	for it := 0; it < 80; it++ {
		p := newPencil(f, delta, eta, e2, h0)
		// The eigenvector need only be as accurate as the step it drives:
		// any y gives a valid lower bound, and its Rayleigh quotient's
		// error is the square of y's.
		tp := p.top(y, tol)
		y = tp.y
		w := weightedNorm(p.s, y)
		base = 1 / w
		prevLo, prevHi := lo, hi
		if l := delta + (tp.lower-1)/w*(1-gamma(r*r+4)); l > lo {
			lo = l
		}
		if tp.mu < 1 && delta < hi && p.proveAtMost(&tp, 1) {
			hi = delta
		}
		// Two probes in a row that move neither end: the eigenvector
		// estimates no longer resolve the bracket (Lanczos can settle on
		// an eigenpair below the top when its start barely meets the top
		// eigenvector), and further probes would repeat them.
		if lo == prevLo && hi == prevHi {
			if stalled++; stalled == 2 {
				break
			}
		} else {
			stalled = 0
		}
		// Done when the bracket is a few ulps wide, or when a probe on the
		// left no longer raises lo: the root is then known to the accuracy
		// of the products, and the upper bound is proven below.
		if hi-lo <= 16*unitRoundoff*(lo+base) || (tp.mu >= 1 && lo-prevLo <= 1e-13*(lo+base)) {
			break
		}
		next := nextDelta(lo, hi, w, probe{delta, tp.mu}, prev)
		prev = &probe{delta, tp.mu}
		tol = max(1e-10, min(1e-4, math.Abs(tp.mu-1)/100))
		if next == delta {
			break
		}
		delta = next
	}
	if math.IsInf(hi, 1) || hi-lo > 1e-9*(lo+base) {
		// Prove an upper bound just above the lower one, with the
		// eigenvector at lo refined to rounding level: the certificate's
		// margin must exceed its residual.
		p := newPencil(f, lo, eta, e2, h0)
		tp := p.top(y, 1e-14)
		y = tp.y
		if l := lo + (tp.lower-1)/weightedNorm(p.s, y)*(1-gamma(r*r+4)); l > lo {
			lo = l
		}
		py := make([]float64, r*r)
		for _, step := range certificateSteps {
			d := lo + step*(lo+base)
			if d >= hi {
				break
			}
			ph := newPencil(f, d, eta, e2, h0)
			ph.applyBounded(py, y)
			at := topPair{y: y, py: py, errPY: ph.errSum}
			if ph.proveAtMost(&at, 1) {
				hi = d
				break
			}
		}
	}
	// ρ = 1 - 2ηh0 + δ, each operation rounded outward.
	off := 2 * eta * h0
	widen := 4 * unitRoundoff * (1 + off + hi)
	return Interval{Value: 1 - off + lo, Lo: 1 - off + lo - widen, Hi: 1 - off + hi + widen}
}

// probe is one step of krylovSpectralRadius's search: δ and λ_max(P_δ).
type probe struct{ delta, mu float64 }

// nextDelta is the search's next δ after probing cur (prev is the probe
// before it, nil at the first), within the proven bracket [lo, hi] of the
// root; w is Σ S²y² at cur's eigenvector.
//
// Newton's step for g, from the left, is lo itself; it converges
// quadratically once near the root but crawls where g is steep far from
// it. When the last step did not close three quarters of μ - 1, the root
// of the model μ ≈ a/(δ + b) + c' through cur and prev (its slope at cur
// from Hellmann–Feynman, -dμ/dδ = μw) takes over; and any step that
// leaves the bracket, or repeats a probe below the root, falls back to the
// geometric mean of the bracket.
func nextDelta(lo, hi, w float64, cur probe, prev *probe) float64 {
	next := lo
	slow := prev != nil && cur.mu > 1 && cur.mu-1 > (prev.mu-1)/4
	if slow && cur.delta != prev.delta {
		slope := cur.mu * w
		if dd := (prev.mu - cur.mu) / (slope * (cur.delta - prev.delta)); dd > 1 {
			t := dd * (cur.delta - prev.delta) / (dd - 1)
			if c0 := cur.mu - slope*t; t > 0 && c0 < 1 {
				next = slope*t*t/(1-c0) - t + cur.delta
			}
		}
	}
	if !(next >= lo && next < hi) || (cur.mu < 1 && next == cur.delta) {
		next = math.Sqrt(lo * hi)
	}
	return next
}

// weightedNorm is Σ S_kl² y_kl² = Σ y²/x.
func weightedNorm(s, y []float64) float64 {
	w := 0.0
	for i, v := range y {
		w += s[i] * s[i] * v * v
	}
	return w
}
