package oracle

import (
	"errors"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/internal/reference"
	"github.com/flatmin/flatmin/theory"
)

// The oracle's own tests: closed forms, the two routes to η*, the
// structured ρ against the dense operator (package internal/reference), and
// speed. Its validation against brute-force enumeration of batches, and
// every Section 3 claim, are in the ledger (property: sec3.go, lemma32.go,
// thm33.go, thm36.go, sec33.go).

func mustOracle(t testing.TB, spec fixtures.FeatureSpec) *Oracle {
	t.Helper()
	o, err := NewOracle(spec.Build(), spec.N, spec.P)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// relClose reports |got - want| <= tol·|want|.
func relClose(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Abs(want) }

// referenceOf is d as the dense reference sees it: the oracle's own basis
// (features Â and eigenvalues ĥ, scaled by 2^-kExp, so that the reference
// takes the scaled learning rate η̂ = 2^kExp η) and d's noise.
func referenceOf(t testing.TB, d *Dynamics) (*reference.Model, reference.Noise) {
	t.Helper()
	o := d.o
	md, err := reference.NewModel(o.a, o.h)
	if err != nil {
		t.Fatal(err)
	}
	switch d.kind {
	case sgdNoise:
		return md, reference.Noise{Kind: reference.SGD, C1: d.mom.C1, C2: d.mom.C2}
	case geometryAware:
		return md, reference.Noise{Kind: reference.GeometryAware, B: d.batch}
	case isotropic:
		return md, reference.Noise{Kind: reference.Isotropic, B: d.batch, P: o.p}
	}
	t.Fatalf("no dense reference for noise kind %d", d.kind)
	return nil, reference.Noise{}
}

// TestMomentsFamily: every sampling has C1 + n·C2 = 1, the noise fraction
// without replacement is (n-B)/(n-1) of that with, and B = n without
// replacement is GD.
func TestMomentsFamily(t *testing.T) {
	for n := 1; n <= 9; n++ {
		for b := 1; b <= n; b++ {
			w, err := WithReplacement.Moments(n, b)
			if err != nil {
				t.Fatal(err)
			}
			wo, err := WithoutReplacement.Moments(n, b)
			if err != nil {
				t.Fatal(err)
			}
			nf := float64(n)
			for _, m := range []BatchMoments{w, wo} {
				if !(math.Abs(m.C1+nf*m.C2-1) <= 4*unitRoundoff) {
					t.Errorf("n=%d B=%d: C1 + nC2 = %v", n, b, m.C1+nf*m.C2)
				}
			}
			if n > 1 && !relClose(wo.C2, w.C2*(nf-float64(b))/(nf-1), 4*unitRoundoff) {
				t.Errorf("n=%d B=%d: C2 without = %v, want %v·(n-B)/(n-1)", n, b, wo.C2, w.C2)
			}
		}
		if m, _ := WithoutReplacement.Moments(n, n); n > 1 && (m.C1 != 1 || m.C2 != 0) {
			t.Errorf("n=%d: B = n without replacement is %+v, not GD", n, m)
		}
	}
	if _, err := WithoutReplacement.Moments(3, 4); !errors.Is(err, theory.ErrParam) {
		t.Errorf("B > n without replacement: err = %v, want ErrParam", err)
	}
}

// TestRankOneClosedForm: all g_i = c_i v. Then T is the scalar
// 1 - 2ηh + η²h²(1 + νμ) with h = mean c², μ = (mean c⁴ - h²)/h² and ν the
// noise fraction, so η* = 2/(h(1 + νμ)) and μ0 = μ.
func TestRankOneClosedForm(t *testing.T) {
	c := []float64{1, -2, 0.5, 3, 1.5}
	v := []float64{0.6, 0, -0.8}
	n, p := len(c), len(v)
	q := make([]float64, n*p)
	h, m4 := 0.0, 0.0
	for i, ci := range c {
		for j, vj := range v {
			q[i*p+j] = ci * vj
		}
		h += ci * ci / float64(n)
		m4 += ci * ci * ci * ci / float64(n)
	}
	mu := (m4 - h*h) / (h * h)
	o, err := NewOracle(q, n, p)
	if err != nil {
		t.Fatal(err)
	}
	if o.Rank() != 1 {
		t.Fatalf("rank %d, want 1", o.Rank())
	}
	// μ0 and μ1_0 are eigenvalues of 1 x 1 matrices built from a few dozen
	// operations on the eigen-decomposition of K: a few hundred ulps.
	mu0, err0 := o.Mu0()
	mu10, err10 := o.Mu10()
	if err0 != nil || err10 != nil {
		t.Fatal(err0, err10)
	}
	if !relClose(mu0, mu, 1e-13) || !relClose(mu10, m4/(h*h), 1e-13) {
		t.Errorf("μ0 = %v, μ1_0 = %v; want %v, %v", mu0, mu10, mu, m4/(h*h))
	}
	for b := 1; b <= n; b++ {
		for _, s := range []Sampling{WithReplacement, WithoutReplacement} {
			m, _ := s.Moments(n, b)
			nu := float64(n) * m.C2
			d, err := o.SGD(b, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.CriticalRate()
			if err != nil {
				t.Fatal(err)
			}
			want := 2 / (h * (1 + nu*mu))
			if !relClose(got, want, 1e-13) {
				t.Errorf("B=%d %v: η* = %.17g, want %.17g", b, s, got, want)
			}
			rho, err := d.SpectralRadius(0.5 * want)
			if err != nil {
				t.Fatal(err)
			}
			e := 0.5 * want
			if wantRho := 1 - 2*e*h + e*e*h*h*(1+nu*mu); !relClose(rho, wantRho, 1e-13) {
				t.Errorf("B=%d %v: ρ(η*/2) = %v, want %v", b, s, rho, wantRho)
			}
		}
	}
}

// TestCustomNoiseClosedForms: for a flat spectrum (r eigenvalues h) the
// geometry-aware η* is 2/(h(1 + r/B)) and the isotropic one
// 2/(h(1 + r²/(pB))): the equality cases of Section 3.3's bounds are r = B
// and r² = pB.
func TestCustomNoiseClosedForms(t *testing.T) {
	spec := fixtures.FeatureSpec{N: 7, P: 11, Rank: 4, Spectrum: fixtures.Flat, Seed: 3}
	o := mustOracle(t, spec)
	r, p := float64(o.Rank()), float64(spec.P)
	h := o.Eigenvalues()[0]
	for b := 1; b <= 6; b++ {
		bf := float64(b)
		ga, _ := o.GeometryAware(b)
		iso, _ := o.Isotropic(b)
		for _, c := range []struct {
			name string
			d    *Dynamics
			want float64
		}{
			{"geometry-aware", ga, 2 / (h * (1 + r/bf))},
			{"isotropic", iso, 2 / (h * (1 + r*r/(p*bf)))},
		} {
			got, err := c.d.CriticalRate()
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(got, c.want, 1e-12) {
				t.Errorf("%s B=%d: η* = %.17g, want %.17g", c.name, b, got, c.want)
			}
		}
	}
}

// oracleCases are small seeded feature sets reaching the corners.
var oracleCases = []fixtures.FeatureSpec{
	{N: 8, P: 5, Rank: 5, Spectrum: fixtures.Geometric, LogCond: 1, Seed: 1},
	{N: 6, P: 20, Rank: 6, Spectrum: fixtures.Flat, Seed: 2},
	{N: 5, P: 3, Rank: 1, Spectrum: fixtures.Flat, Seed: 3},
	{N: 12, P: 16, Rank: 12, Spectrum: fixtures.Geometric, LogCond: 12, Seed: 4},
	{N: 9, P: 9, Rank: 6, Spectrum: fixtures.Cliff, LogCond: 6, DupRows: 2, ZeroRows: 1, Seed: 5},
	{N: 10, P: 4, Rank: 4, Spectrum: fixtures.Dominant, LogCond: 3, LogScale: -120, Seed: 6},
}

// TestSpectralRoutes compares, for SGD with and without replacement, GD and
// the custom noises: ρ from the secular equation with ρ of the dense
// operator (a general eigensolver, no symmetry assumed), and η* from the
// generalized eigenproblem with η* by bisection on ρ. Both ρ are within a
// few hundred ulps of ‖T‖ <= 1 + η‖H‖_F(2 + η‖H‖_F) (backward-stable
// eigensolvers on operators built in O(r) operations per entry); the two
// η* agree to ρ's error over dρ/dη at η*.
func TestSpectralRoutes(t *testing.T) {
	for _, spec := range oracleCases {
		o := mustOracle(t, spec)
		var dyn []*Dynamics
		for b := 1; b <= 3; b++ {
			w, _ := o.SGD(b, WithReplacement)
			wo, _ := o.SGD(b, WithoutReplacement)
			ga, _ := o.GeometryAware(b)
			iso, _ := o.Isotropic(b)
			dyn = append(dyn, w, wo, ga, iso)
		}
		dyn = append(dyn, o.GD())
		for i, d := range dyn {
			star, err := d.CriticalRate()
			if err != nil {
				t.Fatal(err)
			}
			// Bisection on ρ from 1/λ_1, GD's half edge.
			bis, err := reference.CriticalRateBisection(d.SpectralRadius, math.Ldexp(1/o.h[0], -o.kExp))
			if err != nil {
				t.Fatal(err)
			}
			md, nz := referenceOf(t, d)
			rhoTol := func(eta float64) float64 {
				x := eta * o.FroH()
				return 512 * unitRoundoff * (1 + x*(2+x))
			}
			rho := func(eta float64) float64 {
				r, err := d.SpectralRadius(eta)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			// ρ(η) - 1 ≈ ρ'(η*)(η - η*), so bisection on ρ finds η* only to
			// ρ's error over ρ'(η*), which is tiny when T's top eigenvector
			// lives on flat directions (isotropic noise on an ill-conditioned
			// spectrum): the smaller one-sided difference slope bounds ρ'.
			const s = 1e-3
			slope := math.Min(rho(star*(1+s))-rho(star), rho(star)-rho(star*(1-s))) / (s * star)
			if tol := 4 * rhoTol(star) / slope; !(math.Abs(bis-star) <= tol) {
				t.Errorf("%v dynamics %d: η* = %.17g, by bisection %.17g (tolerance %.3g)", spec, i, star, bis, tol)
			}
			for _, f := range []float64{0.3, 0.9, 1, 1.1, 3} {
				eta := f * star
				naive, err := reference.NaiveSpectralRadius(md, nz, math.Ldexp(eta, o.kExp))
				if err != nil {
					t.Fatal(err)
				}
				if r := rho(eta); !(math.Abs(r-naive) <= rhoTol(eta)) {
					t.Errorf("%v dynamics %d η = %v·η*: ρ = %.17g, dense %.17g (tolerance %.3g)", spec, i, f, r, naive, rhoTol(eta))
				}
			}
		}
	}
}

// TestExpectedLossRecursion: E[L_t] from ExpectedLoss is Tr(R_t)/(2n) for
// R_t from Step, the loss of a point moment is ‖e‖²/(2n), and at 1.5 η* the
// loss grows.
func TestExpectedLossRecursion(t *testing.T) {
	o := mustOracle(t, oracleCases[0])
	d, _ := o.SGD(2, WithReplacement)
	e := []float64{1, -1, 0.5, 2, 0, 1, -3, 0.25}
	r, err := o.PointMoment(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := 16.3125 / 16; o.Loss(r) != want {
		t.Errorf("L(point moment) = %v, want %v", o.Loss(r), want)
	}
	star, _ := d.CriticalRate()
	// Zero steps is the loss at the start alone; negative steps are refused.
	if l0, err := d.ExpectedLoss(star, r, 0); err != nil || len(l0) != 1 || l0[0] != o.Loss(r) {
		t.Errorf("ExpectedLoss(0 steps) = %v, %v; want [%v]", l0, err, o.Loss(r))
	}
	if _, err := d.ExpectedLoss(star, r, -1); !errors.Is(err, theory.ErrParam) {
		t.Errorf("ExpectedLoss(-1 steps): error %v, want theory.ErrParam", err)
	}
	losses, err := d.ExpectedLoss(1.5*star, r, 30)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= 30; s++ {
		if r, err = d.Step(1.5*star, r); err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(losses[s]) != math.Float64bits(o.Loss(r)) {
			t.Fatalf("step %d: %v != %v", s, losses[s], o.Loss(r))
		}
	}
	if !(losses[30] > losses[0]) {
		t.Errorf("at 1.5 η* the loss did not grow: %v -> %v", losses[0], losses[30])
	}
}

// TestReducedMatchesResidual: the recursion Step runs on the residuals and
// the one reference.ReducedStep (the dense reference) writes in the basis
// V, on the oracle's own Â and ĥ, are the same operator, R = Â M Âᵀ:
// T(R) = Â T_V(M) Âᵀ entry by entry, both sides within a few dozen ulps of
// (1 + η‖H‖_F)²‖K‖²‖M‖ (chains of O(n + r) roundings).
func TestReducedMatchesResidual(t *testing.T) {
	for _, spec := range oracleCases {
		o := mustOracle(t, spec)
		r := o.Rank()
		m := mat.NewSymDense(r, nil)
		for k := 0; k < r; k++ {
			for l := k; l < r; l++ {
				m.SetSym(k, l, math.Sin(float64(3*k+7*l+1)))
			}
		}
		lift := func(x mat.Symmetric) *mat.SymDense {
			var ax, axa mat.Dense
			ax.Mul(o.a, x)
			axa.Mul(&ax, o.a.T())
			out := mat.NewSymDense(o.n, nil)
			for i := 0; i < o.n; i++ {
				for j := i; j < o.n; j++ {
					out.SetSym(i, j, (axa.At(i, j)+axa.At(j, i))/2)
				}
			}
			return out
		}
		var dyn []*Dynamics
		for b := 1; b <= 3; b++ {
			w, _ := o.SGD(b, WithReplacement)
			ga, _ := o.GeometryAware(b)
			iso, _ := o.Isotropic(b)
			dyn = append(dyn, w, ga, iso)
		}
		for i, d := range dyn {
			star, _ := d.CriticalRate()
			e := math.Ldexp(star, o.kExp)
			got := d.step(e, star, lift(m), false)
			md, nz := referenceOf(t, d)
			reduced, err := reference.ReducedStep(md, nz, e, m)
			if err != nil {
				t.Fatal(err)
			}
			want := lift(reduced)
			x := star * o.FroH()
			tol := 64 * float64(o.n+r) * unitRoundoff * sq(1+x) * mat.Norm(o.k, 2) * mat.Norm(o.k, 2) * mat.Norm(m, 2)
			for a := 0; a < o.n; a++ {
				for b := a; b < o.n; b++ {
					if !(math.Abs(got.At(a, b)-want.At(a, b)) <= tol) {
						t.Fatalf("%v dynamics %d: T(R)[%d,%d] = %v, Â T_V(M) Âᵀ = %v (tolerance %.3g)", spec, i, a, b, got.At(a, b), want.At(a, b), tol)
					}
				}
			}
		}
	}
}

func sq(x float64) float64 { return x * x }

// TestOracleBadInput: typed errors, never a panic.
func TestOracleBadInput(t *testing.T) {
	if _, err := NewOracle([]float64{0, 0}, 1, 2); !errors.Is(err, theory.ErrZeroGram) {
		t.Errorf("Q = 0: %v", err)
	}
	if _, err := NewOracle([]float64{1, math.NaN()}, 1, 2); !errors.Is(err, theory.ErrNotFinite) {
		t.Errorf("NaN: %v", err)
	}
	o := mustOracle(t, oracleCases[0])
	for _, v := range []float64{math.NaN(), math.Inf(-1)} {
		e := make([]float64, o.N())
		e[1] = v
		if _, err := o.PointMoment(e); !errors.Is(err, theory.ErrNotFinite) || !strings.HasPrefix(err.Error(), "e[1]: ") {
			t.Errorf("PointMoment with e[1] = %v: %v", v, err)
		}
	}
	d, _ := o.SGD(2, WithReplacement)
	for _, eta := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := d.SpectralRadius(eta); !errors.Is(err, theory.ErrParam) {
			t.Errorf("η = %v: %v", eta, err)
		}
	}
	if _, err := o.SGD(0, WithReplacement); !errors.Is(err, theory.ErrParam) {
		t.Errorf("B = 0: %v", err)
	}
	bad, err := o.WithMoments(BatchMoments{C1: 1, C2: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.CriticalRate(); !errors.Is(err, theory.ErrParam) {
		t.Errorf("moments of no sampling: %v", err)
	}
	if _, err := o.PointMoment([]float64{1}); !errors.Is(err, theory.ErrShape) {
		t.Errorf("short e: %v", err)
	}
	if _, err := o.Report(theory.SGD{Eta: 1, Batch: 2}, 0); !errors.Is(err, theory.ErrParam) {
		t.Errorf("eps = 0: %v", err)
	}
}

// r100 is the size the oracle must answer in well under a second: n = 100
// samples, p = 200 parameters, rank 100.
var r100 = fixtures.FeatureSpec{N: 100, P: 200, Rank: 100, Spectrum: fixtures.Geometric, LogCond: 2, Seed: 7}

// BenchmarkReportR100 is `flatmin stability` on r = 100 features:
// the oracle's construction and its full report.
func BenchmarkReportR100(b *testing.B) {
	q := r100.Build()
	for b.Loop() {
		o, err := NewOracle(q, r100.N, r100.P)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Report(theory.SGD{Eta: 0.5, Batch: 10}, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReportR100Fast bounds the CPU time (user + system, all threads) of
// the r = 100 report, which does not depend on other load on the machine:
// 2 s of CPU is under 1 s of wall time on two cores. The benchmark gives
// the precise figure.
func TestReportR100Fast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	q := r100.Build()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Skip("no rusage:", err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, w0 := cpu(), time.Now()
	o, err := NewOracle(q, r100.N, r100.P)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := o.Report(theory.SGD{Eta: 0.5, Batch: 10}, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	c, w := cpu()-c0, time.Since(w0)
	t.Logf("r = %d: %v CPU, %v wall; η* = %.6g (with), %.6g (without)", rep.Rank, c, w, rep.EtaStarWith, rep.EtaStarWithout)
	if c > 2*time.Second {
		t.Errorf("r = 100 took %v of CPU, want < 2 s", c)
	}
}

// TestReportFullBatchWithout: at B = n, sampling without replacement draws
// every sample each step, so SGD is GD: the report includes it, with GD's
// critical rate 2/λ_1 inside its enclosure (λ_1 from a backward-stable
// eigensolver is within a few n·u of the exact value, far inside the 1e-12
// allowed).
func TestReportFullBatchWithout(t *testing.T) {
	spec := fixtures.FeatureSpec{N: 6, P: 9, Rank: 6, Spectrum: fixtures.Geometric, LogCond: 1, Seed: 3}
	o, err := NewOracle(spec.Build(), spec.N, spec.P)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := o.Report(theory.SGD{Eta: 0.5 / o.LambdaMax(), Batch: spec.N}, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	if gd, iv := 2/o.LambdaMax(), rep.EtaStarWithoutBounds; !(iv.Lo <= gd*(1+1e-12) && gd*(1-1e-12) <= iv.Hi) {
		t.Errorf("B = n without replacement: η* in [%v, %v], want GD's 2/λ_1 = %v", iv.Lo, iv.Hi, gd)
	}
}

// TestRankAsTheory: the oracle's range is theory.Geometry.Rank's, so that
// measure and stability report the same rank. Q = [[1, 0, 0, 0],
// [0, 2^-25, 0, 0]] has eigenvalues 1 and 2^-50 of K; with p = 4 the rule
// max(n, p)·ε·λ_1 = 2^-50 leaves the second out (rank 1), where the
// oracle's former n·u·λ_1 = 2^-52 counted it (rank 2). With p = 2 both
// rules count it.
func TestRankAsTheory(t *testing.T) {
	for _, c := range []struct {
		q    []float64
		n, p int
		want int
	}{
		{[]float64{1, 0, 0, 0, 0, 0x1p-25, 0, 0}, 2, 4, 1},
		{[]float64{1, 0, 0, 0x1p-25}, 2, 2, 2},
	} {
		st, err := theory.NewState(c.q, c.n, c.p, nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := st.Geometry()
		if err != nil {
			t.Fatal(err)
		}
		o, err := NewOracleFromState(st)
		if err != nil {
			t.Fatal(err)
		}
		if o.Rank() != g.Rank || g.Rank != c.want {
			t.Errorf("n = %d, p = %d: oracle rank %d, theory's %d, want %d", c.n, c.p, o.Rank(), g.Rank, c.want)
		}
	}
}
