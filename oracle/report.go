package oracle

import (
	"errors"
	"math"
	"sync"

	"github.com/flatmin/flatmin/theory"
)

// StabilityReport is what the exact oracle says about linearized SGD with
// learning rate η and batch size B at a global minimum (Section 3).
type StabilityReport struct {
	N, P, Rank int
	FroH       float64 // ‖H‖_F, the flatness
	LambdaMax  float64 // λ_1(H)
	// RhoWith and RhoWithout are the spectral radii of the second-moment
	// recursion for batches drawn with and without replacement; the minimum
	// is linearly stable iff ρ <= 1. Without replacement needs B <= n: for
	// B > n RhoWithout and EtaStarWithout are NaN and VerdictWithout is
	// Undecided. The Bounds are their enclosures (proven, see
	// Dynamics.SpectralRadiusBounds), the Verdicts what they decide.
	RhoWith, RhoWithout                     float64
	RhoWithBounds, RhoWithoutBounds         Interval
	VerdictWith, VerdictWithout             Verdict
	EtaStarWith, EtaStarWithout             float64 // the critical learning rates η*
	EtaStarWithBounds, EtaStarWithoutBounds Interval
	Mu0, Mu10                               float64 // inf_θ μ(θ), inf_θ μ1(θ)
	// The paper's bounds on ‖H‖_F at η: Theorem 3.3 (with replacement),
	// its version without replacement (NaN for B > n), and Proposition 3.4
	// (+Inf when the alignment constant is <= 0).
	BoundThm33, BoundThm33WithoutReplacement, BoundProp34 float64
	GDStable                                              bool // λ_1(H) <= 2/η
	// Gamma0 is Theorem 3.6's rate γ0 = η²μ0‖H‖_F²/B when ‖H‖_F exceeds
	// the Theorem 3.3 bound (then γ0 > 1 and E[L_t] >= γ0^t E[L_0]), NaN
	// otherwise; EscapeSteps is log_{γ0}(1/EscapeEps), NaN when not escaping.
	Gamma0, EscapeEps, EscapeSteps float64
}

// Report computes the StabilityReport for h = (η, B), with the escape time
// from a loss EscapeEps (0 < eps < 1) to O(1).
func (o *Oracle) Report(h theory.SGD, eps float64) (StabilityReport, error) {
	if err := h.Validate(); err != nil {
		return StabilityReport{}, err
	}
	if _, err := o.scaledEta(h.Eta); err != nil {
		return StabilityReport{}, err
	}
	if !(eps > 0 && eps < 1) {
		return StabilityReport{}, paramErr("eps", "must be in (0, 1), got %v", eps)
	}
	rep := StabilityReport{N: o.n, P: o.p, Rank: o.r, FroH: o.FroH(), LambdaMax: o.LambdaMax(),
		RhoWithout: math.NaN(), EtaStarWithout: math.NaN(), EscapeEps: eps,
		Gamma0: math.NaN(), EscapeSteps: math.NaN()}
	with, err := o.SGD(h.Batch, WithReplacement)
	if err != nil {
		return StabilityReport{}, err
	}
	dyn := []*Dynamics{with}
	if h.Batch <= o.n {
		without, err := o.SGD(h.Batch, WithoutReplacement)
		if err != nil {
			return StabilityReport{}, err
		}
		dyn = append(dyn, without)
	}
	// The two samplings run concurrently where the exact path answers
	// (each Dynamics builds its structure first, before any goroutine
	// shares it); the matrix-free path's products use every core already,
	// and one at a time halves its memory.
	type answer struct {
		verdict   Verdict
		rho, star Interval
		err       error
	}
	answers := make([]answer, len(dyn))
	var errMu0, errMu10 error
	alignment := func() {
		var wg sync.WaitGroup
		wg.Go(func() { rep.Mu10, errMu10 = o.Mu10() })
		rep.Mu0, errMu0 = o.Mu0()
		wg.Wait()
	}
	solve := func(i int) {
		a := &answers[i]
		if a.star, a.err = dyn[i].CriticalRateBounds(); a.err != nil {
			return
		}
		a.verdict, a.rho, a.err = dyn[i].Verdict(h.Eta)
	}
	if dyn[0].exact() {
		var wg sync.WaitGroup
		for i, d := range dyn {
			d.structure()
			wg.Add(1)
			go func() { defer wg.Done(); solve(i) }()
		}
		alignment()
		wg.Wait()
	} else {
		// One sampling after the other, the second starting from the
		// first's Perron vector (the operators differ only in C1 and C2);
		// μ0 and μ1_0 meanwhile, their eigen-decompositions being
		// sequential code.
		var wg sync.WaitGroup
		wg.Go(alignment)
		for i := range dyn {
			if i > 0 {
				dyn[i].start = dyn[i-1].perron
			}
			solve(i)
		}
		wg.Wait()
	}
	for _, a := range answers {
		if a.err != nil {
			return StabilityReport{}, a.err
		}
	}
	if err := errors.Join(errMu0, errMu10); err != nil {
		return StabilityReport{}, err
	}
	rep.RhoWith, rep.RhoWithBounds, rep.VerdictWith = answers[0].rho.Value, answers[0].rho, answers[0].verdict
	rep.EtaStarWith, rep.EtaStarWithBounds = answers[0].star.Value, answers[0].star
	rep.VerdictWithout = Undecided
	nan := Interval{Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	rep.RhoWithoutBounds, rep.EtaStarWithoutBounds = nan, nan
	if len(dyn) == 2 {
		rep.RhoWithout, rep.RhoWithoutBounds, rep.VerdictWithout = answers[1].rho.Value, answers[1].rho, answers[1].verdict
		rep.EtaStarWithout, rep.EtaStarWithoutBounds = answers[1].star.Value, answers[1].star
	}
	if rep.BoundThm33, err = h.BoundThm33(rep.Mu0); err != nil {
		return StabilityReport{}, err
	}
	rep.BoundThm33WithoutReplacement = math.NaN()
	if h.Batch <= o.n {
		if rep.BoundThm33WithoutReplacement, err = h.BoundThm33WithoutReplacement(rep.Mu0, o.n); err != nil {
			return StabilityReport{}, err
		}
	}
	if rep.BoundProp34, err = h.BoundProp34(rep.Mu10); err != nil {
		return StabilityReport{}, err
	}
	rep.GDStable = rep.LambdaMax <= h.BoundGDLambdaMax()
	if rep.FroH > rep.BoundThm33 {
		if rep.Gamma0, err = h.Gamma0(rep.Mu0, rep.FroH); err != nil {
			return StabilityReport{}, err
		}
		if rep.EscapeSteps, err = theory.EscapeSteps(rep.Gamma0, eps); err != nil {
			return StabilityReport{}, err
		}
	}
	return rep, nil
}
