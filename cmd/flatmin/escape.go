package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/flatmin/flatmin/experiment"
)

// fig4Help is the part of `experiment --help` about Figure 4.
const fig4Help = `
  fig4  escape from a sharp minimum (figure4): GD at the model's A.1 learning
        rate until the loss is small, then R SGD trajectories (default 200,
        50 with --quick) at the same η and A.1's batch B = 5 (--batch), each
        model's loss on a log scale with the mean, the oracle's exact
        linearized E[L_t] and Theorem 3.6's rate; escape.csv (one row per
        trajectory per step), escape_curves.csv, escape_summary.csv.
        The full CNN's minimum is found by SGD at B = 64 instead of GD
        (the paper's Figure 9; --settle-batch 0 for GD, days on 2 cores):
        its panel with --sampling both took 95 minutes on 2 cores.
        fig4 is not part of all: its runs are its own.
`

// fig4Flags are the flags of `experiment fig4` only.
type fig4Flags struct {
	models, sampling, batch *string
	settle                  *int
}

func addFig4Flags(fs *flag.FlagSet) fig4Flags {
	return fig4Flags{
		models:   fs.String("models", "", "fig4: comma-separated models (default rfm,linear,fcn,cnn; rfm,linear,fcn with --quick)"),
		sampling: fs.String("sampling", "with-replacement", "fig4: SGD batches: with-replacement, shuffled (epochs, as a DataLoader) or both"),
		batch:    fs.String("batch", "5", "fig4: SGD batch size, or \"edge\": the largest B for which the oracle finds the GD minimum unstable"),
		settle:   fs.Int("settle-batch", -1, "fig4: find the minimum with SGD at this batch size (shuffled epochs) instead of GD, as the paper's Figure 9 does (B = 64), every model in the reading of the other figures; 0: GD for every model; -1: GD, but SGD at B = 64 for the full CNN"),
	}
}

// escapeJobs turns the flags into the jobs of Figure 4.
func (f fig4Flags) jobs(scale experiment.Scale, runs int, seed uint64) ([]experiment.EscapeJob, error) {
	var models []string
	if *f.models != "" {
		for _, m := range strings.Split(*f.models, ",") {
			models = append(models, strings.TrimSpace(m))
		}
	}
	var samplings []experiment.Sampling
	switch *f.sampling {
	case "with-replacement":
		samplings = []experiment.Sampling{experiment.WithReplacement}
	case "shuffled":
		samplings = []experiment.Sampling{experiment.Shuffled}
	case "both":
		samplings = []experiment.Sampling{experiment.WithReplacement, experiment.Shuffled}
	default:
		return nil, fmt.Errorf("--sampling must be with-replacement, shuffled or both, got %q", *f.sampling)
	}
	if *f.settle < -1 {
		return nil, fmt.Errorf("--settle-batch must be >= 0 (0: GD), or -1 for the default, got %d", *f.settle)
	}
	edge, batch := *f.batch == "edge", 0
	if !edge {
		b, err := strconv.Atoi(*f.batch)
		if err != nil || b < 1 {
			return nil, fmt.Errorf("--batch must be a batch size >= 1 or \"edge\", got %q", *f.batch)
		}
		batch = b
	}
	var jobs []experiment.EscapeJob
	for _, s := range samplings {
		js, err := experiment.PlanEscape(scale, models, runs, edge, s, seed)
		if err != nil {
			return nil, err
		}
		for i := range js {
			if !edge {
				js[i].Batch = batch
			}
			if *f.settle >= 0 {
				js[i].SettleBy(*f.settle)
			}
		}
		jobs = append(jobs, js...)
	}
	return jobs, nil
}

// runFig4 runs Figure 4's jobs and writes its CSV and figure into dir.
func runFig4(jobs []experiment.EscapeJob, dir string, stdout, stderr io.Writer) int {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "flatmin experiment: %v\n", err)
		return exitFailure
	}
	files, summaries, err := escapeFigure(jobs, dir, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "flatmin experiment: %v\n", err)
		return exitFailure
	}
	for _, s := range summaries {
		fmt.Fprintln(stdout, escapeLine(s))
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return exitOK
}

// escapeLine is one panel's numbers in a line.
func escapeLine(s experiment.EscapeSummary) string {
	first := "GD"
	if 0 < s.SettleBatch && s.SettleBatch < s.N {
		first = fmt.Sprintf("SGD (B=%d)", s.SettleBatch)
	}
	return fmt.Sprintf("%s (m=%d, n=%d) %s B=%d: %s %d steps to L=%.3g, λ_1=%.4g (2/η=%.4g), ‖H‖_F=%.4g; ρ(B)=%.4g, largest unstable B=%d; "+
		"mean ×%.3g by step %d (10x at %d, linearized %d); early rate %.4g vs linearized %.4g (ratio %.3g, Monte Carlo p=%.3g); γ0=%.3g",
		s.Model, s.Width, s.N, s.Sampling, s.Batch, first, s.GDSteps, s.SwitchLoss, s.LambdaMax, s.TwoOverEta, s.Flatness, s.Rho, s.EdgeBatch,
		s.MaxGrowth, experiment.EscapeHorizon, s.Steps10Mean, s.Steps10Linear, s.RateMean, s.RateLinearized, s.RateRatio, s.MonteCarloP, s.Gamma0)
}

// escapeFigure runs the jobs (sharing the GD phase of jobs that differ only
// in their SGD phase) and writes escape.csv, escape_curves.csv,
// escape_summary.csv and figure4.png/.svg into dir.
func escapeFigure(jobs []experiment.EscapeJob, dir string, stderr io.Writer) ([]string, []experiment.EscapeSummary, error) {
	total := 0
	for _, j := range jobs {
		total += j.Runs + 2
	}
	bar := newProgress(stderr, "experiment fig4", total)
	defer bar.done()
	workers := runtime.GOMAXPROCS(0)
	type gdKey struct {
		spec          experiment.Spec
		eta, loss     float64
		steps, settle int
		seed          uint64
	}
	switches := map[gdKey]struct {
		p  experiment.Problem
		sw *experiment.SwitchPoint
	}{}
	var rows []experiment.EscapeRow
	var curves []experiment.EscapeCurve
	var summaries []experiment.EscapeSummary
	offset := 0
	for _, j := range jobs {
		k := gdKey{j.Spec, j.Eta, j.GDLoss, j.GDSteps, j.SettleBatch, j.Seed}
		s, ok := switches[k]
		if !ok {
			bar.set(offset, j.Spec.Model+": GD phase")
			p, sw, err := experiment.SwitchFor(j)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", j.Spec.Model, err)
			}
			s.p, s.sw = p, sw
			switches[k] = s
		}
		offset++
		note := fmt.Sprintf("%s: %d SGD runs (%s)", j.Spec.Model, j.Runs, j.Sampling)
		at := offset
		res, err := experiment.EscapeFrom(s.p, s.sw, j, workers, func(done, _ int) { bar.set(at+done, note) })
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", j.Spec.Model, err)
		}
		offset += j.Runs + 1
		rows = append(rows, res.Rows()...)
		curves = append(curves, res.Curves()...)
		summaries = append(summaries, res.Summary())
	}
	var written []string
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"escape.csv", func(w io.Writer) error { return experiment.WriteEscapeRows(w, rows) }},
		{"escape_curves.csv", func(w io.Writer) error { return experiment.WriteEscapeCurves(w, curves) }},
		{"escape_summary.csv", func(w io.Writer) error { return experiment.WriteEscapeSummaries(w, summaries) }},
	} {
		path := filepath.Join(dir, f.name)
		if err := writeFileWith(path, f.write); err != nil {
			return nil, nil, err
		}
		written = append(written, path)
	}
	fig, err := experiment.Figure4(rows, curves)
	if err != nil {
		return nil, nil, err
	}
	if err := experiment.SaveFigure(dir, "figure4", fig); err != nil {
		return nil, nil, err
	}
	written = append(written, filepath.Join(dir, "figure4.png"), filepath.Join(dir, "figure4.svg"))
	return written, summaries, nil
}

// writeFileWith creates path and writes it with write.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
