package main

import (
	"fmt"
	"io"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

const measureHelp = `usage: flatmin measure --grads FILE --residuals FILE [--lr LR --batch B [--loss L] [--check]] [--spectrum all|TOP] [--density BINS] [--json]

Prints the paper's quantities at one θ of a model trained with the square
loss L = Σ e_i²/(2n): the Gram matrix G = QᵀQ/n, the SGD noise covariance Σ,
the alignment factors α, β, μ, μ1, μ2 (Section 2), γ and τ (Lemma 2.3), the
flatness ‖H‖_F = ‖G‖_F at a global minimum, and, with --lr and --batch, the
bounds linear stability puts on the flatness: GD's (λ_1 <= 2/η), Theorem
3.3's with μ0 = inf_θ μ(θ) and Proposition 3.4's with μ1_0 = inf_θ μ1(θ),
both infima computed exactly for the linearized model at these features.

  --grads FILE      per-sample gradients Q: one row per sample, row i the
                    gradient g_i of the model output f(x_i; θ) (n x p)
  --residuals FILE  residuals e_i = f(x_i; θ) - y_i: shape (n,) or (n, 1)

Files are NumPy .npy (float64 or float32, either byte order, C or Fortran
order) or .csv (comma-separated numbers, one sample per line, an optional
header line). Q must be 2-D (a 1-D array is refused, not read as n x 1),
e 1-D or a single column.

` + lossHelp + `

` + spectrumHelp + `

The output ends with a verdict in one line: the flatness as a fraction of
Theorem 3.3's bound and η as a fraction of the exact critical rate η* of
the linearized model (batches drawn with replacement), stable, unstable or
undecided; without --lr, what the data alone say.

With --json the output is one object: schema_version, command,
flatmin_version, inputs and arguments first, then the keys in the order of
the table, then spectrum, density and verdict. An undefined value (α when
Σ = 0) is null, an infinite one "inf", and the bounds are null without
--lr and --batch.

Exit status: 0 on success, 1 for bad data (a file missing, malformed, of
the wrong shape, with NaN or Inf, all-zero gradients or residuals), 2 for
a usage error (bad or missing flags); either error is one line on stderr.
With --check (which needs --lr and --batch): 3 when the minimum is
unstable, proven by the oracle (η > η*) or by a violated necessary
condition (flatness above Theorem 3.3's or Proposition 3.4's bound, or
λ_1 > 2/η, by more than 1e-6 of it: beyond rounding); 4 when undecided (η
within the oracle's enclosure of η*, no condition violated).

flags:`

func runMeasure(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("measure", measureHelp, stdout, stderr)
	grads := fs.String("grads", "", "per-sample gradients Q (.npy or .csv), n x p")
	resid := fs.String("residuals", "", "residuals e (.npy or .csv), n or n x 1")
	lr := fs.Float64("lr", 0, "learning rate you trained with, > 0 (with --batch; see --loss)")
	batch := fs.Int("batch", 0, "batch size B >= 1 (with --lr)")
	loss := lossFlag(fs)
	check := fs.Bool("check", false, "exit 3 if unstable or a bound is violated, 4 if undecided (needs --lr)")
	spec := addSpectrumFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	set, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	var sgd *theory.SGD
	conv, lossErr := findLoss(*loss)
	top, bins, specErr := spec.parse()
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "measure", "unexpected argument %q", fs.Arg(0))
	case *grads == "" || *resid == "":
		return usageError(stderr, "measure", "--grads and --residuals are required")
	case set["lr"] != set["batch"]:
		return usageError(stderr, "measure", "--lr and --batch go together: give both or neither")
	case lossErr != nil:
		return usageError(stderr, "measure", "%v", lossErr)
	case specErr != nil:
		return usageError(stderr, "measure", "%v", specErr)
	case *check && !set["lr"]:
		return usageError(stderr, "measure", "--check needs --lr and --batch: without them there is nothing to check")
	case set["lr"]:
		sgd = &theory.SGD{Eta: *lr, Batch: *batch}
		if err := sgd.Validate(); err != nil {
			return usageError(stderr, "measure", "%s", sgdError(err))
		}
		eta, err := conv.paperEta(*lr, *batch)
		if err != nil {
			return usageError(stderr, "measure", "%v", err)
		}
		sgd.Eta = eta
	}

	bar := newProgress(stderr, "measure", 3)
	st, rows, err := measure(*grads, *resid, sgd, bar)
	var out output
	if err == nil {
		bar.set(2, "spectrum")
		out, err = measureOutput(st, rows, sgd, conv, top, bins)
	}
	bar.done()
	if err == nil {
		out.header = fmt.Sprintf("grads:     %s\nresiduals: %s\n", *grads, *resid)
		if sgd != nil {
			out.header += "lr:        " + conv.etaLine(*lr, sgd.Eta) + "\n"
		}
		out.header += "\n"
		err = out.write(stdout, *asJSON, provenance(fs, set))
	}
	if err != nil {
		fmt.Fprintf(stderr, "flatmin measure: %v\n", err)
		return exitFailure
	}
	if *check {
		return out.assessment.exitStatus()
	}
	return exitOK
}

// measure reads Q and e and returns their state and the quantities in the
// order they are printed, showing its phases on bar. Every error names the
// file at fault.
func measure(gradsPath, residPath string, sgd *theory.SGD, bar *progress) (*theory.State, []row, error) {
	bar.set(0, "reading and forming K")
	in, err := readInputs(gradsPath, residPath)
	if err != nil {
		return nil, nil, err
	}
	st, err := in.state()
	if err != nil {
		return nil, nil, err
	}
	bar.set(1, "eigen-decompositions and the oracle")
	rows, err := quantities(st, sgd)
	return st, rows, in.blame(err)
}

// quantities returns the rows of `measure` for a state: with (η, B), the
// alignment infima of the linearized model at these features and the bounds;
// without, those rows are nil (do not apply).
func quantities(st *theory.State, sgd *theory.SGD) ([]row, error) {
	g, err := st.Geometry()
	if err != nil {
		return nil, err
	}
	nz, err := st.Noise()
	if err != nil {
		return nil, err
	}
	var mu0, mu10, thm33, prop34, gdLambda, gdFro, etaStar, verdict any
	if sgd != nil {
		o, err := oracle.NewOracleFromState(st)
		if err != nil {
			return nil, err
		}
		d, err := o.SGD(sgd.Batch, oracle.WithReplacement)
		if err != nil {
			return nil, err
		}
		star, err := d.CriticalRateBounds()
		if err != nil {
			return nil, err
		}
		etaStar, verdict = star.Value, star.Decide(sgd.Eta).String()
		m0, err := o.Mu0()
		if err != nil {
			return nil, err
		}
		m10, err := o.Mu10()
		if err != nil {
			return nil, err
		}
		b33, err := sgd.BoundThm33(m0)
		if err != nil {
			return nil, err
		}
		b34, err := sgd.BoundProp34(m10)
		if err != nil {
			return nil, err
		}
		mu0, mu10, thm33, prop34 = m0, m10, b33, b34
		gdLambda, gdFro = sgd.BoundGDLambdaMax(), sgd.BoundGDFro(g.Rank)
	}
	return []row{
		{"n", g.N, "samples"},
		{"p", g.P, "parameters"},
		{"loss", nz.Loss, "L = Σ e_i²/(2n)"},
		{"fro_G", g.FroG, "‖G‖_F, G = QᵀQ/n = (1/n) Σ g_i g_iᵀ"},
		{"fro_Sigma", nz.FroSigma, "‖Σ‖_F, Σ = Σ1 - Σ2 the SGD noise covariance (eq. 3, eq. 11 corrected)"},
		{"tr_G_Sigma", nz.TrGSigma, "Tr(GΣ)"},
		{"tr_Sigma1_G", nz.TrSigma1G, "Tr(Σ1 G), Σ1 = (1/n) Σ ∇ℓ_i ∇ℓ_iᵀ"},
		{"tr_Sigma2_G", nz.TrSigma2G, "Tr(Σ2 G), Σ2 = ∇L ∇Lᵀ"},
		{"trace_G", g.TraceG, "Tr(G)"},
		{"alpha", nz.Alpha, "α = Tr(GΣ)/(‖G‖_F ‖Σ‖_F): how Σ aligns with G"},
		{"beta", nz.Beta, "β = ‖Σ‖_F/(2L ‖G‖_F): noise size relative to the loss"},
		{"mu", nz.Mu, "μ = α·β = Tr(ΣG)/(2L ‖G‖_F²), the loss-scaled alignment"},
		{"mu1", nz.Mu1, "μ1 = Tr(Σ1 G)/(2L ‖G‖_F²)"},
		{"mu2", nz.Mu2, "μ2 = Tr(Σ2 G)/(2L ‖G‖_F²); μ = μ1 - μ2"},
		{"gamma", g.Gamma, "γ = min χ_i / mean χ_i, χ_i = g_iᵀ G g_i (Assumption 1): μ1 >= γ"},
		{"tau", g.Tau, "τ = λ_1(G)²/‖G‖_F² (Lemma 2.3): μ2 <= τ"},
		{"lambda_max", g.LambdaMax, "λ_1(G), the sharpness GD sees"},
		{"rank", g.Rank, "numerical rank of G"},
		{"flatness", g.FroG, "‖H‖_F = ‖G‖_F at a global minimum (Theorem 3.3)"},
		{"eq11_printed_fro_Sigma", nz.PrintedFroSigma, "‖P E K E‖_F/n, eq. (11) as printed: a misprint, compare fro_Sigma"},
		{"bound_gd_lambda_max", gdLambda, "2/η: GD is linearly stable only if λ_1(H) <= 2/η"},
		{"bound_gd_fro", gdFro, "2 sqrt(rank)/η: the largest ‖H‖_F GD stability allows"},
		{"mu0", mu0, "μ0 = inf_θ μ(θ) for the linearized model at these features"},
		{"mu1_0", mu10, "μ1_0 = inf_θ μ1(θ)"},
		{"bound_thm33", thm33, "sqrt(B/μ0)/η: Theorem 3.3's bound on ‖H‖_F at a stable minimum"},
		{"bound_prop34", prop34, "min(B/sqrt((B-1)μ1_0), 2B/μ1_0)/η: Proposition 3.4's bound"},
		{"eta_star_with", etaStar, "η* of the linearized model, batches with replacement (flatmin stability has more)"},
		{"stable_with", verdict, "stable if η <= η* is proven, unstable if η > η* is, else undecided"},
	}, nil
}
