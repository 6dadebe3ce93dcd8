package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/experiment"
)

// tinyTrain is a run of seconds: a narrow FCN on 30 digits.
var tinyTrain = []string{"train", "--model", "fcn", "--width", "4", "--n", "30", "--steps", "300", "--loss", "1e-3"}

// TestTrainJSON: --json prints the keys of measure's rows, in order, then
// the run's.
func TestTrainJSON(t *testing.T) {
	code, out, errs := runCmd(append(tinyTrain, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	keys, vals := orderedJSON(t, out)
	want := append(slices.Clone(measureRowKeys), "steps", "converged", "final_loss", "seconds")
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if vals["n"] != json.Number("30") || vals["p"] != json.Number("3165") {
		t.Errorf("n = %v, p = %v, want 30 and 784·4+4 + 4·4+4 + 4+1 = 3165", vals["n"], vals["p"])
	}
}

// TestTrainSaveGradsMeasure: the files --save-grads writes, flatmin measure
// reads back to the numbers train printed. train measures through the
// layer-wise Gram, measure through numerics.Gram of the saved Q; the two
// differ in summation order only (see experiment.TestMeasureMatchesQ for the
// 1e-9 relative budget), and the bounds share η and B.
func TestTrainSaveGradsMeasure(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "run.csv")
	code, out, errs := runCmd(append(tinyTrain, "--json", "--lr", "0.05", "--batch", "5", "--save-grads", dir, "--out", csv, "--record-every", "100", "--loss", "0")...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	_, trained := orderedJSON(t, out)
	code, out, errs = runCmd("measure", "--grads", filepath.Join(dir, "grads.npy"), "--residuals", filepath.Join(dir, "residuals.npy"),
		"--lr", "0.05", "--batch", "5", "--json")
	if code != 0 {
		t.Fatalf("measure exit %d: %s", code, errs)
	}
	_, measured := orderedJSON(t, out)
	for _, k := range measureRowKeys {
		if k == "stable_with" {
			if trained[k] != measured[k] {
				t.Errorf("%s: train %v, measure %v", k, trained[k], measured[k])
			}
			continue
		}
		a, b := number(t, trained[k]), number(t, measured[k])
		if !(math.Abs(a-b) <= 1e-9*math.Abs(b)) && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Errorf("%s: train %v, measure %v", k, a, b)
		}
	}
	f, err := os.Open(csv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := experiment.ReadRecords(f)
	if err != nil || len(recs) != 4 || recs[3].Step != 300 || recs[1].Step != 100 {
		t.Fatalf("run.csv: %d records (%v), want steps 0, 100, 200, 300", len(recs), err)
	}
}

func number(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	case nil:
		return math.NaN()
	}
	t.Fatalf("not a number: %v", v)
	return 0
}

// TestTrainUsage: bad flags are one line on stderr and exit status 2; a run
// that diverges is exit status 1 naming λ_1 and 2/η.
func TestTrainUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train"}, `--model: unknown model ""`},
		{[]string{"train", "--model", "mlp"}, `unknown model "mlp"`},
		{[]string{"train", "--model", "fcn", "--lr", "-1"}, "learning rate must be positive"},
		{[]string{"train", "--model", "fcn", "--n", "10", "--batch", "11"}, "batch size must be in [1, n = 10]"},
		{[]string{"train", "--model", "fcn", "--n", "6000"}, "cannot draw 6000 of 5000 digits"},
		{[]string{"train", "--model", "rfm", "--sampling", "cyclic"}, "--sampling must be"},
		{[]string{"train", "--model", "rfm", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errs := runCmd(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line containing %q", tc.args, code, errs, tc.msg)
		}
	}
	code, _, errs := runCmd("train", "--model", "linear", "--width", "4", "--n", "10", "--lr", "1000", "--batch", "2")
	if code != 1 || !strings.Contains(errs, "training diverged") || !strings.Contains(errs, "2/η") {
		t.Errorf("divergent run: exit %d, stderr %q", code, errs)
	}
}

// TestExperimentQuick: fig2 --quick writes its CSV and figures.
func TestExperimentQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four networks")
	}
	dir := t.TempDir()
	code, out, errs := runCmd("experiment", "fig2", "--quick", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"records.csv", "chi.csv", "figure2a.png", "figure2a.svg", "figure2b.png", "figure2b.svg"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(out, name) {
			t.Errorf("stdout does not list %s:\n%s", name, out)
		}
	}
	for _, args := range [][]string{{"experiment"}, {"experiment", "fig7"}, {"experiment", "fig1", "--runs", "0"}} {
		if code, _, errs := runCmd(args...); code != 2 || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}
