package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/flatmin/flatmin/experiment"
)

const experimentHelp = `usage: flatmin experiment fig1|fig2|fig3|fig5b|all|fig4 [--runs R] [--seed S] [--out DIR] [--cache DIR] [--quick]
                          fig4 [--models M,...] [--sampling with-replacement|shuffled|both] [--batch B|edge] [--settle-batch B]

Reproduces one of the paper's figures: trains its networks of Appendix A.1
(seeded, deterministic), measures them with the instruments of flatmin
measure, and writes into DIR tidy CSV and the figure as PNG and SVG.

  fig1  α, β, μ along SGD training for the RFM, linear network, FCN and CNN
        (figure1a), and μ at convergence against model size, mean ± sd over
        R runs (figure1b)
  fig2  γ = min χ_i / mean χ_i along training (figure2a), and χ_i of every
        sample at convergence for every model (figure2b: the paper's
        Figure 2b and Figure 6)
  fig3  the flatness ‖H‖_F at convergence against model size for the FCN
        and the CNN, mean ± sd over R runs, with Theorem 3.3's and GD's
        bounds (figure3)
  fig5b the flatness at convergence beside Theorem 3.3's bound (at μ0 =
        inf μ and at μ measured at the end of the run), GD's bounds and the
        exact critical learning rates η* of the stability oracle, for every
        network of Figure 1's sweep (figure5b; tightness.csv one row per
        run, tightness_networks.csv one per network)
  all   fig1, fig2, fig3 and fig5b, sharing their runs (Figure 3's and
        Figure 5b's sweeps are Figure 1's)
` + fig4Help + `
Every finished run is kept in the cache directory (DIR/runs unless --cache
says otherwise), one pair of CSV files per run named by its model, width,
n, seed and a hash of its settings; a later call reads back the runs it
finds there and trains only the others, so an interrupted sweep resumes
and --runs 5 after --runs 2 trains three runs a size. Delete the directory
to train everything again.

Files: records.csv (one row per measurement; sweep.csv for the size
sweeps), chi.csv (χ_i at the end of each trajectory), tightness.csv and
tightness_networks.csv (fig5b), figure*.png and .svg. fig5b needs each
run's final state: the cache keeps it, as θ, for the runs fig5b or all
trained; a run cached by fig1 or fig3 (or an older flatmin) is trained
again once.
--quick runs a reduced version (fewer samples, narrower networks, fewer
steps) in seconds; the full versions take minutes (fig1, fig2) to an hour
(fig3) on 2 cores.

fig4 keeps no run cache (--cache does not apply); --runs is its number of
trajectories.

Exit status: 0 on success, 1 if a run fails or a file cannot be written,
2 for a usage error.

flags:`

func runExperiment(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("experiment", experimentHelp, stdout, stderr)
	runs := fs.Int("runs", 5, "runs per size in the sweeps (the paper's error bars use 5)")
	seed := fs.Uint64("seed", 1, "seed of run 0 (run r has seed+r)")
	out := fs.String("out", ".", "directory for the CSV and the figures")
	quick := fs.Bool("quick", false, "the reduced version (seconds)")
	cache := fs.String("cache", "", "keep each finished run in this directory and read back the runs found there (default DIR/runs; \"none\" for no cache)")
	f4 := addFig4Flags(fs.FlagSet)
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		if _, code, ok := fs.parse(args); !ok {
			return code
		}
		return usageError(stderr, "experiment", "which figure? fig1, fig2, fig3, fig5b, all or fig4")
	}
	fig := args[0]
	set, code, ok := fs.parse(args[1:])
	if !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "experiment", "unexpected argument %q", fs.Arg(0))
	}
	scale := experiment.Full
	if *quick {
		scale = experiment.Quick
	}
	if fig == "fig4" {
		trajectories := 0 // the scale's
		if set["runs"] {
			if *runs < 1 {
				return usageError(stderr, "experiment", "--runs must be >= 1, got %d", *runs)
			}
			trajectories = *runs
		}
		jobs, err := f4.jobs(scale, trajectories, *seed)
		if err != nil {
			return usageError(stderr, "experiment", "%v", err)
		}
		return runFig4(jobs, *out, stdout, stderr)
	}
	plan, err := experiment.PlanFigure(fig, scale, *runs, *seed)
	if err != nil {
		return usageError(stderr, "experiment", "%v", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "flatmin experiment: %v\n", err)
		return exitFailure
	}
	cacheDir := *cache
	switch cacheDir {
	case "":
		cacheDir = filepath.Join(*out, "runs")
	case "none":
		cacheDir = ""
	}
	files, err := reproduce(fig, plan, *out, cacheDir, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "flatmin experiment: %v\n", err)
		return exitFailure
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return exitOK
}

// reproduce runs a plan and writes its CSV and figures into dir; it returns
// the files written.
func reproduce(fig string, plan experiment.Plan, dir, cacheDir string, stderr io.Writer) ([]string, error) {
	bar := newProgress(stderr, "experiment "+fig, len(plan.Trajectories)+len(plan.Sweep))
	defer bar.done()
	workers := runtime.GOMAXPROCS(0)
	trajectories, err := experiment.RunJobs(plan.Trajectories, experiment.RunOptions{
		Workers: workers, CacheDir: cacheDir, Done: func(i, _ int) { bar.set(i, "trajectories") }})
	if err != nil {
		return nil, err
	}
	offset := len(plan.Trajectories)
	sweep, err := experiment.RunJobs(plan.Sweep, experiment.RunOptions{
		Workers: workers, CacheDir: cacheDir, Done: func(i, _ int) { bar.set(offset+i, "size sweep") }})
	if err != nil {
		return nil, err
	}
	var written []string
	write := func(name string, save func(io.Writer) error) error {
		path := filepath.Join(dir, name)
		if err := writeFileWith(path, save); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}
	figure := func(name string, f *experiment.Figure, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := experiment.SaveFigure(dir, name, f); err != nil {
			return err
		}
		written = append(written, filepath.Join(dir, name+".png"), filepath.Join(dir, name+".svg"))
		return nil
	}
	var records, finals []experiment.Record
	var chi []experiment.FeatureNorm
	for _, r := range trajectories {
		records = append(records, r.Records...)
		chi = append(chi, r.Chi...)
	}
	for _, r := range sweep {
		finals = append(finals, r.Records[len(r.Records)-1])
	}
	if len(records) > 0 {
		if err := write("records.csv", func(w io.Writer) error { return experiment.WriteRecords(w, records) }); err != nil {
			return nil, err
		}
		if err := write("chi.csv", func(w io.Writer) error { return experiment.WriteFeatureNorms(w, chi) }); err != nil {
			return nil, err
		}
	}
	if len(finals) > 0 {
		if err := write("sweep.csv", func(w io.Writer) error { return experiment.WriteRecords(w, finals) }); err != nil {
			return nil, err
		}
	}
	figures := []struct {
		of, name string
		draw     func() (*experiment.Figure, error)
	}{
		{"fig1", "figure1a", func() (*experiment.Figure, error) { return experiment.Figure1a(records) }},
		{"fig1", "figure1b", func() (*experiment.Figure, error) { return experiment.Figure1b(finals) }},
		{"fig2", "figure2a", func() (*experiment.Figure, error) { return experiment.Figure2a(records) }},
		{"fig2", "figure2b", func() (*experiment.Figure, error) { return experiment.Figure2b(chi) }},
		{"fig3", "figure3", func() (*experiment.Figure, error) { return experiment.Figure3(finals) }},
	}
	for _, f := range figures {
		if f.of == fig || fig == "all" {
			drawn, err := f.draw()
			if err := figure(f.name, drawn, err); err != nil {
				return nil, err
			}
		}
	}
	if fig == "fig5b" || fig == "all" {
		oracleBar := newProgress(stderr, "experiment fig5b", len(plan.Sweep))
		defer oracleBar.done()
		ts, err := experiment.Tightnesses(plan.Sweep, sweep, experiment.RunOptions{
			Workers: workers, CacheDir: cacheDir, Done: func(i, _ int) { oracleBar.set(i, "stability oracle") }})
		if err != nil {
			return nil, err
		}
		if err := write("tightness.csv", func(w io.Writer) error { return experiment.WriteTightness(w, ts) }); err != nil {
			return nil, err
		}
		groups := experiment.GroupTightness(ts)
		if err := write("tightness_networks.csv", func(w io.Writer) error { return experiment.WriteTightnessGroups(w, groups) }); err != nil {
			return nil, err
		}
		drawn, err := experiment.Figure5b(ts)
		if err := figure("figure5b", drawn, err); err != nil {
			return nil, err
		}
	}
	return written, nil
}
