package oracle

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/cmplx"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/internal/reference"
	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// The matrix-free path (krylov.go) against the references: the dense
// operator's spectral radius by a general eigensolver, and power iteration
// of Step on the residual second moment, over generated features that reach
// the corners (rank-deficient, condition up to 1e12, scales 1e±150,
// duplicated and zero rows), both samplings, every batch size, and
// learning rates on both sides of η*.

// krylovBounds are small features: r <= 8, so the dense operator has at
// most 36 x 36 entries.
var krylovBounds = fixtures.FeatureBounds{MinN: 1, MaxN: 9, MaxP: 8, MaxLogCond: 12, MaxLogScale: 150, Degenerate: true}

// krylovCase is one generated case: the oracle, its SGD dynamics and the
// reference model in the oracle's own (scaled) basis.
type krylovCase struct {
	o   *Oracle
	d   *Dynamics
	md  *reference.Model
	nz  reference.Noise
	tag string
}

func drawKrylovCase(t *rapid.T) (krylovCase, bool) {
	spec := fixtures.Features(krylovBounds).Draw(t, "features")
	o, err := NewOracle(spec.Build(), spec.N, spec.P)
	if err != nil {
		t.Fatalf("NewOracle: %v", err)
	}
	s := Sampling(rapid.IntRange(0, 1).Draw(t, "sampling"))
	b := rapid.IntRange(1, o.n).Draw(t, "B")
	d, err := o.SGD(b, s)
	if err != nil {
		t.Fatalf("SGD: %v", err)
	}
	if !d.certified() { // B = n without replacement is GD: no noise to certify
		return krylovCase{}, false
	}
	md, err := reference.NewModel(o.a, o.h)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	return krylovCase{o: o, d: d, md: md, nz: reference.Noise{Kind: reference.SGD, C1: d.mom.C1, C2: d.mom.C2},
		tag: fmt.Sprintf("%v, %v, B = %d, r = %d", spec, s, b, o.r)}, true
}

// denseAccuracy bounds the error of the dense references' eigenvalues:
// a backward-stable eigensolver errs by at most a few m·u·‖T‖_F (m the
// operator's order); 16 covers the Hessenberg reduction and the QR sweeps.
func denseAccuracy(t *rapid.T, c krylovCase, eta float64) float64 {
	op, err := reference.DenseOperator(c.md, c.nz, eta)
	if err != nil {
		t.Fatalf("DenseOperator: %v", err)
	}
	m, _ := op.Dims()
	return 16 * float64(m) * unitRoundoff * mat.Norm(op, 2)
}

// checkKrylov is the property, on the features mutate leaves (the identity
// for the solver as built; a wrong variant for the negative controls).
func checkKrylov(mutate func(*sgdFeatures) *sgdFeatures) func(*rapid.T) {
	return func(t *rapid.T) {
		c, ok := drawKrylovCase(t)
		if !ok {
			t.Skip("GD: no noise")
		}
		f := mutate(c.d.sgdFeatures())
		star, _ := krylovCriticalRate(f, nil)
		if !(star.Lo > 0 && star.Lo <= star.Value && star.Value <= star.Hi) {
			t.Fatalf("%s: η̂* enclosure %+v is not an interval around its value", c.tag, star)
		}
		// η* against the dense operator: ρ <= 1 just below the enclosure,
		// ρ >= 1 just above it, to the dense reference's accuracy.
		rhoRef := func(eta float64) float64 {
			rho, err := reference.NaiveSpectralRadius(c.md, c.nz, eta)
			if err != nil {
				t.Fatalf("%s: reference ρ: %v", c.tag, err)
			}
			return rho
		}
		if lo := star.Lo * (1 - 1e-12); rhoRef(lo) > 1+denseAccuracy(t, c, lo) {
			t.Fatalf("%s: η̂*_lo = %v, but the dense ρ there is %v > 1", c.tag, star.Lo, rhoRef(lo))
		}
		if hi := star.Hi * (1 + 1e-12); !math.IsInf(hi, 1) && rhoRef(hi) < 1-denseAccuracy(t, c, hi) {
			t.Fatalf("%s: η̂*_hi = %v, but the dense ρ there is %v < 1", c.tag, star.Hi, rhoRef(hi))
		}
		// ρ on both sides of the edge and at it.
		x := rapid.SampledFrom([]float64{1e-3, 0.5, 1 - 1e-6, 1, 1 + 1e-6, 2, 50}).Draw(t, "η/η*")
		eta := star.Value * x
		rho := krylovSpectralRadius(f, eta, 1/star.Lo, nil)
		want, tol := rhoRef(eta), denseAccuracy(t, c, eta)
		if !(rho.Lo-tol <= want && want <= rho.Hi+tol) {
			t.Fatalf("%s: at η̂ = %v·η̂*, ρ in [%v, %v], the dense operator's %v (accuracy %.2g)", c.tag, x, rho.Lo, rho.Hi, want, tol)
		}
		// ρ(η*) = 1 within the enclosures: the verdict flips across it.
		switch {
		case x < 1 && eta <= star.Lo && rho.Lo > 1:
			t.Fatalf("%s: η <= η*_lo but ρ >= %v > 1", c.tag, rho.Lo)
		case x > 1 && eta > star.Hi && rho.Hi <= 1:
			t.Fatalf("%s: η > η*_hi but ρ <= %v <= 1", c.tag, rho.Hi)
		}
		// Power iteration of Step, where the dense operator's second
		// eigenvalue lets it converge: the growth of the loss E[L_t]
		// tends to ρ like (|λ_2|/ρ)^t.
		powerCheck(t, c, eta, rho)
	}
}

// powerCheck iterates Step from R_0 = e eᵀ (e in the range) and compares
// the last growth factor Tr(R_{t+1})/Tr(R_t) with ρ when 400 steps are
// enough to converge to 1e-6.
func powerCheck(t *rapid.T, c krylovCase, etaScaled float64, rho Interval) {
	eta := math.Ldexp(etaScaled, -c.o.kExp)
	if eta == 0 || math.IsInf(eta, 0) {
		return
	}
	op, err := reference.DenseOperator(c.md, c.nz, etaScaled)
	if err != nil {
		t.Fatalf("DenseOperator: %v", err)
	}
	var eig mat.Eigen
	if !eig.Factorize(op, mat.EigenNone) {
		t.Fatalf("%s: eigen-decomposition of the dense operator failed", c.tag)
	}
	mods := make([]float64, 0)
	for _, v := range eig.Values(nil) {
		mods = append(mods, cmplx.Abs(v))
	}
	top, second := 0.0, 0.0
	for _, v := range mods {
		if v > top {
			top, second = v, top
		} else if v > second {
			second = v
		}
	}
	const steps = 400
	if top == 0 || math.Pow(second/top, steps) > 1e-9 {
		return // too slow to converge: the dense comparison above stands
	}
	w := make([]float64, c.o.r)
	for k := range w {
		w[k] = 1
	}
	r, err := c.o.PointMoment(c.o.RangeResidual(w))
	if err != nil {
		t.Fatalf("PointMoment: %v", err)
	}
	// Residuals live in the range of K, where Step is the recursion; off
	// it Step has the eigenvalue 1 (KR = 0 there), which rounding would
	// seed and 400 steps would amplify past ρ^400, so each step is
	// projected back: R ← P R P with P = U Uᵀ.
	var proj mat.Dense
	proj.Mul(c.o.u, c.o.u.T())
	var growth float64
	for range steps {
		next, err := c.d.Step(eta, r)
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		var pr, prp mat.Dense
		pr.Mul(&proj, next)
		prp.Mul(&pr, &proj)
		n := c.o.n
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				next.SetSym(i, j, (prp.At(i, j)+prp.At(j, i))/2)
			}
		}
		tr0, tr1 := mat.Trace(r), mat.Trace(next)
		if tr0 == 0 || tr1 == 0 || math.IsInf(tr1, 0) {
			return
		}
		growth = tr1 / tr0
		next.ScaleSym(1/tr1, next)
		r = next
	}
	// The residual of the Step recursion carries ~n·u·cond relative error
	// a step, which the normalization keeps from compounding; 1e-6
	// covers it with the 1e-9 convergence.
	if !(growth >= rho.Lo*(1-1e-6) && growth <= rho.Hi*(1+1e-6)) {
		t.Fatalf("%s: power iteration of Step grows by %v a step, ρ in [%v, %v]", c.tag, growth, rho.Lo, rho.Hi)
	}
}

func TestKrylovAgainstReferences(t *testing.T) {
	rapid.Check(t, checkKrylov(func(f *sgdFeatures) *sgdFeatures { return f }))
}

// TestKrylovControls: the same property catches a solver that drops a
// factor: the noise at half its size, and the C1·HMH term left out.
func TestKrylovControls(t *testing.T) {
	for name, mutate := range map[string]func(*sgdFeatures) *sgdFeatures{
		"half noise": func(f *sgdFeatures) *sgdFeatures { g := *f; g.c2 /= 2; return &g },
		"no C1 term": func(f *sgdFeatures) *sgdFeatures { g := *f; g.c1 = 0; return &g },
	} {
		t.Run(name, func(t *testing.T) {
			tb := &recordTB{name: name}
			done := make(chan struct{})
			go func() {
				defer close(done)
				rapid.Check(tb, checkKrylov(mutate))
			}()
			<-done
			if !tb.failed {
				t.Errorf("the property did not catch %s", name)
			}
		})
	}
}

// recordTB is a rapid.TB that records a failure instead of failing the test.
type recordTB struct {
	name   string
	failed bool
}

func (r *recordTB) Helper()               {}
func (r *recordTB) Name() string          { return r.name }
func (r *recordTB) Logf(string, ...any)   {}
func (r *recordTB) Log(...any)            {}
func (r *recordTB) Skipf(string, ...any)  { runtime.Goexit() }
func (r *recordTB) Skip(...any)           { runtime.Goexit() }
func (r *recordTB) SkipNow()              { runtime.Goexit() }
func (r *recordTB) Errorf(string, ...any) { r.failed = true }
func (r *recordTB) Error(...any)          { r.failed = true }
func (r *recordTB) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recordTB) Fatal(...any)          { r.failed = true; runtime.Goexit() }
func (r *recordTB) FailNow()              { r.failed = true; runtime.Goexit() }
func (r *recordTB) Fail()                 { r.failed = true }
func (r *recordTB) Failed() bool          { return r.failed }

// TestKrylovAgainstExact: the matrix-free path against the exact secular
// path at sizes where both run (n·r(r+1)/2 <= 2^25, r up to about 400;
// up to 200 here, to keep CI short), on features with a decaying spectrum (condition up to 1e8): the
// exact answers lie in the proven enclosures, to the exact path's own
// accuracy (exactRelTol), and the estimates agree to the enclosures' width.
func TestKrylovAgainstExact(t *testing.T) {
	sizes := []struct{ n, p, logCond int }{{12, 8, 2}, {40, 60, 4}, {100, 150, 8}}
	if !testing.Short() {
		sizes = append(sizes, struct{ n, p, logCond int }{200, 260, 6})
	}
	for _, sz := range sizes {
		spec := fixtures.FeatureSpec{N: sz.n, P: sz.p, Rank: min(sz.n, sz.p), LogCond: float64(sz.logCond), Seed: 7}
		o, err := NewOracle(spec.Build(), sz.n, sz.p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []Sampling{WithReplacement, WithoutReplacement} {
			d, err := o.SGD(5, s)
			if err != nil {
				t.Fatal(err)
			}
			if !d.exact() {
				t.Fatalf("n = %d: the exact path does not run", sz.n)
			}
			want, err := d.CriticalRate()
			if err != nil {
				t.Fatal(err)
			}
			f := d.sgdFeatures()
			star, _ := krylovCriticalRate(f, nil)
			scaled := math.Ldexp(want, o.kExp)
			if !(star.Lo <= scaled*(1+exactRelTol) && scaled*(1-exactRelTol) <= star.Hi) {
				t.Errorf("n = %d %v: exact η̂* %v outside [%v, %v]", sz.n, s, scaled, star.Lo, star.Hi)
			}
			for _, x := range []float64{0.3, 1 - 1e-7, 1 + 1e-7, 3} {
				rhoExact, err := d.SpectralRadius(want * x)
				if err != nil {
					t.Fatal(err)
				}
				rho := krylovSpectralRadius(f, scaled*x, 1/star.Lo, nil)
				slack := exactRelTol * rhoExact
				if !(rho.Lo-slack <= rhoExact && rhoExact <= rho.Hi+slack) {
					t.Errorf("n = %d %v η = %v·η*: exact ρ %v outside [%v, %v]", sz.n, s, x, rhoExact, rho.Lo, rho.Hi)
				}
			}
		}
	}
}

// TestCheckSize: sizes beyond the memory limit are refused at once, with
// the estimate, and sizes within it pass.
func TestCheckSize(t *testing.T) {
	for _, c := range []struct {
		n, p int
		ok   bool
	}{{1000, 25000, true}, {5000, 5000, true}, {40000, 100, false}, {0, 5, false}} {
		err := CheckSize(c.n, c.p)
		if (err == nil) != c.ok {
			t.Errorf("CheckSize(%d, %d) = %v, want ok = %v", c.n, c.p, err, c.ok)
		}
	}
	// The estimate is in GB: n = 40000 needs at least the four n x n
	// float64 arrays, 51.2 GB, and less than twice that.
	err := CheckSize(40000, 100)
	var gb float64
	if _, scanErr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "about ")+len("about "):], "%g GB", &gb); scanErr != nil || gb < 51.2 || gb > 102.4 {
		t.Errorf("CheckSize(40000, 100): %v: the estimate %v GB is not within [51.2, 102.4]", err, gb)
	}
}

// BenchmarkReportLarge is the oracle at the paper's scale, n = r in the
// thousands (the matrix-free path): NewOracle from Q (n x (n + 200),
// condition 1e4) and the full Report, both samplings. The README's and
// BENCHMARKS.md's times for trained networks come from `flatmin stability`
// on saved gradients.
func BenchmarkReportLarge(b *testing.B) {
	for _, n := range []int{1000, 2000} {
		spec := fixtures.FeatureSpec{N: n, P: n + 200, Rank: n, LogCond: 4, Seed: 11}
		q := spec.Build()
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				o, err := NewOracle(q, spec.N, spec.P)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := o.Report(theory.SGD{Eta: 0.5 * 2 / o.LambdaMax(), Batch: 5}, 1e-3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHugeLearningRate: far above the edge, where η² overflows, ρ is
// reported from its proven lower bound (η̂ĥ_1/2)², capped at the largest
// float64, the verdict is unstable, and nothing panics.
func TestHugeLearningRate(t *testing.T) {
	spec := fixtures.FeatureSpec{N: 20, P: 30, Rank: 20, LogCond: 3, Seed: 3}
	o, err := NewOracle(spec.Build(), spec.N, spec.P)
	if err != nil {
		t.Fatal(err)
	}
	for _, eta := range []float64{1e19, 1e154, 1e300} {
		rep, err := o.Report(theory.SGD{Eta: eta, Batch: 4}, 1e-3)
		if err != nil {
			t.Fatalf("η = %v: %v", eta, err)
		}
		if rep.VerdictWith != Unstable || rep.VerdictWithout != Unstable || !(rep.RhoWithBounds.Lo > 1e30) {
			t.Errorf("η = %v: verdicts %v, %v, ρ in [%v, %v]", eta, rep.VerdictWith, rep.VerdictWithout, rep.RhoWithBounds.Lo, rep.RhoWithBounds.Hi)
		}
	}
}

// The certificate proves nothing unless Y itself is positive definite:
// here cY - P(Y) = I is, but Y = [[1, 2], [2, 1]] is indefinite.
func TestProvesAtMostNeedsDefiniteY(t *testing.T) {
	y := []float64{1, 2, 2, 1}
	py := []float64{0, 2, 2, 0} // c = 1: cY - P(Y) = I
	if provesAtMost(y, py, make([]float64, 4), 2, 1) {
		t.Fatal("an indefinite Y proved λ_max <= c")
	}
	// A singular Y = [[1, 1], [1, 1]] (cY - P(Y) = I again) is not proven
	// definite either: the margin of the Cholesky test shrinks its diagonal.
	y = []float64{1, 1, 1, 1}
	py = []float64{0, 1, 1, 0}
	if provesAtMost(y, py, make([]float64, 4), 2, 1) {
		t.Fatal("a singular Y proved λ_max <= c")
	}
	// The same with a definite Y does prove it.
	y = []float64{2, 1, 1, 2}
	py = []float64{1, 1, 1, 1}
	if !provesAtMost(y, py, make([]float64, 4), 2, 1) {
		t.Fatal("Y ≻ 0 with cY - P(Y) = I ≻ 0 did not prove λ_max <= c")
	}
}

// TestNextDelta pins the spectral search's choice of probe: the lower end
// of the bracket while μ falls fast enough, the root of the secular model
// μ = a/(δ + b) + c' when it does not (exact for a μ of that form: here
// a = 1, b = 0.5, c' = 0.2, root 1/0.8 - 0.5 = 0.75), and the geometric
// mean of the bracket when the step leaves it or repeats a probe above
// the root.
func TestNextDelta(t *testing.T) {
	model := func(d float64) probe { return probe{d, 1/(d+0.5) + 0.2} }
	slope := func(d float64) float64 { return 1 / ((d + 0.5) * (d + 0.5)) } // -dμ/dδ
	cur, prev := model(0.2), model(0.1)
	w := slope(cur.delta) / cur.mu
	// The model is fitted through two probes: a few roundings of the
	// quantities it divides by, about 1e-15 relative.
	if got := nextDelta(0.2, 2, w, cur, &prev); !(math.Abs(got-0.75) <= 1e-13) {
		t.Errorf("model step %v, want its root 0.75", got)
	}
	tests := []struct {
		name      string
		lo, hi, w float64
		cur       probe
		prev      *probe
		want      float64
	}{
		{"first probe: Newton, the lower end", 0.3, 1, w, probe{0.2, 1.5}, nil, 0.3},
		{"fast fall: the lower end", 0.3, 1, w, probe{0.2, 1.1}, &probe{0.1, 1.8}, 0.3},
		{"repeat above the root: geometric mean", 0.25, 1, w, probe{0.25, 0.5}, nil, 0.5},
		{"empty bracket: geometric mean", 0.25, 0.25, w, probe{0.2, 1.5}, nil, 0.25},
		{"model step beyond hi: geometric mean", 0.2, 0.5, w, cur, &prev, math.Sqrt(0.2 * 0.5)},
	}
	for _, tc := range tests {
		if got := nextDelta(tc.lo, tc.hi, tc.w, tc.cur, tc.prev); got != tc.want {
			t.Errorf("%s: nextDelta = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestScaledRateRange: η is used as η̂ = η·2^kExp, with ‖Ĥ‖ of order one;
// an η whose η̂ leaves the float64 range is a parameter error, on either
// side: η = 1e300 on a Hessian of order 1e200 (η̂ overflows) and η = 1e-300
// on one of order 1e-200 (η̂ underflows to 0). Both η are finite and
// positive, and valid elsewhere.
func TestScaledRateRange(t *testing.T) {
	spec := fixtures.FeatureSpec{N: 6, P: 8, Rank: 6, LogCond: 1, Seed: 2}
	for _, c := range []struct{ scale, eta float64 }{{1e100, 1e300}, {1e-100, 1e-300}} {
		q := spec.Build()
		for i := range q {
			q[i] *= c.scale
		}
		o, err := NewOracle(q, spec.N, spec.P)
		if err != nil {
			t.Fatal(err)
		}
		d, err := o.SGD(2, WithReplacement)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.SpectralRadius(c.eta); !errors.Is(err, theory.ErrParam) {
			t.Errorf("Q·%g, η = %g: %v, want a parameter error", c.scale, c.eta, err)
		}
	}
}

// TestKrylovSizeLimit: the matrix-free path refuses inputs whose estimated
// memory (the Lanczos basis and nine r x r matrices, five n x r) exceeds
// maxKrylovBytes = 12 GiB = 12.88e9 bytes, and takes those just below, for
// both terms: r = 1000 (20 Lanczos vectors) with n = 300,000 (12.2e9 bytes)
// and 400,000 (16.2e9); n = 1000 with r = 10,000 (4 vectors: 10.8e9) and
// 11,000 (13.0e9). Only the sizes are read, so no such oracle is built.
func TestKrylovSizeLimit(t *testing.T) {
	for _, c := range []struct {
		n, r int
		ok   bool
	}{{300_000, 1000, true}, {400_000, 1000, false}, {1000, 10_000, true}, {1000, 11_000, false}} {
		d := &Dynamics{o: &Oracle{n: c.n, r: c.r}, kind: sgdNoise, mom: BatchMoments{C1: 0.5, C2: 0.5 / float64(c.n)}}
		if d.exact() {
			t.Fatalf("n = %d, r = %d: the exact path", c.n, c.r)
		}
		err := d.checkSpectral()
		if ok := err == nil; ok != c.ok {
			t.Errorf("n = %d, r = %d: accepted %v (%v), want %v", c.n, c.r, ok, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "GB, more than 12 GiB") {
			t.Errorf("n = %d, r = %d: %v does not give the estimate", c.n, c.r, err)
		}
	}
	// Other noises have no matrix-free path: r(r+1)/2 <= 2^25 or an error
	// that says so (r = 8192: 33,558,528 entries).
	d := &Dynamics{o: &Oracle{n: 10, r: 8192}, kind: isotropic}
	want := "r(r+1)/2 = 8192·8193/2 exceeds 33554432"
	if err := d.checkSpectral(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("isotropic noise at r = 8192: %v, want %q", err, want)
	}
}

// TestRayleighLowerTight: rayleighLower's bound lies below the exact
// Rayleigh quotient of every P(y) within errPY of the computed one, whose
// least value is (⟨y, py⟩ - Σ|y_i|errPY_i)/⟨y, y⟩ (computed here in 256-bit
// arithmetic), and not far below it: by the rounding terms it adds, γ·(Σ|y_i
// py_i| + Σ|y_i|errPY_i)/⟨y, y⟩ and a factor 1 ± γ, γ = γ_{len(y)+2}, twice
// that to cover the second-order terms. Both signs of the bound are drawn.
// y has unit norm, as the callers' Lanczos vectors do, and entries below
// 1e-100 are zero, so that no product underflows: the γ bound counts
// relative roundings only (rapid found ⟨y, y⟩ = 8.7e-311, subnormal, where
// it fails).
func TestRayleighLowerTight(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(1, 9).Draw(t, "len")
		y, py, errPY := make([]float64, k), make([]float64, k), make([]float64, k)
		noTiny := func(x float64) float64 {
			if math.Abs(x) < 1e-100 {
				return 0
			}
			return x
		}
		for i := range y {
			y[i] = noTiny(rapid.Float64Range(-1, 1).Draw(t, "y"))
			py[i] = noTiny(rapid.Float64Range(-1, 1).Draw(t, "py"))
			errPY[i] = rapid.Float64Range(0, 0.1).Draw(t, "err")
		}
		if nrm := numerics.Nrm2(y); nrm > 0 {
			numerics.Scal(1/nrm, y)
		}
		yy, abs, errTerm := 0.0, 0.0, 0.0
		num, slackNum := new(big.Float).SetPrec(256), new(big.Float).SetPrec(256)
		for i, v := range y {
			num.Add(num, new(big.Float).Mul(big.NewFloat(v), big.NewFloat(py[i])))
			slackNum.Add(slackNum, new(big.Float).Mul(big.NewFloat(math.Abs(v)), big.NewFloat(errPY[i])))
			yy += v * v
			abs += math.Abs(v * py[i])
			errTerm += math.Abs(v) * errPY[i]
		}
		if yy == 0 {
			return
		}
		yyBig := new(big.Float).SetPrec(256)
		for _, v := range y {
			yyBig.Add(yyBig, new(big.Float).Mul(big.NewFloat(v), big.NewFloat(v)))
		}
		worst, _ := new(big.Float).Quo(new(big.Float).Sub(num, slackNum), yyBig).Float64()
		_, lower := rayleighLower(y, py, errPY)
		g := gamma(k + 2)
		slack := 2 * (g*(abs+errTerm)/yy + math.Abs(worst)*g)
		if !(lower <= worst) || lower < worst-slack {
			t.Fatalf("lower bound %v, exact least Rayleigh quotient %v (allowed below it: %v)", lower, worst, slack)
		}
	})
}

// TestSumRankOneSigns: Σ_i c_i v_i v_iᵀ by two Syrk calls (the positive
// coefficients, then the negative ones) against the sum term by term, for
// every sign pattern that takes a branch on its own: one positive term
// alone, one negative alone, zeros skipped, and mixed. The entries are
// small integers and the coefficients perfect squares, so both sums are
// exact and must agree bit for bit.
func TestSumRankOneSigns(t *testing.T) {
	const n, r = 4, 3
	v := []float64{1, 2, 0, -1, 1, 3, 2, 0, 1, 0, -2, 1}
	for _, c := range [][]float64{
		{4, 0, 0, 0}, {0, -9, 0, 0}, {0, 0, 0, 0}, {1, -4, 0, 9}, {-1, -1, 4, 1},
	} {
		p := &pencil{f: &sgdFeatures{n: n, r: r}, sq: make([]float64, n*r)}
		got := make([]float64, r*r)
		p.sumRankOne(got, v, c)
		want := make([]float64, r*r)
		for i := 0; i < n; i++ {
			for k := 0; k < r; k++ {
				for l := 0; l < r; l++ {
					want[k*r+l] += c[i] * v[i*r+k] * v[i*r+l]
				}
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("c = %v: entry (%d, %d) = %g, want %g", c, i/r, i%r, got[i], want[i])
			}
		}
	}
}

// TestEnclosuresReducibleStart: the enclosures are proven whatever the
// Lanczos start, even one that never meets the top eigenvector. Samples
// 1-3 have gradients in span{e1, e2} and sample 4 along e3, so K is block
// diagonal and T leaves Sym of each block invariant: a start on the e3
// block alone (E_33, the smallest h) keeps Lanczos there in exact zeros,
// and its estimate μ < 1 says nothing about the e1-e2 block that holds ρ.
// Then only a proof of λ_max(P_δ) <= 1 may lower hi: a proof of a weaker
// bound (<= 2, which the interior push y + εI of the singular E_33 gives)
// would put hi below the root. The exact path's ρ and η* (within
// exactRelTol) must lie in the enclosures at η on both sides of η*.
func TestEnclosuresReducibleStart(t *testing.T) {
	q := []float64{2, 1, 0, 1, -1, 0, 1, 1, 0, 0, 0, 0.5}
	o, err := NewOracle(q, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if o.r != 3 || !(o.h[2] < o.h[1]) {
		t.Fatalf("rank %d, h = %v: want 3, the e3 block's h last", o.r, o.h)
	}
	start := make([]float64, 9)
	start[8] = 1 // E_33
	for _, b := range []int{1, 2} {
		d, err := o.SGD(b, WithReplacement)
		if err != nil {
			t.Fatal(err)
		}
		star, err := d.CriticalRate()
		if err != nil {
			t.Fatal(err)
		}
		f := d.features()
		scaled := math.Ldexp(star, o.kExp)
		iv, _ := krylovCriticalRate(f, start)
		if !(iv.Lo <= scaled*(1+exactRelTol) && scaled*(1-exactRelTol) <= iv.Hi) {
			t.Errorf("B = %d: exact η̂* %v outside [%v, %v] from the E_33 start", b, scaled, iv.Lo, iv.Hi)
		}
		// c from the enclosure proven from the identity, as
		// SpectralRadiusBounds takes it.
		proven, _ := krylovCriticalRate(f, nil)
		for _, x := range []float64{0.3, 1, 1.1, 3} {
			want, err := d.SpectralRadius(star * x)
			if err != nil {
				t.Fatal(err)
			}
			rho := krylovSpectralRadius(f, scaled*x, 1/proven.Lo, start)
			if slack := exactRelTol * want; !(rho.Lo-slack <= want && want <= rho.Hi+slack) {
				t.Errorf("B = %d, η = %v·η*: exact ρ %v outside [%v, %v] from the E_33 start", b, x, want, rho.Lo, rho.Hi)
			}
		}
	}
}
