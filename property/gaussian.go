package property

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/theory"
)

// lemma-c1 (Appendix C): E[(vᵀz)² z zᵀ] = 2 S v vᵀ S + ‖S^{1/2} v‖² S for
// z ~ N(0, S), checked exactly against the tensor Gauss–Hermite rule (which
// is exact for this degree-4 moment and does not assume the lemma), and
// statistically against seeded Monte Carlo.

func init() {
	addCheck("lemma-c1", Check{Name: "gauss-hermite", Kind: Exact, Run: lemmaC1Exact(theory.LemmaC1)})
	addCheck("lemma-c1", Check{Name: "monte-carlo", Kind: Statistical, Run: lemmaC1MonteCarlo(theory.LemmaC1), Cases: mcCases})
	addControl("lemma-c1", Control{Name: "factor-2-dropped", Wrong: "E[(vᵀz)² z zᵀ] = S v vᵀ S + ‖S^{1/2}v‖² S: the 2 dropped",
		Run: lemmaC1Exact(lemmaC1Without2)})
	addControl("lemma-c1", Control{Name: "factor-2-dropped-mc", Wrong: "the same dropped 2, caught by the Monte Carlo check alone",
		Run: lemmaC1MonteCarlo(lemmaC1Without2)})
}

// gaussianBounds: d <= 5 keeps the rule at 3^5 = 243 nodes; the scale range
// keeps ‖S‖²‖v‖² (up to 1e±240) normal.
var gaussianBounds = fixtures.CovarianceBounds{MaxD: 5, MaxLogCond: 12, MaxLogScale: 60}

// gaussianCase is a drawn covariance S and vector v.
type gaussianCase struct {
	spec fixtures.CovarianceSpec
	s    *mat.SymDense
	v    []float64
	top  float64 // ‖S‖_2, the largest prescribed eigenvalue
}

func drawGaussian(t *T) gaussianCase {
	spec := fixtures.Covariance(gaussianBounds).Draw(t.T, "S")
	v := fixtures.Vector(spec.D, 60).Draw(t.T, "v")
	if spec.Rank < spec.D {
		t.Tally("S singular")
	}
	if spec.LogCond >= 8 {
		t.Tally("cond(S) >= 1e8")
	}
	return gaussianCase{spec: spec, s: mat.NewSymDense(spec.D, spec.Build()), v: v, top: spec.Eigenvalues()[0]}
}

// moment4Tol bounds |M̂_ab - M_ab| for M = E[(vᵀz)² z zᵀ] computed by the
// rule, relative to ‖S‖_2²‖v‖². Two sources:
//   - the eigen-decomposition: Û Λ̂ Ûᵀ = S + E with ‖E‖_2 <= 4d·u·‖S‖_2
//     (backward-stable Dsyev), plus the dropped non-positive eigenvalues, of
//     the same size; M is quadratic in S with ‖∂M‖ <= 6‖S‖‖v‖², so
//     48d·u;
//   - the sum over 3^r nodes: each z_k = Σ_j ξ_j c_j has ‖z_k‖ <=
//     r·sqrt(3‖S‖), so every term is at most 9r⁴‖S‖²‖v‖² times its weight
//     (weights sum to 1), computed in at most N + 2r + 2d + 8 operations in
//     sequence: γ_{N+2r+2d+8}·9r⁴.
func moment4Tol(d int) float64 {
	nodes := int(math.Pow(3, float64(d)))
	r4 := math.Pow(float64(d), 4)
	return 48*float64(d)*u + gamma(nodes+4*d+8)*9*r4
}

// moment4Form is a closed form of E[(vᵀz)² z zᵀ] for z ~ N(0, S): the
// checks hold the expectation to theory.LemmaC1, a control to a wrong one.
type moment4Form func(s mat.Symmetric, v []float64) (*mat.SymDense, error)

func lemmaC1Exact(form moment4Form) func(*T) {
	return func(t *T) {
		c := drawGaussian(t)
		rule, err := theory.NewGaussianRule(c.s)
		if err != nil {
			t.Fatalf("NewGaussianRule(%v): %v", c.spec, err)
		}
		got, err := rule.WeightedSecondMoment(c.v)
		if err != nil {
			t.Fatalf("WeightedSecondMoment: %v", err)
		}
		want := lemmaC1Form(t, form, c.s, c.v)
		scale := c.top * c.top * sq(floatsNorm(c.v))
		// The closed form: Sv (d ops), vᵀSv (2d), each entry <= 3 more, on
		// magnitudes |S||v| <= sqrt(d)‖S‖‖v‖: γ_{3d+4}·3d relative to scale.
		tol := (moment4Tol(c.spec.D) + gamma(3*c.spec.D+4)*3*float64(c.spec.D)) * scale
		for i := 0; i < c.spec.D; i++ {
			for j := i; j < c.spec.D; j++ {
				t.Close(fmt.Sprintf("%v v=%v: M[%d,%d]", c.spec, c.v, i, j), got.At(i, j), want.At(i, j), tol)
			}
		}
	}
}

// lemmaC1Form evaluates form, failing the case on an error (the inputs are
// valid by construction).
func lemmaC1Form(t *T, form moment4Form, s *mat.SymDense, v []float64) *mat.SymDense {
	t.Helper()
	m, err := form(s, v)
	if err != nil {
		t.Fatalf("LemmaC1: %v", err)
	}
	return m
}

// lemmaC1Without2 is Lemma C.1 with its factor 2 dropped:
// S v vᵀ S + ‖S^{1/2}v‖² S.
func lemmaC1Without2(s mat.Symmetric, v []float64) (*mat.SymDense, error) {
	m, err := theory.LemmaC1(s, v)
	if err != nil {
		return nil, err
	}
	d := len(v)
	sv := mat.NewVecDense(d, nil)
	sv.MulVec(s, mat.NewVecDense(d, v))
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			m.SetSym(i, j, m.At(i, j)-sv.AtVec(i)*sv.AtVec(j))
		}
	}
	return m, nil
}

// The Monte Carlo check: mcSamples draws of z per case, mcCases cases.
// Each entry of the sample mean of (vᵀz)² z zᵀ is compared with the closed
// form by its z-score against the sample standard error. The family is the
// d(d+1)/2 <= 15 entries of each of mcCases cases; with a per-entry
// two-sided threshold at the normal quantile of mcFalseAlarm/(15·mcCases)
// (Bonferroni), the nominal family-wise false-alarm rate of one run is
// mcFalseAlarm. The statistic is a mean of 20000 i.i.d. degree-4
// polynomials of Gaussians; the normal approximation to its tail is the
// stated assumption.
const (
	mcCases      = 20
	mcSamples    = 20000
	mcFalseAlarm = 1e-6
)

func lemmaC1MonteCarlo(form moment4Form) func(*T) {
	return func(t *T) {
		c := drawGaussian(t)
		d := c.spec.D
		seed := rapid.Uint64().Draw(t.T, "monte carlo seed")
		// Work on S/‖S‖ and v/‖v‖: the moment scales exactly as ‖S‖²‖v‖².
		sn, vn := scaledSym(c.s, 1/c.top), scaledVec(c.v, 1/floatsNorm(c.v))
		root := sqrtFactor(t, sn)
		rng := rand.New(rand.NewPCG(seed, 11))
		sum := make([]float64, d*d)
		sumSq := make([]float64, d*d)
		z := make([]float64, d)
		for k := 0; k < mcSamples; k++ {
			xi := fixtures.Gaussians(rng, d)
			vz := 0.0
			for i := range z {
				z[i] = 0
				for j := range xi {
					z[i] += root.At(i, j) * xi[j]
				}
				vz += vn[i] * z[i]
			}
			for i := 0; i < d; i++ {
				for j := i; j < d; j++ {
					x := vz * vz * z[i] * z[j]
					sum[i*d+j] += x
					sumSq[i*d+j] += x * x
				}
			}
		}
		want := lemmaC1Form(t, form, sn, vn)
		entries := d * (d + 1) / 2
		zMax := normalQuantile(1 - mcFalseAlarm/(2*15*mcCases))
		nf := float64(mcSamples)
		for i := 0; i < d; i++ {
			for j := i; j < d; j++ {
				mean := sum[i*d+j] / nf
				variance := (sumSq[i*d+j]/nf - mean*mean) * nf / (nf - 1)
				se := math.Sqrt(math.Max(variance, 0) / nf)
				// Beyond the sampling error: the sampled z = Rξ has covariance
				// R Rᵀ = S + E with ‖E‖_2 <= 8d·u (eigen-decomposition, as in
				// moment4Tol), which moves the mean by <= 48d·u; the closed
				// form is within γ_{3d+4}·3d (see lemmaC1Exact). This term
				// matters only where the entry vanishes (z_i ≡ 0 on a
				// singular S), where se is itself at the rounding level.
				tol := zMax*se + 48*float64(d)*u + gamma(3*d+4)*3*float64(d)
				t.Close(fmt.Sprintf("%v: mean of (vᵀz)² z_%d z_%d (z-threshold %.2f over %d entries)", c.spec, i, j, zMax, entries),
					mean, want.At(i, j), tol)
			}
		}
	}
}

// sqrtFactor returns R with R Rᵀ = S for S positive semi-definite, from
// its eigen-decomposition (a Cholesky factor does not exist when S is
// singular).
func sqrtFactor(t *T, s *mat.SymDense) *mat.Dense {
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		t.Fatalf("eigen-decomposition failed")
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	d := s.SymmetricDim()
	r := mat.NewDense(d, d, nil)
	for k, l := range es.Values(nil) {
		root := math.Sqrt(math.Max(l, 0))
		for i := 0; i < d; i++ {
			r.Set(i, k, vecs.At(i, k)*root)
		}
	}
	return r
}

// normalQuantile is the standard normal quantile Φ^{-1}(p), 0 < p < 1.
func normalQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

func scaledSym(s *mat.SymDense, c float64) *mat.SymDense {
	out := mat.NewSymDense(s.SymmetricDim(), nil)
	out.ScaleSym(c, s)
	return out
}

func scaledVec(v []float64, c float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * c
	}
	return out
}

func floatsNorm(v []float64) float64 {
	return mat.Norm(mat.NewVecDense(len(v), append([]float64(nil), v...)), 2)
}
