package oracle

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// The spectral side of the oracle: ρ(T) and the critical learning rate η*,
// each an extreme eigenvalue of a symmetric problem (as are μ0 and μ1_0,
// alignment.go).
//
// In the orthonormal basis {E_kk} ∪ {(E_kl + E_lk)/√2 : k < l} of the
// symmetric r x r matrices (m = r(r+1)/2 coordinates) the recursion is
//
//	T(η) = I - η A1 + η² A2,   A1 = diag(a),   A2 = diag(b) + Z Zᵀ,
//
// with a_kl = h_k + h_l (A1 M = HM + MH), b_kl = C1 h_k h_l (C1·HMH) and Z
// the noise: for SGD its n columns are sqrt(C2)·vec(a_i a_iᵀ) (off-diagonal
// coordinates carry √2), for geometry-aware noise one column vec(H)/sqrt(B),
// for isotropic noise one column sqrt(σ²h_k/B) on the diagonal (after the
// similarity M_kk ↦ sqrt(h_k)M_kk that makes σ²Tr(HM)I symmetric). So
//
//   - ρ(T(η)) = λ_max(diag(1 - ηa + η²b) + η² Z Zᵀ): T preserves the cone of
//     positive semi-definite matrices, so its spectral radius is an
//     eigenvalue (Perron–Frobenius for cones), and T is symmetric, so it is
//     the largest one; ρ = -λ_min never happens without ρ = λ_max too.
//   - ρ <= 1 ⇔ T - I ⪯ 0 ⇔ η A2 ⪯ A1 (A1 ≻ 0 on the range): the stable η
//     are exactly (0, η*] with η* = 1/λ_max(A1^{-1/2} A2 A1^{-1/2}), the
//     largest eigenvalue of diag(b/a) + Ẑ Ẑᵀ, Ẑ = diag(a)^{-1/2} Z.
//
// Both are λ_max of a diagonal plus a positive semi-definite matrix of rank
// q (q = n for SGD). Above the largest diagonal entry d_max its eigenvalues
// are the roots of the secular equation λ_max(F(λ)) = 1, F(λ) = Zᵀ(λ-D)⁻¹Z
// (q x q), so λ_max costs a few q x q Gram matrices of length m, O(q² r²),
// and never an m x m matrix when m > q.

// structure is the operator T(η) in the basis of Sym(r): A1 = diag(a),
// A2 = diag(b) + Z Zᵀ with z row-major q x m (row j is column j of Z).
type structure struct {
	m    int
	a, b []float64
	z    []float64
	q    int
}

// diagIndex is the coordinate of E_kk in the basis of Sym(r).
func diagIndex(k, r int) int { return k*r - k*(k-1)/2 }

func (d *Dynamics) structure() *structure {
	if d.st != nil {
		return d.st
	}
	o, r := d.o, d.o.r
	m := r * (r + 1) / 2
	st := &structure{m: m, a: make([]float64, m), b: make([]float64, m)}
	c1 := d.hmhCoefficient()
	j := 0
	for k := 0; k < r; k++ {
		for l := k; l < r; l++ {
			st.a[j] = o.h[k] + o.h[l]
			st.b[j] = c1 * o.h[k] * o.h[l]
			j++
		}
	}
	switch d.kind {
	case sgdNoise:
		if d.mom.C2 == 0 {
			break
		}
		st.q = o.n
		st.z = make([]float64, o.n*m)
		sc := math.Sqrt(d.mom.C2)
		for i := 0; i < o.n; i++ {
			row := st.z[i*m : (i+1)*m]
			j := 0
			for k := 0; k < r; k++ {
				aik := o.a.At(i, k) * sc
				for l := k; l < r; l++ {
					v := aik * o.a.At(i, l)
					if l != k {
						v *= math.Sqrt2
					}
					row[j] = v
					j++
				}
			}
		}
	case geometryAware, isotropic:
		st.q = 1
		st.z = make([]float64, m)
		for k := 0; k < r; k++ {
			if d.kind == geometryAware {
				st.z[diagIndex(k, r)] = o.h[k] / math.Sqrt(float64(d.batch))
			} else {
				st.z[diagIndex(k, r)] = math.Sqrt(d.sigma2 * o.h[k] / float64(d.batch))
			}
		}
	}
	d.st = st
	return st
}

// maxOracleEntries bounds q·r(r+1)/2, the number of entries of the exact
// path's low-rank factor (q = n for SGD noise, 1 for the custom noises;
// 8 bytes each: 256 MiB). SGD noise beyond it takes the matrix-free path of
// krylov.go.
const maxOracleEntries = 1 << 25

// maxKrylovBytes bounds the memory of the matrix-free path (the estimate of
// krylovFootprint).
const maxKrylovBytes = 12 << 30

// exact reports whether the exact (secular) path answers the spectral
// questions of d; otherwise SGD noise takes the matrix-free path.
func (d *Dynamics) exact() bool {
	r := d.o.r
	q := 1
	if d.kind == sgdNoise && d.mom.C2 != 0 {
		q = d.o.n
	}
	m := r * (r + 1) / 2
	return q*m <= maxOracleEntries && q*m >= 0
}

// krylovFootprint estimates the bytes of the matrix-free path: the Lanczos
// basis and about eight more r x r matrices, and five n x r ones.
func krylovFootprint(n, r int) float64 {
	r2 := float64(r) * float64(r)
	kmax := min(20, max(4, float64(1<<28)/r2))
	return 8 * ((kmax+9)*r2 + 5*float64(n)*float64(r))
}

// checkSpectral refuses sizes beyond both paths, and batch moments that no
// sampling has: for them T need not preserve positive semi-definiteness,
// and ρ need not be λ_max.
func (d *Dynamics) checkSpectral() error {
	n, r := d.o.n, d.o.r
	if !d.exact() {
		if d.kind != sgdNoise {
			return inputErr(theory.ErrParam, "Q", theory.NoIndex, theory.NoIndex, "r(r+1)/2 = %d·%d/2 exceeds %d: too large for the spectral radius of this noise", r, r+1, maxOracleEntries)
		}
		if b := krylovFootprint(n, r); b > maxKrylovBytes {
			return inputErr(theory.ErrParam, "Q", theory.NoIndex, theory.NoIndex, "n = %d, rank %d: the spectral radius needs about %.3g GB, more than %d GiB", n, r, b/1e9, maxKrylovBytes>>30)
		}
	}
	if d.kind != sgdNoise {
		return nil
	}
	c1, c2 := d.mom.C1, d.mom.C2
	if !(c1 >= 0 && c1 <= 1 && c2 >= 0) || math.Abs(c1+float64(d.o.n)*c2-1) > 8*unitRoundoff {
		return paramErr("moments", "C1 = %v, C2 = %v are not the moments of a sampling (need C1 in [0, 1], C2 >= 0, C1 + n·C2 = 1)", c1, c2)
	}
	return nil
}

// SpectralRadius is ρ of the linear part of the recursion at η: the minimum
// is linearly stable (Definition 3.1) iff ρ <= 1. For a state-independent
// noise it is GD's, max_k (1 - ηh_k)². Where the exact path is too large
// for SGD noise, it is the estimate of the matrix-free path
// (SpectralRadiusBounds).
func (d *Dynamics) SpectralRadius(eta float64) (float64, error) {
	e, err := d.o.scaledEta(eta)
	if err != nil {
		return 0, err
	}
	if err := d.checkSpectral(); err != nil {
		return 0, err
	}
	if iv, far := d.farAbove(e); far {
		return iv.Value, nil
	}
	if !d.exact() {
		iv, err := d.SpectralRadiusBounds(eta)
		return iv.Value, err
	}
	st := d.structure()
	diag := make([]float64, st.m)
	for j := range diag {
		diag[j] = 1 - e*st.a[j] + e*e*st.b[j]
	}
	rho := lambdaMaxDiagLowRank(diag, st.z, st.q, e*e, nil)
	if math.IsNaN(rho) {
		return 0, errNoConvergence("the second-moment operator")
	}
	return rho, nil
}

// farAbove answers for learning rates so far above the edge that η̂²
// would overflow: when η̂λ_1 > 2^64, ρ >= (1 - η̂ĥ_1)² >= (η̂ĥ_1/2)² (the
// diagonal entry of T at the top direction, every noise adding a positive
// semi-definite term), which is reported as the value and the lower end,
// capped at the largest float64 (a square that overflows exceeds it).
func (d *Dynamics) farAbove(e float64) (Interval, bool) {
	x := e * d.o.h[0]
	if !(x > 0x1p64) {
		return Interval{}, false
	}
	lo := math.Min((x/2)*(x/2), math.MaxFloat64)
	return Interval{Value: lo, Lo: lo, Hi: math.Inf(1)}, true
}

// CriticalRate is η*, the largest learning rate for which the minimum is
// linearly stable: ρ(η) <= 1 iff η <= η*. It is 1/λ_max(A1^{-1/2}A2A1^{-1/2})
// (+Inf if A2 = 0, which no dynamics here has). Where the exact path is too
// large for SGD noise, it is the estimate of the matrix-free path
// (CriticalRateBounds).
func (d *Dynamics) CriticalRate() (float64, error) {
	if err := d.checkSpectral(); err != nil {
		return 0, err
	}
	if !d.exact() {
		iv, err := d.CriticalRateBounds()
		return iv.Value, err
	}
	st := d.structure()
	diag := make([]float64, st.m)
	scale := make([]float64, st.m)
	for j := range diag {
		diag[j] = st.b[j] / st.a[j]
		scale[j] = 1 / math.Sqrt(st.a[j])
	}
	lam := lambdaMaxDiagLowRank(diag, st.z, st.q, 1, scale)
	if math.IsNaN(lam) {
		return 0, errNoConvergence("the critical-rate pencil")
	}
	if !(lam > 0) {
		return math.Inf(1), nil
	}
	return math.Ldexp(1/lam, -d.o.kExp), nil
}

// lambdaMaxDiagLowRank returns λ_max(diag(d) + c·S Z Zᵀ S) for c >= 0, Z the
// m x q matrix whose columns are the rows of z (row-major q x m) and
// S = diag(scale) (the identity when scale is nil), or NaN if an
// eigen-decomposition on the way does not converge.
//
// Coordinates k where row k of SZ is zero are eigenvectors with eigenvalue
// d_k. On the others (m_c of them, largest diagonal d_max) the largest
// eigenvalue is d_max + δ, δ > 0 the root of ψ(δ) = 1/λ_max(F(δ)) - 1 with
// F(δ) = Z_cᵀ (δ + g)⁻¹ Z_c, g_k = d_max - d_k >= 0. ψ is increasing and
// concave (1/λ_max(F) is a minimum over unit v of parallel sums of the affine
// functions (δ + g_k)/(Z_c v)_k²), so Newton's method started below the root
// climbs to it without overshooting; the Rayleigh quotient of the
// approximate eigenvector (δ + g)⁻¹Z_c v is a second lower bound, and the
// larger of the two is taken. It starts from the lower bound
// max_k (e_kᵀ(T - d_max)e_k) and stops when neither improves δ by more than
// a few ulps. When m_c <= q the m_c x m_c matrix is cheaper, and is
// factorized directly.
func lambdaMaxDiagLowRank(d, z []float64, q int, c float64, scale []float64) float64 {
	m := len(d)
	sc := math.Sqrt(c)
	top := math.Inf(-1) // over the uncoupled coordinates
	var idx []int
	for k := 0; k < m; k++ {
		coupled := false
		if c > 0 && (scale == nil || scale[k] != 0) {
			for j := 0; j < q; j++ {
				if z[j*m+k] != 0 {
					coupled = true
					break
				}
			}
		}
		if coupled {
			idx = append(idx, k)
		} else {
			top = math.Max(top, d[k])
		}
	}
	mc := len(idx)
	if mc == 0 {
		return top
	}
	dm := math.Inf(-1)
	for _, k := range idx {
		dm = math.Max(dm, d[k])
	}
	// zc is Z_c as q rows of length m_c, zr the same as m_c rows of length q.
	zc := make([]float64, q*mc)
	zr := make([]float64, mc*q)
	gap := make([]float64, mc)
	for c, k := range idx {
		f := sc
		if scale != nil {
			f *= scale[k]
		}
		for j := 0; j < q; j++ {
			v := f * z[j*m+k]
			zc[j*mc+c] = v
			zr[c*q+j] = v
		}
		gap[c] = dm - d[k]
	}
	var lam float64
	if mc <= q {
		lam = denseTop(d, idx, zr, q)
	} else {
		lam = dm + secularRoot(gap, zc, zr, q, math.Abs(dm))
	}
	return math.Max(lam, top)
}

// denseTop is λ_max(diag(d[idx]) + Z_c Z_cᵀ) from the m_c x m_c matrix
// (zr holds the m_c rows of Z_c, each of length q).
func denseTop(d []float64, idx []int, zr []float64, q int) float64 {
	mc := len(idx)
	g := make([]float64, mc*mc)
	numerics.Gram(g, zr, mc, q)
	for c, k := range idx {
		g[c*mc+c] += d[k]
	}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(mc, g), false) {
		return math.NaN() // no convergence: lambdaMaxDiagLowRank's callers report it
	}
	v := es.Values(nil)
	return v[mc-1]
}

// secularRoot returns δ > 0 with λ_max(Z_cᵀ(δ + g)⁻¹Z_c) = 1 (see
// lambdaMaxDiagLowRank); zc holds Z_c as q rows of length m_c, zr as m_c
// rows of length q. base is |d_max|, the scale δ is added to.
func secularRoot(gap, zc, zr []float64, q int, base float64) float64 {
	mc := len(gap)
	// Bracket: δ_0 = max_k (‖row k of Z_c‖² - g_k) > 0, the largest diagonal
	// entry of T - d_max (the row at d_max has g = 0 and is not zero), and
	// ‖Z_c‖_F² >= λ_max(Z_cZ_cᵀ), where λ_max(F) <= ‖Z_c‖²/δ <= 1.
	lo, hi := math.Inf(-1), 0.0
	for c := 0; c < mc; c++ {
		row := zr[c*q : (c+1)*q]
		n2 := numerics.Dot(row, row)
		lo = math.Max(lo, n2-gap[c])
		hi += n2
	}
	y := make([]float64, q*mc)
	f := make([]float64, q*q)
	x := make([]float64, mc)
	s := make([]float64, mc)
	w := make([]float64, mc)
	t := make([]float64, q)
	var es mat.EigenSym
	var vecs mat.Dense
	eval := func(delta, lo float64) (mu, lower float64) {
		for c := range w {
			w[c] = 1 / math.Sqrt(delta+gap[c])
		}
		for j := 0; j < q; j++ {
			for c := 0; c < mc; c++ {
				y[j*mc+c] = zc[j*mc+c] * w[c]
			}
		}
		numerics.Gram(f, y, q, mc)
		if !es.Factorize(mat.NewSymDense(q, f), true) {
			return math.NaN(), lo // no convergence: climb returns NaN
		}
		mu = es.Values(nil)[q-1]
		es.VectorsTo(&vecs)
		v := mat.Col(nil, q-1, &vecs)
		// x = (δ + g)⁻¹ Z_c v, the eigenvector estimate; ‖x‖² is
		// -dλ_max(F)/dδ = Σ_k (Z_c v)_k² w_k⁴ (Hellmann–Feynman).
		xx, gx := 0.0, 0.0
		for c := 0; c < mc; c++ {
			zv := numerics.Dot(zr[c*q:(c+1)*q], v)
			s[c] = zv * zv
			x[c] = zv * w[c] * w[c]
			xx += x[c] * x[c]
			gx += gap[c] * x[c] * x[c]
		}
		// Three lower bounds on the root, valid from either side of it:
		// Newton's step on the concave ψ = 1/λ_max(F) - 1 (its tangent lies
		// above it); the Rayleigh quotient of x, (‖Z_cᵀx‖² - Σ g_k x_k²)/‖x‖²
		// above d_max; and the root of the scalar secular equation
		// vᵀF(δ)v = Σ_k (Z_c v)_k²/(δ + g_k) = 1 along v, since
		// λ_max(F) >= vᵀFv.
		lower = delta + mu*(mu-1)/xx
		for j := 0; j < q; j++ {
			t[j] = numerics.Dot(zc[j*mc:(j+1)*mc], x)
		}
		lower = math.Max(lower, (numerics.Dot(t, t)-gx)/xx)
		if mu >= 1 {
			lo = delta
		}
		return mu, math.Max(lower, scalarSecularRoot(s, gap, lo, base))
	}
	return climb(lo, math.Max(lo, hi), base, eval)
}

// climb finds the root in [lo, hi] of a decreasing μ(δ) - 1, where eval(x,
// lo) returns μ(x) and a lower bound on the root (given that lo is one).
// It steps to the best lower bound while that converges superlinearly, and
// bisects [lo, hi] geometrically after three steps that do not (near a pole
// of tiny weight the lower bounds crawl). A probe just above a lower bound
// that no longer moves confirms convergence (μ < 1 there) or reveals a
// stall. It returns lo once hi - lo <= 32ε(base + lo): λ_max(F) itself is
// computed to a relative error of a few ε times the Gram's condition, so a
// tighter bracket would chase rounding.
func climb(lo, hi, base float64, eval func(x, lo float64) (mu, lower float64)) float64 {
	const maxIter = 200
	x, prevGain, slow, probe := lo, 0.0, 0, false
	for it := 0; it < maxIter; it++ {
		mu, lower := eval(x, lo)
		if math.IsNaN(mu) {
			return math.NaN()
		}
		prevLo := lo
		if mu >= 1 {
			lo = math.Max(lo, x)
		} else {
			hi = math.Min(hi, x)
		}
		if lower > lo {
			lo = math.Min(lower, hi)
		}
		tol := 32 * unitRoundoff * (base + lo)
		if hi-lo <= tol {
			break
		}
		gain := (lo - prevLo) / prevLo
		if prevGain > 0 && gain > prevGain/2 {
			slow++
		} else {
			slow = 0
		}
		geometric := false
		switch {
		case mu < 1:
			// x was above the root; go on from the lower bound if it moved.
			geometric = !(lo-prevLo > tol)
			probe = false
		case probe && lo-prevLo <= tol:
			// The probe was still below the root: stalled near a pole.
			geometric, probe = true, false
		case lo-prevLo <= tol:
			probe = true
		case slow >= 3:
			geometric = true
		}
		switch {
		case geometric:
			x, gain, slow = math.Sqrt(lo*hi), 0, 0
		case probe:
			x = lo + tol/2
		default:
			x = lo
		}
		if !(x >= lo && x < hi) {
			x = lo + (hi-lo)/2
		}
		prevGain = gain
	}
	return lo
}

// scalarSecularRoot returns the largest root of Σ_k s_k/(δ + g_k) = 1
// (s_k, g_k >= 0) if it is above lo, and lo otherwise. Each evaluation costs
// O(m), and Newton's step on the concave 1/Σ_k s_k/(δ + g_k) - 1 is a lower
// bound on the root from either side.
func scalarSecularRoot(s, g []float64, lo, base float64) float64 {
	phi := func(delta float64) (float64, float64) {
		p, dp := 0.0, 0.0
		for k, sk := range s {
			w := 1 / (delta + g[k])
			p += sk * w
			dp += sk * w * w
		}
		return p, dp
	}
	p, _ := phi(lo)
	hi := 0.0
	for _, sk := range s {
		hi += sk
	}
	if !(p > 1) || !(hi > lo) {
		return lo
	}
	return climb(lo, hi, base, func(x, _ float64) (float64, float64) {
		p, dp := phi(x)
		return p, x + p*(p-1)/dp
	})
}
