package experiment

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flatmin/flatmin/theory"
)

// tiny is a fast problem of each kind, trained for a few steps.
func tiny(t *testing.T, model string, width, n int) Problem {
	t.Helper()
	p, err := Build(Spec{Model: model, Width: width, N: n, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var tinyConfig = Config{Eta: 0.01, Batch: 3, Seed: 5, MaxSteps: 40, RecordEvery: 10}

// TestTrainDeterministic: the same problem and config give the same bits,
// whatever GOMAXPROCS (the kernels keep one order; the batches are seeded).
func TestTrainDeterministic(t *testing.T) {
	for _, model := range Models {
		t.Run(model, func(t *testing.T) {
			p := tiny(t, model, 3, 10)
			a, err := Train(p, tinyConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			b, err := Train(p, tinyConfig)
			if err != nil {
				t.Fatal(err)
			}
			a.Seconds, b.Seconds = 0, 0
			if diff := cmp.Diff(a, b, cmpopts.EquateNaNs(), cmpopts.IgnoreFields(Run{}, "State")); diff != "" {
				t.Errorf("two runs differ (-GOMAXPROCS=default +1):\n%s", diff)
			}
			if len(a.Records) != 5 || a.Records[4].Step != 40 {
				t.Errorf("records at steps %v, want 0, 10, 20, 30 and the end, 40", steps(a.Records))
			}
		})
	}
}

func steps(rs []Record) []int {
	var s []int
	for _, r := range rs {
		s = append(s, r.Step)
	}
	return s
}

// TestShuffledEpochs: each epoch of shuffled batches visits every sample
// once, the last batch holding the n mod B left over; with replacement every
// index is in range.
func TestShuffledEpochs(t *testing.T) {
	p := tiny(t, "linear", 2, 7)
	bt := newBatcher(7, 3, Shuffled, newRand(1))
	for epoch := 0; epoch < 3; epoch++ {
		seen := map[int]int{}
		for _, size := range []int{3, 3, 1} {
			idx := bt.next()
			if len(idx) != size {
				t.Fatalf("epoch %d: batch of %d, want %d", epoch, len(idx), size)
			}
			for _, i := range idx {
				seen[i]++
			}
		}
		if len(seen) != 7 {
			t.Fatalf("epoch %d visits %v", epoch, seen)
		}
	}
	wr := newBatcher(p.Data.N, 5, WithReplacement, newRand(1))
	for range 100 {
		for _, i := range wr.next() {
			if i < 0 || i >= p.Data.N {
				t.Fatalf("index %d out of [0, %d)", i, p.Data.N)
			}
		}
	}
}

// TestGDDescends: GD (B = n) at a learning rate below 2/λ_1(G) decreases
// the loss of the linear network at every step it is checked, as the
// descent lemma says for a step η < 2/λ_1 along a locally quadratic loss.
func TestGDDescends(t *testing.T) {
	p := tiny(t, "linear", 4, 12)
	cfg := Config{Eta: 0.05, Batch: 12, Seed: 1, MaxSteps: 200, RecordEvery: 20}
	run, err := Train(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if lm := run.Records[0].LambdaMax; !(cfg.Eta < 2/lm) {
		t.Fatalf("the test needs η < 2/λ_1 = %v", 2/lm)
	}
	for k := 1; k < len(run.Records); k++ {
		if run.Records[k].Loss >= run.Records[k-1].Loss {
			t.Errorf("loss rose from %v to %v at step %d", run.Records[k-1].Loss, run.Records[k].Loss, run.Records[k].Step)
		}
	}
}

// TestMeasureMatchesQ: the records from the layer-wise Gram equal those of
// a State built from the dense per-sample gradients Q to rounding. The two
// Grams differ in summation order only, by at most γ_p·(|Q||Q|ᵀ)_ij
// (the models' own tests check that); the quantities compared are norms,
// traces and λ_1 of K (Lipschitz in K with constant 1 relative to ‖K‖,
// Weyl for λ_1) and ratios of them, so they agree to a small multiple of
// p·u ≈ 1e-12 relative at this size; 1e-9 leaves room for the condition of
// the centring in μ at a generic (not converged) θ.
func TestMeasureMatchesQ(t *testing.T) {
	for _, model := range Models {
		t.Run(model, func(t *testing.T) {
			p := tiny(t, model, 3, 9)
			theta := p.Net.Init(newRand(2))
			rec, err := Measure(p, theta, tinyConfig, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			n, np := p.Data.N, p.Net.NumParams()
			q := make([]float64, n*np)
			out := make([]float64, n)
			if err := p.Net.PerSampleGradients(q, theta, p.Data.X); err != nil {
				t.Fatal(err)
			}
			if err := p.Net.Outputs(out, theta, p.Data.X); err != nil {
				t.Fatal(err)
			}
			for i := range out {
				out[i] -= p.Data.Y[i]
			}
			st, err := theory.NewState(q, n, np, out)
			if err != nil {
				t.Fatal(err)
			}
			g, err := st.Geometry()
			if err != nil {
				t.Fatal(err)
			}
			nz, err := st.Noise()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"loss", rec.Loss, nz.Loss}, {"‖G‖_F", rec.Flatness, g.FroG}, {"Tr G", rec.TraceG, g.TraceG},
				{"λ_1", rec.LambdaMax, g.LambdaMax}, {"α", rec.Alpha, nz.Alpha}, {"β", rec.Beta, nz.Beta},
				{"μ", rec.Mu, nz.Mu}, {"γ", rec.Gamma, g.Gamma}} {
				if !(math.Abs(c.got-c.want) <= 1e-9*math.Abs(c.want)) {
					t.Errorf("%s: %.17g from the layer-wise Gram, %.17g from Q", c.what, c.got, c.want)
				}
			}
			if rec.Rank != g.Rank || !(rec.Mu0 >= 0) || !(rec.BoundThm33 > 0) {
				t.Errorf("rank %d (Q: %d), μ0 %v, bound %v", rec.Rank, g.Rank, rec.Mu0, rec.BoundThm33)
			}
		})
	}
}

// TestDivergence: SGD far above the stability edge is an ErrDiverged error
// naming λ_1 and 2/η, not NaNs in the records.
func TestDivergence(t *testing.T) {
	p := tiny(t, "linear", 4, 10)
	_, err := Train(p, Config{Eta: 1e3, Batch: 2, Seed: 1, MaxSteps: 1000})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("error %v, want ErrDiverged", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Eta: 0, Batch: 1}, {Eta: math.Inf(1), Batch: 1}, {Eta: math.NaN(), Batch: 1},
		{Eta: 1, Batch: 0}, {Eta: 1, Batch: 11}, {Eta: 1, Batch: 1, MaxSteps: -1},
		{Eta: 1, Batch: 1, LossTarget: math.NaN()}, {Eta: 1, Batch: 1, RecordEvery: -1},
	} {
		if c.Validate(10) == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestPlans: every figure's sweep spans the growth in p its ledger criterion
// is stated over (30x full, 10x quick), and unknown figures are errors.
func TestPlans(t *testing.T) {
	for _, sc := range []struct {
		scale Scale
		need  float64
	}{{Full, 30}, {Quick, 10}} {
		for _, fig := range []string{"fig1", "fig3"} {
			plan, err := PlanFigure(fig, sc.scale, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := map[string]int{}, map[string]int{}
			for _, j := range plan.Sweep {
				p, err := Build(j.Spec)
				if err != nil {
					t.Fatal(err)
				}
				np := p.Net.NumParams()
				if lo[j.Spec.Model] == 0 || np < lo[j.Spec.Model] {
					lo[j.Spec.Model] = np
				}
				hi[j.Spec.Model] = max(hi[j.Spec.Model], np)
			}
			for m := range lo {
				if g := float64(hi[m]) / float64(lo[m]); g < sc.need {
					t.Errorf("%s %s %s: p grows by %.3g across the sweep, want >= %g", sc.scale, fig, m, g, sc.need)
				}
			}
		}
	}
	if _, err := PlanFigure("fig9", Quick, 1, 1); err == nil {
		t.Error("fig9 accepted")
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// TestBuildLimits: sizes that cannot fit are errors before any allocation,
// and paramCount agrees with the models.
func TestBuildLimits(t *testing.T) {
	for _, s := range []Spec{
		{Model: "fcn", Width: 1 << 20, N: 10}, {Model: "cnn", Width: 1 << 16, N: 10},
		{Model: "rfm", Width: 1 << 30, N: 10}, {Model: "linear", Width: 1 << 20, N: 10},
		{Model: "rfm", Width: 10, N: 1 << 20}, {Model: "fcn", Width: -1, N: 10}, {Model: "mlp"},
	} {
		if _, err := Build(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	for _, model := range Models {
		set, _ := Settings(model)
		p := tiny(t, model, 7, 3)
		if got := paramCount(model, 7, set.D); got != float64(p.Net.NumParams()) {
			t.Errorf("%s: paramCount %v, NumParams %d", model, got, p.Net.NumParams())
		}
	}
}
