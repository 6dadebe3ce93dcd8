package experiment

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// Figure 4 (Section 3.2): escape from a sharp minimum. GD runs at a model's
// A.1 learning rate η from its initialization until the loss is small
// ("when GD nearly converges"); at that switch point SGD takes over with the
// same η and a batch B for which the point is linearly unstable, and the
// loss of many seeded SGD trajectories is recorded step by step. Their mean
// is compared with the exact expected loss E[L_t] of SGD linearized at the
// switch point (package oracle), started from the second moment R_0 = e eᵀ
// of the residuals there, and with Theorem 3.6's rate γ0.
//
// The comparison is linearized in θ about the switch point, which is not
// quite a minimum: e_{t+1} = e_t - (η/B) K D_I e_t with K = QQᵀ and D_I the
// batch counts, which is exact for the RFM (linear in θ) and first order in
// θ - θ_switch for the networks. For batches drawn with replacement the
// oracle's E[L_t] is exactly what the trajectories average to under that
// linearization. For shuffled epochs (a DataLoader's sampling, the default
// of Config) each batch of an epoch is, on its own, a uniform B-subset (the
// last one an (n mod B)-subset when B does not divide n), and the oracle's
// E[L_t] uses these per-step marginals, its sampling without replacement:
// it ignores that the batches of one epoch are disjoint, and over more than
// a few steps of an epoch that overstates the growth by orders of magnitude
// (README). LinearRuns, linearized SGD run on the trajectories' own batches,
// and the Monte Carlo calibration (GroupRateRatios) use the sampling itself.

// EscapeFactor and EscapeHorizon are the ledger's escape criterion (fig-4,
// property/fig4.go gives the reasons): the mean loss grows by EscapeFactor
// within EscapeHorizon steps. The early growth rates are measured over the
// steps the linearized E[L_t] takes to grow by EscapeFactor, at most
// EscapeHorizon (Window). The Monte Carlo error of a mean over runs is
// calibrated on EscapeGroups groups of runs of linearized SGD
// (GroupRateRatios, MonteCarloP), the number PlanEscape asks for.
const (
	EscapeFactor  = 10.0
	EscapeHorizon = 20
	EscapeGroups  = 1000
)

// EscapeJob is one panel of Figure 4.
type EscapeJob struct {
	Spec Spec
	// Eta is the learning rate of both phases (A.1's for the model).
	Eta float64
	// The GD phase (B = n) stops at the first full loss <= GDLoss, or after
	// GDSteps steps (then the switch point is reported as not converged).
	GDLoss  float64
	GDSteps int
	// SettleBatch, when in [1, n), replaces GD in the first phase by SGD
	// with that batch (shuffled epochs), the protocol of the paper's Figure
	// 9: there SGD at B = 64 finds the minimum that SGD at B = 4 escapes.
	// It is for networks whose GD is out of reach (the CNN at n = 1000 takes
	// seconds a GD step here). 0 (or n) keeps GD; more than n is an error.
	SettleBatch int
	// Batch is the B of the SGD phase. With Edge it is instead the largest B
	// in [1, n) for which the oracle finds the switch point unstable.
	Batch int
	Edge  bool
	// Sampling of the SGD batches.
	Sampling Sampling
	// Runs trajectories of Steps SGD steps each.
	Runs, Steps int
	// Groups of Runs runs of linearized SGD calibrate the Monte Carlo error
	// of the comparison (EscapeResult.GroupRatios); 0 skips it.
	Groups int
	// Seed draws the data (Spec.Seed is set from it), the initialization of
	// the GD phase and, with the run index, the batches of each trajectory.
	Seed uint64
}

// Validate checks the job's numbers (the spec is checked by Build).
func (j EscapeJob) Validate() error {
	switch {
	case !(j.Eta > 0) || math.IsInf(j.Eta, 1):
		return fmt.Errorf("learning rate must be positive and finite, got %v", j.Eta)
	case !(j.GDLoss >= 0) || math.IsInf(j.GDLoss, 1):
		return fmt.Errorf("GD loss target must be >= 0 and finite, got %v", j.GDLoss)
	case j.GDSteps < 0:
		return fmt.Errorf("GD step cap must be >= 0, got %d", j.GDSteps)
	case j.SettleBatch < 0:
		return fmt.Errorf("batch of the first phase must be >= 0 (0: GD), got %d", j.SettleBatch)
	case !j.Edge && j.Batch < 1:
		return fmt.Errorf("batch size must be >= 1, got %d", j.Batch)
	case j.Runs < 1:
		return fmt.Errorf("runs must be >= 1, got %d", j.Runs)
	case j.Steps < 1:
		return fmt.Errorf("SGD steps must be >= 1, got %d", j.Steps)
	case j.Groups < 0:
		return fmt.Errorf("calibration groups must be >= 0, got %d", j.Groups)
	case j.Sampling != Shuffled && j.Sampling != WithReplacement:
		return fmt.Errorf("unknown sampling %d", int(j.Sampling))
	}
	return nil
}

// SwitchPoint is where GD hands over to SGD: the network at the end of the
// GD phase (or of the SGD phase that replaces it, EscapeJob.SettleBatch)
// and the exact oracle of its linearization there.
type SwitchPoint struct {
	Theta     []float64
	State     *theory.State
	Oracle    *oracle.Oracle
	Batch     int     // B of the first phase: n for GD
	Steps     int     // steps of the first phase
	Loss      float64 // L at the switch
	Converged bool    // the first phase reached its loss target
	LambdaMax float64 // λ_1(G)
	FroH      float64 // ‖H‖_F = ‖G‖_F (H = G at a minimum)
	Mu0       float64 // μ0 = inf_θ μ(θ) of the linearized model
	Rank      int
	Eta       float64
	GDStable  bool // λ_1(G) <= 2/η: the point is linearly stable for GD
}

// Minimum runs SGD with batches of b samples (shuffled epochs; GD for b =
// n) at η from the model's initialization (seed) until the full loss is at
// most loss or maxSteps steps, and measures the point it stops at: the
// first phase of Figure 4 (b = n) or of the paper's Figure 9.
func Minimum(p Problem, eta float64, b int, loss float64, maxSteps int, seed uint64) (*SwitchPoint, error) {
	if b < 1 || b > p.Data.N {
		return nil, fmt.Errorf("batch of the first phase must be in [1, n = %d], got %d", p.Data.N, b)
	}
	phase := "GD phase"
	if b < p.Data.N {
		phase = fmt.Sprintf("SGD phase (B = %d) before the switch", b)
	}
	run, err := Train(p, Config{Eta: eta, Batch: b, Seed: seed, MaxSteps: maxSteps, LossTarget: loss})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", phase, err)
	}
	o, err := oracle.NewOracleFromState(run.State)
	if err != nil {
		return nil, err
	}
	mu0, err := o.Mu0()
	if err != nil {
		return nil, err
	}
	return &SwitchPoint{Theta: run.Theta, State: run.State, Oracle: o, Batch: b, Steps: run.Steps,
		Loss: run.FinalLoss, Converged: run.Converged, LambdaMax: o.LambdaMax(), FroH: o.FroH(),
		Mu0: mu0, Rank: o.Rank(), Eta: eta, GDStable: o.LambdaMax() <= 2/eta}, nil
}

// oracleSampling is the oracle's sampling that gives the per-step marginal
// of s: a batch of shuffled epochs is a uniform subset.
func oracleSampling(s Sampling) oracle.Sampling {
	if s == WithReplacement {
		return oracle.WithReplacement
	}
	return oracle.WithoutReplacement
}

// Rho is the spectral radius ρ of linearized SGD at the switch point with
// batch size b (the per-step marginal of s): the point is linearly stable
// iff ρ <= 1.
func (sw *SwitchPoint) Rho(b int, s Sampling) (float64, error) {
	d, err := sw.Oracle.SGD(b, oracleSampling(s))
	if err != nil {
		return 0, err
	}
	return d.SpectralRadius(sw.Eta)
}

// EdgeBatch is the largest B in [1, n) for which linearized SGD with
// sampling s is unstable at the switch point (ρ(B) > 1), with ρ there and
// at B + 1 (for B + 1 = n, shuffled, that is GD's). It is 0 when the point
// is stable for every B, and then rhoNext is ρ(1).
//
// It bisects on B, which is valid because ρ is non-increasing in B. The
// recursion is T_B(M) = T_GD(M) + η²ν_B·D(M) with D(M) = (1/n)Σ_i
// (g_iᵀMg_i)g_ig_iᵀ - HMH, for M = Σ_j v_jv_jᵀ the sum over j of the
// covariances of the single-sample vectors g_ig_iᵀv_j, so a map that keeps
// positive semi-definite matrices so; ν_B = n·C2 is the noise fraction of
// the sampling, 1/B with replacement and (n-B)/(B(n-1)) without, both
// decreasing in B. So T_B - T_B' is a positive map for B < B', and the
// spectral radius of positive maps of the cone is monotone
// (Perron–Frobenius for cones): ρ(T_B) >= ρ(T_B').
func (sw *SwitchPoint) EdgeBatch(s Sampling) (b int, rhoAt, rhoNext float64, err error) {
	nan := math.NaN()
	n := sw.State.N()
	if n < 2 {
		return 0, nan, nan, errors.New("a batch in [1, n) needs n >= 2")
	}
	rho := func(b int) (float64, error) {
		if b == n && s == Shuffled { // a shuffled epoch of one batch is GD
			return sw.Oracle.GD().SpectralRadius(sw.Eta)
		}
		return sw.Rho(b, s)
	}
	r1, err := rho(1)
	if err != nil {
		return 0, nan, nan, err
	}
	if !(r1 > 1) {
		return 0, nan, r1, nil
	}
	lo, hi := 1, n // ρ(lo) > 1 >= ρ(hi) once ρ(n) is known
	rLo := r1
	rHi, err := rho(n)
	if err != nil {
		return 0, nan, nan, err
	}
	if rHi > 1 {
		lo, hi = n-1, n
		if rLo, err = rho(lo); err != nil {
			return 0, nan, nan, err
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		r, err := rho(mid)
		if err != nil {
			return 0, nan, nan, err
		}
		if r > 1 {
			lo, rLo = mid, r
		} else {
			hi, rHi = mid, r
		}
	}
	return lo, rLo, rHi, nil
}

// Linearized returns the exact E[L_t], t = 0..steps, of SGD linearized at
// the switch point with batch b and sampling s, from R_0 = e eᵀ (e the
// residuals there). Shuffled epochs use the per-step marginals (see the
// comment at the top of this file): uniform b-subsets, and an (n mod b)-subset
// for the last batch of each epoch.
func (sw *SwitchPoint) Linearized(b int, s Sampling, steps int) ([]float64, error) {
	o := sw.Oracle
	n := o.N()
	if b < 1 || (s == Shuffled && b > n) {
		return nil, fmt.Errorf("batch size %d outside [1, n = %d]", b, n)
	}
	r, err := o.PointMoment(sw.State.Residuals())
	if err != nil {
		return nil, err
	}
	if s == WithReplacement {
		d, err := o.SGD(b, oracle.WithReplacement)
		if err != nil {
			return nil, err
		}
		return d.ExpectedLoss(sw.Eta, r, steps)
	}
	full, err := o.SGD(b, oracle.WithoutReplacement)
	if err != nil {
		return nil, err
	}
	epoch, last := (n+b-1)/b, full
	if rem := n % b; rem != 0 {
		if last, err = o.SGD(rem, oracle.WithoutReplacement); err != nil {
			return nil, err
		}
	}
	out := make([]float64, steps+1)
	out[0] = o.Loss(r)
	var m mat.Symmetric = r
	for t := 1; t <= steps; t++ {
		d := full
		if (t-1)%epoch == epoch-1 {
			d = last
		}
		next, err := d.Step(sw.Eta, m)
		if err != nil {
			return nil, err
		}
		m = next
		out[t] = o.Loss(next)
	}
	return out, nil
}

// Gamma0 returns Theorem 3.6's rate at the switch point for batch b and
// sampling s, and the Theorem 3.3 bound it compares ‖H‖_F with: γ0 =
// η²μ0‖H‖_F²/B with replacement; for the per-step marginal of shuffled
// epochs the noise is scaled by (n-B)/(n-1) (ledger row
// ext-without-replacement), and so is γ0. In both γ0 = (‖H‖_F/bound)², so
// γ0 > 1 exactly when ‖H‖_F exceeds the bound and the theorem applies.
func (sw *SwitchPoint) Gamma0(b int, s Sampling) (gamma0, bound float64, err error) {
	h := theory.SGD{Eta: sw.Eta, Batch: b}
	if s == WithReplacement {
		bound, err = h.BoundThm33(sw.Mu0)
	} else {
		bound, err = h.BoundThm33WithoutReplacement(sw.Mu0, sw.State.N())
	}
	if err != nil {
		return 0, 0, err
	}
	g := sw.FroH / bound
	return g * g, bound, nil
}

// streamEscape is the base PCG stream of the trajectories' batches (run r
// uses streamEscape + r); it is far from streamInit and streamBatches, which
// the GD phase draws from with the same seed.
const streamEscape = 0x4553_4350 << 32 // "ESCP"

// Trajectories runs runs SGD trajectories of steps steps from θ (not
// modified) at learning rate eta and batch b, and returns the full training
// loss of each at t = 0..steps (loss[r][t]). Run r draws its batches from
// PCG(seed, streamEscape + r), so the result does not depend on workers. A
// trajectory whose loss or parameters leave the float64 range stops there,
// its later losses NaN. done, when not nil, is called after each trajectory.
func Trajectories(p Problem, theta []float64, eta float64, b int, s Sampling, runs, steps int, seed uint64, workers int, done func()) ([][]float64, error) {
	n, d := p.Data.N, p.Data.D
	if err := (Config{Eta: eta, Batch: b, Sampling: s}).Validate(n); err != nil {
		return nil, err
	}
	if runs < 1 || steps < 0 {
		return nil, fmt.Errorf("runs (%d) must be >= 1 and steps (%d) >= 0", runs, steps)
	}
	if len(theta) != p.Net.NumParams() {
		return nil, fmt.Errorf("len(θ) = %d, want p = %d", len(theta), p.Net.NumParams())
	}
	l0, err := FullLoss(p, theta)
	if err != nil {
		return nil, err
	}
	one := func(r int) ([]float64, error) {
		th := append([]float64(nil), theta...)
		grad := make([]float64, len(th))
		xb, yb := make([]float64, b*d), make([]float64, b)
		bt := newBatcher(n, b, s, rand.New(rand.NewPCG(seed, streamEscape+uint64(r))))
		loss := make([]float64, steps+1)
		loss[0] = l0
		for t := 1; t <= steps; t++ {
			idx := bt.next()
			for k, i := range idx {
				copy(xb[k*d:(k+1)*d], p.Data.X[i*d:(i+1)*d])
				yb[k] = p.Data.Y[i]
			}
			bl, err := p.Net.LossGradient(grad, th, xb[:len(idx)*d], yb[:len(idx)])
			if err != nil {
				return nil, fmt.Errorf("run %d, step %d: %w", r, t, err)
			}
			// The run leaves the float64 range when its batch loss, its
			// step or its full loss does: a step can overflow θ from a
			// finite batch loss, and the network refuses such a θ.
			left := !finite(bl)
			if !left {
				for j, g := range grad {
					th[j] -= eta * g
				}
				left = slices.ContainsFunc(th, func(v float64) bool { return !finite(v) })
			}
			if !left {
				if loss[t], err = FullLoss(p, th); err != nil {
					return nil, err
				}
				left = !finite(loss[t])
			}
			if left {
				for ; t <= steps; t++ {
					loss[t] = math.NaN()
				}
			}
		}
		return loss, nil
	}
	out := make([][]float64, runs)
	errs := make([]error, runs)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for r := range next {
				out[r], errs[r] = one(r)
				if done != nil {
					done()
				}
			}
		})
	}
	for r := range runs {
		next <- r
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// EscapeResult is one panel of Figure 4 with its numbers.
type EscapeResult struct {
	Job         EscapeJob
	Model       string
	Width, P, N int
	Reading     string
	Switch      *SwitchPoint
	Batch       int // B of the SGD phase
	Stability   Stability
	// Gamma0 is Theorem 3.6's γ0 for B and the sampling, BoundThm33 the
	// Theorem 3.3 bound that ‖H‖_F must exceed for the theorem to apply
	// (then γ0 > 1).
	Gamma0, BoundThm33 float64
	// Loss[r][t] is the full training loss of trajectory r after t SGD
	// steps; Mean its mean over the runs (NaN at t once a run has left the
	// float64 range), Linearized the exact E[L_t] of linearized SGD, and
	// LinearMean the mean of the runs of linearized SGD with the same
	// batches as the trajectories (LinearRuns).
	Loss                         [][]float64
	Mean, Linearized, LinearMean []float64
	// GroupRatios calibrate the Monte Carlo error of Mean: the early growth
	// rate, over Window(), of the means of Job.Groups groups of Runs
	// linearized runs each, over that of Linearized (GroupRateRatios).
	GroupRatios []float64
	// Seconds in all, and in the GD phase (0 when EscapeFrom was given the
	// switch point).
	Seconds, GDSeconds float64
}

// Stability is what the spectral oracle says at the switch point, NaN with
// a Note where it could not say (a size it refuses, say).
type Stability struct {
	Rho         float64 // ρ at the batch B of the runs (for B = n shuffled, GD's)
	RhoGD       float64 // ρ of GD, max_k (1 - ηh_k)²
	EdgeBatch   int     // the largest unstable B in [1, n); 0: none; -1: unknown
	RhoEdge     float64 // ρ(EdgeBatch)
	RhoEdgeNext float64 // ρ(EdgeBatch + 1); ρ(1) when EdgeBatch is 0
	Note        string  // why a value is NaN
}

// stabilityAt asks the oracle about the switch point and returns the batch
// of the runs: the job's, or with Edge the oracle's largest unstable one
// (whose failure is then an error).
func stabilityAt(sw *SwitchPoint, j EscapeJob) (Stability, int, error) {
	nan := math.NaN()
	st := Stability{Rho: nan, RhoGD: nan, EdgeBatch: -1, RhoEdge: nan, RhoEdgeNext: nan}
	n := sw.State.N()
	var notes []error
	var err error
	if st.RhoGD, err = sw.Oracle.GD().SpectralRadius(sw.Eta); err != nil {
		st.RhoGD = nan
		notes = append(notes, err)
	}
	if n >= 2 {
		var e int
		if e, st.RhoEdge, st.RhoEdgeNext, err = sw.EdgeBatch(j.Sampling); err == nil {
			st.EdgeBatch = e
		} else if j.Edge {
			return Stability{}, 0, fmt.Errorf("choosing B by the oracle: %w", err)
		} else {
			notes = append(notes, err)
		}
	}
	b := j.Batch
	if j.Edge {
		if st.EdgeBatch < 1 {
			return Stability{}, 0, fmt.Errorf("the switch point is linearly stable for SGD at every B in [1, n = %d) (ρ(1) = %.6g): no batch escapes", n, st.RhoEdgeNext)
		}
		b = st.EdgeBatch
	}
	if b > n {
		return Stability{}, 0, fmt.Errorf("batch size %d exceeds n = %d", b, n)
	}
	switch {
	case b == st.EdgeBatch:
		st.Rho = st.RhoEdge
	case b == n && j.Sampling == Shuffled:
		st.Rho = st.RhoGD
	default:
		if st.Rho, err = sw.Rho(b, j.Sampling); err != nil {
			st.Rho = nan
			notes = append(notes, err)
		}
	}
	if len(notes) > 0 {
		st.Note = "oracle: " + errors.Join(notes...).Error()
	}
	return st, b, nil
}

// Escape runs a job: builds its network, runs the GD phase and then
// EscapeFrom. progress is as for EscapeFrom.
func Escape(j EscapeJob, workers int, progress func(done, total int)) (EscapeResult, error) {
	start := time.Now()
	if err := j.Validate(); err != nil {
		return EscapeResult{}, err
	}
	p, sw, err := SwitchFor(j)
	if err != nil {
		return EscapeResult{}, err
	}
	res, err := EscapeFrom(p, sw, j, workers, progress)
	res.GDSeconds = time.Since(start).Seconds() - res.Seconds
	res.Seconds += res.GDSeconds
	return res, err
}

// SwitchFor builds a job's network (its data drawn from the job's seed) and
// runs its first phase: GD, or SGD at the job's SettleBatch.
func SwitchFor(j EscapeJob) (Problem, *SwitchPoint, error) {
	j.Spec.Seed = j.Seed
	p, err := Build(j.Spec)
	if err != nil {
		return Problem{}, nil, err
	}
	b := j.SettleBatch
	if b == 0 {
		b = p.Data.N
	}
	sw, err := Minimum(p, j.Eta, b, j.GDLoss, j.GDSteps, j.Seed)
	return p, sw, err
}

// EscapeFrom runs the SGD phase of a job from a switch point of its
// problem (SwitchFor; several jobs that differ only in their SGD phase can
// share it): the oracle there, the exact linearized E[L_t], the
// trajectories, their linearizations and the Monte Carlo calibration.
// progress, when not nil, is called with the work done out of Runs + 1 (the
// oracle counts as one unit, each trajectory as one).
func EscapeFrom(p Problem, sw *SwitchPoint, j EscapeJob, workers int, progress func(done, total int)) (EscapeResult, error) {
	start := time.Now()
	if err := j.Validate(); err != nil {
		return EscapeResult{}, err
	}
	if sw == nil || sw.State.N() != p.Data.N || len(sw.Theta) != p.Net.NumParams() || sw.Eta != j.Eta {
		return EscapeResult{}, errors.New("the switch point is not one of this problem at the job's learning rate")
	}
	var mu sync.Mutex
	done := 0
	tick := func() {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		done++
		progress(done, j.Runs+1)
	}
	res := EscapeResult{Job: j, Model: p.Model, Width: p.Width, P: p.Net.NumParams(), N: p.Data.N,
		Reading: Reading(p.Model, j.Spec.Literal, j.Spec.TorchInit), Switch: sw}
	var err error
	if res.Stability, res.Batch, err = stabilityAt(sw, j); err != nil {
		return EscapeResult{}, err
	}
	if res.Gamma0, res.BoundThm33, err = sw.Gamma0(res.Batch, j.Sampling); err != nil {
		return EscapeResult{}, err
	}
	if res.Linearized, err = sw.Linearized(res.Batch, j.Sampling, j.Steps); err != nil {
		return EscapeResult{}, err
	}
	tick()
	if res.Loss, err = Trajectories(p, sw.Theta, j.Eta, res.Batch, j.Sampling, j.Runs, j.Steps, j.Seed, workers, tick); err != nil {
		return EscapeResult{}, err
	}
	res.Mean = MeanCurve(res.Loss)
	lin, err := sw.LinearRuns(res.Batch, j.Sampling, j.Runs, j.Steps, j.Seed, 0)
	if err != nil {
		return EscapeResult{}, err
	}
	res.LinearMean = MeanCurve(lin)
	if j.Groups > 0 {
		if res.GroupRatios, err = sw.GroupRateRatios(res.Batch, j.Sampling, j.Runs, res.Window(), j.Groups, j.Seed, res.Linearized); err != nil {
			return EscapeResult{}, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// MeanCurve is the mean over the runs at each step, NaN at a step where
// some run is NaN.
func MeanCurve(loss [][]float64) []float64 {
	if len(loss) == 0 {
		return nil
	}
	out := make([]float64, len(loss[0]))
	for t := range out {
		s := 0.0
		for _, l := range loss {
			s += l[t]
		}
		out[t] = s / float64(len(loss))
	}
	return out
}

// GrowthRate is the geometric mean growth per step of a curve over steps
// 1..k, (c_k/c_0)^(1/k); NaN when k is outside [1, len-1] or c_0 is not
// positive.
func GrowthRate(c []float64, k int) float64 {
	if k < 1 || k >= len(c) || !(c[0] > 0) {
		return math.NaN()
	}
	return math.Pow(c[k]/c[0], 1/float64(k))
}

// StepsToGrow is the first step t >= 1 at which c_t >= factor·c_0, or -1.
func StepsToGrow(c []float64, factor float64) int {
	for t := 1; t < len(c); t++ {
		if c[t] >= factor*c[0] {
			return t
		}
	}
	return -1
}

// Window is the number of steps over which the early growth rates are
// measured: the steps the linearized E[L_t] takes to grow by EscapeFactor,
// at most EscapeHorizon and the steps run.
func (r EscapeResult) Window() int {
	k := min(EscapeHorizon, len(r.Linearized)-1)
	if t := StepsToGrow(r.Linearized, EscapeFactor); t > 0 && t < k {
		k = t
	}
	return k
}

// Rates returns the early growth rates over the window: of the mean of the
// runs and of the linearized E[L_t].
func (r EscapeResult) Rates() (measured, linearized float64) {
	k := r.Window()
	return GrowthRate(r.Mean, k), GrowthRate(r.Linearized, k)
}

// Streams of the linearized runs that calibrate the Monte Carlo error
// (group g, run r: streamGroups + g·runs + r), apart from the trajectories'.
const streamGroups = 0x4752_5053 << 32 // "GRPS"

// LinearRuns runs SGD on the model linearized at the switch point, on the
// residuals: e_{t+1} = e_t - (η/|I|) Σ_{i∈I} K_{:,i} e_{t,i} (each index of
// the batch counted as often as drawn), loss Σ e²/(2n), t = 0..steps. Run r
// draws its batches from PCG(seed, streamEscape + stream + r); with
// stream = 0 they are the batches of Trajectories' run r (the same seed),
// which pairs each trajectory of the network with its linearization and so
// separates the nonlinearity from the Monte Carlo error of a mean over runs.
// O(n·B) a step.
func (sw *SwitchPoint) LinearRuns(b int, s Sampling, runs, steps int, seed, stream uint64) ([][]float64, error) {
	n := sw.State.N()
	if err := (Config{Eta: sw.Eta, Batch: b, Sampling: s}).Validate(n); err != nil {
		return nil, err
	}
	if runs < 1 || steps < 0 {
		return nil, fmt.Errorf("runs (%d) must be >= 1 and steps (%d) >= 0", runs, steps)
	}
	g := sw.State.Gram()
	k := make([]float64, n*n) // K row-major; row i is column i
	for i := range n {
		for j := range n {
			k[i*n+j] = g.At(i, j)
		}
	}
	e0 := sw.State.Residuals()
	e := make([]float64, n)
	w := make([]float64, b)
	loss := func() float64 {
		v := 0.0
		for _, x := range e {
			v += x * x
		}
		return v / (2 * float64(n))
	}
	out := make([][]float64, runs)
	for r := range runs {
		copy(e, e0)
		bt := newBatcher(n, b, s, rand.New(rand.NewPCG(seed, streamEscape+stream+uint64(r))))
		l := make([]float64, steps+1)
		l[0] = loss()
		for t := 1; t <= steps; t++ {
			idx := bt.next()
			for a, i := range idx {
				w[a] = e[i]
			}
			for a, i := range idx {
				c := sw.Eta * w[a] / float64(len(idx))
				for q, kq := range k[i*n : (i+1)*n] {
					e[q] -= c * kq
				}
			}
			l[t] = loss()
		}
		out[r] = l
	}
	return out, nil
}

// GroupRateRatios calibrates the Monte Carlo error of a mean of runs
// trajectories: for each of groups independent groups of linearized runs
// (LinearRuns, streams apart from the trajectories') it returns the growth
// rate of the group's mean over steps 1..k divided by that of the exact
// E[L_t] (lin). For batches drawn with replacement these ratios are what a
// model that is exactly linear would show; their spread is the sampling
// error of the comparison, not a fault of the network.
func (sw *SwitchPoint) GroupRateRatios(b int, s Sampling, runs, k, groups int, seed uint64, lin []float64) ([]float64, error) {
	if k < 1 || k >= len(lin) {
		return nil, fmt.Errorf("window %d outside [1, %d]", k, len(lin)-1)
	}
	want := GrowthRate(lin, k)
	out := make([]float64, groups)
	for g := range groups {
		lr, err := sw.LinearRuns(b, s, runs, k, seed, streamGroups-streamEscape+uint64(g*runs))
		if err != nil {
			return nil, err
		}
		out[g] = GrowthRate(MeanCurve(lr), k) / want
	}
	return out, nil
}

// MaxGrowth is the largest c_t/c_0 over steps 1..h (NaN values skipped;
// NaN when there is none).
func MaxGrowth(c []float64, h int) float64 {
	best := math.NaN()
	for t := 1; t <= h && t < len(c); t++ {
		if g := c[t] / c[0]; !(g <= best) && !math.IsNaN(g) {
			best = g
		}
	}
	return best
}

// MonteCarloP is the two-sided Monte Carlo p-value of the mean's early
// growth rate under linearized SGD: with x the ratio of the mean's rate to
// the exact linearized rate and F the empirical distribution of the same
// ratio over the calibration groups, min(1, 2·min(#{g <= x} + 1,
// #{g >= x} + 1)/(G + 1)). A network whose runs followed its linearization
// has P[p <= a] <= a (up to the discreteness of G groups). NaN without
// groups or a rate.
func (r EscapeResult) MonteCarloP() float64 {
	m, l := r.Rates()
	x := m / l
	if len(r.GroupRatios) == 0 || math.IsNaN(x) {
		return math.NaN()
	}
	lo, hi := 1, 1
	for _, g := range r.GroupRatios {
		if g <= x {
			lo++
		}
		if g >= x {
			hi++
		}
	}
	return math.Min(1, 2*float64(min(lo, hi))/float64(len(r.GroupRatios)+1))
}

// GroupRange is the central range of the calibration ratios holding the
// fraction 1 - a of them: what ratios a mean over Runs runs of linearized
// SGD shows, at level a.
func (r EscapeResult) GroupRange(a float64) (lo, hi float64) {
	g := append([]float64(nil), r.GroupRatios...)
	if len(g) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.SortFunc(g, cmpNaNLast)
	q := func(f float64) float64 { return g[min(len(g)-1, max(0, int(math.Floor(f*float64(len(g))))))] }
	return q(a / 2), q(1 - a/2)
}

func cmpNaNLast(a, b float64) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	case math.IsNaN(b), a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
