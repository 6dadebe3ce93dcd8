package golden

import (
	"fmt"
	"testing"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/theory"
)

// theoryCases are fixed seeded inputs covering the corners: well
// conditioned, ill-conditioned and rank-deficient, degenerate rows, and
// extreme scales.
var theoryCases = []struct {
	features  fixtures.FeatureSpec
	residuals fixtures.ResidualSpec
}{
	{fixtures.FeatureSpec{N: 8, P: 20, Rank: 8, Spectrum: fixtures.Flat, Seed: 1}, fixtures.ResidualSpec{Kind: fixtures.Gaussian, Seed: 1}},
	{fixtures.FeatureSpec{N: 12, P: 30, Rank: 12, Spectrum: fixtures.Geometric, LogCond: 6, Seed: 2}, fixtures.ResidualSpec{Kind: fixtures.Linearized, Seed: 2}},
	{fixtures.FeatureSpec{N: 10, P: 6, Rank: 3, Spectrum: fixtures.Dominant, LogCond: 3, Seed: 3}, fixtures.ResidualSpec{Kind: fixtures.Spread, LogSpread: 5, Seed: 3}},
	{fixtures.FeatureSpec{N: 9, P: 9, Rank: 9, Spectrum: fixtures.Cliff, LogCond: 12, DupRows: 2, ZeroRows: 1, Seed: 4}, fixtures.ResidualSpec{Kind: fixtures.Constant, Seed: 4}},
	{fixtures.FeatureSpec{N: 6, P: 40, Rank: 6, Spectrum: fixtures.Geometric, LogCond: 2, LogScale: 150, Seed: 5}, fixtures.ResidualSpec{Kind: fixtures.Gaussian, LogScale: -150, Seed: 5}},
	{fixtures.FeatureSpec{N: 6, P: 40, Rank: 6, Spectrum: fixtures.Geometric, LogCond: 2, LogScale: -150, Seed: 6}, fixtures.ResidualSpec{Kind: fixtures.Sparse, LogScale: 150, Seed: 6}},
}

type theoryGolden struct {
	Features  string
	Residuals string
	Geometry  theory.Geometry
	Noise     theory.Noise
}

// TestTheoryQuantities pins every quantity of theory.State on the seeded cases.
func TestTheoryQuantities(t *testing.T) {
	var got []theoryGolden
	for _, c := range theoryCases {
		q := c.features.Build()
		e := c.residuals.Build(q, c.features.N, c.features.P)
		s, err := theory.NewState(q, c.features.N, c.features.P, e)
		if err != nil {
			t.Fatalf("%v: %v", c.features, err)
		}
		nz, err := s.Noise()
		if err != nil {
			t.Fatalf("%v: %v", c.features, err)
		}
		g, err := s.Geometry()
		if err != nil {
			t.Fatalf("%v: %v", c.features, err)
		}
		got = append(got, theoryGolden{fmt.Sprint(c.features), fmt.Sprint(c.residuals), g, nz})
	}
	check(t, "theory_quantities", got)
}
