package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flatmin/flatmin/theory"
)

// measure --subsample: the paper's estimates for large models (Appendix
// A.1: the quantities of eq. (11) on B = 50 samples drawn at random, at cost
// O(B²p)), repeated over R draws, with the bias of the plug-in estimates
// corrected where a closed form exists (theory.State.Subsample).

// subsampleFlags are measure's flags of subsampling.
type subsampleFlags struct {
	size, repeats *int
	seed          *uint64
	compare       *bool
}

// maxRepeats bounds --repeats: each draw is a measure of its own.
const maxRepeats = 100000

func addSubsampleFlags(fs *flagSet) subsampleFlags {
	return subsampleFlags{
		size:    fs.Int("subsample", 0, "estimate every quantity from S samples drawn at random without replacement (Appendix A.1: S = 50), S >= 4"),
		repeats: fs.Int("repeats", 10, "with --subsample: the number of draws, R; the mean and standard deviation over them are reported"),
		seed:    fs.Uint64("seed", 1, "with --subsample: the seed of the draws"),
		compare: fs.Bool("compare", false, "with --subsample: also compute the full quantities, and how far the estimates are from them"),
	}
}

// on reports whether --subsample was given.
func (f subsampleFlags) on(set map[string]bool) bool { return set["subsample"] }

// problem is what is wrong with the subsampling flags as a usage error, or "".
func (f subsampleFlags) problem(set map[string]bool) string {
	switch {
	case !set["subsample"] && (set["repeats"] || set["seed"] || set["compare"]):
		return "--repeats, --seed and --compare go with --subsample"
	case !set["subsample"]:
		return ""
	case *f.size < theory.MinSubsample:
		return fmt.Sprintf("--subsample must be >= %d (‖Σ‖_F² has terms of four distinct samples), got %d", theory.MinSubsample, *f.size)
	case *f.repeats < 1 || *f.repeats > maxRepeats:
		return fmt.Sprintf("--repeats must be between 1 and %d, got %d", maxRepeats, *f.repeats)
	}
	return ""
}

// draws returns r samples of s of n indices, each drawn uniformly without
// replacement (Floyd's algorithm) and sorted, from the seed.
func draws(n, s, r int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 0x666c61746d696e)) // "flatmin"
	out := make([][]int, r)
	for d := range out {
		chosen := make(map[int]bool, s)
		sample := make([]int, 0, s)
		for j := n - s; j < n; j++ {
			t := rng.IntN(j + 1)
			if chosen[t] {
				t = j
			}
			chosen[t] = true
			sample = append(sample, t)
		}
		slices.Sort(sample)
		out[d] = sample
	}
	return out
}

// estimator says how a row of a subsample is estimated.
func estimator(key string) string {
	switch key {
	case "loss", "trace_G", "tr_G_Sigma", "tr_Sigma1_G", "tr_Sigma2_G", "fro_G_squared", "fro_Sigma_squared":
		return "unbiased"
	case "fro_G", "flatness", "fro_Sigma":
		return "root of unbiased"
	case "alpha", "beta", "mu", "mu1", "mu2":
		return "ratio of unbiased"
	case "n", "p", "bound_gd_lambda_max", "gram_asymmetry":
		return "exact"
	}
	return "plug-in"
}

// estimateRows replaces the values of a sample's rows by the estimates of
// the full data's (n samples) and appends the unbiased squares.
func estimateRows(rows []row, est theory.SubsampleEstimate, n int) []row {
	values := map[string]any{
		"n": n, "loss": est.Loss, "trace_G": est.TraceG, "fro_G": est.FroG, "flatness": est.FroG,
		"fro_Sigma": est.FroSigma, "tr_G_Sigma": est.TrGSigma, "tr_Sigma1_G": est.TrSigma1G,
		"tr_Sigma2_G": est.TrSigma2G, "alpha": est.Alpha, "beta": est.Beta, "mu": est.Mu, "mu1": est.Mu1, "mu2": est.Mu2,
	}
	for i := range rows {
		if v, ok := values[rows[i].key]; ok {
			rows[i].value = v
		}
	}
	return append(rows, squareRows(est.FroGSquared, est.FroSigmaSquared)...)
}

// squareRows are the rows of ‖G‖_F² and ‖Σ‖_F², whose estimates are
// unbiased where their roots are not.
func squareRows(froG2, froSigma2 float64) []row {
	return []row{
		{"fro_G_squared", froG2, "‖G‖_F²"},
		{"fro_Sigma_squared", froSigma2, "‖Σ‖_F²"},
	}
}

// subsampleMeasure runs measure on each draw and returns the rows of every
// draw and, with compare, the full rows (else nil).
func subsampleMeasure(in inputs, sgd *theory.SGD, f subsampleFlags) (perDraw [][]row, full []row, err error) {
	s, compare := *f.size, *f.compare
	ds := draws(in.n, s, *f.repeats, *f.seed)
	grams := make([]scaledGram, len(ds))
	var fullGram scaledGram
	if in.gramPath != "" || compare {
		// Every row is read: K (n x n) is held, and the samples' Grams are
		// its principal submatrices.
		if err := in.loadGram(); err != nil {
			return nil, nil, err
		}
		fullGram = scaledGram{k: in.k, exp: in.kExp, m: in.n}
		for d, dr := range ds {
			grams[d] = submatrix(fullGram, dr)
		}
	} else {
		// Only the drawn rows of Q are read, in one pass for every draw.
		union, pos := unionOf(ds)
		grams, err = streamGrams(in.src, union, pos)
		in.src.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	for d, dr := range ds {
		e := make([]float64, len(dr))
		zero := true
		for a, i := range dr {
			e[a] = in.e[i]
			zero = zero && e[a] == 0
		}
		if zero {
			return nil, nil, fmt.Errorf("%s: zero loss on draw %d: its %d samples all have e_i = 0 (a larger --subsample draws fewer such samples)", in.residPath, d+1, s)
		}
		st, err := theory.NewStateScaledGram(grams[d].k, grams[d].exp, s, in.stateP(), e)
		if err != nil {
			return nil, nil, in.blame(err)
		}
		rows, err := in.sampleRows(st, sgd)
		if err != nil {
			return nil, nil, err
		}
		est, err := st.Subsample(in.n)
		if err != nil {
			return nil, nil, in.blame(err)
		}
		perDraw = append(perDraw, estimateRows(rows, est, in.n))
	}
	if compare {
		st, err := in.state()
		if err != nil {
			return nil, nil, err
		}
		if full, err = in.sampleRows(st, sgd); err != nil {
			return nil, nil, err
		}
		g, err := st.Geometry()
		if err != nil {
			return nil, nil, in.blame(err)
		}
		nz, err := st.Noise()
		if err != nil {
			return nil, nil, in.blame(err)
		}
		full = append(full, squareRows(g.FroG*g.FroG, nz.FroSigma*nz.FroSigma)...)
	}
	return perDraw, full, nil
}

// sampleRows are measure's rows for a state.
func (in inputs) sampleRows(st *theory.State, sgd *theory.SGD) ([]row, error) {
	rows, err := quantities(st, sgd)
	if err != nil {
		return nil, in.blame(err)
	}
	return in.gramRows(st, rows, true)
}

// submatrix is K[S, S].
func submatrix(g scaledGram, s []int) scaledGram {
	out := scaledGram{k: make([]float64, len(s)*len(s)), exp: g.exp, m: len(s)}
	for a, i := range s {
		for b, j := range s {
			out.k[a*len(s)+b] = g.k[i*g.m+j]
		}
	}
	return out
}

// unionOf returns the rows any draw holds, ascending, and each draw as
// positions in them.
func unionOf(ds [][]int) ([]int, [][]int) {
	var union []int
	for _, d := range ds {
		union = append(union, d...)
	}
	slices.Sort(union)
	union = slices.Compact(union)
	pos := make([][]int, len(ds))
	for d, dr := range ds {
		pos[d] = make([]int, len(dr))
		for a, i := range dr {
			pos[d][a], _ = slices.BinarySearch(union, i)
		}
	}
	return union, pos
}

// summary is a row summarized over the draws: the mean and standard
// deviation of a number (over the draws where it is defined), or the counts
// of each value of a word or a bool; and, with --compare, the full value
// and how far the draws are from it.
type summary struct {
	key, estimator string
	mean, sd       any // float64, or nil
	defined        int
	counts         []row // value -> count, in order of first appearance
	full           any
	bias, rms      any
}

// summarize summarizes the rows of the draws, key by key in their order.
func summarize(perDraw [][]row, full []row) []summary {
	var out []summary
	for i, r := range perDraw[0] {
		s := summary{key: r.key, estimator: estimator(r.key)}
		var xs []float64
		for _, rows := range perDraw {
			switch v := rows[i].value.(type) {
			case float64:
				if !math.IsNaN(v) {
					xs = append(xs, v)
				}
			case int:
				xs = append(xs, float64(v))
			case nil:
			default:
				s.counts = countValue(s.counts, fmt.Sprint(v))
			}
		}
		if full != nil {
			s.full = full[i].value
		}
		if len(xs) > 0 {
			mean, sd := meanSD(xs)
			s.mean, s.defined = mean, len(xs)
			if len(xs) > 1 {
				s.sd = sd
			}
			if f, ok := toFloat(s.full); ok {
				s.bias = mean - f
				ms := 0.0
				for _, x := range xs {
					ms += (x - f) * (x - f)
				}
				s.rms = math.Sqrt(ms / float64(len(xs)))
			}
		}
		out = append(out, s)
	}
	return out
}

// countValue adds one to the count of v.
func countValue(counts []row, v string) []row {
	for i := range counts {
		if counts[i].key == v {
			counts[i].value = counts[i].value.(int) + 1
			return counts
		}
	}
	return append(counts, row{key: v, value: 1})
}

// meanSD is the mean and the sample standard deviation (n - 1).
func meanSD(xs []float64) (float64, float64) {
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(max(1, len(xs)-1)))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x)
	case int:
		return float64(x), true
	}
	return 0, false
}

// subsampleHeader says what was drawn.
func subsampleHeader(f subsampleFlags, n int) string {
	return fmt.Sprintf("subsample: %d draws of %d of the %d samples, without replacement, seed %d\n\n", *f.repeats, *f.size, n, *f.seed)
}

// writeSubsampleJSON writes the summaries as one JSON object: the
// provenance (schema version, command, build, inputs, arguments), n, then
// under "quantities" each key's estimator, mean, sd and draws (where
// defined) or counts, and with --compare full, bias and rms_error.
func writeSubsampleJSON(w io.Writer, provenance []row, sums []summary, f subsampleFlags, n int) error {
	var q object
	for _, s := range sums {
		o := object{{key: "estimator", value: s.estimator}}
		if s.counts != nil {
			o = append(o, row{key: "counts", value: object(s.counts)})
		} else {
			o = append(o, row{key: "mean", value: s.mean}, row{key: "sd", value: s.sd}, row{key: "draws", value: s.defined})
		}
		if *f.compare {
			o = append(o, row{key: "full", value: s.full})
			if s.counts == nil {
				o = append(o, row{key: "bias", value: s.bias}, row{key: "rms_error", value: s.rms})
			}
		}
		q = append(q, row{key: s.key, value: o})
	}
	return writeJSON(w, append(provenance, row{"n", n, ""}, row{"quantities", q, ""}))
}

// writeSubsampleTable writes the summaries as a table, and what the
// estimators mean.
func writeSubsampleTable(w io.Writer, header string, sums []summary, compare bool, repeats int) error {
	fmt.Fprint(w, header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cols := "key\tmean\tsd\testimator"
	if compare {
		cols = "key\tmean\tsd\tfull\tbias\trms_error\testimator"
	}
	fmt.Fprintln(tw, cols)
	for _, s := range sums {
		mean := tableValue(s.mean)
		if s.counts != nil {
			var parts []string
			for _, c := range s.counts {
				parts = append(parts, fmt.Sprintf("%s %d", c.key, c.value))
			}
			mean = strings.Join(parts, ", ")
		} else if s.mean != nil && s.defined < repeats {
			mean += " (" + strconv.Itoa(s.defined) + " draws)"
		}
		line := []string{s.key, mean, tableValue(s.sd)}
		if compare {
			line = append(line, tableValue(s.full), tableValue(s.bias), tableValue(s.rms))
		}
		fmt.Fprintln(tw, strings.Join(append(line, s.estimator), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, `
(unbiased: its mean over all draws is the full value, the plug-in estimate's
bias corrected (theory.State.Subsample); root or ratio of unbiased:
consistent, biased by O(1/S); plug-in: the sample's own value, biased;
exact: not estimated; -: does not apply or needs --lr and --batch)
`)
	return err
}
