package theory

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Naive computes Geometry and Noise the direct p x p way, from explicit
// G = QᵀQ/n, Σ1, Σ2 and Σ = Σ1 - Σ2 (cost O(n p²) and O(p³)). It is the
// reference the n x n path of State is tested against, and it is independent
// of it: no K, no P, no scaling. Use it for small p and moderate magnitudes
// only (it squares entries without scaling). Rank is the number of
// eigenvalues of G above max(n, p)·ε·λ_1(G), as in State.
func Naive(q []float64, n, p int, e []float64) (Geometry, Noise, error) {
	if n <= 0 || p <= 0 {
		return Geometry{}, Noise{}, inputErr(ErrEmpty, "Q", NoIndex, NoIndex, "n = %d, p = %d", n, p)
	}
	if len(q) != n*p || len(e) != n {
		return Geometry{}, Noise{}, inputErr(ErrShape, "Q", NoIndex, NoIndex, "len(Q) = %d, len(e) = %d for n = %d, p = %d", len(q), len(e), n, p)
	}
	nf := float64(n)
	Q := mat.NewDense(n, p, append([]float64(nil), q...))
	G := mat.NewSymDense(p, nil)
	S1 := mat.NewSymDense(p, nil)
	grad := mat.NewVecDense(p, nil)
	loss := 0.0
	for i := 0; i < n; i++ {
		g := Q.RowView(i)
		G.SymRankOne(G, 1/nf, g)
		S1.SymRankOne(S1, e[i]*e[i]/nf, g)
		grad.AddScaledVec(grad, e[i]/nf, g)
		loss += e[i] * e[i] / (2 * nf)
	}
	S2 := mat.NewSymDense(p, nil)
	S2.SymOuterK(1, grad)
	Sigma := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			Sigma.SetSym(i, j, S1.At(i, j)-S2.At(i, j))
		}
	}

	var geo Geometry
	geo.N, geo.P = n, p
	geo.FroG = mat.Norm(G, 2)
	geo.TraceG = mat.Trace(G)
	var es mat.EigenSym
	if !es.Factorize(G, false) {
		return Geometry{}, Noise{}, inputErr(ErrNotFinite, "Q", NoIndex, NoIndex, "eigen-decomposition of G failed")
	}
	vals := es.Values(nil)
	geo.LambdaMax = vals[p-1]
	geo.Rank = NumericalRank(vals, geo.LambdaMax, n, p)
	geo.Tau = geo.LambdaMax * geo.LambdaMax / (geo.FroG * geo.FroG)
	geo.Chi = make([]float64, n)
	minChi, meanChi := math.Inf(1), 0.0
	for i := 0; i < n; i++ {
		geo.Chi[i] = mat.Inner(Q.RowView(i), G, Q.RowView(i))
		minChi = math.Min(minChi, geo.Chi[i])
		meanChi += geo.Chi[i] / nf
	}
	geo.Gamma = minChi / meanChi

	var nz Noise
	nz.Loss = loss
	nz.FroSigma = mat.Norm(Sigma, 2)
	nz.TrGSigma = traceProduct(G, Sigma)
	nz.TrSigma1G = traceProduct(S1, G)
	nz.TrSigma2G = traceProduct(S2, G)
	// The misprinted eq. (11) is an n x n expression with no p x p form.
	nz.PrintedFroSigma = math.NaN()
	nz.Alpha = nz.TrGSigma / (geo.FroG * nz.FroSigma)
	nz.Beta = nz.FroSigma / (2 * loss * geo.FroG)
	d := 2 * loss * geo.FroG * geo.FroG
	nz.Mu, nz.Mu1, nz.Mu2 = nz.TrGSigma/d, nz.TrSigma1G/d, nz.TrSigma2G/d
	return geo, nz, nil
}

// traceProduct returns Tr(AB) = Σ_ij A_ij B_ij for symmetric A, B.
func traceProduct(a, b mat.Symmetric) float64 {
	var s float64
	n := a.SymmetricDim()
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s += a.At(i, j) * b.At(j, i)
		}
	}
	return s
}
