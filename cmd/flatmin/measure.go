package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/theory"
)

const measureHelp = `usage: flatmin measure --grads FILE --residuals FILE [--lr ETA --batch B] [--json]

Prints the paper's quantities at one θ of a model trained with the square
loss L = Σ e_i²/(2n): the Gram matrix G = QᵀQ/n, the SGD noise covariance Σ,
the alignment factors α, β, μ, μ1, μ2 (Section 2), γ and τ (Lemma 2.3), the
flatness ‖H‖_F = ‖G‖_F at a global minimum, and, with --lr and --batch, the
bounds linear stability puts on GD's sharpness and flatness.

  --grads FILE      per-sample gradients Q: one row per sample, row i the
                    gradient g_i of the model output f(x_i; θ) (n x p)
  --residuals FILE  residuals e_i = f(x_i; θ) - y_i: shape (n,) or (n, 1)

Files are NumPy .npy (float64 or float32, C or Fortran order, 1-D or 2-D)
or .csv (comma-separated numbers, one sample per line, an optional header
line). With --json the output is one object with the keys in the order of
the table; an undefined value (α when Σ = 0) is null, an infinite one "inf",
and the bounds are null without --lr and --batch.

Exit status: 0 on success, 1 for bad data (a file missing, malformed, of
the wrong shape, with NaN or Inf, all-zero gradients or residuals), 2 for
a usage error (bad or missing flags).

flags:`

func runMeasure(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grads := fs.String("grads", "", "per-sample gradients Q (.npy or .csv), n x p")
	resid := fs.String("residuals", "", "residuals e (.npy or .csv), n or n x 1")
	eta := fs.Float64("lr", 0, "learning rate η > 0 (with --batch)")
	batch := fs.Int("batch", 0, "batch size B >= 1 (with --lr)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, measureHelp)
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
	var sgd *theory.SGD
	switch {
	case fs.NArg() > 0:
		return usageErr(stderr, "unexpected argument %q", fs.Arg(0))
	case *grads == "" || *resid == "":
		return usageErr(stderr, "--grads and --residuals are required")
	case set["lr"] != set["batch"]:
		return usageErr(stderr, "--lr and --batch go together: give both or neither")
	case set["lr"]:
		sgd = &theory.SGD{Eta: *eta, Batch: *batch}
		if err := sgd.Validate(); err != nil {
			var ie *theory.InputError
			if errors.As(err, &ie) {
				return usageErr(stderr, "%s: %s", map[string]string{"eta": "--lr", "B": "--batch"}[ie.Arg], ie.Detail)
			}
			return usageErr(stderr, "%v", err)
		}
	}

	rows, err := measure(*grads, *resid, sgd)
	if err != nil {
		fmt.Fprintf(stderr, "flatmin measure: %v\n", err)
		return 1
	}
	if *asJSON {
		err = writeMeasureJSON(stdout, rows)
	} else {
		err = writeMeasureTable(stdout, *grads, *resid, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "flatmin measure: %v\n", err)
		return 1
	}
	return 0
}

func usageErr(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "flatmin measure: %s (see flatmin measure --help)\n", fmt.Sprintf(format, args...))
	return 2
}

// measureRow is one quantity that measure reports: its JSON key, its value
// (an int, a float64, or nil when it does not apply) and what it is.
type measureRow struct {
	key   string
	value any
	doc   string
}

// measure reads Q and e and returns the quantities in the order they are
// printed. Every error names the file at fault.
func measure(gradsPath, residPath string, sgd *theory.SGD) ([]measureRow, error) {
	q, err := dataio.ReadFile(gradsPath)
	if err != nil {
		return nil, err
	}
	e, err := dataio.ReadFile(residPath)
	if err != nil {
		return nil, err
	}
	if e.Cols != 1 {
		return nil, fmt.Errorf("%s: residuals must have shape (n,) or (n, 1), got %s", residPath, e.Shape())
	}
	if e.Rows != q.Rows {
		return nil, fmt.Errorf("%s: %d residuals, but %s has %d rows (one per sample)", residPath, e.Rows, gradsPath, q.Rows)
	}
	// theory names its arguments Q and e; name the files instead.
	fileOf := map[string]string{"Q": gradsPath, "e": residPath}
	blame := func(err error) error {
		var ie *theory.InputError
		if errors.As(err, &ie) && fileOf[ie.Arg] != "" {
			return fmt.Errorf("%s: %w", fileOf[ie.Arg], err)
		}
		return fmt.Errorf("%s, %s: %w", gradsPath, residPath, err)
	}
	st, err := theory.NewState(q.Data, q.Rows, q.Cols, e.Data)
	if err != nil {
		return nil, blame(err)
	}
	g := st.Geometry()
	nz, err := st.Noise()
	if err != nil {
		return nil, blame(err)
	}
	// bound is a bound of the SGD hyperparameters, or nil without them.
	bound := func(f func(theory.SGD) float64) any {
		if sgd == nil {
			return nil
		}
		return f(*sgd)
	}
	return []measureRow{
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
		{"bound_gd_lambda_max", bound(theory.SGD.BoundGDLambdaMax), "2/η: GD is linearly stable only if λ_1(H) <= 2/η"},
		{"bound_gd_fro", bound(func(h theory.SGD) float64 { return h.BoundGDFro(g.Rank) }), "2 sqrt(rank)/η: the largest ‖H‖_F GD stability allows"},
	}, nil
}

// jsonValue encodes what JSON cannot: NaN (undefined) as null, ±Inf as
// "inf" and "-inf".
func jsonValue(v any) any {
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

// writeMeasureJSON writes the rows as one JSON object, keys in row order.
func writeMeasureJSON(w io.Writer, rows []measureRow) error {
	var b bytes.Buffer
	b.WriteString("{")
	for i, r := range rows {
		k, err := json.Marshal(r.key)
		if err != nil {
			return err
		}
		v, err := json.Marshal(jsonValue(r.value))
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

// writeMeasureTable writes the rows as an aligned table.
func writeMeasureTable(w io.Writer, gradsPath, residPath string, rows []measureRow) error {
	fmt.Fprintf(w, "grads:     %s\nresiduals: %s\n\n", gradsPath, residPath)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	missing := false
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.key, tableValue(r.value), r.doc)
		missing = missing || r.value == nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing {
		_, err := fmt.Fprintln(w, "\n(-: needs --lr and --batch)")
		return err
	}
	return nil
}

// tableValue formats a value for the table, floats to 10 significant digits.
func tableValue(v any) string {
	switch x := jsonValue(v).(type) {
	case nil:
		if v == nil {
			return "-"
		}
		return "undefined"
	case float64:
		return strconv.FormatFloat(x, 'g', 10, 64)
	default: // an int, or "inf"
		return fmt.Sprint(x)
	}
}
