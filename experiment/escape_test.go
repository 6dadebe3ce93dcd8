package experiment

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tinySwitch is a small RFM (linear in θ, so its linearization is exact)
// run by GD at η = 1.9/λ_1(G), close to GD's edge, where small batches are
// unstable.
func tinySwitch(t *testing.T, n int) (Problem, *SwitchPoint) {
	t.Helper()
	p := tiny(t, "rfm", 30, n)
	at0, err := Minimum(p, 1e-3, p.Data.N, 0, 0, 1) // G is constant for the RFM
	if err != nil {
		t.Fatal(err)
	}
	sw, err := Minimum(p, 1.9/at0.LambdaMax, p.Data.N, 1e-6, 3000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !sw.GDStable || !(sw.Loss > 0) {
		t.Fatalf("switch point: GD-stable %v, loss %v", sw.GDStable, sw.Loss)
	}
	return p, sw
}

// TestSettleBatch: with SettleBatch the first phase is SGD at that batch
// (the protocol of the paper's Figure 9), reported as such, and a point
// other than GD's; 0 and n are GD.
func TestSettleBatch(t *testing.T) {
	j := EscapeJob{Spec: Spec{Model: "rfm", Width: 30, N: 8}, Eta: 0.05, GDLoss: 1e-6, GDSteps: 400, Seed: 1}
	var gd []float64
	for _, b := range []int{0, 8, 2} {
		j.SettleBatch = b
		_, sw, err := SwitchFor(j)
		if err != nil {
			t.Fatal(err)
		}
		want := b
		if b == 0 {
			want = 8
		}
		if sw.Batch != want {
			t.Errorf("settle batch %d: the switch point reports B = %d, want %d", b, sw.Batch, want)
		}
		switch b {
		case 0:
			gd = sw.Theta
		case 8:
			if !slices.Equal(sw.Theta, gd) {
				t.Error("settle batch n is not GD")
			}
		default:
			if slices.Equal(sw.Theta, gd) {
				t.Error("settle batch 2 ends where GD does")
			}
		}
	}
}

// TestEdgeBatchMatchesScan: the bisection finds the largest B whose ρ > 1,
// as a scan of every B does, and ρ is non-increasing in B.
func TestEdgeBatchMatchesScan(t *testing.T) {
	_, sw := tinySwitch(t, 8)
	for _, s := range []Sampling{WithReplacement, Shuffled} {
		n := sw.State.N()
		scan, prev := 0, math.Inf(1)
		for b := 1; b < n; b++ {
			r, err := sw.Rho(b, s)
			if err != nil {
				t.Fatal(err)
			}
			if r > prev*(1+1e-12) {
				t.Errorf("%s: ρ(%d) = %v > ρ(%d) = %v", s, b, r, b-1, prev)
			}
			if r > 1 {
				scan = b
			}
			prev = r
		}
		b, at, next, err := sw.EdgeBatch(s)
		if err != nil {
			t.Fatal(err)
		}
		if b != scan || scan == 0 {
			t.Fatalf("%s: bisection gives B = %d, the scan %d (want an unstable B in this case)", s, b, scan)
		}
		if !(at > 1) || !(next <= 1) && !(s == WithReplacement && b == n-1) {
			t.Errorf("%s: ρ(%d) = %v, ρ(%d) = %v", s, b, at, b+1, next)
		}
	}
}

// linearStep is one step of the linearized SGD on residuals with the batch
// idx (indices counted as often as they appear).
func linearStep(k [][]float64, e []float64, eta float64, idx []int) []float64 {
	out := append([]float64(nil), e...)
	for _, i := range idx {
		for q := range out {
			out[q] -= eta * e[i] / float64(len(idx)) * k[q][i]
		}
	}
	return out
}

// TestLinearizedBruteForce: the oracle's E[L_t] equals the average over
// every batch sequence: B-tuples with replacement; for shuffled epochs the
// per-step marginals, uniform B-subsets and an (n mod B)-subset at the end
// of an epoch.
func TestLinearizedBruteForce(t *testing.T) {
	_, sw := tinySwitch(t, 5)
	n := sw.State.N()
	g := sw.State.Gram()
	k := make([][]float64, n)
	for i := range k {
		k[i] = make([]float64, n)
		for j := range k[i] {
			k[i][j] = g.At(i, j)
		}
	}
	loss := func(e []float64) float64 {
		s := 0.0
		for _, x := range e {
			s += x * x
		}
		return s / float64(2*n)
	}
	tuples := func(b int) [][]int { // all b-tuples of [n]
		out := [][]int{{}}
		for range b {
			var next [][]int
			for _, tp := range out {
				for i := range n {
					next = append(next, append(append([]int(nil), tp...), i))
				}
			}
			out = next
		}
		return out
	}
	subsets := func(b int) [][]int {
		var out [][]int
		for _, tp := range tuples(b) {
			ok := true
			for a := 1; a < len(tp); a++ {
				ok = ok && tp[a-1] < tp[a]
			}
			if ok {
				out = append(out, tp)
			}
		}
		return out
	}
	// expected averages L over every sequence of batches, batches[t] being
	// the equally likely batches of step t+1.
	var expected func(e []float64, batches [][][]int) []float64
	expected = func(e []float64, batches [][][]int) []float64 {
		out := []float64{loss(e)}
		if len(batches) == 0 {
			return out
		}
		sum := make([]float64, len(batches))
		for _, idx := range batches[0] {
			for s, v := range expected(linearStep(k, e, sw.Eta, idx), batches[1:]) {
				sum[s] += v / float64(len(batches[0]))
			}
		}
		return append(out, sum...)
	}
	e0 := sw.State.Residuals()
	for _, tc := range []struct {
		s       Sampling
		batches [][][]int
	}{
		{WithReplacement, [][][]int{tuples(2), tuples(2), tuples(2)}},
		{Shuffled, [][][]int{subsets(2), subsets(2), subsets(1)}}, // n = 5, B = 2: the epoch's last batch holds 1
	} {
		want := expected(e0, tc.batches)
		got, err := sw.Linearized(2, tc.s, 3)
		if err != nil {
			t.Fatal(err)
		}
		for s := range want {
			if math.Abs(got[s]-want[s]) > 1e-12*want[s] {
				t.Errorf("%s: E[L_%d] = %.17g, brute force %.17g", tc.s, s, got[s], want[s])
			}
		}
	}
}

// TestRFMTrajectoriesAreLinear: the RFM is linear in θ, so its SGD
// trajectories and LinearRuns with the same batches coincide up to
// rounding, and the runs do not depend on the workers or GOMAXPROCS.
func TestRFMTrajectoriesAreLinear(t *testing.T) {
	p, sw := tinySwitch(t, 8)
	for _, s := range []Sampling{WithReplacement, Shuffled} {
		net, err := Trajectories(p, sw.Theta, sw.Eta, 3, s, 6, 12, 7, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		lin, err := sw.LinearRuns(3, s, 6, 12, 7, 0)
		if err != nil {
			t.Fatal(err)
		}
		for r := range net {
			for step := range net[r] {
				if d := math.Abs(net[r][step] - lin[r][step]); d > 1e-9*lin[r][step] {
					t.Fatalf("%s run %d step %d: network %v, linearized %v", s, r, step, net[r][step], lin[r][step])
				}
			}
		}
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			again, err := Trajectories(p, sw.Theta, sw.Eta, 3, s, 6, 12, 7, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(net, again); diff != "" {
				t.Errorf("%s: trajectories depend on the workers:\n%s", s, diff)
			}
		}()
	}
}

// TestLinearRunsMatchOracle: with replacement, the mean of many runs of
// linearized SGD converges to the oracle's exact E[L_t]. The check is at
// 6 standard errors of the mean (estimated from the runs): a false alarm
// below 1e-8 per step for a normal mean, and the seed is fixed.
func TestLinearRunsMatchOracle(t *testing.T) {
	_, sw := tinySwitch(t, 6)
	const runs, steps = 20000, 4
	exact, err := sw.Linearized(2, WithReplacement, steps)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := sw.LinearRuns(2, WithReplacement, runs, steps, 11, 0)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= steps; s++ {
		m, m2 := 0.0, 0.0
		for _, l := range lr {
			m += l[s] / runs
			m2 += l[s] * l[s] / runs
		}
		se := math.Sqrt((m2 - m*m) / runs)
		if math.Abs(m-exact[s]) > 6*se {
			t.Errorf("step %d: mean of %d runs %v ± %v, exact %v", s, runs, m, se, exact[s])
		}
	}
}

// TestEscapeTiny runs a whole panel on a tiny linear network: determinism,
// the numbers the summary reports, the batch the oracle chooses.
func TestEscapeTiny(t *testing.T) {
	j := EscapeJob{Spec: Spec{Model: "rfm", Width: 30, N: 8}, Eta: 1, GDLoss: 1e-6, GDSteps: 3000,
		Batch: 2, Sampling: WithReplacement, Runs: 12, Steps: 10, Groups: 50, Seed: 3}
	p := tiny(t, "rfm", 30, 8)
	at0, err := Minimum(p, 1e-3, p.Data.N, 0, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	j.Eta = 1.9 / at0.LambdaMax
	a, err := Escape(j, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	calls := 0
	b, err := Escape(j, 1, func(done, total int) {
		calls++
		if total != j.Runs+1 || done != calls {
			t.Errorf("progress %d of %d at call %d", done, total, calls)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(EscapeResult{}, "Switch", "Seconds", "GDSeconds")
	if diff := cmp.Diff(a, b, cmpopts.EquateNaNs(), ignore); diff != "" {
		t.Errorf("two runs differ (-2 workers +1 worker, GOMAXPROCS 1):\n%s", diff)
	}
	if calls != j.Runs+1 {
		t.Errorf("progress called %d times, want %d", calls, j.Runs+1)
	}
	s := a.Summary()
	if len(a.Loss) != j.Runs || len(a.Mean) != j.Steps+1 || len(a.GroupRatios) != j.Groups || s.Window < 1 {
		t.Fatalf("shapes: %d runs, %d steps, %d groups, window %d", len(a.Loss), len(a.Mean), len(a.GroupRatios), s.Window)
	}
	if math.Abs(s.RateMean-math.Pow(a.Mean[s.Window]/a.Mean[0], 1/float64(s.Window))) > 1e-12 || s.RateRatio != s.RateMean/s.RateLinearized {
		t.Errorf("rates: %+v", s)
	}
	// The RFM is linear: the mean of its runs is that of its linearization.
	for step := range a.Mean {
		if math.Abs(a.Mean[step]-a.LinearMean[step]) > 1e-9*a.LinearMean[step] {
			t.Errorf("step %d: mean %v, linearized runs %v", step, a.Mean[step], a.LinearMean[step])
		}
	}
	if !(s.MonteCarloP > 0 && s.MonteCarloP <= 1) || !(s.MonteCarloLo <= s.MonteCarloHi) {
		t.Errorf("Monte Carlo: p %v, range %v..%v", s.MonteCarloP, s.MonteCarloLo, s.MonteCarloHi)
	}
	g0, bound, err := a.Switch.Gamma0(2, WithReplacement)
	if err != nil || math.Abs(g0-math.Pow(j.Eta*a.Switch.FroH, 2)*a.Switch.Mu0/2) > 1e-12*g0 || bound <= 0 {
		t.Errorf("γ0 = %v (bound %v, %v), want η²μ0‖H‖²/B", g0, bound, err)
	}
	// Edge: the oracle's largest unstable B, at which ρ > 1.
	j.Edge, j.Groups = true, 0
	e, err := Escape(j, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Batch != a.Stability.EdgeBatch || !(e.Stability.Rho > 1) {
		t.Errorf("edge batch %d (ρ %v), want %d", e.Batch, e.Stability.Rho, a.Stability.EdgeBatch)
	}
}

// TestEscapeErrors: bad input is an error, not a panic.
func TestEscapeErrors(t *testing.T) {
	good := EscapeJob{Spec: Spec{Model: "rfm", Width: 10, N: 6}, Eta: 0.1, GDLoss: 1e-4, GDSteps: 10,
		Batch: 2, Runs: 2, Steps: 3, Seed: 1}
	for _, tc := range []struct {
		name string
		edit func(*EscapeJob)
		msg  string
	}{
		{"eta", func(j *EscapeJob) { j.Eta = math.NaN() }, "learning rate"},
		{"loss", func(j *EscapeJob) { j.GDLoss = -1 }, "loss target"},
		{"steps cap", func(j *EscapeJob) { j.GDSteps = -1 }, "step cap"},
		{"settle batch", func(j *EscapeJob) { j.SettleBatch = -1 }, "first phase"},
		{"settle batch > n", func(j *EscapeJob) { j.SettleBatch = 7 }, "first phase"},
		{"batch", func(j *EscapeJob) { j.Batch = 0 }, "batch size"},
		{"batch > n", func(j *EscapeJob) { j.Batch = 7 }, "exceeds n"},
		{"runs", func(j *EscapeJob) { j.Runs = 0 }, "runs"},
		{"steps", func(j *EscapeJob) { j.Steps = 0 }, "SGD steps"},
		{"groups", func(j *EscapeJob) { j.Groups = -1 }, "groups"},
		{"sampling", func(j *EscapeJob) { j.Sampling = 7 }, "sampling"},
		{"model", func(j *EscapeJob) { j.Spec.Model = "vgg" }, "unknown model"},
		{"stable at every B", func(j *EscapeJob) { j.Edge, j.Eta = true, 1e-6 }, "stable for SGD at every B"},
	} {
		j := good
		tc.edit(&j)
		if _, err := Escape(j, 1, nil); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.msg)
		}
	}
	p, sw := tinySwitch(t, 6)
	if _, err := Trajectories(p, sw.Theta[:3], sw.Eta, 2, Shuffled, 2, 2, 1, 1, nil); err == nil {
		t.Error("a θ of the wrong length is accepted")
	}
	if _, err := Trajectories(p, sw.Theta, sw.Eta, 9, Shuffled, 2, 2, 1, 1, nil); err == nil {
		t.Error("a batch larger than n is accepted")
	}
	if _, err := sw.LinearRuns(2, Shuffled, 0, 2, 1, 0); err == nil {
		t.Error("zero runs are accepted")
	}
	if _, err := sw.Linearized(0, Shuffled, 2); err == nil {
		t.Error("B = 0 is accepted")
	}
	if _, err := sw.GroupRateRatios(2, Shuffled, 2, 5, 3, 1, []float64{1, 2}); err == nil {
		t.Error("a window beyond the curve is accepted")
	}
	other := tiny(t, "linear", 3, 6)
	if _, err := EscapeFrom(other, sw, good, 1, nil); err == nil {
		t.Error("a switch point of another problem is accepted")
	}
	for _, c := range []struct {
		got, want float64
	}{
		{GrowthRate([]float64{1, 4}, 1), 4},
		{GrowthRate([]float64{1, 2, 4}, 2), 2},
		{float64(StepsToGrow([]float64{1, 5, 10, 20}, 10)), 2},
		{float64(StepsToGrow([]float64{1, 5}, 10)), -1},
		{MaxGrowth([]float64{2, math.NaN(), 6, 4}, 3), 3},
	} {
		if c.got != c.want {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
	for _, v := range []float64{GrowthRate([]float64{1, 2}, 2), GrowthRate([]float64{0, 2}, 1), GrowthRate(nil, 1),
		MaxGrowth([]float64{1}, 5), (EscapeResult{}).MonteCarloP()} {
		if !math.IsNaN(v) {
			t.Errorf("got %v, want NaN", v)
		}
	}
	if MeanCurve(nil) != nil {
		t.Error("the mean of no runs is not nil")
	}
}

// TestEscapeCSVAndFigure: the tidy rows read back as written, and Figure 4
// draws them (with a run that leaves the float range and one sampling per
// row), and refuses data with nothing to draw.
func TestEscapeCSVAndFigure(t *testing.T) {
	var rows []EscapeRow
	var curves []EscapeCurve
	for _, s := range []string{"shuffled", "with-replacement"} {
		for _, m := range []string{"fcn", "rfm"} {
			for run := range 4 {
				for step := range 6 {
					l := 1e-4 * math.Pow(2+float64(run), float64(step))
					if run == 3 && step > 3 {
						l = math.NaN()
					}
					rows = append(rows, EscapeRow{Model: m, Width: 3, P: 10, N: 5, Seed: 1, Eta: 0.1, Batch: 2,
						Sampling: s, Run: run, Step: step, Loss: l})
				}
			}
			settle := 5 // GD
			if m == "rfm" {
				settle = 2 // the minimum found by SGD at B = 2
			}
			for step := range 6 {
				curves = append(curves, EscapeCurve{Model: m, Width: 3, N: 5, Seed: 1, Batch: 2, Sampling: s, Runs: 4,
					Step: step, SettleBatch: settle, Mean: 1e-4 * math.Pow(3, float64(step)), Linearized: 1e-4 * math.Pow(3.2, float64(step)),
					LinearSameBatches: 1e-4 * math.Pow(2.9, float64(step)), Gamma0Bound: math.NaN()})
			}
		}
	}
	roundTrip(t, "rows", rows, WriteEscapeRows, ReadEscapeRows)
	roundTrip(t, "curves", curves, WriteEscapeCurves, ReadEscapeCurves)
	f, err := Figure4(rows, curves)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Panels) != 2 || len(f.Panels[0]) != 2 || !strings.HasPrefix(f.Panels[0][0].Title.Text, "RFM") ||
		!strings.HasSuffix(f.Panels[0][0].Title.Text, "with-replacement\n(minimum by SGD, B = 2)") ||
		!strings.HasSuffix(f.Panels[0][1].Title.Text, "with-replacement") {
		t.Fatalf("layout: %d rows, titles %q, %q", len(f.Panels), f.Panels[0][0].Title.Text, f.Panels[0][1].Title.Text)
	}
	dir := t.TempDir()
	if err := SaveFigure(dir, "figure4", f); err != nil {
		t.Fatal(err)
	}
	if _, err := filepath.Glob(filepath.Join(dir, "figure4.*")); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].Loss = 0
	}
	if _, err := Figure4(rows, nil); err == nil {
		t.Error("a figure of zero losses on a log scale is accepted")
	}
	if _, err := Figure4(nil, nil); err == nil {
		t.Error("an empty figure is accepted")
	}
}

// TestPlanEscape: the quick plan is the RFM, the linear network and the
// FCN, at A.1's η and B = 5; the printed linear network and CNN.
func TestPlanEscape(t *testing.T) {
	js, err := PlanEscape(Quick, nil, 0, false, Shuffled, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ms []string
	for _, j := range js {
		ms = append(ms, j.Spec.Model)
		set, _ := Settings(j.Spec.Model)
		if j.Eta != set.Eta || j.Batch != 5 || j.Groups != EscapeGroups || j.Steps < EscapeHorizon || j.Validate() != nil {
			t.Errorf("%s: %+v", j.Spec.Model, j)
		}
		if j.Spec.Literal != (j.Spec.Model == "linear") {
			t.Errorf("%s: literal %v", j.Spec.Model, j.Spec.Literal)
		}
	}
	if strings.Join(ms, ",") != "rfm,linear,fcn" {
		t.Errorf("quick models %v", ms)
	}
	// The full CNN settles by SGD at B = 64, in the other figures' reading;
	// SettleBy(0) puts it back to GD from A.1 as printed.
	full, err := PlanEscape(Full, []string{"cnn"}, 7, true, WithReplacement, 2)
	if err != nil || len(full) != 1 || full[0].Spec.Literal || full[0].SettleBatch != 64 || full[0].Runs != 7 || !full[0].Edge {
		t.Errorf("full cnn: %+v, %v", full, err)
	}
	if full[0].SettleBy(0); full[0].SettleBatch != 0 || !full[0].Spec.Literal {
		t.Errorf("full cnn by GD: %+v", full[0])
	}
	for _, bad := range [][]string{{"vgg"}, {"fcn", "fcn"}} {
		if _, err := PlanEscape(Full, bad, 0, false, Shuffled, 1); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// roundTrip writes rows as CSV and checks that they read back the same.
func roundTrip[T any](t *testing.T, what string, rows []T, write func(io.Writer, []T) error, read func(io.Reader) ([]T, error)) {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	back, err := read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, back, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("%s read back differ:\n%s", what, diff)
	}
}

// TestTrajectoriesLeaveFloatRange: a trajectory whose step takes θ out of
// the float64 range, while the batch loss it stepped from was finite (so
// the network's own check of θ refuses the next loss), stops there with
// NaN losses; it does not end the experiment. Figure 4's full CNN ran into
// this after its hour-long first phase.
func TestTrajectoriesLeaveFloatRange(t *testing.T) {
	p, sw := tinySwitch(t, 6)
	// Far from the minimum the gradient's entries exceed 1, so that η·g
	// overflows to ±Inf (1e300: θ stays finite and the loss overflows).
	far := slices.Clone(sw.Theta)
	for j := range far {
		far[j] *= 1e6
	}
	for _, eta := range []float64{1e300, math.MaxFloat64} {
		loss, err := Trajectories(p, far, eta, 2, WithReplacement, 3, 4, 1, 2, nil)
		if err != nil {
			t.Fatalf("η = %g: %v", eta, err)
		}
		for r, l := range loss {
			if !finite(l[0]) || slices.ContainsFunc(l[1:], finite) {
				t.Errorf("η = %g, run %d: losses %v, want finite then NaN", eta, r, l)
			}
		}
	}
}
