package experiment

import "fmt"

// Scale of a paper experiment.
type Scale int

const (
	// Quick is a reduced version (fewer samples, smaller widths, fewer
	// steps) that runs in seconds: what `flatmin verify` and the tests use.
	Quick Scale = iota
	// Full is the paper's setting (Appendix A.1), minutes to an hour.
	Full
)

func (s Scale) String() string {
	if s == Full {
		return "full"
	}
	return "quick"
}

// size is how one model enters an experiment at one scale.
type size struct {
	width, n int   // of the trajectory run (0: A.1's)
	sweep    []int // widths of the size sweep
	maxSteps int   // step cap (0: the model's)
	loss     float64
}

// Sizes of the experiments. Full: A.1's models and data; the sweeps span at
// least a factor 30 in p, the FCN's from p ≈ 1e4 to ≈ 1e6 as in Figure 3,
// the CNN's as far as a run trains in about 20 minutes on 2 cores (the
// paper's reaches p = 1e6, hours a run here). Quick: the same models on
// fewer samples, narrower, with a looser loss target.
var sizes = map[Scale]map[string]size{
	Full: {
		"rfm":    {sweep: []int{250, 500, 1000, 2000, 4000, 8000}},
		"linear": {sweep: []int{25, 50, 100, 200, 400}},
		"fcn":    {sweep: []int{12, 25, 50, 100, 200, 400, 700}},
		"cnn":    {sweep: []int{5, 10, 20, 30}},
	},
	Quick: {
		"rfm":    {width: 400, n: 40, sweep: []int{100, 400, 1600}, maxSteps: 20_000, loss: 1e-3},
		"linear": {width: 20, n: 20, sweep: []int{10, 40, 160}, maxSteps: 5_000, loss: 1e-4},
		"fcn":    {width: 16, n: 100, sweep: []int{8, 32, 128, 256}, maxSteps: 5_000, loss: 1e-4},
		"cnn":    {width: 4, n: 40, sweep: []int{2, 6, 13}, maxSteps: 2_000, loss: 1e-3},
	},
}

// Plan is the runs a figure needs: trajectories recorded along training
// (one run per model at its default size) and a size sweep (final records
// only, over widths x runs).
type Plan struct {
	Trajectories []Job
	Sweep        []Job
}

// PlanFigure returns the runs of the paper's Figure 1 ("fig1": alignment
// along training for the four models, μ at convergence against size),
// Figure 2 ("fig2": γ along training, χ_i at convergence, with Figure 6),
// Figure 3 ("fig3": flatness at convergence against size, FCN and CNN) or
// Figure 5b ("fig5b": flatness against the stability bounds, on Figure 1's
// sweep of the four models). "all" is the runs of the four together
// (Figure 3's and Figure 5b's sweeps are Figure 1's). Run r of a sweep has
// seed seed+r; trajectories have seed.
func PlanFigure(fig string, scale Scale, runs int, seed uint64) (Plan, error) {
	if runs < 1 {
		return Plan{}, fmt.Errorf("runs must be >= 1, got %d", runs)
	}
	var plan Plan
	var err error
	switch fig {
	case "fig1", "all":
		if plan.Trajectories, err = trajectories(Models, scale, seed); err == nil {
			plan.Sweep, err = sweep(Models, scale, runs, seed)
		}
	case "fig2":
		plan.Trajectories, err = trajectories(Models, scale, seed)
	case "fig3":
		plan.Sweep, err = sweep([]string{"fcn", "cnn"}, scale, runs, seed)
	case "fig5b":
		plan.Sweep, err = sweep(Models, scale, runs, seed)
	default:
		return Plan{}, fmt.Errorf("unknown figure %q (known: fig1, fig2, fig3, fig5b, all)", fig)
	}
	return plan, err
}

// ScaledJob is the job of a model at a scale: the scale's width, sample
// size, step cap and loss target where it sets them.
func ScaledJob(model string, width int, scale Scale, run int, seed uint64, along bool) (Job, error) {
	sz := sizes[scale][model]
	if width == 0 {
		width = sz.width
	}
	j, err := NewJob(Spec{Model: model, Width: width, N: sz.n}, run, seed, along)
	if err != nil {
		return Job{}, err
	}
	if sz.maxSteps > 0 {
		j.Config.MaxSteps = sz.maxSteps
		j.Config.RecordEvery = min(j.Config.RecordEvery, sz.maxSteps/20)
	}
	if sz.loss > 0 {
		j.Config.LossTarget = sz.loss
	}
	return j, nil
}

func trajectories(models []string, scale Scale, seed uint64) ([]Job, error) {
	var jobs []Job
	for _, m := range models {
		j, err := ScaledJob(m, 0, scale, 0, seed, true)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func sweep(models []string, scale Scale, runs int, seed uint64) ([]Job, error) {
	var jobs []Job
	for _, m := range models {
		for _, w := range sizes[scale][m].sweep {
			for r := range runs {
				j, err := ScaledJob(m, w, scale, r, seed+uint64(r), false)
				if err != nil {
					return nil, err
				}
				jobs = append(jobs, j)
			}
		}
	}
	return jobs, nil
}
