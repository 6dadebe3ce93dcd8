package property

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/flatmin/flatmin/experiment"
)

// The experiment row fig-4: the paper's Figure 4, escape from a sharp
// minimum (Section 3.2). GD runs at each model's A.1 learning rate until it
// nearly converges (the full CNN's minimum is found by SGD at B = 64
// instead, the protocol of the paper's Figure 9: its GD takes days here,
// experiment.PlanEscape); SGD takes over at the same η and A.1's batch size
// B = 5, for many seeded trajectories, with batches drawn with replacement (the
// sampling of the paper's analysis, for which the oracle's E[L_t] is exact)
// and in shuffled epochs (a DataLoader's, which the paper's code most likely
// used). `flatmin verify` runs the quick version, `verify --long` the full
// one, both with experimentSeed: `flatmin experiment fig4 [--quick]
// --sampling both` redraws the runs the ledger judged.
//
// The criteria were fixed before the runs, from the paper's words, except
// where noted:
//
//   - "escape ... exponentially fast ... 10 steps are enough for SGD
//     escaping to a high-loss region, for all the models": at every model
//     and both samplings, the mean loss over the runs reaches
//     experiment.EscapeFactor = 10 times its value at the switch within
//     experiment.EscapeHorizon = 20 steps, from a switch point that GD
//     itself holds (λ_1(G) <= 2/η, the figure's premise: "the escape is
//     purely driven by SGD noise"; a point above 2/η counts as no escape). A
//     tenfold rise in 20 steps is a rate of at least 10^(1/20) = 1.12 a step
//     on average, sustained over a decade; it asks far less than the paper's
//     four or five decades in 10 steps, and still fails for a minimum that
//     linear stability calls stable (ρ <= 1), where E[L_t] cannot grow
//     geometrically, and for GD itself.
//   - "the escape is exponentially fast" as linear stability predicts: the
//     early growth rate of the mean, over the steps the exact linearized
//     E[L_t] takes to grow tenfold (at most 20), divided by that of E[L_t],
//     is what a mean over the same number of runs of SGD on the linearized
//     model shows: its two-sided Monte Carlo p-value against 1000 groups of
//     such runs (experiment.EscapeResult.MonteCarloP) is at least
//     mcLevel = 0.01, so a network that followed its linearization fails
//     it with probability at most 1% a panel: at most 6% over the six quick
//     panels, 8% over the eight full ones, by the union bound (the seed is
//     fixed, so a given run either holds or not). The mean of R runs of a multiplicative
//     process is dominated by rare runs and falls below E[L_t] in most
//     seeds (a few hundred runs cover a few steps at ρ ≈ 3 to 4), so a
//     fixed band around the exact rate has no fixed false-alarm rate: a
//     ±25% band, the first one drafted, fails 85% of the linearized groups
//     of the quick FCN and 2% of the linear network's, which is why the
//     band was replaced by the calibrated test after the first quick runs.
//     For shuffled epochs the calibration runs shuffle too, so the test
//     stays exact where the oracle's per-step marginal E[L_t] is not (it
//     ignores that the batches of an epoch are disjoint).
const mcLevel = 0.01

func init() {
	addCheck("fig-4", Check{Name: "escape-from-gd-minimum", Kind: Experiment, Cases: 1, Run: fig4Escape})
	addCheck("fig-4", Check{Name: "oracle-batch-choice", Kind: Exact, Cases: 1, Run: fig4Monotone})
	addControl("fig-4", Control{Name: "gd-instead-of-sgd",
		Wrong: "GD continued from the switch point (B = n) escapes as SGD does",
		Run:   fig4GD})
	addControl("fig-4", Control{Name: "stable-batch",
		Wrong: "SGD at the smallest B the oracle finds stable at the FCN's switch point (ρ <= 1) escapes",
		Run:   fig4StableBatch})
	addControl("fig-4", Control{Name: "flat-minimum",
		Wrong: "the linear network under the suite's SGD reading (PyTorch's default initialization), whose GD minimum is flat, escapes",
		Run:   fig4FlatMinimum})
}

// escapeCache keeps the switch points and the escape runs of a process:
// the checks and the controls of fig-4 share them, and a control that were
// not caught would be asked again by rapid.
var escapeCache = struct {
	sync.Mutex
	switches map[string]escapeSwitch
	results  map[string]experiment.EscapeResult
}{switches: map[string]escapeSwitch{}, results: map[string]experiment.EscapeResult{}}

type escapeSwitch struct {
	p  experiment.Problem
	sw *experiment.SwitchPoint
}

// escapeRun runs a job, its GD phase shared with the jobs that differ only
// in their SGD phase.
func escapeRun(t *T, j experiment.EscapeJob) experiment.EscapeResult {
	escapeCache.Lock()
	defer escapeCache.Unlock()
	key := fmt.Sprintf("%+v", j)
	if r, ok := escapeCache.results[key]; ok {
		return r
	}
	s := escapeSwitchFor(t, j)
	r, err := experiment.EscapeFrom(s.p, s.sw, j, runtime.GOMAXPROCS(0), nil)
	if err != nil {
		t.Fatalf("%s: %v", j.Spec.Model, err)
	}
	escapeCache.results[key] = r
	return r
}

// escapeSwitchFor returns the job's switch point (escapeCache held).
func escapeSwitchFor(t *T, j experiment.EscapeJob) escapeSwitch {
	gd := j
	gd.Batch, gd.Edge, gd.Sampling, gd.Runs, gd.Steps = 0, false, 0, 0, 0
	key := fmt.Sprintf("%+v", gd)
	s, ok := escapeCache.switches[key]
	if !ok {
		p, sw, err := experiment.SwitchFor(j)
		if err != nil {
			t.Fatalf("%s: %v", j.Spec.Model, err)
		}
		s = escapeSwitch{p, sw}
		escapeCache.switches[key] = s
	}
	return s
}

// fig4Jobs are the row's jobs: every model of the scale, both samplings.
func fig4Jobs(t *T) []experiment.EscapeJob {
	scale, _ := scaleOf(t)
	var jobs []experiment.EscapeJob
	for _, s := range []experiment.Sampling{experiment.WithReplacement, experiment.Shuffled} {
		js, err := experiment.PlanEscape(scale, nil, 0, false, s, experimentSeed)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	return jobs
}

// escaped is the escape criterion's value for one panel: the largest growth
// of the mean within the horizon, 0 from a point GD itself does not hold.
func escaped(r experiment.EscapeResult) float64 {
	if !r.Switch.GDStable {
		return 0
	}
	return experiment.MaxGrowth(r.Mean, experiment.EscapeHorizon)
}

func fig4Escape(t *T) {
	var results []experiment.EscapeResult
	for _, j := range fig4Jobs(t) {
		results = append(results, escapeRun(t, j))
	}
	worstGrowth, worstP := math.Inf(1), math.Inf(1)
	var growth, rates []string
	for _, r := range results {
		s := r.Summary()
		worstGrowth = math.Min(worstGrowth, nanTo(escaped(r), 0))
		worstP = math.Min(worstP, nanTo(s.MonteCarloP, 0))
		growth = append(growth, fmt.Sprintf("%s %s: %s; mean x%.3g within %d steps (10x at step %s; linearized %s)%s",
			r.Model, r.Job.Sampling, switchSummary(r), s.MaxGrowth, experiment.EscapeHorizon,
			stepOrNone(s.Steps10Mean), stepOrNone(s.Steps10Linear), gamma0Summary(r)))
		rates = append(rates, fmt.Sprintf("%s %s: rate %.4g vs linearized %.4g over %d steps (ratio %.3g; linearized SGD, %d runs: 99%% in %.3g..%.3g, p = %.3g; the network over its linearization with the same batches: %.3g)",
			r.Model, r.Job.Sampling, s.RateMean, s.RateLinearized, s.Window, s.RateRatio, s.Runs,
			s.MonteCarloLo, s.MonteCarloHi, s.MonteCarloP, r.Mean[s.Window]/r.LinearMean[s.Window]))
	}
	t.Criterion(fmt.Sprintf("mean loss grows >= %gx within %d SGD steps from a GD-stable switch point (λ_1 <= 2/η), every model, both samplings (Figure 4)",
		experiment.EscapeFactor, experiment.EscapeHorizon), strings.Join(growth, "; "), worstGrowth, experiment.EscapeFactor, true)
	t.Criterion(fmt.Sprintf("the mean's early growth rate against the exact linearized E[L_t]: Monte Carlo p >= %g under SGD on the linearized model (%d groups), every model, both samplings",
		mcLevel, experiment.EscapeGroups), strings.Join(rates, "; "), worstP, mcLevel, true)
}

// switchSummary says where GD handed over and what the oracle says there.
func switchSummary(r experiment.EscapeResult) string {
	sw, st := r.Switch, r.Stability
	conv := "converged"
	if !sw.Converged {
		conv = "NOT converged"
	}
	held := "<="
	if !sw.GDStable {
		held = "> (not GD-stable)"
	}
	edge := fmt.Sprintf("largest unstable B %d (ρ %.4g; %.4g at B+1)", st.EdgeBatch, st.RhoEdge, st.RhoEdgeNext)
	switch st.EdgeBatch {
	case 0:
		edge = fmt.Sprintf("stable for SGD at every B (ρ(1) = %.6g)", st.RhoEdgeNext)
	case -1:
		edge = "largest unstable B unknown (" + st.Note + ")"
	}
	return fmt.Sprintf("GD %d steps to L %.3g (%s), λ_1 %.4g %s 2/η %.4g, ‖H‖_F %.4g, ρ(%d) %.4g, %s",
		sw.Steps, sw.Loss, conv, sw.LambdaMax, held, 2/sw.Eta, sw.FroH, r.Batch, st.Rho, edge)
}

func gamma0Summary(r experiment.EscapeResult) string {
	if r.Gamma0 > 1 {
		return fmt.Sprintf("; Theorem 3.6: γ0 %.3g, 10x in %.2g steps", r.Gamma0, math.Log(experiment.EscapeFactor)/math.Log(r.Gamma0))
	}
	return fmt.Sprintf("; Theorem 3.6 does not apply (γ0 %.3g <= 1: ‖H‖_F below its bound %.4g)", r.Gamma0, r.BoundThm33)
}

func stepOrNone(s int) string {
	if s < 0 {
		return "none"
	}
	return fmt.Sprint(s)
}

func nanTo(v, to float64) float64 {
	if math.IsNaN(v) {
		return to
	}
	return v
}

// fig4Monotone checks what the choice of B rests on: at each switch point
// of the quick row, ρ(B) is non-increasing in B (the argument is in
// experiment.SwitchPoint.EdgeBatch), and the bisection's largest unstable B
// has ρ > 1 there and ρ <= 1 at the next B. Every B in [1, n] is scanned
// when n <= monotoneScan; beyond, the powers of 2 and 3 times them up to n
// and the four B around the bisection's edge. ρ is a largest eigenvalue
// found to a few ε times the condition of its Gram matrix (package oracle
// stops its root search at 32ε), so an increase of at most 1e-12 relative
// is rounding; where the ρ are flat (every stable B sees GD's slowest mode,
// max_k (1 - ηh_k)²) they agree to about 1e-15.
func fig4Monotone(t *T) {
	const tol, monotoneScan = 1e-12, 64
	for _, j := range fig4Jobs(t) {
		s := func() escapeSwitch {
			escapeCache.Lock()
			defer escapeCache.Unlock()
			return escapeSwitchFor(t, j)
		}()
		n := s.p.Data.N
		edge, rhoEdge, rhoNext, err := s.sw.EdgeBatch(j.Sampling)
		if err != nil {
			t.Tally("switch points the oracle refuses (size)")
			continue
		}
		rho := func(b int) float64 {
			var r float64
			var err error
			if b == n && j.Sampling == experiment.Shuffled {
				r, err = s.sw.Oracle.GD().SpectralRadius(s.sw.Eta)
			} else {
				r, err = s.sw.Rho(b, j.Sampling)
			}
			if err != nil {
				t.Fatalf("%s %s: ρ(%d): %v", j.Spec.Model, j.Sampling, b, err)
			}
			return r
		}
		var bs []int
		for b := 1; b <= n; b++ {
			if n <= monotoneScan || b == 3*(b/3) && isPow2(b/3) || isPow2(b) || b == n || (b >= edge-1 && b <= edge+2) {
				bs = append(bs, b)
			}
		}
		prev := math.Inf(1)
		for _, b := range bs {
			r := rho(b)
			t.AtMost(fmt.Sprintf("ρ(B') <= ρ(B) for B < B' (%s %s, B' = %d)", j.Spec.Model, j.Sampling, b), r, prev, tol*math.Abs(prev))
			prev = r
		}
		if edge > 0 {
			t.AtLeast(fmt.Sprintf("ρ > 1 at the largest unstable B (%s %s)", j.Spec.Model, j.Sampling), rhoEdge, 1, 0)
		}
		if edge < n-1 || j.Sampling == experiment.Shuffled { // with replacement B = n is still noisy
			t.AtMost(fmt.Sprintf("ρ <= 1 past the largest unstable B (%s %s)", j.Spec.Model, j.Sampling), rhoNext, 1, 0)
		}
		t.Tally("switch points scanned")
	}
}

func isPow2(b int) bool { return b > 0 && b&(b-1) == 0 }

// fig4Rejects is the escape criterion applied to a wrong variant: caught
// when it rejects it.
func fig4Rejects(t *T, what string, r experiment.EscapeResult) {
	if g := escaped(r); !(g >= experiment.EscapeFactor) {
		t.Fatalf("criterion rejects it: %s: mean x%.3g within %d steps < %g (%s)", what, g, experiment.EscapeHorizon, experiment.EscapeFactor, switchSummary(r))
	}
}

// fcnJob is the row's quick FCN job with replacement.
func fcnJob(t *T) experiment.EscapeJob {
	js, err := experiment.PlanEscape(experiment.Quick, []string{"fcn"}, 0, false, experiment.WithReplacement, experimentSeed)
	if err != nil {
		t.Fatal(err)
	}
	return js[0]
}

func fig4GD(t *T) {
	j := fcnJob(t)
	j.Batch, j.Sampling, j.Runs, j.Groups = j.Spec.N, experiment.Shuffled, 1, 0 // a shuffled epoch of n samples is one GD step
	fig4Rejects(t, "GD", escapeRun(t, j))
}

func fig4StableBatch(t *T) {
	j := fcnJob(t)
	r := escapeRun(t, j)
	if r.Stability.EdgeBatch < 1 {
		t.Fatalf("criterion rejects it: the FCN's switch point is stable at every B")
	}
	j.Batch, j.Groups = r.Stability.EdgeBatch+1, 0
	fig4Rejects(t, fmt.Sprintf("B = %d", j.Batch), escapeRun(t, j))
}

func fig4FlatMinimum(t *T) {
	js, err := experiment.PlanEscape(experiment.Quick, []string{"linear"}, 0, false, experiment.WithReplacement, experimentSeed)
	if err != nil {
		t.Fatal(err)
	}
	j := js[0]
	j.Spec.Literal, j.Groups = false, 0
	fig4Rejects(t, "linear network, PyTorch's default initialization", escapeRun(t, j))
}
