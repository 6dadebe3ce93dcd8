package theory

import (
	"fmt"
	"math"

	"github.com/flatmin/flatmin/numerics"
)

// Geometry is what Q alone says about the loss landscape at θ.
type Geometry struct {
	N, P int
	// FroG = ‖G‖_F = ‖K‖_F/n (eq. 11, first line). At a global minimum H = G,
	// so FroG is the flatness ‖H‖_F of Theorem 3.3.
	FroG float64
	// TraceG = Tr(G) = Tr(K)/n.
	TraceG float64
	// LambdaMax = λ_1(G) = λ_1(K)/n, the sharpness that GD sees.
	LambdaMax float64
	// Rank is the numerical rank of G (= rank H at a minimum): the number of
	// eigenvalues above max(n, p)·ε·λ_1(G), as numpy.linalg.matrix_rank(G)
	// counts them (ε = 2^-52). G and K = nQQᵀ/n share their non-zero
	// eigenvalues up to the factor n, so they are read off K.
	Rank int
	// Chi[i] = χ_i = g_iᵀ G g_i = ‖K_i‖²/n (Assumption 1).
	Chi []float64
	// Gamma = γ = min_i χ_i / mean_i χ_i (Assumption 1; Lemma 2.3).
	Gamma float64
	// Tau = τ(G) = λ_1(G)²/‖G‖_F² (Lemma 2.3).
	Tau float64
}

// Noise is the structure of the SGD noise at θ (Section 2, eq. 3).
type Noise struct {
	Loss      float64 // L = Σ e_i²/(2n)
	FroSigma  float64 // ‖Σ‖_F = ‖P E K E P‖_F/n (eq. 11, corrected)
	TrGSigma  float64 // Tr(GΣ) = ‖P E K‖_F²/n²
	TrSigma1G float64 // Tr(Σ1 G) = ‖E K‖_F²/n²
	TrSigma2G float64 // Tr(Σ2 G) = ‖K e‖²/n³
	// PrintedFroSigma = ‖P E K E‖_F/n, the paper's misprinted eq. (11), kept
	// for comparison; it is not ‖Σ‖_F in general (erratum eq-11).
	PrintedFroSigma float64
	// Alpha = Tr(GΣ)/(‖G‖_F‖Σ‖_F), in [0, 1]; NaN when Σ = 0 (0/0, for
	// example n = 1 or e_i g_i all equal).
	Alpha float64
	Beta  float64 // ‖Σ‖_F/(2L‖G‖_F)
	Mu    float64 // Tr(ΣG)/(2L‖G‖_F²) = α·β = μ1 - μ2
	Mu1   float64 // Tr(Σ1G)/(2L‖G‖_F²)
	Mu2   float64 // Tr(Σ2G)/(2L‖G‖_F²)
}

// eigenvalues returns the eigenvalues of K̂ in ascending order, or
// ErrNoConvergence (no finite input is known to stall the iteration, and K̂
// is finite with entries below 1 by construction, so this is not expected). They are numerics.SymmetricEigenvalues', LAPACK's DSYEV
// on numerics' kernels: within 60·n·ε·λ_1(K̂) of gonum's Dsyev, which took
// minutes at n = 5000 (BENCHMARKS.md).
func (s *State) eigenvalues() ([]float64, error) {
	if s.eig == nil {
		eig := make([]float64, s.n)
		if !numerics.SymmetricEigenvalues(s.n, append([]float64(nil), s.k...), eig) {
			return nil, fmt.Errorf("theory: the %d x %d Gram matrix: %w", s.n, s.n, ErrNoConvergence)
		}
		s.eig = eig
	}
	return s.eig, nil
}

// Geometry computes the quantities of G through K; its only error is an
// eigen-decomposition that does not converge (ErrNoConvergence).
func (s *State) Geometry() (Geometry, error) {
	n := float64(s.n)
	g := Geometry{N: s.n, P: s.p, Chi: make([]float64, s.n)}
	froK := numerics.Nrm2(s.k)
	g.FroG = math.Ldexp(froK/n, s.kExp)
	tr := 0.0
	for i := 0; i < s.n; i++ {
		tr += s.k[i*s.n+i]
	}
	g.TraceG = math.Ldexp(tr/n, s.kExp)

	eig, err := s.eigenvalues()
	if err != nil {
		return Geometry{}, err
	}
	lmax := eig[len(eig)-1]
	g.LambdaMax = math.Ldexp(lmax/n, s.kExp)
	g.Rank = NumericalRank(eig, lmax, s.n, s.p)
	g.Tau = (lmax / froK) * (lmax / froK)

	minChi, sumChi := math.Inf(1), 0.0
	for i := 0; i < s.n; i++ {
		row := numerics.Nrm2(s.k[i*s.n : (i+1)*s.n])
		chi := row * row / n // χ̂_i, in the scaled space
		minChi = math.Min(minChi, chi)
		sumChi += chi
		g.Chi[i] = scaledSq(row, s.kExp, n)
	}
	g.Gamma = minChi / (sumChi / n)
	return g, nil
}

// machineEpsilon is the spacing of float64 at 1, 2^-52 (numpy's finfo.eps).
const machineEpsilon = 0x1p-52

// NumericalRank counts the eigenvalues of a Gram matrix (of n samples and p
// parameters, λ_1 its largest) above max(n, p)·ε·λ_1, as
// numpy.linalg.matrix_rank does: below that, rounding in forming the
// matrix hides them. Geometry.Rank, the reference Naive and the oracle's
// range all count this way, so measure and stability agree.
func NumericalRank(eigenvalues []float64, lambdaMax float64, n, p int) int {
	tol := float64(max(n, p)) * machineEpsilon * lambdaMax
	r := 0
	for _, l := range eigenvalues {
		if l > tol {
			r++
		}
	}
	return r
}

// Noise computes the loss, Σ and the alignment factors through K
// (eq. 3 and the corrected eq. 11). It returns ErrZeroLoss when e = 0.
func (s *State) Noise() (Noise, error) {
	n, nf := s.n, float64(s.n)
	eNorm := numerics.Nrm2(s.e)
	if eNorm == 0 {
		return Noise{}, inputErr(ErrZeroLoss, "e", NoIndex, NoIndex, "all residuals are zero")
	}
	// Y = Ê K̂, X = Ê K̂ Ê, in the scaled space; then centre with P.
	y := make([]float64, n*n)
	x := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			y[i*n+j] = s.e[i] * s.k[i*n+j]
			x[i*n+j] = y[i*n+j] * s.e[j]
		}
	}
	t1 := numerics.Nrm2(y)
	// Column means of Y are (K̂ê)_j/n, since K̂ is symmetric.
	colY := columnMeans(y, n)
	ke := make([]float64, n)
	for j, c := range colY {
		ke[j] = c * nf
	}
	t2 := numerics.Nrm2(ke)
	py := centreColumns(y, colY, n)
	tgs := numerics.Nrm2(py)

	colX := columnMeans(x, n)
	rowX := rowMeans(x, n) // X is symmetric up to rounding; use both
	grand := 0.0
	for _, c := range colX {
		grand += c
	}
	grand /= nf
	printed := centreColumns(append([]float64(nil), x...), colX, n)
	fp := numerics.Nrm2(printed)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x[i*n+j] = x[i*n+j] - rowX[i] - colX[j] + grand
		}
	}
	fs := numerics.Nrm2(x)

	exp := s.kExp + 2*s.eExp // Σ scales as K·e²
	var q Noise
	q.Loss = s.Loss()
	q.FroSigma = math.Ldexp(fs/nf, exp)
	q.PrintedFroSigma = math.Ldexp(fp/nf, exp)
	q.TrGSigma = scaledSq(tgs, s.kExp+s.eExp, nf*nf)
	q.TrSigma1G = scaledSq(t1, s.kExp+s.eExp, nf*nf)
	q.TrSigma2G = scaledSq(t2, s.kExp+s.eExp, nf*nf*nf)

	// The ratios, in the scaled space, where the powers of two cancel exactly.
	froG := numerics.Nrm2(s.k) / nf
	twoL := eNorm * eNorm / nf
	denom := twoL * froG * froG
	q.Alpha = (tgs / numerics.Nrm2(s.k)) * (tgs / fs)
	if fs == 0 {
		q.Alpha = math.NaN()
	}
	q.Beta = (fs / nf) / (twoL * froG)
	q.Mu = (tgs * tgs / (nf * nf)) / denom
	q.Mu1 = (t1 * t1 / (nf * nf)) / denom
	q.Mu2 = (t2 * t2 / (nf * nf * nf)) / denom
	return q, nil
}

// columnMeans returns the column means of the row-major n x n matrix a.
func columnMeans(a []float64, n int) []float64 {
	m := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m[j] += a[i*n+j]
		}
	}
	for j := range m {
		m[j] /= float64(n)
	}
	return m
}

// rowMeans returns the row means of the row-major n x n matrix a.
func rowMeans(a []float64, n int) []float64 {
	m := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m[i] += a[i*n+j]
		}
		m[i] /= float64(n)
	}
	return m
}

// centreColumns subtracts mean[j] from column j of a in place (a ← P a) and returns a.
func centreColumns(a, mean []float64, n int) []float64 {
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a[i*n+j] -= mean[j]
		}
	}
	return a
}
