package property

import (
	"math"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/theory"
)

// u is the unit roundoff of float64.
const u = 0x1p-53

// gamma is Higham's γ_k = k·u/(1 - k·u), the relative error bound of a
// computation of k floating-point operations in sequence.
func gamma(k int) float64 { return float64(k) * u / (1 - float64(k)*u) }

// featureCase is a drawn (Q, e) with the specs that made it.
type featureCase struct {
	spec fixtures.FeatureSpec
	res  fixtures.ResidualSpec
	n, p int
	q, e []float64
}

// drawCase draws features and residuals within the bounds.
func drawCase(t *T, b fixtures.FeatureBounds, maxLogResidualScale float64) featureCase {
	return caseOf(t, fixtures.Features(b).Draw(t.T, "features"), maxLogResidualScale)
}

// caseOf builds the features of spec and draws residuals for them.
func caseOf(t *T, spec fixtures.FeatureSpec, maxLogResidualScale float64) featureCase {
	res := fixtures.Residuals(maxLogResidualScale).Draw(t.T, "residuals")
	q := spec.Build()
	tallyCorners(t, spec)
	return featureCase{spec: spec, res: res, n: spec.N, p: spec.P, q: q, e: res.Build(q, spec.N, spec.P)}
}

// measured is a drawn case, power-of-two normalised (the ratios are the
// same bits as at the drawn scale, checked by eq-11/scale, and every other
// quantity is finite), with what theory.State computes from it and the
// magnitudes that bound its rounding errors.
type measured struct {
	featureCase
	st  *theory.State
	geo theory.Geometry
	nz  theory.Noise
	mag magnitudes
	g   float64 // γ_k for the longest operation chain (see opsBound)
}

// gammaTauErrors bounds the errors of γ (Definition 2.2) and τ(G) =
// λ_1²/‖G‖_F² from the magnitudes, with g the error factor of each χ_i and
// of ‖G‖_F (γ_k of one path, twice that between two paths), to first
// order. γ = min χ/mean χ moves by at most (dχ_min + γ·dmean)/mean; λ_1
// comes from a backward-stable eigensolver, within a few (n+p)·u·‖G‖_F,
// and τ moves by τ(2dλ/λ_1 + 2d‖G‖/‖G‖_F).
func (m measured) gammaTauErrors(g float64) (dGamma, dTau float64) {
	nf := float64(m.n)
	minI, meanChi, dMean := 0, 0.0, 0.0
	for i, x := range m.geo.Chi {
		if x < m.geo.Chi[minI] {
			minI = i
		}
		meanChi += x / nf
		dMean += g * m.mag.chi[i] / nf
	}
	dGamma = (g*m.mag.chi[minI] + m.geo.Gamma*dMean) / meanChi
	dG := g * m.mag.froG
	dLambda := dG + 4*float64(m.n+m.p)*u*m.geo.FroG
	dTau = m.geo.Tau * (2*dLambda/m.geo.LambdaMax + 2*dG/m.geo.FroG)
	return dGamma, dTau
}

// muError bounds the error of an alignment factor μ = Tr(·)/(2L‖G‖_F²)
// (μ, μ1 or μ2) from the magnitudes, with g as in gammaTauErrors: the trace
// within g times its magnitude, and the common denominator within
// γ_{n+4} + 2·d‖G‖/‖G‖_F relative.
func (m measured) muError(g, mu float64) float64 {
	dG := g * m.mag.froG
	dDen := gamma(m.n+4) + 2*dG/m.geo.FroG
	denom := 2 * m.nz.Loss * m.geo.FroG * m.geo.FroG
	return g*m.mag.traces/denom + math.Abs(mu)*dDen
}

// reading is where a check reads the quantities it tests from a measured
// case. A check is handed readings, theory's own; a negative control
// hands it a copy with one entry swapped for a wrong formula.
type reading struct {
	beta, mu1, mu2, gamma, trGSigma func(measured) float64
}

// readings are theory.Noise's β, μ1, μ2 and Tr(GΣ) and theory.Geometry's γ.
var readings = reading{
	beta:     func(m measured) float64 { return m.nz.Beta },
	mu1:      func(m measured) float64 { return m.nz.Mu1 },
	mu2:      func(m measured) float64 { return m.nz.Mu2 },
	gamma:    func(m measured) float64 { return m.geo.Gamma },
	trGSigma: func(m measured) float64 { return m.nz.TrGSigma },
}

func drawMeasured(t *T) measured {
	t.Helper()
	return measure(t, drawCase(t, fixtures.DefaultBounds, 150))
}

// measure normalises a drawn case and computes what drawMeasured returns.
func measure(t *T, c featureCase) measured {
	t.Helper()
	c.q, c.e = normalized(c.q), normalized(c.e)
	m := measured{featureCase: c, st: mustState(t, c.q, c.n, c.p, c.e)}
	m.geo, m.nz = mustGeometry(t, m.st), mustNoise(t, m.st)
	m.mag = magnitudesOf(c.q, c.n, c.p, c.e)
	m.g = gamma(opsBound(c.n, c.p))
	return m
}

// normalized returns x scaled by the power of two that brings max|x| into
// [1/2, 1): exact, so every ratio of the paper is unchanged bit for bit.
func normalized(x []float64) []float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	out := append([]float64(nil), x...)
	if m == 0 {
		return out
	}
	_, exp := math.Frexp(m)
	for i := range out {
		out[i] = math.Ldexp(out[i], -exp)
	}
	return out
}

// mustState builds a State, failing the case on an error: drawn cases are
// valid input by construction.
func mustState(t *T, q []float64, n, p int, e []float64) *theory.State {
	t.Helper()
	s, err := theory.NewState(q, n, p, e)
	if err != nil {
		t.Fatalf("NewState on valid input: %v", err)
	}
	return s
}

func mustGeometry(t *T, s *theory.State) theory.Geometry {
	t.Helper()
	g, err := s.Geometry()
	if err != nil {
		t.Fatalf("Geometry on valid input: %v", err)
	}
	return g
}

func mustNoise(t *T, s *theory.State) theory.Noise {
	t.Helper()
	nz, err := s.Noise()
	if err != nil {
		t.Fatalf("Noise on non-zero residuals: %v", err)
	}
	return nz
}

// tallyCorners counts the hard corners a case reaches, so that the ledger
// shows the generator got there.
func tallyCorners(t *T, s fixtures.FeatureSpec) {
	if s.Rank < min(s.N, s.P) {
		t.Tally("rank-deficient")
	}
	if s.LogCond >= 8 {
		t.Tally("condition >= 1e8")
	}
	if math.Abs(s.LogScale) >= 100 {
		t.Tally("scale beyond 1e±100")
	}
	if s.DupRows > 0 {
		t.Tally("duplicated rows")
	}
	if s.ZeroRows > 0 {
		t.Tally("zero rows")
	}
}
