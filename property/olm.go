package property

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/models"
	"github.com/flatmin/flatmin/theory"
)

// thm-2.1 (Section 2.1, Appendix C): for an OLM f(x; θ) = F(θ)ᵀx with
// x ~ N(0, S), online, no label noise, Σ = ∇L∇Lᵀ + 2LG and μ1 >= μ >= 1 at
// every θ. The population moments come from theory.OLMPopulation, whose
// fourth moment is the exact Gauss–Hermite rule (not Lemma C.1); the models
// are the deep linear network, the quadratic model, and a general Jacobian.

func init() {
	addCheck("thm-2.1", Check{Name: "population", Kind: Exact, Run: thm21(thm21Sides)})
	addCheck("thm-2.1", Check{Name: "jacobian-fd", Kind: Property, Run: jacobianFD(models.OLM.Jacobian)})
	sigma1ForSigma, without2 := thm21Sides, thm21Sides
	sigma1ForSigma.sigma = func(m theory.OLMMoments) *mat.SymDense { return m.Sigma1 }
	without2.closed = func(m theory.OLMMoments) *mat.SymDense {
		closed := m.Theorem21Sigma()
		for i := 0; i < m.P; i++ {
			for j := i; j < m.P; j++ {
				closed.SetSym(i, j, closed.At(i, j)-m.Loss*m.G.At(i, j))
			}
		}
		return closed
	}
	addControl("thm-2.1", Control{Name: "sigma1-for-sigma", Wrong: "Σ1 = ∇L∇Lᵀ + 2LG: Σ1 in place of Σ = Σ1 - Σ2",
		Run: thm21(sigma1ForSigma)})
	addControl("thm-2.1", Control{Name: "factor-2-dropped", Wrong: "Σ = ∇L∇Lᵀ + LG: the 2 of 2LG dropped",
		Run: thm21(without2)})
	addControl("thm-2.1", Control{Name: "jacobian-halved", Wrong: "∇F/2 in place of ∇F (∂(a²)/∂a = a)",
		Run: jacobianFD(func(m models.OLM, theta []float64) (*mat.Dense, error) {
			jac, err := m.Jacobian(theta)
			if err == nil {
				jac.Scale(0.5, jac)
			}
			return jac, err
		})})
}

// thm21Side is the two sides of Theorem 2.1 as read from the population
// moments: sigma, the noise covariance Σ computed by the quadrature, and
// closed, the theorem's ∇L∇Lᵀ + 2LG.
type thm21Side struct {
	sigma, closed func(theory.OLMMoments) *mat.SymDense
}

// thm21Sides are theory.OLMMoments' Sigma and Theorem21Sigma.
var thm21Sides = thm21Side{
	sigma:  func(m theory.OLMMoments) *mat.SymDense { return m.Sigma },
	closed: theory.OLMMoments.Theorem21Sigma,
}

var olmBounds = fixtures.CovarianceBounds{MaxD: 5, MaxLogCond: 12, MaxLogScale: 20}

// olmModel draws an OLM of input dimension d: a deep linear network of
// depth 1..4 and widths 1..4, or the quadratic model.
func olmModel(t *T, d int) models.OLM {
	if rapid.Bool().Draw(t.T, "quadratic model") {
		t.Tally("quadratic model")
		return models.Quadratic{D: d}
	}
	depth := rapid.IntRange(1, 4).Draw(t.T, "depth")
	widths := make([]int, depth-1)
	for i := range widths {
		widths[i] = rapid.IntRange(1, 4).Draw(t.T, fmt.Sprintf("width %d", i+1))
	}
	m, err := models.NewDeepLinear(d, widths...)
	if err != nil {
		t.Fatalf("NewDeepLinear: %v", err)
	}
	t.Tally(fmt.Sprintf("deep linear, depth %d", depth))
	return m
}

// olmCase is S, J = ∇F(θ) (d x p) and u = F(θ) - F(θ*).
type olmCase struct {
	desc string
	s    *mat.SymDense
	top  float64
	jac  *mat.Dense
	u    []float64
}

func drawOLM(t *T) olmCase {
	spec := fixtures.Covariance(olmBounds).Draw(t.T, "S")
	d := spec.D
	c := olmCase{s: mat.NewSymDense(d, spec.Build()), top: spec.Eigenvalues()[0]}
	if spec.Rank < d {
		t.Tally("S singular")
	}
	if rapid.IntRange(0, 4).Draw(t.T, "general Jacobian") == 0 {
		// A general re-parameterization: any J, any u.
		p := rapid.IntRange(1, 8).Draw(t.T, "p")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t.T, "J seed"), 5))
		c.jac = mat.NewDense(d, p, fixtures.Gaussians(rng, d*p))
		c.u = fixtures.Vector(d, 20).Draw(t.T, "u")
		c.desc = fmt.Sprintf("S: %v; general J %dx%d", spec, d, p)
		t.Tally("general Jacobian")
		return c
	}
	m := olmModel(t, d)
	theta := fixtures.Theta(m.NumParams(), 4).Draw(t.T, "θ")
	star := theta
	switch rapid.IntRange(0, 5).Draw(t.T, "θ* corner") {
	case 0: // θ = θ*: L = 0, every moment vanishes
		t.Tally("θ = θ*")
	case 1: // θ = 0: ∇F = 0 for a deep network of depth >= 2
		star, theta = theta, make([]float64, len(theta))
	default:
		star = fixtures.Theta(m.NumParams(), 4).Draw(t.T, "θ*")
	}
	var err error
	if c.jac, err = m.Jacobian(theta); err != nil {
		t.Fatalf("Jacobian: %v", err)
	}
	f, err := m.F(theta)
	if err != nil {
		t.Fatalf("F: %v", err)
	}
	fs, err := m.F(star)
	if err != nil {
		t.Fatalf("F: %v", err)
	}
	c.u = make([]float64, d)
	for i := range c.u {
		c.u[i] = f[i] - fs[i]
	}
	c.desc = fmt.Sprintf("S: %v; %T %v", spec, m, m)
	return c
}

// thm21 checks Theorem 2.1 on the sides as read, and μ1 >= μ >= 1.
func thm21(sides thm21Side) func(*T) {
	return func(t *T) {
		c := drawOLM(t)
		mo, err := theory.OLMPopulation(c.s, c.jac, c.u)
		if err != nil {
			t.Fatalf("%s: OLMPopulation: %v", c.desc, err)
		}
		d, p := mo.D, mo.P
		closed, sigma := sides.closed(mo), sides.sigma(mo)
		// Entry (i,j) of either side is J_iᵀ X J_j for a d x d matrix X of
		// size at most K0 = ‖S‖²‖u‖² times: 9d⁴ for the rule's moment (see
		// moment4Tol), d and d² for SuuᵀS and (uᵀSu)S on magnitudes. So the
		// rounding of both sides is within ‖J_i‖‖J_j‖·K0·cID, with the
		// rule's own error moment4Tol on top.
		k0 := c.top * c.top * sq(floatsNorm(c.u))
		df := float64(d)
		cID := moment4Tol(d) + gamma(2*d+6)*(9*math.Pow(df, 5)+4*df*df)
		colNorm := make([]float64, p)
		for j := range colNorm {
			colNorm[j] = mat.Norm(c.jac.ColView(j), 2)
		}
		tol := func(i, j int) float64 { return colNorm[i] * colNorm[j] * k0 * cID }
		for i := 0; i < p; i++ {
			for j := i; j < p; j++ {
				t.Close(fmt.Sprintf("%s: Σ[%d,%d] = (∇L∇Lᵀ + 2LG)[%d,%d]", c.desc, i, j, i, j), sigma.At(i, j), closed.At(i, j), tol(i, j))
			}
		}

		mu, mu1, mu2, err := mo.Alignment()
		if err != nil {
			t.Tally("L = 0 or G = 0: μ undefined")
			return
		}
		// μ = Tr(ΣG)/(2L‖G‖_F²). Tr(ΣG) is within Σ tol_ij|G_ij| (Σ) plus
		// Σ|Σ_ij|·δG_ij with δG_ij <= γ_{2d+2}‖J_i‖‖J_j‖·d‖S‖, plus the
		// γ_{p²} of the trace sum. The denominator: L within γ_{2d+2}·d‖S‖‖u‖²,
		// ‖G‖_F² within 2(‖δG‖_F/‖G‖_F + γ_{p²}) relatively.
		froG := mat.Norm(mo.G, 2)
		var dTr, dTr1, absTr, absTr1, dGF float64
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				dG := gamma(2*d+2) * colNorm[i] * colNorm[j] * df * c.top
				g := math.Abs(mo.G.At(i, j))
				dTr += tol(i, j)*g + math.Abs(mo.Sigma.At(i, j))*dG
				dTr1 += tol(i, j)*g + math.Abs(mo.Sigma1.At(i, j))*dG
				absTr += math.Abs(mo.Sigma.At(i, j)) * g
				absTr1 += math.Abs(mo.Sigma1.At(i, j)) * g
				dGF += dG * dG
			}
		}
		relDen := gamma(2*d+2)*df*c.top*sq(floatsNorm(c.u))/(2*mo.Loss) + 2*(math.Sqrt(dGF)/froG+gamma(p*p))
		if relDen > 0.01 {
			t.Tally("2L‖G‖² at the rounding level: μ not checked")
			return
		}
		denom := 2 * mo.Loss * froG * froG
		tolMu := (dTr+gamma(p*p)*absTr)/denom + math.Abs(mu)*2*relDen
		tolMu1 := (dTr1+gamma(p*p)*absTr1)/denom + math.Abs(mu1)*2*relDen
		t.AtLeast(c.desc+": μ >= 1", mu, 1, tolMu)
		t.AtLeast(c.desc+": μ1 >= μ", mu1, mu, tolMu+tolMu1)
		t.AtLeast(c.desc+": μ2 >= 0", mu2, 0, tolMu+tolMu1)
		t.Tally("μ checked")
	}
}

// jacobianFD checks ∇F of the deep linear network and of the quadratic
// model against central differences. θ is drawn on a dyadic grid
// (integers times 2^s) and the step is h = 2^s, so θ ± h·e_k is exact. F is
// affine in each single parameter of a deep linear network (each appears in
// one layer) and quadratic in each of the quadratic model, so the central
// difference (F(θ+he_k) - F(θ-he_k))/(2h) equals ∂F/∂θ_k exactly: the only
// error is rounding. F computed as a product of L matrices is within
// γ_k·F(|θ|) entrywise (k = Σ dims + L operations in sequence; for the
// quadratic model k = 3 on a²+b²), and so is the analytic ∇F within
// γ_k·∇F(|θ|); dividing by 2h is exact. ∇F is what jacobian computes.
func jacobianFD(jacobian func(m models.OLM, theta []float64) (*mat.Dense, error)) func(*T) {
	return func(t *T) {
		d := rapid.IntRange(1, 5).Draw(t.T, "d")
		m := olmModel(t, d)
		p := m.NumParams()
		s := rapid.IntRange(-30, 10).Draw(t.T, "log2 grid")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t.T, "θ seed"), 7))
		theta := make([]float64, p)
		for i := range theta {
			theta[i] = math.Ldexp(float64(rng.IntN(1<<21)-1<<20), s)
		}
		h := math.Ldexp(1, s)
		jac, err := jacobian(m, theta)
		if err != nil {
			t.Fatalf("Jacobian: %v", err)
		}
		k, _, jmag := magnitudes4(t, m, theta)
		for c := 0; c < p; c++ {
			plus, minus := append([]float64(nil), theta...), append([]float64(nil), theta...)
			plus[c] += h
			minus[c] -= h
			fp, fm := mustF(t, m, plus), mustF(t, m, minus)
			_, magP, _ := magnitudes4(t, m, plus)
			_, magM, _ := magnitudes4(t, m, minus)
			for i := 0; i < d; i++ {
				fd := (fp[i] - fm[i]) / (2 * h)
				tol := gamma(k)*(magP[i]+magM[i])/(2*h) + gamma(k)*jmag.At(i, c) + 2*u*math.Abs(fd)
				t.Close(fmt.Sprintf("%T %v θ=%v: ∂F_%d/∂θ_%d", m, m, theta, i, c), jac.At(i, c), fd, tol)
			}
		}
	}
}

// magnitudes4 returns the operation count k and the entrywise magnitudes
// of F and ∇F (the values with |θ| and no cancellation) for the FD check.
func magnitudes4(t *T, m models.OLM, theta []float64) (int, []float64, *mat.Dense) {
	abs := make([]float64, len(theta))
	for i, x := range theta {
		abs[i] = math.Abs(x)
	}
	switch mm := m.(type) {
	case models.DeepLinear:
		k := mm.Depth()
		for _, w := range mm.Dims {
			k += w
		}
		jm, err := mm.Jacobian(abs)
		if err != nil {
			t.Fatalf("Jacobian: %v", err)
		}
		return k, mustF(t, mm, abs), jm
	case models.Quadratic:
		mag := make([]float64, mm.D)
		for i := range mag {
			mag[i] = abs[i]*abs[i] + abs[mm.D+i]*abs[mm.D+i]
		}
		return 3, mag, mat.NewDense(mm.D, 2*mm.D, nil)
	}
	t.Fatalf("no magnitude for %T", m)
	return 0, nil, nil
}

func mustF(t *T, m models.OLM, theta []float64) []float64 {
	t.Helper()
	f, err := m.F(theta)
	if err != nil {
		t.Fatalf("F: %v", err)
	}
	return f
}
