package main

import (
	"fmt"
	"io"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

const measureHelp = `usage: flatmin measure (--grads FILE | --gram FILE [--params P]) --residuals FILE
                      [--lr LR --batch B [--loss L] [--check]] [--spectrum all|TOP] [--density BINS]
                      [--subsample S [--repeats R] [--seed N] [--compare]] [--json]

Prints the paper's quantities at one θ of a model trained with the square
loss L = Σ e_i²/(2n): the Gram matrix G = QᵀQ/n, the SGD noise covariance Σ,
the alignment factors α, β, μ, μ1, μ2 (Section 2), γ and τ (Lemma 2.3), the
flatness ‖H‖_F = ‖G‖_F at a global minimum, and, with --lr and --batch, the
bounds linear stability puts on the flatness: GD's (λ_1 <= 2/η), Theorem
3.3's with μ0 = inf_θ μ(θ) and Proposition 3.4's with μ1_0 = inf_θ μ1(θ),
both infima computed exactly for the linearized model at these features.
Everything is a function of K = QQᵀ (n x n) and e.

  --grads FILE      per-sample gradients Q: one row per sample, row i the
                    gradient g_i of the model output f(x_i; θ) (n x p),
                    read a block of columns at a time: memory n² and a
                    256 MiB block, never n·p
  --gram FILE       instead of --grads, their Gram K = QQᵀ (n x n), for
                    example summed over parameter shards on a GPU
  --params P        with --gram: p, for the p row (null without it) and the
                    rank's threshold (n·ε·λ_1 without it, p·ε·λ_1 with it)
  --residuals FILE  residuals e_i = f(x_i; θ) - y_i: shape (n,) or (n, 1)

Files are NumPy .npy (float64 or float32, either byte order, C or Fortran
order), an array of a NumPy .npz archive (FILE.npz for its only array,
FILE.npz:NAME for the array numpy.savez or numpy.savez_compressed saved as
NAME), or .csv (comma-separated numbers, one sample per line, an optional
header line; read whole). Q must be 2-D (a 1-D array is refused, not read
as n x 1), e 1-D or a single column.

A Gram summed in float32 is slightly asymmetric and slightly indefinite.
With t = 10·sqrt(p)·2^-24 (p = --params, else 2^30), the bound that float32
rounding of p terms keeps every entry within, relative to sqrt(K_ii K_jj),
with probability 1 - 4e-22·p (README: "A precomputed Gram"), --gram accepts
K when max|K - Kᵀ|/max|K| <= 2t/(1-t) and its smallest eigenvalue is
>= -t/(1-t)·Tr(K), uses (K + Kᵀ)/2, and reports both figures
(gram_asymmetry, and gram_lambda_min = λ_n(K)/n); beyond either it refuses
K as not a Gram matrix.

--subsample S estimates every quantity from S samples drawn at random
without replacement (Appendix A.1: B = 50), R times (--repeats, default
10; --seed, default 1), and prints the mean and standard deviation over
the draws and how each is estimated: "unbiased" (the loss, Tr(G), ‖G‖_F²,
Tr(Σ1G), Tr(Σ2G), Tr(GΣ), ‖Σ‖_F²: the plug-in estimate's bias, which
weighs the diagonal K_ii² by 1/(Sn) instead of 1/n², corrected exactly),
"root of unbiased" (‖G‖_F, ‖Σ‖_F) and "ratio of unbiased" (α, β, μ, μ1,
μ2): consistent, biased by O(1/S); "plug-in": the sample's own value (γ, τ,
λ_1, the rank, the infima and bounds), biased. With --grads only the drawn
rows are read (S²p a draw). --compare also computes the full quantities
and prints each estimate's bias and rms error.

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
--lr and --batch. With --subsample, after inputs and arguments: n, and
under "quantities" each key's estimator, mean, sd and draws (or the counts
of each verdict), with --compare its full value, bias and rms_error; no
spectrum or verdict (--check, --spectrum and --density go without it).

Exit status: 0 on success, 1 for bad data (a file missing, malformed, of
the wrong shape, with NaN or Inf, all-zero gradients or residuals, or a
--gram that is not a Gram matrix within float32 rounding), 2 for
a usage error (bad or missing flags); either error is one line on stderr.
With --check (which needs --lr and --batch): 3 when the minimum is
unstable, proven by the oracle (η > η*) or by a violated necessary
condition (flatness above Theorem 3.3's or Proposition 3.4's bound, or
λ_1 > 2/η, by more than 1e-6 of it: beyond rounding); 4 when undecided (η
within the oracle's enclosure of η*, no condition violated).

flags:`

func runMeasure(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("measure", measureHelp, stdout, stderr)
	files := addFileFlags(fs, "residuals e (.npy, .npz or .csv), n or n x 1")
	lr := fs.Float64("lr", 0, "learning rate you trained with, > 0 (with --batch; see --loss)")
	batch := fs.Int("batch", 0, "batch size B >= 1 (with --lr)")
	loss := lossFlag(fs)
	check := fs.Bool("check", false, "exit 3 if unstable or a bound is violated, 4 if undecided (needs --lr)")
	spec := addSpectrumFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	sub := addSubsampleFlags(fs)
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
	case files.problem(set, true) != "":
		return usageError(stderr, "measure", "%s", files.problem(set, true))
	case sub.problem(set) != "":
		return usageError(stderr, "measure", "%s", sub.problem(set))
	case sub.on(set) && (*check || set["spectrum"] || set["density"]):
		return usageError(stderr, "measure", "--check, --spectrum and --density go without --subsample: its output is a summary of draws")
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
	var out output
	in, err := files.open()
	if err == nil && sub.on(set) {
		if *sub.size > in.n {
			in.src.Close()
			bar.done()
			return usageError(stderr, "measure", "--subsample %d exceeds the %d samples of %s", *sub.size, in.n, in.matrixPath())
		}
		bar.set(0, "the draws")
		var perDraw [][]row
		var full []row
		perDraw, full, err = subsampleMeasure(in, sgd, sub)
		bar.done()
		if err == nil {
			sums := summarize(perDraw, full)
			if *asJSON {
				err = writeSubsampleJSON(stdout, provenance(fs, set), sums, sub, in.n)
			} else {
				err = writeSubsampleTable(stdout, in.header()+etaHeader(sgd, conv, *lr)+"\n"+subsampleHeader(sub, in.n), sums, *sub.compare, *sub.repeats)
			}
		}
	} else if err == nil {
		var st *theory.State
		var rows []row
		st, rows, err = measure(in, sgd, bar)
		if err == nil {
			bar.set(2, "spectrum")
			out, err = measureOutput(st, rows, sgd, conv, top, bins)
		}
		bar.done()
		if err == nil {
			out.header = in.header() + etaHeader(sgd, conv, *lr) + "\n"
			out.missingNote = missingNote(in, sgd)
			err = out.write(stdout, *asJSON, provenance(fs, set))
		}
	} else {
		bar.done()
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

// measure reads K (from Q, streamed, or --gram) and returns its state and
// the quantities in the order they are printed, showing its phases on bar.
// Every error names the file at fault.
func measure(in inputs, sgd *theory.SGD, bar *progress) (*theory.State, []row, error) {
	bar.set(0, "reading and forming K")
	if err := in.loadGram(); err != nil {
		return nil, nil, err
	}
	st, err := in.state()
	if err != nil {
		return nil, nil, err
	}
	bar.set(1, "eigen-decompositions and the oracle")
	rows, err := quantities(st, sgd)
	if err != nil {
		return nil, nil, in.blame(err)
	}
	rows, err = in.gramRows(st, rows, true)
	return st, rows, err
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
