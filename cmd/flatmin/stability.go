package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flatmin/flatmin/theory"
)

const stabilityHelp = `usage: flatmin stability --grads FILE [--residuals FILE] --lr ETA --batch B [--sampling with|without] [--eps E] [--json]

The exact linear-stability oracle of Section 3 at a global minimum with
per-sample gradients Q (H = G = QᵀQ/n): the spectral radius ρ of the
second-moment recursion of linearized SGD (linearly stable iff ρ <= 1), for
batches drawn with and without replacement; the critical learning rates η*;
μ0 = inf μ and μ1_0 = inf μ1; the bounds of Theorem 3.3 (and its version
without replacement) and Proposition 3.4 on ‖H‖_F; GD's stability; and,
when ‖H‖_F exceeds the Theorem 3.3 bound, Theorem 3.6's escape rate γ0 and
the escape time log_γ0(1/ε) from a loss ε.

  --grads FILE      per-sample gradients Q: one row per sample (n x p)
  --residuals FILE  optional residuals e (n values): only checked, and their
                    loss reported; the oracle assumes the minimum (e = 0)

With --json the output is one object, keys in the order of the table; a
value that does not apply is null (without replacement when B > n, γ0 and
the escape time when the Theorem 3.3 bound holds) and an infinite one "inf".

Exit status: 0 on success, 1 for bad data (a file missing, malformed, of
the wrong shape, with NaN or Inf, all-zero gradients), 2 for a usage error.

flags:`

// readMatrix reads a matrix file into row-major data with its shape.
//
// TEMPORARY, for the lead to replace when merging with the dataio branch:
//
//	readMatrix = func(path string) ([]float64, int, int, error) {
//		a, err := dataio.ReadFile(path)
//		return a.Data, a.Rows, a.Cols, err
//	}
//
// Until then it reads .csv only (readCSVMatrix).
var readMatrix = readCSVMatrix

// readCSVMatrix reads comma-separated numbers, one row a line, with an
// optional header line; every error names the file and the line.
func readCSVMatrix(path string) ([]float64, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var data []float64
	rows, cols := 0, 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		vals := make([]float64, len(fields))
		for j, s := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				if line == 1 && rows == 0 {
					vals = nil // a header line
					break
				}
				return nil, 0, 0, fmt.Errorf("%s: line %d, field %d: not a number: %q", path, line, j+1, s)
			}
			vals[j] = v
		}
		if vals == nil {
			continue
		}
		if rows > 0 && len(vals) != cols {
			return nil, 0, 0, fmt.Errorf("%s: line %d has %d fields, the first row has %d", path, line, len(vals), cols)
		}
		cols = len(vals)
		data = append(data, vals...)
		rows++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %v", path, err)
	}
	if rows == 0 {
		return nil, 0, 0, fmt.Errorf("%s: no data", path)
	}
	return data, rows, cols, nil
}

func runStability(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grads := fs.String("grads", "", "per-sample gradients Q (.csv), n x p")
	resid := fs.String("residuals", "", "optional residuals e (.csv), n values")
	eta := fs.Float64("lr", 0, "learning rate η > 0")
	batch := fs.Int("batch", 0, "batch size B >= 1")
	sampling := fs.String("sampling", "with", "how batches are drawn for the verdict: with or without replacement")
	eps := fs.Float64("eps", 1e-3, "the loss ε of the escape time log_γ0(1/ε), 0 < ε < 1")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, stabilityHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	h := theory.SGD{Eta: *eta, Batch: *batch}
	switch {
	case fs.NArg() > 0:
		return stabilityUsage(stderr, "unexpected argument %q", fs.Arg(0))
	case *grads == "":
		return stabilityUsage(stderr, "--grads is required")
	case !set["lr"] || !set["batch"]:
		return stabilityUsage(stderr, "--lr and --batch are required")
	case *sampling != "with" && *sampling != "without":
		return stabilityUsage(stderr, "--sampling must be with or without, got %q", *sampling)
	case !(*eps > 0 && *eps < 1):
		return stabilityUsage(stderr, "--eps must be in (0, 1), got %v", *eps)
	}
	if err := h.Validate(); err != nil {
		var ie *theory.InputError
		if errors.As(err, &ie) {
			return stabilityUsage(stderr, "%s: %s", map[string]string{"eta": "--lr", "B": "--batch"}[ie.Arg], ie.Detail)
		}
		return stabilityUsage(stderr, "%v", err)
	}

	q, n, p, err := readMatrix(*grads)
	if err != nil {
		fmt.Fprintf(stderr, "flatmin stability: %v\n", err)
		return 1
	}
	if *sampling == "without" && *batch > n {
		return stabilityUsage(stderr, "--batch %d exceeds the %d samples of %s: no batch without replacement", *batch, n, *grads)
	}
	rows, err := stability(*grads, *resid, q, n, p, h, *sampling == "without", *eps)
	if err != nil {
		fmt.Fprintf(stderr, "flatmin stability: %v\n", err)
		return 1
	}
	if *asJSON {
		err = writeStabilityJSON(stdout, rows)
	} else {
		err = writeStabilityTable(stdout, *grads, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "flatmin stability: %v\n", err)
		return 1
	}
	return 0
}

func stabilityUsage(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "flatmin stability: %s (see flatmin stability --help)\n", fmt.Sprintf(format, args...))
	return 2
}

// stabilityRow is one reported quantity: its JSON key, its value (an int,
// a float64, a bool, or nil when it does not apply) and what it is.
type stabilityRow struct {
	key   string
	value any
	doc   string
}

// stability runs the oracle on Q (and checks e) and returns the rows in the
// order they are printed. Every error names the file at fault.
func stability(gradsPath, residPath string, q []float64, n, p int, h theory.SGD, without bool, eps float64) ([]stabilityRow, error) {
	var e []float64
	if residPath != "" {
		data, rows, cols, err := readMatrix(residPath)
		if err != nil {
			return nil, err
		}
		if cols != 1 && rows != 1 {
			return nil, fmt.Errorf("%s: residuals must be n values (one column or one row), got %d x %d", residPath, rows, cols)
		}
		if len(data) != n {
			return nil, fmt.Errorf("%s: %d residuals, but %s has %d rows (one per sample)", residPath, len(data), gradsPath, n)
		}
		e = data
	}
	st, err := theory.NewState(q, n, p, e)
	if err != nil {
		var ie *theory.InputError
		if errors.As(err, &ie) && ie.Arg == "e" {
			return nil, fmt.Errorf("%s: %w", residPath, err)
		}
		return nil, fmt.Errorf("%s: %w", gradsPath, err)
	}
	o, err := theory.NewOracleFromState(st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gradsPath, err)
	}
	rep, err := o.Report(h, eps)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gradsPath, err)
	}
	// notApplicable turns NaN (does not apply) into nil.
	notApplicable := func(x float64) any {
		if math.IsNaN(x) {
			return nil
		}
		return x
	}
	stableWithout := any(rep.StableWithout)
	if math.IsNaN(rep.RhoWithout) {
		stableWithout = nil
	}
	verdict, rho := rep.StableWith, rep.RhoWith
	if without {
		verdict, rho = rep.StableWithout, rep.RhoWithout
	}
	var loss any
	if e != nil {
		l := 0.0
		for _, v := range e {
			l += v * v
		}
		loss = l / (2 * float64(n))
	}
	return []stabilityRow{
		{"n", rep.N, "samples"},
		{"p", rep.P, "parameters"},
		{"rank", rep.Rank, "numerical rank of G: the oracle works on its range"},
		{"fro_H", rep.FroH, "‖H‖_F, the flatness (H = G at the minimum)"},
		{"lambda_max", rep.LambdaMax, "λ_1(H)"},
		{"stable", verdict, fmt.Sprintf("linearly stable (Definition 3.1) for the chosen sampling: ρ = %.6g <= 1", rho)},
		{"rho_with_replacement", rep.RhoWith, "ρ of E[θθᵀ]'s recursion, B indices drawn with replacement"},
		{"rho_without_replacement", notApplicable(rep.RhoWithout), "ρ for a uniform B-subset (B <= n)"},
		{"stable_with", rep.StableWith, "ρ_with <= 1"},
		{"stable_without", stableWithout, "ρ_without <= 1"},
		{"eta_star_with", rep.EtaStarWith, "η*: stable iff η <= η* (with replacement)"},
		{"eta_star_without", notApplicable(rep.EtaStarWithout), "η* without replacement"},
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
	}, nil
}

// stabilityJSONValue encodes NaN as null and ±Inf as "inf", "-inf".
func stabilityJSONValue(v any) any {
	f, ok := v.(float64)
	switch {
	case !ok:
		return v
	case math.IsNaN(f):
		return nil
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return f
}

// writeStabilityJSON writes the rows as one JSON object, keys in row order.
func writeStabilityJSON(w io.Writer, rows []stabilityRow) error {
	var b bytes.Buffer
	b.WriteString("{")
	for i, r := range rows {
		k, err := json.Marshal(r.key)
		if err != nil {
			return err
		}
		v, err := json.Marshal(stabilityJSONValue(r.value))
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  %s: %s", k, v)
	}
	b.WriteString("\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeStabilityTable writes the rows as an aligned table.
func writeStabilityTable(w io.Writer, gradsPath string, rows []stabilityRow) error {
	fmt.Fprintf(w, "grads: %s\n\n", gradsPath)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		v := "-"
		switch x := stabilityJSONValue(r.value).(type) {
		case nil:
		case float64:
			v = strconv.FormatFloat(x, 'g', 10, 64)
		default:
			v = fmt.Sprint(x)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.key, v, r.doc)
	}
	return tw.Flush()
}
