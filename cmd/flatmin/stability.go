package main

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

const stabilityHelp = `usage: flatmin stability (--grads FILE | --gram FILE [--params P]) [--residuals FILE]
                        --lr LR --batch B [--loss L] [--sampling with|without] [--eps E]
                        [--spectrum all|TOP] [--density BINS] [--json] [--check]

The exact linear-stability oracle of Section 3 at a global minimum with
per-sample gradients Q (H = G = QᵀQ/n): the spectral radius ρ of the
second-moment recursion of linearized SGD (linearly stable iff ρ <= 1), for
batches drawn with and without replacement; the critical learning rates η*;
μ0 = inf μ and μ1_0 = inf μ1; the bounds of Theorem 3.3 (and its version
without replacement) and Proposition 3.4 on ‖H‖_F; GD's stability; and,
when ‖H‖_F exceeds the Theorem 3.3 bound, Theorem 3.6's escape rate γ0 and
the escape time log_γ0(1/ε) from a loss ε.

  --grads FILE      per-sample gradients Q: one row per sample (n x p),
                    read a block of columns at a time
  --gram FILE       instead of --grads, their Gram K = QQᵀ (n x n)
  --params P        with --gram: p (the p row is null without it)
  --residuals FILE  optional residuals e, (n,) or (n, 1): only checked, and
                    their loss reported; the oracle assumes the minimum (e = 0)

Files are read, and a --gram checked and symmetrized, as by flatmin
measure (see flatmin measure --help); gram_lambda_min is computed for a
--gram only.

ρ and η* come with enclosures the oracle proves (every rounding bounded),
and the verdict is stable or unstable only where they decide it: an η
within the enclosure of η* (about 1e-9 of it) is "undecided". At n and rank
in the thousands the oracle works matrix-free (seconds at n = 1000).

` + lossHelp + `

` + spectrumHelp + `

The output ends with a verdict in one line: the flatness as a fraction of
Theorem 3.3's bound (without replacement: its version for that sampling)
and η as a fraction of η*, for the chosen sampling.

With --json the output is one object: schema_version, command,
flatmin_version, inputs and arguments first, then the keys in the order of
the table, then spectrum, density and verdict. A value that does not apply
is null (without replacement when B > n, γ0 and the escape time when the
Theorem 3.3 bound holds) and an infinite one "inf".

Exit status: 0 on success, 1 for bad data (a file missing, malformed, of
the wrong shape, with NaN or Inf, all-zero gradients), 2 for a usage error
(either error is one line on stderr); with --check, for the chosen
sampling, 3 when the minimum is unstable (proven by the oracle, or by a
violated necessary condition as for flatmin measure --check: the flatness
above Theorem 3.3's bound for the sampling or, with replacement,
Proposition 3.4's, or λ_1 > 2/η, by more than 1e-6 of it) and 4 when the
verdict is undecided.

flags:`

func runStability(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stability", stabilityHelp, stdout, stderr)
	files := addFileFlags(fs, "optional residuals e (.npy, .npz or .csv), n or n x 1")
	lr := fs.Float64("lr", 0, "learning rate you trained with, > 0 (see --loss)")
	batch := fs.Int("batch", 0, "batch size B >= 1")
	loss := lossFlag(fs)
	sampling := fs.String("sampling", "with", "how batches are drawn for the verdict: with or without replacement")
	eps := fs.Float64("eps", 1e-3, "the loss ε of the escape time log_γ0(1/ε), 0 < ε < 1")
	asJSON := fs.Bool("json", false, "print one JSON object")
	check := fs.Bool("check", false, "exit 3 if unstable or a bound is violated, 4 if undecided")
	spec := addSpectrumFlags(fs)
	set, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	h := theory.SGD{Eta: *lr, Batch: *batch}
	conv, lossErr := findLoss(*loss)
	top, bins, specErr := spec.parse()
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "stability", "unexpected argument %q", fs.Arg(0))
	case files.problem(set, false) != "":
		return usageError(stderr, "stability", "%s", files.problem(set, false))
	case !set["lr"] || !set["batch"]:
		return usageError(stderr, "stability", "--lr and --batch are required")
	case *sampling != "with" && *sampling != "without":
		return usageError(stderr, "stability", "--sampling must be with or without, got %q", *sampling)
	case !(*eps > 0 && *eps < 1):
		return usageError(stderr, "stability", "--eps must be in (0, 1), got %v", *eps)
	case lossErr != nil:
		return usageError(stderr, "stability", "%v", lossErr)
	case specErr != nil:
		return usageError(stderr, "stability", "%v", specErr)
	}
	if err := h.Validate(); err != nil {
		return usageError(stderr, "stability", "%s", sgdError(err))
	}
	eta, err := conv.paperEta(*lr, *batch)
	if err != nil {
		return usageError(stderr, "stability", "%v", err)
	}
	h.Eta = eta

	bar := newProgress(stderr, "stability", 4)
	bar.set(0, "reading and forming K")
	in, err := files.open()
	if err == nil {
		if err = in.blame(oracle.CheckSize(in.n, in.stateP())); err != nil {
			in.src.Close()
		}
	}
	if err != nil {
		bar.done()
		fmt.Fprintf(stderr, "flatmin stability: %v\n", err)
		return exitFailure
	}
	if *sampling == "without" && *batch > in.n {
		in.src.Close()
		bar.done()
		return usageError(stderr, "stability", "--batch %d exceeds the %d samples of %s: no batch without replacement", *batch, in.n, in.matrixPath())
	}
	st, rows, verdict, err := stability(in, h, *sampling == "without", *eps, bar)
	var out output
	if err == nil {
		bar.set(3, "spectrum")
		out, err = stabilityOutput(st, rows, h, conv, *sampling == "without", verdict, top, bins)
	}
	bar.done()
	if err == nil {
		out.header = in.header() + etaHeader(&h, conv, *lr) + "\n"
		err = out.write(stdout, *asJSON, provenance(fs, set))
	}
	if err != nil {
		fmt.Fprintf(stderr, "flatmin stability: %v\n", err)
		return exitFailure
	}
	if *check {
		return out.assessment.exitStatus()
	}
	return exitOK
}

// stability runs the oracle on Q (and checks e) and returns the state, the
// rows in the order they are printed and the oracle's verdict for the
// chosen sampling, showing its phases on bar. Every error names the file at
// fault.
func stability(in inputs, h theory.SGD, without bool, eps float64, bar *progress) (*theory.State, []row, oracle.Verdict, error) {
	if err := in.loadGram(); err != nil {
		return nil, nil, oracle.Undecided, err
	}
	st, err := in.state()
	if err != nil {
		return nil, nil, oracle.Undecided, err
	}
	bar.set(1, "eigen-decomposition of K")
	o, err := oracle.NewOracleFromState(st)
	if err != nil {
		return nil, nil, oracle.Undecided, in.blame(err)
	}
	bar.set(2, "ρ, η* and μ0")
	rep, err := o.Report(h, eps)
	if err != nil {
		return nil, nil, oracle.Undecided, in.blame(err)
	}
	// notApplicable turns NaN (does not apply) into nil.
	notApplicable := func(x float64) any {
		if math.IsNaN(x) {
			return nil
		}
		return x
	}
	verdictWithout := any(rep.VerdictWithout.String())
	if math.IsNaN(rep.RhoWithout) {
		verdictWithout = nil
	}
	verdict, rho, star := rep.VerdictWith, rep.RhoWithBounds, rep.EtaStarWithBounds
	if without {
		verdict, rho, star = rep.VerdictWithout, rep.RhoWithoutBounds, rep.EtaStarWithoutBounds
	}
	var why string
	switch verdict {
	case oracle.Stable:
		why = fmt.Sprintf("ρ <= %s <= 1, proven (η <= η* = %.6g)", besideOne(rho.Hi), star.Value)
	case oracle.Unstable:
		why = fmt.Sprintf("ρ >= %s > 1, proven (η > η* = %.6g)", besideOne(rho.Lo), star.Value)
	default:
		why = fmt.Sprintf("η is within the enclosure [%.12g, %.12g] of η*: too close to the edge to tell", star.Lo, star.Hi)
	}
	var loss any
	if in.e != nil {
		loss = st.Loss()
	}
	rows := []row{
		{"n", rep.N, "samples"},
		{"p", rep.P, "parameters"},
		{"rank", rep.Rank, "numerical rank of G: the oracle works on its range"},
		{"fro_H", rep.FroH, "‖H‖_F, the flatness (H = G at the minimum)"},
		{"lambda_max", rep.LambdaMax, "λ_1(H)"},
		{"stable", verdict.String(), "linear stability (Definition 3.1) for the chosen sampling: " + why},
		{"rho_with_replacement", rep.RhoWith, "ρ of E[θθᵀ]'s recursion, B indices drawn with replacement"},
		{"rho_with_replacement_lo", rep.RhoWithBounds.Lo, "proven enclosure of ρ_with: lower end"},
		{"rho_with_replacement_hi", rep.RhoWithBounds.Hi, "upper end"},
		{"rho_without_replacement", notApplicable(rep.RhoWithout), "ρ for a uniform B-subset (B <= n)"},
		{"rho_without_replacement_lo", notApplicable(rep.RhoWithoutBounds.Lo), "proven enclosure of ρ_without: lower end"},
		{"rho_without_replacement_hi", notApplicable(rep.RhoWithoutBounds.Hi), "upper end"},
		{"stable_with", rep.VerdictWith.String(), "stable, unstable or undecided, with replacement"},
		{"stable_without", verdictWithout, "the same without replacement"},
		{"eta_star_with", rep.EtaStarWith, "η*: stable iff η <= η* (with replacement)"},
		{"eta_star_with_lo", rep.EtaStarWithBounds.Lo, "proven enclosure of η*_with: lower end"},
		{"eta_star_with_hi", rep.EtaStarWithBounds.Hi, "upper end"},
		{"eta_star_without", notApplicable(rep.EtaStarWithout), "η* without replacement"},
		{"eta_star_without_lo", notApplicable(rep.EtaStarWithoutBounds.Lo), "proven enclosure of η*_without: lower end"},
		{"eta_star_without_hi", notApplicable(rep.EtaStarWithoutBounds.Hi), "upper end"},
		{"mu0", rep.Mu0, "μ0 = inf_θ μ(θ) (alignment of the SGD noise with H)"},
		{"mu1_0", rep.Mu10, "μ1_0 = inf_θ μ1(θ)"},
		{"bound_thm33", rep.BoundThm33, "sqrt(B/μ0)/η: Theorem 3.3's bound on ‖H‖_F"},
		{"bound_thm33_without_replacement", notApplicable(rep.BoundThm33WithoutReplacement), "sqrt(B(n-1)/((n-B)μ0))/η, the same without replacement"},
		{"bound_prop34", rep.BoundProp34, "min(B/sqrt((B-1)μ1_0), 2B/μ1_0)/η: Proposition 3.4's bound"},
		{"gd_stable", rep.GDStable, "λ_1 <= 2/η: GD is linearly stable"},
		{"gamma0", notApplicable(rep.Gamma0), "η²μ0‖H‖_F²/B when ‖H‖_F > bound_thm33: E[L_t] >= γ0^t E[L_0] (Theorem 3.6)"},
		{"escape_eps", rep.EscapeEps, "ε of the escape time"},
		{"escape_steps", notApplicable(rep.EscapeSteps), "log_γ0(1/ε): steps to escape from loss ε to O(1)"},
		{"loss", loss, "L = Σ e_i²/(2n) of --residuals (the oracle assumes 0)"},
	}
	rows, err = in.gramRows(st, rows, false)
	return st, rows, verdict, err
}

// besideOne formats a bound on ρ with 10 significant digits, or as many as
// it takes to tell it from 1 (0.99999999996 is not "1").
func besideOne(x float64) string {
	for prec := 10; prec < 17; prec++ {
		if s := strconv.FormatFloat(x, 'g', prec, 64); s != "1" || x == 1 {
			return s
		}
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
