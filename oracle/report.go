package oracle

import (
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
	// B > n RhoWithout and EtaStarWithout are NaN and StableWithout false.
	RhoWith, RhoWithout         float64
	StableWith, StableWithout   bool
	EtaStarWith, EtaStarWithout float64 // the critical learning rates η*
	Mu0, Mu10                   float64 // inf_θ μ(θ), inf_θ μ1(θ)
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
// from a loss EscapeEps (0 < eps < 1) to O(1). The four spectral problems
// run concurrently.
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
	// Each Dynamics builds its structure once, before the goroutines share it.
	for _, d := range dyn {
		d.structure()
	}
	rho := make([]float64, len(dyn))
	star := make([]float64, len(dyn))
	errs := make([]error, 2*len(dyn))
	var wg sync.WaitGroup
	for i, d := range dyn {
		wg.Add(2)
		go func() { defer wg.Done(); rho[i], errs[2*i] = d.SpectralRadius(h.Eta) }()
		go func() { defer wg.Done(); star[i], errs[2*i+1] = d.CriticalRate() }()
	}
	rep.Mu0, rep.Mu10 = o.Mu0(), o.Mu10()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return StabilityReport{}, err
		}
	}
	rep.RhoWith, rep.EtaStarWith = rho[0], star[0]
	rep.StableWith = rho[0] <= 1
	if len(dyn) == 2 {
		rep.RhoWithout, rep.EtaStarWithout = rho[1], star[1]
		rep.StableWithout = rho[1] <= 1
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
