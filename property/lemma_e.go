package property

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/theory"
)

// lemma-e.1 and lemma-e.2 (Appendix E): the two technical lemmas behind
// Lemma 3.2, Theorem 3.3 and Proposition 3.4, over PSD H = QᵀQ/n built from
// hard-corner features (rank-deficient, condition up to 1e12).

func init() {
	addCheck("lemma-e.1", Check{Name: "bound", Kind: Property, Run: lemmaE1(lemmaE1Forms)})
	h2ForH3, equalityWithout2 := lemmaE1Forms, lemmaE1Forms
	h2ForH3.g = lemmaE1H2
	equalityWithout2.equalityA = func(b, lambda float64) float64 { return b * lambda }
	addControl("lemma-e.1", Control{Name: "H2-for-H3", Wrong: "b·θᵀH²θ/θᵀHθ in place of b·θᵀH³θ/θᵀHθ",
		Run: lemmaE1(h2ForH3)})
	addControl("lemma-e.1", Control{Name: "equality-without-2", Wrong: "equality claimed when a/b (not a/(2b)) is an eigenvalue",
		Run: lemmaE1(equalityWithout2)})
	addCheck("lemma-e.2", Check{Name: "growth-factor", Kind: Property, Run: lemmaE2(theory.GrowthFactor)})
	addControl("lemma-e.2", Control{Name: "H2-for-H3", Wrong: "r = 1 - 2ηθᵀH²θ/θᵀHθ + η²θᵀH²θ/θᵀHθ",
		Run: lemmaE2(growthFactorH2)})
}

// lemmaE1Form is Lemma E.1 as a check reads it: g(a, b, θ) = -aR2 + bR3,
// and the a at which g reaches its bound -a²/(4b) on the eigenvector of an
// eigenvalue λ of H.
type lemmaE1Form struct {
	g         func(h mat.Symmetric, theta []float64, a, b float64) (float64, error)
	equalityA func(b, lambda float64) float64
}

// lemmaE1Forms are theory.LemmaE1 and Lemma E.1's equality case a = 2bλ.
var lemmaE1Forms = lemmaE1Form{
	g:         theory.LemmaE1,
	equalityA: func(b, lambda float64) float64 { return 2 * b * lambda },
}

// lemmaE1H2 is g with R2 in place of R3: -aR2 + bR2.
func lemmaE1H2(h mat.Symmetric, theta []float64, a, b float64) (float64, error) {
	r2, _, err := theory.RayleighRatios(h, theta)
	return -a*r2 + b*r2, err
}

// growthFactorH2 is r(θ) with R2 in place of R3: 1 - 2ηR2 + η²R2.
func growthFactorH2(h mat.Symmetric, theta []float64, eta float64) (float64, error) {
	r2, _, err := theory.RayleighRatios(h, theta)
	return 1 - 2*eta*r2 + eta*eta*r2, err
}

// hessianCase is a PSD H = QᵀQ/n with its spectrum, and a θ.
type hessianCase struct {
	h      *mat.SymDense
	lambda []float64 // ascending
	vecs   *mat.Dense
	froH   float64
	top    float64 // λ_1
	theta  []float64
	kappa  float64 // λ_1‖θ‖²/θᵀHθ: the condition of the ratios θᵀH^kθ/θᵀHθ
}

func drawHessian(t *T) (hessianCase, bool) {
	b := fixtures.DefaultBounds
	b.MaxP = 10
	spec := fixtures.Features(b).Draw(t.T, "features")
	q := normalized(spec.Build())
	n, p := spec.N, spec.P
	h := mat.NewSymDense(p, nil)
	qm := mat.NewDense(n, p, q)
	h.SymOuterK(1/float64(n), qm.T())
	var es mat.EigenSym
	if !es.Factorize(h, true) {
		t.Fatalf("eigen-decomposition of a PSD H failed")
	}
	hc := hessianCase{h: h, lambda: es.Values(nil), vecs: &mat.Dense{}, froH: mat.Norm(h, 2)}
	hc.top = hc.lambda[p-1]
	es.VectorsTo(hc.vecs)
	hc.theta = fixtures.Theta(p, 100).Draw(t.T, "theta")
	th := mat.NewVecDense(p, hc.theta)
	quad := mat.Inner(th, h, th)
	if !(quad > 0) {
		t.Tally("θ in the null space of H (skipped)")
		return hc, false
	}
	hc.kappa = hc.lambda[p-1] * mat.Dot(th, th) / quad
	return hc, true
}

// ratioTol bounds the error of a·R2 + b·R3 computed from Hθ and H²θ: each
// θᵀH^kθ is within γ_{(k+1)p}·‖H‖_F^k·‖θ‖², so each ratio R_k is within
// about 2γ_{3p}·κ·‖H‖_F^(k-1) (κ = ‖H‖_F‖θ‖²/θᵀHθ), plus its own rounding.
func (hc hessianCase) ratioTol(a, b float64) float64 {
	p := len(hc.theta)
	k := hc.kappa * hc.froH / hc.lambda[p-1]
	return 4 * gamma(3*p+4) * k * (a*hc.froH + b*hc.froH*hc.froH)
}

// lemmaE1 checks Lemma E.1 in the form handed to it: g(a, b, θ) >= -a²/(4b)
// at a drawn θ, with a and b over twelve decades, and equality at the
// eigenvector of an eigenvalue λ with a = form.equalityA(b, λ).
func lemmaE1(form lemmaE1Form) func(*T) {
	return func(t *T) {
		hc, ok := drawHessian(t)
		if !ok {
			return
		}
		p, top := len(hc.theta), hc.top
		// a and b span twelve decades around the scale of H.
		b := math.Pow(10, rapid.Float64Range(-6, 6).Draw(t.T, "log10 b"))
		a := b * top * math.Pow(10, rapid.Float64Range(-6, 6).Draw(t.T, "log10 a/(b λ_1)"))
		gab := lemmaE1Value(t, form, hc.h, hc.theta, a, b)
		t.AtLeast("g(a,b,θ) >= -a²/(4b)", gab, theory.LemmaE1Bound(a, b), hc.ratioTol(a, b))

		// Equality: θ = an eigenvector of H for λ > 0, a = 2bλ.
		// Among the eigenvalues clear of the rounding level (λ_1 always is),
		// counted from the top so that shrinking goes to λ_1.
		floor := float64(p) * u * top * 1e3
		resolved := 0
		for _, l := range hc.lambda {
			if l > floor {
				resolved++
			}
		}
		j := p - 1 - rapid.IntRange(0, resolved-1).Draw(t.T, "eigenvalue index from the top")
		lam := hc.lambda[j]
		a = form.equalityA(b, lam)
		vec := mat.Col(nil, j, hc.vecs)
		eq := lemmaE1Value(t, form, hc.h, vec, a, b)
		// The computed eigenvector has residual ‖Hv - λv‖ <= 4p·u·‖H‖_F, and
		// g - bound = b‖H^{1/2}(H - λ)v‖²/vᵀHv is second order in it.
		kappa := top / lam
		tol := 4*gamma(3*p+4)*kappa*(a*hc.froH+b*hc.froH*hc.froH) + b*hc.froH*sq(4*float64(p)*u*hc.froH)/lam
		t.Close("g = -a²/(4b) at an eigenvector with a/(2b) = λ", eq, theory.LemmaE1Bound(a, b), tol)
		t.Tally("equality case checked")
	}
}

func lemmaE1Value(t *T, form lemmaE1Form, h mat.Symmetric, theta []float64, a, b float64) float64 {
	t.Helper()
	g, err := form.g(h, theta, a, b)
	if err != nil {
		t.Fatalf("LemmaE1: %v", err)
	}
	return g
}

// lemmaE2 checks Lemma E.2 on the growth factor r(θ) = 1 - 2ηR2 + η²R3 as
// computed by growth, against theory.GrowthFactorU's ‖ηHu - u‖².
func lemmaE2(growth func(h mat.Symmetric, theta []float64, eta float64) (float64, error)) func(*T) {
	return func(t *T) {
		hc, ok := drawHessian(t)
		if !ok {
			return
		}
		p, top := len(hc.theta), hc.top
		edge := 2 / top
		eta := fixtures.EtaAround(edge, 3, 1).Draw(t.T, "eta")
		r, err := growth(hc.h, hc.theta, eta)
		if err != nil {
			t.Fatalf("GrowthFactor: %v", err)
		}
		ru, err := theory.GrowthFactorU(hc.h, hc.theta, eta)
		if err != nil {
			t.Fatalf("GrowthFactorU: %v", err)
		}
		// Both forms are quadratic forms in the unit vector u with matrix
		// (ηH - I)², of norm <= (1 + ηλ_1)²; a backward-stable evaluation
		// perturbs H by ~p·u·‖H‖, which moves them by that times κ.
		tol := 16 * float64(p+4) * u * sq(1+eta*top) * hc.kappa
		t.Close("1 - 2ηR2 + η²R3 = ‖ηHu - u‖²", r, ru, tol)
		t.AtLeast("r(θ) >= 0", ru, 0, tol)
		switch {
		case eta <= edge:
			t.AtMost("r(θ) <= 1 when η <= 2/λ_1", ru, 1, tol)
			t.Tally("η <= 2/λ_1")
		default:
			// The condition is sharp: at the top eigenvector r = (ηλ_1 - 1)² > 1.
			top := mat.Col(nil, p-1, hc.vecs)
			rt, err := theory.GrowthFactorU(hc.h, top, eta)
			if err != nil {
				t.Fatalf("GrowthFactorU: %v", err)
			}
			t.Close("r(v_1) = (ηλ_1 - 1)²", rt, sq(eta*hc.lambda[p-1]-1), tol)
			t.Tally("η > 2/λ_1")
		}
		if math.Abs(eta/edge-1) <= 0.1 {
			t.Tally("η within 10% of 2/λ_1")
		}
	}
}
