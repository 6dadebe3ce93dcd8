package oracle

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/theory"
)

// diagOracle is the oracle of Q = [[3, 0, 0], [0, 4, 0]] (n = 2, p = 3):
// K = diag(9, 16), so H = G has the eigenvalues 16/2 = 8 and 9/2 = 4.5,
// exactly (a diagonal K̂ has its diagonal as eigenvalues).
func diagOracle(t *testing.T) *Oracle {
	t.Helper()
	o, err := NewOracle([]float64{3, 0, 0, 0, 4, 0}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOracleDiagonal: size, rank, the spectrum of H (descending), λ_1 and
// ‖H‖_F = sqrt(8² + 4.5²), within one rounding of the square root; the
// range residual e = Uw has ‖e‖ = ‖w‖ (U has orthonormal columns, here
// ±e_1 and ±e_2 in some order, so exactly).
func TestOracleDiagonal(t *testing.T) {
	o := diagOracle(t)
	if o.N() != 2 || o.P() != 3 || o.Rank() != 2 {
		t.Errorf("n, p, r = %d, %d, %d; want 2, 3, 2", o.N(), o.P(), o.Rank())
	}
	if ev := o.Eigenvalues(); len(ev) != 2 || ev[0] != 8 || ev[1] != 4.5 {
		t.Errorf("eigenvalues of H = %v, want [8 4.5]", ev)
	}
	if l := o.LambdaMax(); l != 8 {
		t.Errorf("λ_1 = %v, want 8", l)
	}
	if f, want := o.FroH(), math.Sqrt(84.25); !(math.Abs(f-want) <= 2*unitRoundoff*want) {
		t.Errorf("‖H‖_F = %v, want sqrt(84.25) = %v", f, want)
	}
	e := o.RangeResidual([]float64{3, 4})
	if s := e[0]*e[0] + e[1]*e[1]; s != 25 {
		t.Errorf("RangeResidual(3, 4) = %v, ‖e‖² = %v, want 25", e, s)
	}
	// The loss of a point moment is ‖e‖²/(2n).
	r, err := o.PointMoment([]float64{1, -3})
	if err != nil {
		t.Fatal(err)
	}
	if l := o.Loss(r); l != 2.5 {
		t.Errorf("L(point moment of (1, -3)) = %v, want 10/4", l)
	}
	if r.At(0, 1) != -3 || r.At(1, 1) != 9 {
		t.Errorf("point moment = %v, want e eᵀ", mat.Formatted(r))
	}
}

// TestMu0Residual: the residual Mu0Residual returns attains μ0 (checked
// through theory.State, an independent computation of μ(θ) at e = Qθ),
// and μ1_0 >= μ0 (Σ2 ⪰ 0) and >= γ (Lemma 2.3). The two routes differ by
// the roundings of two eigen-decompositions of small matrices: 1e-12
// relative to μ1_0 covers them.
func TestMu0Residual(t *testing.T) {
	q := []float64{1, 2, 0, 0, 1, -1, 2, 0, 1, 1, 1, 1, -1, 0, 2}
	const n, p = 5, 3
	o, err := NewOracle(q, n, p)
	if err != nil {
		t.Fatal(err)
	}
	mu0, err := o.Mu0()
	if err != nil {
		t.Fatal(err)
	}
	mu10, err := o.Mu10()
	if err != nil {
		t.Fatal(err)
	}
	e, err := o.Mu0Residual()
	if err != nil {
		t.Fatal(err)
	}
	if len(e) != n {
		t.Fatalf("len(e) = %d, want %d", len(e), n)
	}
	s, err := theory.NewState(q, n, p, e)
	if err != nil {
		t.Fatal(err)
	}
	nz, err := s.Noise()
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Geometry()
	if err != nil {
		t.Fatal(err)
	}
	tol := 1e-12 * mu10
	if !(math.Abs(nz.Mu-mu0) <= tol) {
		t.Errorf("μ at Mu0Residual = %v, μ0 = %v", nz.Mu, mu0)
	}
	if !(nz.Mu1 >= mu10-tol) {
		t.Errorf("μ1 at the minimizer of μ = %v < μ1_0 = %v", nz.Mu1, mu10)
	}
	if !(mu0 >= 0 && mu10 > mu0 && mu10 >= g.Gamma-tol) {
		t.Errorf("μ0 = %v, μ1_0 = %v, γ = %v: want 0 <= μ0 < μ1_0, γ <= μ1_0", mu0, mu10, g.Gamma)
	}
}

// TestDynamicsBadInput: every constructor and the recursion refuse bad
// parameters with theory.ErrParam, bad moments with their kind and place.
func TestDynamicsBadInput(t *testing.T) {
	o := diagOracle(t)
	for _, m := range []BatchMoments{{math.NaN(), 0}, {math.Inf(1), 0}, {math.Inf(-1), 0}, {0, math.NaN()}, {0, math.Inf(1)}, {0, math.Inf(-1)}} {
		if _, err := o.WithMoments(m); !errors.Is(err, theory.ErrParam) {
			t.Errorf("moments %+v: %v", m, err)
		}
	}
	if _, err := o.WithMoments(BatchMoments{C1: 2, C2: -1}); err != nil {
		t.Errorf("finite moments of no sampling are accepted for Step: %v", err)
	}
	s := mat.NewSymDense(2, []float64{1, 0, 0, 1})
	for _, b := range []int{0, -1} {
		if _, err := o.GeometryAware(b); !errors.Is(err, theory.ErrParam) {
			t.Errorf("geometry-aware B = %d: %v", b, err)
		}
		if _, err := o.Isotropic(b); !errors.Is(err, theory.ErrParam) {
			t.Errorf("isotropic B = %d: %v", b, err)
		}
		if _, err := o.StateIndependent(b, s); !errors.Is(err, theory.ErrParam) {
			t.Errorf("state-independent B = %d: %v", b, err)
		}
	}
	for _, c := range []struct{ i, j int }{{0, 0}, {0, 1}, {1, 1}} {
		bad := mat.NewSymDense(2, nil)
		bad.SetSym(c.i, c.j, math.Inf(-1))
		_, err := o.StateIndependent(1, bad)
		var ie *theory.InputError
		if !errors.Is(err, theory.ErrNotFinite) || !errors.As(err, &ie) || ie.Row != c.i || ie.Col != c.j {
			t.Errorf("-Inf at QSQᵀ[%d, %d]: %v", c.i, c.j, err)
		}
		d, _ := o.SGD(1, WithReplacement)
		_, err = d.Step(0.1, bad)
		if !errors.Is(err, theory.ErrNotFinite) || !errors.As(err, &ie) || ie.Row != c.i || ie.Col != c.j || !strings.HasPrefix(err.Error(), "R[") {
			t.Errorf("-Inf at R[%d, %d]: %v", c.i, c.j, err)
		}
	}
	if _, err := o.StateIndependent(1, mat.NewSymDense(3, nil)); !errors.Is(err, theory.ErrShape) {
		t.Errorf("QSQᵀ 3 x 3, n = 2: %v", err)
	}
	d, _ := o.SGD(1, WithReplacement)
	if _, err := d.Step(0.1, mat.NewSymDense(1, []float64{1})); !errors.Is(err, theory.ErrShape) {
		t.Errorf("R 1 x 1, n = 2: %v", err)
	}
	for _, eta := range []float64{0, -0.5, math.NaN(), math.Inf(1)} {
		if _, err := d.Step(eta, s); !errors.Is(err, theory.ErrParam) || !strings.Contains(err.Error(), "learning rate must be positive and finite") {
			t.Errorf("Step at η = %v: %v", eta, err)
		}
		if _, err := d.ExpectedLoss(eta, s, 1); !errors.Is(err, theory.ErrParam) {
			t.Errorf("ExpectedLoss at η = %v: %v", eta, err)
		}
	}
	if _, err := d.ExpectedLoss(0.1, mat.NewSymDense(3, nil), 1); !errors.Is(err, theory.ErrShape) {
		t.Errorf("ExpectedLoss from R 3 x 3, n = 2: %v", err)
	}
}

// TestStepClosedForms: one step of each recursion on the diagonal oracle
// (K = diag(9, 16), n = 2), from moments where it is exact in binary.
//   - State-independent noise from R = 0: R' = η²·QSQᵀ/B, the constant
//     noise alone, with the true η (η = 1/2, B = 2: QSQᵀ/8).
//   - SGD with replacement, B = 1 (C1 = 0, C2 = 1/2), from R = E_11 (sample
//     1's residual alone): R' = R - (η/n)(KR + RK) + η²C2·R_11 K_1K_1ᵀ, so
//     R'_11 = 1 - 9η + 81η²/2 and the rest 0; η = 1/9: 1 - 1 + 1/2.
//   - Geometry-aware, B = 1, same R: R' = (I - ηK/n)R(I - ηK/n) + η²Tr(R)K²/n²
//     = diag((1 - 9η/2)² + 81η²/4, 256η²/4): η = 1/9: diag(1/2, 64/81).
//   - Isotropic, B = 1, σ² = Tr(H)/p = (25/2)/3: R' adds η²σ²Tr(R)K/n:
//     diag((1 - 1/2)² + 9σ²/162, 16σ²/162) at η = 1/9.
//
// Each entry is a few roundings of terms of size at most 1 (γ_8 < 1e-15
// absolute).
func TestStepClosedForms(t *testing.T) {
	o := diagOracle(t)
	qsq := mat.NewSymDense(2, []float64{2, -1, -1, 3})
	si, err := o.StateIndependent(2, qsq)
	if err != nil {
		t.Fatal(err)
	}
	r, err := si.Step(0.5, mat.NewSymDense(2, nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		for j := range 2 {
			if want := qsq.At(i, j) / 8; r.At(i, j) != want {
				t.Errorf("state-independent step from 0: R'[%d,%d] = %v, want QSQᵀ/8 = %v", i, j, r.At(i, j), want)
			}
		}
	}
	// The samples of the diagonal oracle: which of K's two diagonal
	// entries is sample 1's (9) is fixed by Q.
	e11 := mat.NewSymDense(2, []float64{1, 0, 0, 0})
	sgd, _ := o.SGD(1, WithReplacement)
	ga, _ := o.GeometryAware(1)
	iso, _ := o.Isotropic(1)
	sigma2 := 12.5 / 3
	const eta = 1.0 / 9
	for _, c := range []struct {
		name string
		d    *Dynamics
		want [2][2]float64
	}{
		{"SGD, B = 1", sgd, [2][2]float64{{0.5, 0}, {0, 0}}},
		{"geometry-aware", ga, [2][2]float64{{0.5, 0}, {0, 64.0 / 81}}},
		{"isotropic", iso, [2][2]float64{{0.25 + 9*sigma2/162, 0}, {0, 16 * sigma2 / 162}}},
	} {
		r, err := c.d.Step(eta, e11)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			for j := range 2 {
				if got := r.At(i, j); !(math.Abs(got-c.want[i][j]) <= 1e-15) {
					t.Errorf("%s: R'[%d,%d] = %.17g, want %.17g", c.name, i, j, got, c.want[i][j])
				}
			}
		}
	}
}

// TestReportDiagonal: the report of the diagonal oracle, whose samples are
// orthogonal: U permutes the samples, so the alignment matrix
// Uᵀdiag(χ)U - diag(h²) is diagonal, χ = ‖K_i‖²/n = (81/2, 128) against
// h² = (81/4, 64): μ0 = min(81/4, 64)/‖H‖_F² = 20.25/84.25 and
// μ1_0 = 40.5/84.25, to a few roundings of the eigen-decomposition
// (1e-14 relative). At η = 1/4, B = 1: λ_1 = 8 = 2/η, GD stable at the
// edge itself (λ_1 <= 2/η) and not one ulp of η above; ‖H‖_F =
// sqrt(84.25) exceeds Theorem 3.3's sqrt(B/μ0)/η = 4·sqrt(84.25/20.25), so
// the escape rate γ0 = η²μ0‖H‖_F²/B = 20.25/16 and the escape time are
// reported, as theory computes them from the report's own μ0 and ‖H‖_F.
// With B = 3 > n = 2 there is no sampling without replacement: its fields
// are NaN and its verdict Undecided.
func TestReportDiagonal(t *testing.T) {
	o := diagOracle(t)
	h := theory.SGD{Eta: 0.25, Batch: 1}
	rep, err := o.Report(h, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	if rep.N != 2 || rep.P != 3 || rep.Rank != 2 || rep.LambdaMax != 8 || rep.FroH != o.FroH() || rep.EscapeEps != 1e-3 {
		t.Errorf("report %+v: n, p, r, λ_1, ‖H‖_F, ε", rep)
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"μ0", rep.Mu0, 20.25 / 84.25}, {"μ1_0", rep.Mu10, 40.5 / 84.25}, {"γ0", rep.Gamma0, 20.25 / 16}} {
		if !(math.Abs(c.got-c.want) <= 1e-14*c.want) {
			t.Errorf("%s = %.17g, want %.17g", c.what, c.got, c.want)
		}
	}
	b33, _ := h.BoundThm33(rep.Mu0)
	b33w, _ := h.BoundThm33WithoutReplacement(rep.Mu0, 2)
	b34, _ := h.BoundProp34(rep.Mu10)
	g0, _ := h.Gamma0(rep.Mu0, rep.FroH)
	steps, _ := theory.EscapeSteps(g0, 1e-3)
	if rep.BoundThm33 != b33 || rep.BoundThm33WithoutReplacement != b33w || rep.BoundProp34 != b34 || rep.Gamma0 != g0 || rep.EscapeSteps != steps {
		t.Errorf("report's bounds %v, %v, %v, γ0 %v, steps %v; theory's %v, %v, %v, %v, %v",
			rep.BoundThm33, rep.BoundThm33WithoutReplacement, rep.BoundProp34, rep.Gamma0, rep.EscapeSteps, b33, b33w, b34, g0, steps)
	}
	if !(rep.FroH > rep.BoundThm33) || !(steps > 0) {
		t.Errorf("‖H‖_F = %v, Theorem 3.3's bound %v, escape steps %v: want an escape", rep.FroH, rep.BoundThm33, steps)
	}
	if !rep.GDStable {
		t.Errorf("η = 1/4, λ_1 = 8 = 2/η: GD not stable")
	}
	// Both samplings: B = 1 < n. The verdicts agree with ρ's enclosures.
	for _, c := range []struct {
		v  Verdict
		iv Interval
	}{{rep.VerdictWith, rep.RhoWithBounds}, {rep.VerdictWithout, rep.RhoWithoutBounds}} {
		if (c.iv.Hi <= 1 && c.v != Stable) || (c.iv.Lo > 1 && c.v != Unstable) {
			t.Errorf("ρ in [%v, %v]: verdict %v", c.iv.Lo, c.iv.Hi, c.v)
		}
	}

	above, err := o.Report(theory.SGD{Eta: math.Nextafter(0.25, 1), Batch: 3}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if above.GDStable {
		t.Errorf("η one ulp above 1/4: GD stable")
	}
	if !math.IsNaN(above.RhoWithout) || !math.IsNaN(above.EtaStarWithout) || !math.IsNaN(above.BoundThm33WithoutReplacement) ||
		!math.IsNaN(above.RhoWithoutBounds.Lo) || !math.IsNaN(above.EtaStarWithoutBounds.Hi) || above.VerdictWithout != Undecided {
		t.Errorf("B = 3 > n = 2: without replacement %v, %v, %v, %+v, %+v, %v; want NaN and undecided",
			above.RhoWithout, above.EtaStarWithout, above.BoundThm33WithoutReplacement, above.RhoWithoutBounds, above.EtaStarWithoutBounds, above.VerdictWithout)
	}
	if math.IsNaN(above.RhoWith) || above.EtaStarWith != above.EtaStarWithBounds.Value {
		t.Errorf("B = 3 with replacement: ρ = %v, η* = %v in %+v", above.RhoWith, above.EtaStarWith, above.EtaStarWithBounds)
	}
	// Below Theorem 3.3's bound there is no escape: γ0 and the steps are NaN.
	small, err := o.Report(theory.SGD{Eta: 0.01, Batch: 1}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !(small.FroH <= small.BoundThm33) || !math.IsNaN(small.Gamma0) || !math.IsNaN(small.EscapeSteps) {
		t.Errorf("η = 0.01: ‖H‖_F = %v, bound %v, γ0 = %v, steps %v; want no escape (NaN)", small.FroH, small.BoundThm33, small.Gamma0, small.EscapeSteps)
	}
	// Bad η and B are refused before anything is computed.
	for _, bad := range []theory.SGD{{Eta: 0, Batch: 1}, {Eta: 0.1, Batch: 0}, {Eta: math.Inf(1), Batch: 1}} {
		if _, err := o.Report(bad, 0.5); !errors.Is(err, theory.ErrParam) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// ε is checked by Report itself, also where no escape time is computed
	// (η = 0.01: below Theorem 3.3's bound, theory.EscapeSteps is not called).
	for _, eps := range []float64{1, -0.5, math.NaN()} {
		for _, hh := range []theory.SGD{h, {Eta: 0.01, Batch: 1}} {
			if _, err := o.Report(hh, eps); !errors.Is(err, theory.ErrParam) || !strings.HasPrefix(err.Error(), "eps: ") {
				t.Errorf("%+v, ε = %v: %v", hh, eps, err)
			}
		}
	}
}

// TestCheckSizeEdges: the smallest sizes are accepted, n or p below 1
// refused (either alone), with theory.ErrEmpty.
func TestCheckSizeEdges(t *testing.T) {
	for _, c := range []struct {
		n, p int
		ok   bool
	}{{1, 1, true}, {2, 1, true}, {1, 2, true}, {0, 1, false}, {1, 0, false}, {5, 0, false}, {0, 0, false}, {-1, 3, false}} {
		err := CheckSize(c.n, c.p)
		if (err == nil) != c.ok || (!c.ok && !errors.Is(err, theory.ErrEmpty)) {
			t.Errorf("CheckSize(%d, %d) = %v, want ok = %v", c.n, c.p, err, c.ok)
		}
	}
}

// TestEnclosureKinds: SGD noise gets a proven enclosure from the
// matrix-free path, with the exact path's value inside it as Value; GD and
// the custom noises get the exact path's value ± exactRelTol of it
// (around), not a proof. GD's η* is 2/λ_1 (within a few ulps: λ_1 from a
// backward-stable eigensolver), and the verdicts at 1/2 and 11/10 of η*
// are stable and unstable.
func TestEnclosureKinds(t *testing.T) {
	o, err := NewOracle([]float64{1, 2, 0, 0, 1, -1, 2, 0, 1, 1, 1, 1, -1, 0, 2}, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	gd := o.GD()
	ga, _ := o.GeometryAware(2)
	sgd, _ := o.SGD(2, WithReplacement)
	for _, c := range []struct {
		name      string
		d         *Dynamics
		certified bool
	}{{"GD", gd, false}, {"geometry-aware", ga, false}, {"SGD", sgd, true}} {
		star, err := c.d.CriticalRate()
		if err != nil {
			t.Fatal(err)
		}
		iv, err := c.d.CriticalRateBounds()
		if err != nil {
			t.Fatal(err)
		}
		if iv.Value != star || !iv.Contains(star) {
			t.Errorf("%s: η* = %v, enclosure %+v", c.name, star, iv)
		}
		if around := around(star); (iv == around) == c.certified {
			t.Errorf("%s: enclosure %+v, the exact path's ±1e-12 %+v: certified should be %v", c.name, iv, around, c.certified)
		}
		for _, x := range []float64{0.5, 1.1} {
			rho, err := c.d.SpectralRadius(x * star)
			if err != nil {
				t.Fatal(err)
			}
			riv, err := c.d.SpectralRadiusBounds(x * star)
			if err != nil {
				t.Fatal(err)
			}
			if riv.Value != rho || !riv.Contains(rho) || (riv == around(rho)) == c.certified {
				t.Errorf("%s, η = %v·η*: ρ = %v, enclosure %+v", c.name, x, rho, riv)
			}
			v, viv, err := c.d.Verdict(x * star)
			if want := map[bool]Verdict{true: Stable, false: Unstable}[x < 1]; err != nil || v != want || viv != riv {
				t.Errorf("%s, η = %v·η*: verdict %v (ρ in %+v), %v; want %v", c.name, x, v, viv, err, want)
			}
		}
	}
	if star, _ := gd.CriticalRate(); !(math.Abs(star-2/o.LambdaMax()) <= 1e-14*star) {
		t.Errorf("GD: η* = %v, want 2/λ_1 = %v", star, 2/o.LambdaMax())
	}
}

// TestReportFields: each field of the report is its dynamics' answer, for
// both samplings, which differ here (n = 5, B = 2), and the bound without
// replacement is +Inf at B = n (full batch, no noise).
func TestReportFields(t *testing.T) {
	o, err := NewOracle([]float64{1, 2, 0, 0, 1, -1, 2, 0, 1, 1, 1, 1, -1, 0, 2}, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	with, _ := o.SGD(2, WithReplacement)
	without, _ := o.SGD(2, WithoutReplacement)
	starWith, _ := with.CriticalRate()
	starWithout, _ := without.CriticalRate()
	if starWith == starWithout {
		t.Fatalf("η* = %v both ways: the samplings do not differ", starWith)
	}
	eta := (starWith + starWithout) / 2 // between them
	rep, err := o.Report(theory.SGD{Eta: eta, Batch: 2}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	rhoWith, _ := with.SpectralRadius(eta)
	rhoWithout, _ := without.SpectralRadius(eta)
	vWith, _, _ := with.Verdict(eta)
	vWithout, _, _ := without.Verdict(eta)
	if rep.EtaStarWith != starWith || rep.EtaStarWithout != starWithout || rep.RhoWith != rhoWith || rep.RhoWithout != rhoWithout ||
		rep.VerdictWith != vWith || rep.VerdictWithout != vWithout || rep.VerdictWith == rep.VerdictWithout {
		t.Errorf("report η* %v, %v; ρ %v, %v; verdicts %v, %v; the dynamics' %v, %v; %v, %v; %v, %v",
			rep.EtaStarWith, rep.EtaStarWithout, rep.RhoWith, rep.RhoWithout, rep.VerdictWith, rep.VerdictWithout,
			starWith, starWithout, rhoWith, rhoWithout, vWith, vWithout)
	}
	if !rep.EtaStarWithBounds.Contains(starWith) || !rep.EtaStarWithoutBounds.Contains(starWithout) ||
		!rep.RhoWithBounds.Contains(rhoWith) || !rep.RhoWithoutBounds.Contains(rhoWithout) {
		t.Errorf("report enclosures %+v, %+v, %+v, %+v", rep.EtaStarWithBounds, rep.EtaStarWithoutBounds, rep.RhoWithBounds, rep.RhoWithoutBounds)
	}
	full, err := o.Report(theory.SGD{Eta: eta, Batch: 5}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(full.BoundThm33WithoutReplacement, 1) {
		t.Errorf("B = n: bound without replacement %v, want +Inf", full.BoundThm33WithoutReplacement)
	}
}

// TestEnclosureScaling: the oracle works in the scaled space (K̂ = 2^-x K,
// η̂ = 2^x η), so scaling Q by 2^s scales η* and its enclosure by 2^-2s
// exactly, and leaves ρ's enclosure at the correspondingly scaled η
// unchanged, bit for bit, for either sign of s.
func TestEnclosureScaling(t *testing.T) {
	q := []float64{1, 2, 0, 0, 1, -1, 2, 0, 1, 1, 1, 1, -1, 0, 2}
	bounds := func(q []float64, eta float64) (Interval, Interval) {
		t.Helper()
		o, err := NewOracle(q, 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := o.SGD(2, WithReplacement)
		star, err := d.CriticalRateBounds()
		if err != nil {
			t.Fatal(err)
		}
		rho, err := d.SpectralRadiusBounds(eta * star.Value)
		if err != nil {
			t.Fatal(err)
		}
		return star, rho
	}
	star, rho := bounds(q, 0.9)
	for _, s := range []int{-20, 20} {
		qs := make([]float64, len(q))
		for i, v := range q {
			qs[i] = math.Ldexp(v, s)
		}
		starS, rhoS := bounds(qs, 0.9)
		want := Interval{Value: math.Ldexp(star.Value, -2*s), Lo: math.Ldexp(star.Lo, -2*s), Hi: math.Ldexp(star.Hi, -2*s)}
		if starS != want || rhoS != rho {
			t.Errorf("Q·2^%d: η* in %+v, want %+v; ρ in %+v, want %+v", s, starS, want, rhoS, rho)
		}
	}
}
