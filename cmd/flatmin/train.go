package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/experiment"
	"github.com/flatmin/flatmin/theory"
)

const trainHelp = `usage: flatmin train --model fcn|cnn|rfm|linear [--width M] [--n N] [--lr ETA] [--batch B]
                     [--seed S] [--steps MAX] [--loss TARGET] [--sampling shuffled|with-replacement]
                     [--record-every K] [--literal] [--json] [--out run.csv] [--save-grads DIR]

Trains one network of the paper's Appendix A.1 on its data set with
constant-learning-rate SGD (GD when --batch equals --n), then prints the
quantities of flatmin measure at the solution, with the bounds for this η
and B. Defaults are A.1's settings of each model:

  fcn     784 → m → m → 1, ReLU, m = 30, n = 1000 binary MNIST digits, η = 0.05, B = 5
  cnn     Table 1's CNN, m = 20, the same digits, η = 0.1, B = 5
  rfm     Σ θ_j ReLU(w_jᵀx)/sqrt(m), m = 2000, d = 10, n = 200, η = 0.003, B = 5
  linear  d → m → m → m → 1, m = 50, d = 100, n = 50, η = 0.1, B = 5

A run stops when the full training loss reaches --loss (default 1e-5, A.1's
threshold for its larger models) or after --steps steps (a per-model cap).
--literal builds A.1 exactly as printed where that reading cannot train (the
RFM's unscaled features, the linear network's Xavier and the CNN's Kaiming-He
initializations); --torch-init starts the FCN from PyTorch's default
initialization instead of Kaiming-He; see the README. --out writes the records along training as CSV (every
--record-every steps); --save-grads writes grads.npy (n x p, float64) and
residuals.npy at the solution, which flatmin measure reads back.

Exit status: 0 on success, 1 if training fails (diverges) or a file cannot
be written, 2 for a usage error.

flags:`

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("train", trainHelp, stdout, stderr)
	model := fs.String("model", "", "fcn, cnn, rfm or linear")
	width := fs.Int("width", 0, "width m (default: A.1's)")
	n := fs.Int("n", 0, "training samples (default: A.1's)")
	eta := fs.Float64("lr", 0, "learning rate η (default: A.1's)")
	batch := fs.Int("batch", 0, "batch size B (default: A.1's; --n for GD)")
	seed := fs.Uint64("seed", 1, "seed of the data, the initialization and the batches")
	steps := fs.Int("steps", 0, "step cap (default: the model's)")
	target := fs.Float64("loss", 0, "stop when the training loss is at most this (default 1e-5)")
	sampling := fs.String("sampling", "shuffled", "minibatches: shuffled (epochs of a random permutation) or with-replacement")
	every := fs.Int("record-every", 0, "steps between records for --out (default: the model's)")
	literal := fs.Bool("literal", false, "build A.1 exactly as printed where it cannot train")
	torchInit := fs.Bool("torch-init", false, "fcn: PyTorch's default initialization instead of Kaiming-He")
	asJSON := fs.Bool("json", false, "print one JSON object")
	out := fs.String("out", "", "write the records along training to this CSV file")
	saveGrads := fs.String("save-grads", "", "write grads.npy and residuals.npy at the solution into this directory")
	set, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "train", "unexpected argument %q", fs.Arg(0))
	}
	setting, err := experiment.Settings(*model)
	if err != nil {
		return usageError(stderr, "train", "--model: %v", err)
	}
	spec := experiment.Spec{Model: *model, Width: *width, N: *n, Seed: *seed, Literal: *literal, TorchInit: *torchInit}
	job, err := experiment.NewJob(spec, 0, *seed, *out != "")
	if err != nil {
		return usageError(stderr, "train", "%v", err)
	}
	cfg := &job.Config
	if set["lr"] {
		cfg.Eta = *eta
	}
	if set["batch"] {
		cfg.Batch = *batch
	}
	if set["steps"] {
		cfg.MaxSteps = *steps
	}
	if set["loss"] {
		cfg.LossTarget = *target
	}
	if set["record-every"] {
		cfg.RecordEvery = *every
	}
	switch *sampling {
	case "shuffled":
	case "with-replacement":
		cfg.Sampling = experiment.WithReplacement
	default:
		return usageError(stderr, "train", "--sampling must be shuffled or with-replacement, got %q", *sampling)
	}
	samples := setting.N
	if set["n"] {
		samples = *n
	}
	if err := cfg.Validate(samples); err != nil {
		return usageError(stderr, "train", "%v", err)
	}

	p, err := experiment.Build(job.Spec)
	if err != nil {
		return usageError(stderr, "train", "%v", err)
	}
	bar := newProgress(stderr, fmt.Sprintf("train %s", *model), cfg.MaxSteps)
	cfg.Progress = func(step int, loss float64) { bar.set(step, fmt.Sprintf("loss %.3g", loss)) }
	run, err := experiment.Train(p, *cfg)
	bar.done()
	if err != nil {
		fmt.Fprintf(stderr, "flatmin train: %v\n", err)
		return exitFailure
	}
	if err := writeRun(p, run, *out, *saveGrads); err != nil {
		fmt.Fprintf(stderr, "flatmin train: %v\n", err)
		return exitFailure
	}
	sgd := &theory.SGD{Eta: cfg.Eta, Batch: cfg.Batch}
	rows, err := quantities(run.State, sgd)
	if err != nil {
		fmt.Fprintf(stderr, "flatmin train: at the solution: %v\n", err)
		return exitFailure
	}
	rows = withEta(rows, "bound_gd_lambda_max", sgd, lossConventions[0]) // train uses the paper's loss
	rows = append(rows,
		row{"steps", run.Steps, "SGD steps taken"},
		row{"converged", run.Converged, fmt.Sprintf("the loss reached %g before the step cap %d", cfg.LossTarget, cfg.MaxSteps)},
		row{"final_loss", run.FinalLoss, "training loss at the end"},
		row{"seconds", run.Seconds, "wall-clock time of the training run and its records, not of the quantities above"})
	if *asJSON {
		err = writeJSON(stdout, rows)
	} else {
		header := fmt.Sprintf("model:     %s (m = %d, %s)\ndata:      n = %d, seed %d\nSGD:       η = %g, B = %d, %s sampling\n\n",
			*model, p.Width, experiment.Reading(*model, *literal, *torchInit), p.Data.N, *seed, cfg.Eta, cfg.Batch, cfg.Sampling)
		err = writeTable(stdout, header, rows, "")
	}
	if err != nil {
		fmt.Fprintf(stderr, "flatmin train: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// writeRun writes the records of a run to out (CSV) and its per-sample
// gradients and residuals at the solution into dir, each when not "".
func writeRun(p experiment.Problem, run experiment.Run, out, dir string) error {
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := experiment.WriteRecords(f, run.Records); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if dir == "" {
		return nil
	}
	n, np := p.Data.N, p.Net.NumParams()
	if float64(n)*float64(np)*8 > maxSaveBytes {
		return fmt.Errorf("--save-grads: Q is %d x %d, %.3g GB: more than the %g GB this command writes", n, np, float64(n)*float64(np)*8/1e9, maxSaveBytes/1e9)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	q := make([]float64, n*np)
	if err := p.Net.PerSampleGradients(q, run.Theta, p.Data.X); err != nil {
		return err
	}
	e := make([]float64, n)
	if err := p.Net.Outputs(e, run.Theta, p.Data.X); err != nil {
		return err
	}
	for i := range e {
		e[i] -= p.Data.Y[i]
	}
	if err := dataio.WriteNPY(filepath.Join(dir, "grads.npy"), q, n, np); err != nil {
		return err
	}
	return dataio.WriteNPY(filepath.Join(dir, "residuals.npy"), e, n, 0)
}

// maxSaveBytes bounds the Q that --save-grads forms in memory and writes.
const maxSaveBytes = 8e9
