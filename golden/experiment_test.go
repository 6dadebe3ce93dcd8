package golden

import (
	"testing"

	"github.com/flatmin/flatmin/experiment"
)

type trajectoryGolden struct {
	Spec    experiment.Spec
	Steps   int
	Records []experiment.Record
	Chi     []experiment.FeatureNorm
}

// TestTrajectories pins short fixed-seed SGD trajectories of the four models
// of Appendix A.1 (narrow, on few samples): θ_0, the batches, every step and
// the quantities recorded along the way, bit for bit on every SIMD path and
// GOMAXPROCS.
func TestTrajectories(t *testing.T) {
	var got []trajectoryGolden
	for _, s := range []experiment.Spec{
		{Model: "rfm", Width: 20, N: 12, Seed: 1},
		{Model: "linear", Width: 5, N: 10, Seed: 1},
		{Model: "fcn", Width: 6, N: 12, Seed: 1},
		{Model: "cnn", Width: 2, N: 8, Seed: 1},
	} {
		p, err := experiment.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		run, err := experiment.Train(p, experiment.Config{Eta: 0.02, Batch: 4, Seed: 7, MaxSteps: 30, RecordEvery: 10})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, trajectoryGolden{Spec: s, Steps: run.Steps, Records: run.Records, Chi: run.Chi})
	}
	check(t, "experiment_trajectories", got)
}
