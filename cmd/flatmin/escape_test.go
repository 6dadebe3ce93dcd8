package main

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/experiment"
)

// TestExperimentFig4: fig4 --quick on the linear network alone (a second)
// writes its three CSV files and the figure, prints one line per panel,
// and its CSV reads back with one row per trajectory per step.
func TestExperimentFig4(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCmd("experiment", "fig4", "--quick", "--models", "linear", "--runs", "4", "--sampling", "both", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"escape.csv", "escape_curves.csv", "escape_summary.csv", "figure4.png", "figure4.svg"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(out, name) {
			t.Errorf("stdout does not list %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "linear (m=50, n=50) with-replacement B=5") || !strings.Contains(out, "linear (m=50, n=50) shuffled B=5") {
		t.Errorf("stdout lacks a panel's line:\n%s", out)
	}
	f, err := os.Open(filepath.Join(dir, "escape.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := experiment.ReadEscapeRows(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 4 * (experiment.EscapeHorizon + 1); len(rows) != want {
		t.Errorf("%d rows, want 2 samplings x 4 runs x %d steps = %d", len(rows), experiment.EscapeHorizon+1, want)
	}
}

func TestExperimentFig4Usage(t *testing.T) {
	for _, args := range [][]string{
		{"experiment", "fig4", "--sampling", "sometimes"},
		{"experiment", "fig4", "--batch", "0"},
		{"experiment", "fig4", "--batch", "big"},
		{"experiment", "fig4", "--settle-batch", "-2"},
		{"experiment", "fig4", "--runs", "0"},
		{"experiment", "fig4", "--models", "vgg"},
	} {
		if code, _, errs := runCmd(args...); code != 2 || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	code, _, errs := runCmd("experiment", "fig4", "--quick", "--models", "linear", "--runs", "2", "--batch", "51", "--out", t.TempDir())
	if code != 1 || !strings.Contains(errs, "exceeds n") {
		t.Errorf("a batch larger than n: exit %d, stderr %q", code, errs)
	}
}

// TestFig4SettleFlag: by default the full CNN finds its minimum by SGD at
// B = 64 and the other models by GD; --settle-batch 0 puts every model on
// GD, in Figure 4's reading, and B > 0 every model on SGD.
func TestFig4SettleFlag(t *testing.T) {
	settle := func(args ...string) map[string]int {
		fs := flag.NewFlagSet("fig4", flag.ContinueOnError)
		f := addFig4Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		js, err := f.jobs(experiment.Full, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, j := range js {
			got[j.Spec.Model] = j.SettleBatch
			if j.Spec.Literal != (j.SettleBatch == 0 && (j.Spec.Model == "linear" || j.Spec.Model == "cnn")) {
				t.Errorf("%v: %s literal %v with settle batch %d", args, j.Spec.Model, j.Spec.Literal, j.SettleBatch)
			}
		}
		return got
	}
	for _, c := range []struct {
		args []string
		want map[string]int
	}{
		{nil, map[string]int{"rfm": 0, "linear": 0, "fcn": 0, "cnn": 64}},
		{[]string{"--settle-batch", "0"}, map[string]int{"rfm": 0, "linear": 0, "fcn": 0, "cnn": 0}},
		{[]string{"--settle-batch", "32"}, map[string]int{"rfm": 32, "linear": 32, "fcn": 32, "cnn": 32}},
	} {
		if got := settle(c.args...); !maps.Equal(got, c.want) {
			t.Errorf("%v: settle batches %v, want %v", c.args, got, c.want)
		}
	}
}
