package theory

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// OLMMoments are the population (online, n = ∞) moments of an
// over-parameterized linear model f(x; θ) = F(θ)ᵀx with x ~ N(0, S) and
// labels y = F(θ*)ᵀx (no label noise), at one θ (Section 2.1, Appendix C).
// With J = ∇F(θ) (d x p) and u = F(θ) - F(θ*), the residual is uᵀx and the
// per-sample gradient Jᵀx.
type OLMMoments struct {
	D, P int
	// Loss L = E[(uᵀx)²]/2 = uᵀSu/2.
	Loss float64
	// Grad ∇L = E[(uᵀx) Jᵀx] = JᵀSu.
	Grad []float64
	// G = E[Jᵀx xᵀJ] = JᵀSJ.
	G *mat.SymDense
	// Sigma1 = E[(uᵀx)² Jᵀx xᵀJ] = Jᵀ E[(uᵀx)² x xᵀ] J, the fourth moment
	// taken by the exact GaussianRule, not by Lemma C.1.
	Sigma1 *mat.SymDense
	// Sigma2 = ∇L ∇Lᵀ, and Sigma = Sigma1 - Sigma2.
	Sigma2, Sigma *mat.SymDense
}

// OLMPopulation computes the population moments from S (d x d, positive
// semi-definite, d <= MaxQuadratureDim), J = ∇F(θ) (d x p) and
// u = F(θ) - F(θ*) (length d).
func OLMPopulation(s mat.Symmetric, jac mat.Matrix, u []float64) (OLMMoments, error) {
	rule, err := NewGaussianRule(s)
	if err != nil {
		return OLMMoments{}, err
	}
	d := rule.D
	if jac == nil {
		return OLMMoments{}, inputErr(ErrEmpty, "J", NoIndex, NoIndex, "nil")
	}
	r, p := jac.Dims()
	if r != d || p == 0 {
		return OLMMoments{}, inputErr(ErrShape, "J", NoIndex, NoIndex, "J is %d x %d, want %d x p with p >= 1", r, p, d)
	}
	for i := 0; i < d; i++ {
		for j := 0; j < p; j++ {
			if v := jac.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return OLMMoments{}, inputErr(ErrNotFinite, "J", i, j, "value %v", v)
			}
		}
	}
	m4, err := rule.WeightedSecondMoment(u)
	if err != nil {
		return OLMMoments{}, err
	}
	uv := mat.NewVecDense(d, append([]float64(nil), u...))
	su := mat.NewVecDense(d, nil)
	su.MulVec(s, uv)
	grad := mat.NewVecDense(p, nil)
	grad.MulVec(jac.T(), su)

	mo := OLMMoments{D: d, P: p, Loss: mat.Dot(uv, su) / 2, Grad: grad.RawVector().Data}
	mo.G = sandwich(jac, s)
	mo.Sigma1 = sandwich(jac, m4)
	mo.Sigma2 = mat.NewSymDense(p, nil)
	mo.Sigma2.SymOuterK(1, grad)
	mo.Sigma = mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			mo.Sigma.SetSym(i, j, mo.Sigma1.At(i, j)-mo.Sigma2.At(i, j))
		}
	}
	return mo, nil
}

// sandwich returns Jᵀ X J (p x p) for J (d x p) and X (d x d) symmetric.
func sandwich(jac mat.Matrix, x mat.Symmetric) *mat.SymDense {
	_, p := jac.Dims()
	var xj, out mat.Dense
	xj.Mul(x, jac)
	out.Mul(jac.T(), &xj)
	sym := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			sym.SetSym(i, j, out.At(i, j))
		}
	}
	return sym
}

// Theorem21Sigma returns the closed form of Theorem 2.1,
// Σ = ∇L ∇Lᵀ + 2 L G.
func (m OLMMoments) Theorem21Sigma() *mat.SymDense {
	out := mat.NewSymDense(m.P, nil)
	for i := 0; i < m.P; i++ {
		for j := i; j < m.P; j++ {
			out.SetSym(i, j, m.Grad[i]*m.Grad[j]+2*m.Loss*m.G.At(i, j))
		}
	}
	return out
}

// Alignment returns μ = Tr(ΣG)/(2L‖G‖_F²) and μ1, μ2 (eq. 3) of the
// population moments, from the p x p matrices. It reports ErrZeroLoss when
// L = 0 and ErrZeroGram when G = 0.
func (m OLMMoments) Alignment() (mu, mu1, mu2 float64, err error) {
	if !(m.Loss > 0) {
		return 0, 0, 0, inputErr(ErrZeroLoss, "u", NoIndex, NoIndex, "uᵀSu = 0")
	}
	froG := mat.Norm(m.G, 2)
	if froG == 0 {
		return 0, 0, 0, inputErr(ErrZeroGram, "J", NoIndex, NoIndex, "JᵀSJ = 0")
	}
	denom := 2 * m.Loss * froG * froG
	tr := func(a mat.Symmetric) float64 {
		t := 0.0
		for i := 0; i < m.P; i++ {
			for j := 0; j < m.P; j++ {
				t += a.At(i, j) * m.G.At(j, i)
			}
		}
		return t
	}
	return tr(m.Sigma) / denom, tr(m.Sigma1) / denom, tr(m.Sigma2) / denom, nil
}
