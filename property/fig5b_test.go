package property

import (
	"math"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/experiment"
)

// TestJudgeTightness: the smallest min(r, 1/r) over the networks with a
// converged run, both sides of 1 counted, NaN the worst; networks without
// a converged run are listed as skipped, not judged.
func TestJudgeTightness(t *testing.T) {
	gs := []experiment.TightnessGroup{
		{Model: "rfm", Width: 100, Runs: 2, Converged: 0, MaxLoss: 0.5, RatioThm33: 0.001, Oracle: "ok"},
		{Model: "rfm", Width: 400, Runs: 2, Converged: 0, MaxLoss: 0.4, RatioThm33: 0.001, Oracle: "ok"},
		{Model: "fcn", Width: 8, Runs: 2, Converged: 2, RatioThm33: 0.8, Oracle: "ok"},
		{Model: "fcn", Width: 32, Runs: 2, Converged: 1, RatioThm33: 1.6, Oracle: "skipped: too large"},
		{Model: "cnn", Width: 2, Runs: 2, Converged: 2, RatioThm33: 0.7, Oracle: "ok"},
	}
	ratio := func(g experiment.TightnessGroup) float64 { return g.RatioThm33 }
	worst, judged, summary := judgeTightness(gs, ratio, nil)
	if worst != 0.625 || judged != 3 { // 1/1.6
		t.Errorf("worst %v over %d networks, want 0.625 over 3", worst, judged)
	}
	for _, want := range []string{"3 networks judged", "fcn m=32 1.6", "skipped, no run at its loss target: rfm m=100, 400 (final loss up to 0.5)"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q: %s", want, summary)
		}
	}
	if s := fig5bOracleSkips(gs); !strings.Contains(s, "fcn m=32 (too large)") || strings.Contains(s, "cnn") {
		t.Errorf("oracle skips: %q", s)
	}
	gs[4].RatioThm33 = math.NaN()
	if worst, _, _ := judgeTightness(gs, ratio, nil); !math.IsNaN(worst) {
		t.Errorf("a NaN ratio gives worst %v, want NaN", worst)
	}
	if worst, judged, _ := judgeTightness(gs[:2], ratio, nil); !math.IsNaN(worst) || judged != 0 {
		t.Errorf("nothing to judge: worst %v over %d networks, want NaN over 0", worst, judged)
	}
	if ratioTightness(2) != 0.5 || ratioTightness(0.5) != 0.5 || ratioTightness(1) != 1 {
		t.Error("ratioTightness is not min(r, 1/r)")
	}
}
