package property

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/flatmin/flatmin/experiment"
)

// The experiment row fig-5b: Section 4 and Figure 5b, "the upper bound
// obtained from linear stability is rather tight in predicting the flatness
// of convergent solution". The paper shows it on VGG and ResNet trained on
// CIFAR-10, out of reach on 2 cores; the row checks the same claim on the
// networks of Appendix A.1 at the widths of the Figure 1 sweep (the FCN and
// CNN widths are Figure 3's), reusing those runs.
//
// The criterion was fixed before any run:
//
//   - "rather tight in predicting" is "within a factor tightnessFactor = 2":
//     for every network (a model at one width) the mean over its converged
//     runs of r = ‖H‖_F / bound lies in [1/2, 2]. The value judged is the
//     smallest tightness min(r, 1/r) over the networks, against 1/2. A
//     factor 2 is the ledger's "nearly" elsewhere (sizeFactor of fig-1 and
//     fig-3). It separates a tight bound from the loose one the paper
//     contrasts Theorem 3.3 with: at a stable minimum ‖H‖_F <= sqrt(B/μ0)/η,
//     so GD's 2 sqrt(rank)/η is more than twice the flatness as soon as
//     rank > B/μ0, which the criterion must catch (the first control).
//   - "the bound" is read two ways, judged separately (two findings; the row
//     is reproduced only if both hold). First, Theorem 3.3 as it is stated:
//     sqrt(B/μ0)/η with μ0 = inf_θ μ(θ), exact (oracle.Mu0, a generalized
//     eigenvalue). At a linearly stable minimum r <= 1 (that inequality is
//     thm-3.3, not this row), so only r >= 1/2 can fail here. Second, the
//     reading Figure 5b seems to use, since μ0 is out of reach for a VGG on
//     50,000 samples: sqrt(B/μ(θ*))/η with μ measured at the end of the run,
//     at the run's final loss (at most its target: 1e-5 at full scale). μ is
//     0/0 at an exact minimum, but it depends only on the direction e/|e| of
//     the residuals and on the features, so near the minimum it is the
//     alignment in the direction SGD came from: at least μ0, and the "bound"
//     it gives is smaller and need not bound anything, hence the two-sided
//     interval.
//   - Only runs that reached their loss target are judged: the claim is
//     about convergent solutions, and a run stopped at its step cap is not
//     at a minimum, where G is the Hessian. A network none of whose runs
//     converged is listed as skipped; with no network left to judge the
//     value is NaN and the row is NOT reproduced.
//   - The bound is the paper's, with replacement. The runs draw shuffled
//     epochs, whose per-step batch is a uniform B-subset; without
//     replacement the bound is sqrt((n-1)/(n-B)) larger (12% at the quick
//     linear network's n = 20, under 1% at n = 1000): reported, not judged.
//   - η/η* from the exact oracle is reported beside each ratio, not judged:
//     r = (η/η*)·(η*‖H‖_F/sqrt(B/μ0)), how close SGD sits to its exact
//     stability edge times how tight Theorem 3.3 is on that edge (the paper
//     could compute neither factor). Where the oracle cannot compute η*
//     (an input beyond oracle.CheckSize's memory limit, or a spectral
//     problem it cannot decide), η* is reported as skipped for that
//     network with the oracle's reason; the criterion does not need it.
//
// The negative controls, also fixed before any run, put in place of Theorem
// 3.3's bound a wrong one that the same criterion, on the same runs, must
// reject:
//
//   - gd-frobenius-bound: GD's 2 sqrt(rank)/η (Section 3.1), loose by about
//     sqrt(rank μ0/B) (see above);
//   - isotropic-trace-bound: Section 3.3's bound for isotropic noise,
//     Tr(H) <= sqrt(pB)/η, against Tr(H): at most sqrt(rank/(p μ0)) at a
//     stable minimum, small when p is much larger than n;
//   - eta-inverted: Theorem 3.3 with η multiplied instead of divided,
//     sqrt(B/μ0)·η, a dropped inverse: the ratio becomes r/η², with η <= 0.1
//     a hundred times r or more, outside [1/2, 2] unless every r happens to
//     lie within a factor 2 of η², which differs by a factor 1000 between
//     the models (η = 0.003 to 0.1).
const tightnessFactor = 2.0

func init() {
	addCheck("fig-5b", Check{Name: "flatness-against-bound", Kind: Experiment, Cases: 1, Run: fig5bTightness})
	addControl("fig-5b", Control{Name: "gd-frobenius-bound",
		Wrong: "GD's stability bound 2 sqrt(rank)/η, which Section 3.1 contrasts with Theorem 3.3's, is tight in predicting the flatness",
		Run: func(t *T) {
			fig5bControl(t, func(r experiment.Tightness) float64 { return r.RatioGDFro })
		}})
	addControl("fig-5b", Control{Name: "isotropic-trace-bound",
		Wrong: "Section 3.3's bound for isotropic noise, Tr(H) <= sqrt(pB)/η, is tight in predicting Tr(H)",
		Run: func(t *T) {
			fig5bControl(t, func(r experiment.Tightness) float64 {
				return r.TraceG / (math.Sqrt(float64(r.P)*float64(r.Batch)) / r.Eta)
			})
		}})
	addControl("fig-5b", Control{Name: "eta-inverted",
		Wrong: "Theorem 3.3's bound with η multiplied instead of divided, sqrt(B/μ0)·η, is tight in predicting the flatness",
		Run: func(t *T) {
			fig5bControl(t, func(r experiment.Tightness) float64 { return r.Flatness / (r.BoundThm33 * r.Eta * r.Eta) })
		}})
}

// tightnessCache keeps the Figure 5b row of each run of the ledger (η*
// costs an eigen-decomposition and two spectral problems), by job key.
var tightnessCache = struct {
	sync.Mutex
	rows map[string]experiment.Tightness
}{rows: map[string]experiment.Tightness{}}

// fig5bRows returns the Figure 5b rows of the runs of Figure 1's sweep,
// which fig-1 and fig-3 share.
func fig5bRows(t *T) []experiment.Tightness {
	scale, runs := scaleOf(t)
	plan, err := experiment.PlanFigure("fig5b", scale, runs, experimentSeed)
	if err != nil {
		t.Fatalf("fig5b: %v", err)
	}
	done := cachedRuns(t, plan.Sweep)
	tightnessCache.Lock()
	defer tightnessCache.Unlock()
	var todo []experiment.Job
	var todoRuns []experiment.Run
	for i, j := range plan.Sweep {
		if _, ok := tightnessCache.rows[j.Key()]; !ok {
			todo, todoRuns = append(todo, j), append(todoRuns, done[i])
		}
	}
	rows, err := experiment.Tightnesses(todo, todoRuns, experiment.RunOptions{Workers: runtime.GOMAXPROCS(0), CacheDir: t.CacheDir()})
	if err != nil {
		t.Fatalf("fig5b: %v", err)
	}
	for i, j := range todo {
		tightnessCache.rows[j.Key()] = rows[i]
	}
	out := make([]experiment.Tightness, len(plan.Sweep))
	for i, j := range plan.Sweep {
		out[i] = tightnessCache.rows[j.Key()]
	}
	return out
}

// ratioTightness is how close a ratio is to 1 on a log scale, min(r, 1/r):
// 1 for r = 1, 1/2 for r = 2 or 1/2; NaN stays NaN.
func ratioTightness(r float64) float64 { return math.Min(r, 1/r) }

// judgeTightness returns the smallest tightness of ratio over the networks
// with a converged run (NaN when there is none), the number of such
// networks, and a summary: the ratio of each network, with what adds the
// numbers behind it, then the networks skipped for want of a converged run.
func judgeTightness(groups []experiment.TightnessGroup, ratio func(experiment.TightnessGroup) float64,
	what func(experiment.TightnessGroup) string) (worst float64, judged int, summary string) {
	worst = math.NaN()
	nan := false
	var parts []string
	skipped := map[string][]int{}
	var skippedModels []string
	maxLoss := 0.0
	for _, g := range groups {
		if g.Converged == 0 {
			if len(skipped[g.Model]) == 0 {
				skippedModels = append(skippedModels, g.Model)
			}
			skipped[g.Model] = append(skipped[g.Model], g.Width)
			maxLoss = math.Max(maxLoss, g.MaxLoss)
			continue
		}
		v := ratioTightness(ratio(g))
		if judged == 0 || v < worst || math.IsNaN(v) {
			worst = v
		}
		nan = nan || math.IsNaN(v)
		judged++
		s := fmt.Sprintf("%s m=%d %.3g", g.Model, g.Width, ratio(g))
		if what != nil {
			s += " (" + what(g) + ")"
		}
		parts = append(parts, s)
	}
	if nan { // a NaN ratio is the worst
		worst = math.NaN()
	}
	summary = fmt.Sprintf("%d networks judged: %s", judged, strings.Join(parts, "; "))
	if len(skippedModels) > 0 {
		var names []string
		for _, m := range skippedModels {
			names = append(names, m+" m="+joinInts(skipped[m]))
		}
		summary += fmt.Sprintf("; skipped, no run at its loss target: %s (final loss up to %.2g)", strings.Join(names, ", "), maxLoss)
	}
	return worst, judged, summary
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// fig5bEdge says how close the runs of a network sit to their exact
// stability edge, η/η* ("-" when the oracle could not tell: see
// fig5bOracleSkips).
func fig5bEdge(g experiment.TightnessGroup) string {
	if g.Oracle != "ok" {
		return "η/η* -"
	}
	return fmt.Sprintf("η/η* %.2g", g.EtaOverStar)
}

// fig5bOracleSkips names the networks whose η* the oracle could not
// compute, with its reason for the first of each model.
func fig5bOracleSkips(groups []experiment.TightnessGroup) string {
	var parts []string
	for i := 0; i < len(groups); {
		m := groups[i].Model
		var widths []int
		reason := ""
		for ; i < len(groups) && groups[i].Model == m; i++ {
			if g := groups[i]; g.Oracle != "ok" {
				widths = append(widths, g.Width)
				if reason == "" {
					reason = strings.TrimPrefix(g.Oracle, "skipped: ")
				}
			}
		}
		if len(widths) > 0 {
			parts = append(parts, fmt.Sprintf("%s m=%s (%s)", m, joinInts(widths), reason))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; η* skipped for " + strings.Join(parts, "; ")
}

func fig5bTightness(t *T) {
	rows := fig5bRows(t)
	groups := experiment.GroupTightness(rows)
	criterion := func(reading string) string {
		return fmt.Sprintf("‖H‖_F over %s within a factor %g, every network with a converged run (Figure 5b)", reading, tightnessFactor)
	}
	worst, _, summary := judgeTightness(groups, func(g experiment.TightnessGroup) float64 { return g.RatioThm33 },
		func(g experiment.TightnessGroup) string {
			return fmt.Sprintf("%.3g/%.3g, μ0 %.2g, %s", g.Flatness, g.BoundThm33, g.Mu0, fig5bEdge(g))
		})
	t.Criterion(criterion("sqrt(B/μ0)/η (Theorem 3.3 as stated, μ0 = inf μ)"),
		summary+"; "+fig5bConverged(rows)+fig5bOracleSkips(groups), worst, 1/tightnessFactor, true)
	worst, _, summary = judgeTightness(groups, func(g experiment.TightnessGroup) float64 { return g.RatioMuEnd },
		func(g experiment.TightnessGroup) string {
			return fmt.Sprintf("%.3g/%.3g, μ %.2g at loss <= %.2g, μ_edge %.2g", g.Flatness, g.BoundMuEnd, g.MuEnd, g.MaxLoss, g.MuEdge)
		})
	t.Criterion(criterion("sqrt(B/μ(θ*))/η (μ at the end of the run, Figure 5b's reading)"),
		summary, worst, 1/tightnessFactor, true)
}

// fig5bConverged says how many runs reached their loss target.
func fig5bConverged(rows []experiment.Tightness) string {
	k := 0
	for _, r := range rows {
		if r.Converged() {
			k++
		}
	}
	return fmt.Sprintf("%d of %d runs reached the loss target", k, len(rows))
}

// fig5bControl applies the row's criterion to a wrong ratio in place of
// ‖H‖_F/bound; the control is caught when the criterion rejects it on at
// least one network (with no network to judge it is not: a criterion that
// judges nothing cannot be shown to bite).
func fig5bControl(t *T, wrong func(experiment.Tightness) float64) {
	rows := append([]experiment.Tightness(nil), fig5bRows(t)...)
	for i := range rows {
		rows[i].RatioThm33 = wrong(rows[i])
	}
	worst, judged, summary := judgeTightness(experiment.GroupTightness(rows),
		func(g experiment.TightnessGroup) float64 { return g.RatioThm33 }, nil)
	if judged > 0 && !(worst >= 1/tightnessFactor) {
		t.Fatalf("criterion rejects it: tightness %.3g < %g (%s)", worst, 1/tightnessFactor, summary)
	}
}
