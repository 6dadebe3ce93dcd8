package golden

import (
	"fmt"
	"testing"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// stabilityCases are seeded feature sets for the exact stability oracle:
// flat, ill-conditioned, rank-deficient with degenerate rows, one sharp
// direction, extreme scale, and a single direction (r = 1).
var stabilityCases = []fixtures.FeatureSpec{
	{N: 8, P: 20, Rank: 8, Spectrum: fixtures.Flat, Seed: 1},
	{N: 12, P: 30, Rank: 12, Spectrum: fixtures.Geometric, LogCond: 6, Seed: 2},
	{N: 10, P: 6, Rank: 3, Spectrum: fixtures.Dominant, LogCond: 3, Seed: 3},
	{N: 9, P: 9, Rank: 9, Spectrum: fixtures.Cliff, LogCond: 12, DupRows: 2, ZeroRows: 1, Seed: 4},
	{N: 6, P: 40, Rank: 6, Spectrum: fixtures.Geometric, LogCond: 2, LogScale: 150, Seed: 5},
	{N: 5, P: 3, Rank: 1, Spectrum: fixtures.Flat, Seed: 6},
}

type stabilityGolden struct {
	Features   string
	Eta        float64 // 1/λ_1: between GD's half edge and its edge
	Reports    map[string]oracle.StabilityReport
	EtaStarGD  float64
	EtaStarGeo map[string]float64 // geometry-aware noise, by B
	EtaStarIso map[string]float64 // isotropic noise, by B
	Losses     []float64          // E[L_t], t = 0..8, B = 2 with replacement, from e = Q·1
}

// TestStabilityOracle pins the oracle's report (ρ, η*, μ0, μ1_0, bounds,
// γ0) at η = 1/λ_1 for B = 1, 2, 4, the critical rates of GD and of the
// custom noises, and an exact loss trajectory, for each seeded case.
func TestStabilityOracle(t *testing.T) {
	var got []stabilityGolden
	for _, spec := range stabilityCases {
		q := spec.Build()
		o, err := oracle.NewOracle(q, spec.N, spec.P)
		if err != nil {
			t.Fatalf("%v: %v", spec, err)
		}
		g := stabilityGolden{Features: fmt.Sprint(spec), Eta: 1 / o.LambdaMax(),
			Reports: map[string]oracle.StabilityReport{}, EtaStarGeo: map[string]float64{}, EtaStarIso: map[string]float64{}}
		for _, b := range []int{1, 2, 4} {
			key := fmt.Sprintf("B=%d", b)
			if g.Reports[key], err = o.Report(theory.SGD{Eta: g.Eta, Batch: b}, 1e-3); err != nil {
				t.Fatal(err)
			}
			geo, _ := o.GeometryAware(b)
			iso, _ := o.Isotropic(b)
			if g.EtaStarGeo[key], err = geo.CriticalRate(); err != nil {
				t.Fatal(err)
			}
			if g.EtaStarIso[key], err = iso.CriticalRate(); err != nil {
				t.Fatal(err)
			}
		}
		if g.EtaStarGD, err = o.GD().CriticalRate(); err != nil {
			t.Fatal(err)
		}
		e := make([]float64, spec.N)
		for i := range e {
			for j := 0; j < spec.P; j++ {
				e[i] += q[i*spec.P+j]
			}
		}
		r0, err := o.PointMoment(e)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := o.SGD(2, oracle.WithReplacement)
		if g.Losses, err = d.ExpectedLoss(g.Eta, r0, 8); err != nil {
			t.Fatal(err)
		}
		got = append(got, g)
	}
	check(t, "stability_oracle", got)
}
