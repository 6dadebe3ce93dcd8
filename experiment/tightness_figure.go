package experiment

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// TightnessGroup is one network of Figure 5b, a model at one width: the
// means over its runs of the quantities of Tightness. The means are over the
// runs that reached their loss target (the claim is about convergent
// solutions) or, when none did, over all its runs, which Converged = 0
// flags. It is one row of tightness_networks.csv.
type TightnessGroup struct {
	Model     string `csv:"model"`
	Width     int    `csv:"width"`
	P         int    `csv:"p"`
	N         int    `csv:"n"`
	Runs      int    `csv:"runs"`
	Converged int    `csv:"converged"` // runs that reached the loss target
	// MaxLoss is the largest final loss of the runs averaged: μ(θ*) was
	// measured at that loss or below.
	MaxLoss    float64 `csv:"max_loss"`
	Flatness   float64 `csv:"flatness"`    // mean ‖H‖_F
	FlatnessSD float64 `csv:"flatness_sd"` // its standard deviation over the runs (0 for one run)
	LambdaMax  float64 `csv:"lambda_max"`

	Mu0        float64 `csv:"mu0"`
	MuEnd      float64 `csv:"mu_end"`
	MuEdge     float64 `csv:"mu_edge"`
	BoundThm33 float64 `csv:"bound_thm33"`
	BoundMuEnd float64 `csv:"bound_mu_end"`
	BoundGDFro float64 `csv:"bound_gd_fro"`
	// EdgeFlatness is the mean of ‖H‖_F·η*/η (η* of the run's sampling):
	// the flatness at which linearized SGD, at these features scaled, is
	// exactly at its stability edge; flatness/EdgeFlatness is η/η*.
	EdgeFlatness float64 `csv:"flatness_edge"`

	RatioThm33         float64 `csv:"ratio_thm33"`
	RatioMuEnd         float64 `csv:"ratio_mu_end"`
	RatioGDFro         float64 `csv:"ratio_gd_fro"`
	RatioGDLambda      float64 `csv:"ratio_gd_lambda"`
	EtaStarWith        float64 `csv:"eta_star_with"`
	EtaStarWithout     float64 `csv:"eta_star_without"`
	EtaOverStarWith    float64 `csv:"lr_over_eta_star_with"`
	EtaOverStarWithout float64 `csv:"lr_over_eta_star_without"`
	EtaOverStar        float64 `csv:"lr_over_eta_star"` // η/η* for the runs' sampling
	// Oracle is "ok" when every run's η* was computed, else the first
	// reason one was not.
	Oracle string `csv:"oracle"`
}

// WriteTightnessGroups writes gs to w as a tidy CSV with a header row (the
// rules of WriteRecords).
func WriteTightnessGroups(w io.Writer, gs []TightnessGroup) error { return writeTable(w, gs) }

// GroupTightness groups rows by network (model, width), in the paper's
// order of the models and by width, and averages each group (NaN where a
// run lacks the value).
func GroupTightness(ts []Tightness) []TightnessGroup {
	type key struct {
		model string
		width int
	}
	byKey := map[key][]Tightness{}
	var keys []key
	for _, t := range ts {
		k := key{t.Model, t.Width}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], t)
	}
	models := make([]string, len(keys))
	for i, k := range keys {
		models[i] = k.model
	}
	order := orderedModels(models)
	slices.SortStableFunc(keys, func(a, b key) int {
		if d := slices.Index(order, a.model) - slices.Index(order, b.model); d != 0 {
			return d
		}
		return a.width - b.width
	})
	out := make([]TightnessGroup, len(keys))
	for i, k := range keys {
		out[i] = groupOf(byKey[k])
	}
	return out
}

// groupOf averages the rows of one network.
func groupOf(rows []Tightness) TightnessGroup {
	var conv []Tightness
	for _, t := range rows {
		if t.Converged() {
			conv = append(conv, t)
		}
	}
	g := TightnessGroup{Model: rows[0].Model, Width: rows[0].Width, P: rows[0].P, N: rows[0].N,
		Runs: len(rows), Converged: len(conv), Oracle: oracleOK}
	if len(conv) > 0 {
		rows = conv
	}
	mean := func(f func(Tightness) float64) float64 {
		s := 0.0
		for _, t := range rows {
			s += f(t)
		}
		return s / float64(len(rows))
	}
	flat := make([]float64, len(rows))
	for i, t := range rows {
		flat[i] = t.Flatness
		g.MaxLoss = math.Max(g.MaxLoss, t.Loss)
		if t.Oracle != oracleOK && g.Oracle == oracleOK {
			g.Oracle = t.Oracle
		}
	}
	g.Flatness = stat.Mean(flat, nil)
	if len(flat) > 1 {
		g.FlatnessSD = stat.StdDev(flat, nil)
	}
	g.LambdaMax = mean(func(t Tightness) float64 { return t.LambdaMax })
	g.EtaStarWith = mean(func(t Tightness) float64 { return t.EtaStarWith })
	g.EtaStarWithout = mean(func(t Tightness) float64 { return t.EtaStarWithout })
	g.EtaOverStarWith = mean(func(t Tightness) float64 { return t.EtaOverStarWith })
	g.EtaOverStarWithout = mean(func(t Tightness) float64 { return t.EtaOverStarWithout })
	g.Mu0 = mean(func(t Tightness) float64 { return t.Mu0 })
	g.MuEnd = mean(func(t Tightness) float64 { return t.MuEnd })
	g.MuEdge = mean(func(t Tightness) float64 { return t.MuEdge })
	g.BoundThm33 = mean(func(t Tightness) float64 { return t.BoundThm33 })
	g.BoundMuEnd = mean(func(t Tightness) float64 { return t.BoundMuEnd })
	g.BoundGDFro = mean(func(t Tightness) float64 { return t.BoundGDFro })
	g.EdgeFlatness = mean(func(t Tightness) float64 { return t.Flatness / t.EtaOverStar() })
	g.RatioThm33 = mean(func(t Tightness) float64 { return t.RatioThm33 })
	g.RatioMuEnd = mean(func(t Tightness) float64 { return t.RatioMuEnd })
	g.RatioGDFro = mean(func(t Tightness) float64 { return t.RatioGDFro })
	g.RatioGDLambda = mean(func(t Tightness) float64 { return t.RatioGDLambda })
	g.EtaOverStar = mean(func(t Tightness) float64 { return t.EtaOverStar() })
	return g
}

// Figure5b is the paper's Figure 5b on the networks of Appendix A.1: for
// each network (one panel per model, its widths along the axis) the
// flatness ‖H‖_F its SGD reached, mean ± standard deviation over its runs,
// beside Theorem 3.3's bound at μ0, the bound at μ(θ*) measured at the end
// of the runs, the flatness at the exact stability edge ‖H‖_F·η*/η, and
// GD's 2 sqrt(rank)/η, on a log scale; one legend, in the first panel. A
// width none of whose runs reached its loss target is marked with an
// asterisk.
func Figure5b(ts []Tightness) (*Figure, error) {
	groups := GroupTightness(ts)
	models := make([]string, len(groups))
	for i, g := range groups {
		models[i] = g.Model
	}
	series := []struct {
		label string
		y     func(TightnessGroup) float64
	}{
		{"‖H‖_F of SGD", func(g TightnessGroup) float64 { return g.Flatness }},
		{"√(B/μ₀)/η, Theorem 3.3", func(g TightnessGroup) float64 { return g.BoundThm33 }},
		{"√(B/μ(θ*))/η, μ at the end", func(g TightnessGroup) float64 { return g.BoundMuEnd }},
		{"‖H‖_F·η*/η, exact edge", func(g TightnessGroup) float64 { return g.EdgeFlatness }},
		{"2√rank/η, GD", func(g TightnessGroup) float64 { return g.BoundGDFro }},
	}
	const spread = 0.5 // of the unit between two widths, shared by the series
	var panels []*plot.Plot
	legend := make([]plot.Thumbnailer, len(series)) // of each series drawn in some panel
	for _, m := range orderedModels(models) {
		var mine []TightnessGroup
		for _, g := range groups {
			if g.Model == m {
				mine = append(mine, g)
			}
		}
		title := ModelTitle(m)
		ticks := make([]plot.Tick, len(mine))
		for i, g := range mine {
			ticks[i] = plot.Tick{Value: float64(i), Label: strconv.Itoa(g.Width)}
			if g.Converged == 0 {
				ticks[i].Label += "*"
				title = ModelTitle(m) + " (*: no run converged)"
			}
		}
		p := newPanel(title, "width m", "‖H‖_F")
		logAxis(&p.Y)
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		drawn := false
		for k, s := range series {
			dx := spread * (float64(k)/float64(len(series)-1) - 0.5)
			var pts meanSD
			for i, g := range mine {
				ok, pt := point(float64(i)+dx, s.y(g), false, true)
				if !ok {
					continue
				}
				low := g.FlatnessSD
				if pt.Y-low <= 0 {
					low = 0.9 * pt.Y
				}
				pts.XYs = append(pts.XYs, pt)
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{low, g.FlatnessSD})
			}
			if len(pts.XYs) == 0 {
				if k == 0 {
					break // no flatness: no panel
				}
				continue
			}
			sc, err := addPoints(p, k, pts, k == 0)
			if err != nil {
				return nil, err
			}
			legend[k], drawn = sc, true
		}
		if !drawn {
			continue
		}
		p.X.Min, p.X.Max = -0.5, float64(len(mine))-0.5
		fixLogRange(&p.Y)
		p.Y.Min, p.Y.Max = p.Y.Min/1.5, p.Y.Max*1.5 // no point on the frame
		panels = append(panels, p)
	}
	// One legend, in the first panel, of every series drawn anywhere.
	entries := make([]int, len(panels))
	for k, th := range legend {
		if th != nil && len(panels) > 0 {
			panels[0].Legend.Add(series[k].label, th)
			entries[0]++
		}
	}
	return figure("Figure 5b", panels, entries)
}

// addPoints adds the points of s, unjoined, in the i-th color and shape, to
// p, with the error bars of s when bars; it returns the points for a legend.
func addPoints(p *plot.Plot, i int, s meanSD, bars bool) (*plotter.Scatter, error) {
	sc, err := plotter.NewScatter(s.XYs)
	if err != nil {
		return nil, err
	}
	sc.Color = plotutil.Color(i)
	sc.Shape = plotutil.Shape(i)
	sc.Radius = vg.Points(3)
	p.Add(sc)
	if !bars {
		return sc, nil
	}
	e, err := plotter.NewYErrorBars(s)
	if err != nil {
		return nil, fmt.Errorf("error bars: %w", err)
	}
	e.Color = sc.Color
	p.Add(e)
	return sc, nil
}
