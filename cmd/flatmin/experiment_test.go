package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/experiment"
)

// TestExperimentFig5b: fig5b --quick writes its CSV, with a row per run of
// Figure 1's quick sweep, and its figure; a second call reads the runs and
// the rows back from the cache.
func TestExperimentFig5b(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the quick size sweep")
	}
	dir := t.TempDir()
	code, out, errs := runCmd("experiment", "fig5b", "--quick", "--runs", "1", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"sweep.csv", "tightness.csv", "tightness_networks.csv", "figure5b.png", "figure5b.svg"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(out, name) {
			t.Errorf("stdout does not list %s:\n%s", name, out)
		}
	}
	f, err := os.Open(filepath.Join(dir, "tightness.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := experiment.ReadTightness(f)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := experiment.PlanFigure("fig5b", experiment.Quick, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(plan.Sweep) {
		t.Errorf("tightness.csv has %d rows, want one per run: %d", len(rows), len(plan.Sweep))
	}
	for _, r := range rows {
		if r.Oracle != "ok" || !(r.EtaStarWithout > 0) {
			t.Errorf("%s m=%d: η* %v (%s) at a quick size the oracle handles", r.Model, r.Width, r.EtaStarWithout, r.Oracle)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, "tightness.csv"))
	if code, _, errs := runCmd("experiment", "fig5b", "--quick", "--runs", "1", "--out", dir); code != 0 {
		t.Fatalf("from the cache: exit %d: %s", code, errs)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "tightness.csv")); string(after) != string(before) {
		t.Error("tightness.csv from the cache differs")
	}
	if code, _, errs := runCmd("experiment", "fig5b", "--runs", "0"); code != 2 || strings.Count(errs, "\n") != 1 {
		t.Errorf("--runs 0: exit %d, stderr %q", code, errs)
	}
}
