package experiment

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Figure4 is the paper's Figure 4: the loss of every SGD trajectory after
// the switch (thin blue lines), their mean (thick red), on a log scale
// against the step, one panel per model, with the exact linearized E[L_t]
// (dashed), the mean of linearized SGD on the same batches (dotted) and
// Theorem 3.6's L_0·γ0^t where it applies (dash-dotted). One row of panels
// per sampling in the data (with replacement first).
func Figure4(rows []EscapeRow, curves []EscapeCurve) (*Figure, error) {
	type key struct{ sampling, model string }
	runs := map[key]map[int]plotter.XYs{}
	var samplings, models []string
	for _, r := range rows {
		k := key{r.Sampling, r.Model}
		if runs[k] == nil {
			runs[k] = map[int]plotter.XYs{}
		}
		if ok, pt := point(float64(r.Step), r.Loss, false, true); ok {
			runs[k][r.Run] = append(runs[k][r.Run], pt)
		}
		samplings, models = appendNew(samplings, r.Sampling), appendNew(models, r.Model)
	}
	slices.SortFunc(samplings, func(a, b string) int { return samplingOrder(a) - samplingOrder(b) })
	models = orderedModels(models)
	batch := map[key]int{}
	curve := map[key][]EscapeCurve{}
	for _, c := range curves {
		k := key{c.Sampling, c.Model}
		curve[k] = append(curve[k], c)
		batch[k] = c.Batch
	}
	var panels [][]*plot.Plot
	drawn := 0
	for _, s := range samplings {
		var row []*plot.Plot
		for _, m := range models {
			k := key{s, m}
			p, err := escapePanel(m, s, batch[k], runs[k], curve[k], drawn == 0)
			if err != nil {
				return nil, err
			}
			if p != nil {
				drawn++
			}
			row = append(row, p)
		}
		panels = append(panels, row)
	}
	if drawn == 0 {
		return nil, errors.New("experiment: Figure 4: no finite positive loss to plot")
	}
	return &Figure{Panels: panels, Width: vg.Length(len(models)) * 6 * vg.Centimeter,
		Height: vg.Length(len(panels)) * 6 * vg.Centimeter}, nil
}

func appendNew(xs []string, x string) []string {
	if !slices.Contains(xs, x) {
		xs = append(xs, x)
	}
	return xs
}

func samplingOrder(s string) int {
	if s == WithReplacement.String() {
		return 0
	}
	return 1
}

// escapeAxisSpan is how far above the loss at the switch a panel of
// Figure 4 reaches: eight decades, from a switch at 1e-5 to 1e3.
const escapeAxisSpan = 1e8

// escapePanel draws one model's trajectories and curves, with the legend
// (at the bottom right, where growing curves leave room) when legend is
// set; nil when it has no finite positive loss.
func escapePanel(model, sampling string, batch int, runs map[int]plotter.XYs, curves []EscapeCurve, legend bool) (*plot.Plot, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	title := fmt.Sprintf("%s, B = %d, %s", ModelTitle(model), batch, sampling)
	if len(curves) > 0 && 0 < curves[0].SettleBatch && curves[0].SettleBatch < curves[0].N {
		// On a line of its own: a panel is 6 cm wide.
		title += fmt.Sprintf("\n(minimum by SGD, B = %d)", curves[0].SettleBatch)
	}
	p := newPanel(title, "SGD step after the switch", "training loss")
	p.Title.TextStyle.Font.Size = 9
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = 8, 8
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = 7, 7
	p.Legend.TextStyle.Font.Size = 6.5
	p.Legend.Top = false
	logAxis(&p.Y)
	ids := make([]int, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n := 0
	for _, id := range ids {
		if len(runs[id]) == 0 {
			continue
		}
		l, err := plotter.NewLine(runs[id])
		if err != nil {
			return nil, err
		}
		l.Color = color.NRGBA{R: 70, G: 130, B: 200, A: 90}
		l.Width = vg.Points(0.4)
		p.Add(l)
		if n == 0 {
			p.Legend.Add(fmt.Sprintf("SGD runs (%d)", len(ids)), l)
		}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	slices.SortFunc(curves, func(a, b EscapeCurve) int { return a.Step - b.Step })
	for _, c := range []struct {
		label  string
		y      func(EscapeCurve) float64
		color  color.Color
		width  float64
		dashes []vg.Length
	}{
		{"mean", func(c EscapeCurve) float64 { return c.Mean }, color.RGBA{R: 210, A: 255}, 2, nil},
		{"linearized E[L_t] (oracle)", func(c EscapeCurve) float64 { return c.Linearized }, color.Black, 1.2,
			[]vg.Length{vg.Points(5), vg.Points(3)}},
		{"linearized SGD, same batches", func(c EscapeCurve) float64 { return c.LinearSameBatches }, color.RGBA{G: 140, A: 255}, 1.2,
			[]vg.Length{vg.Points(1.5), vg.Points(2)}},
		{"L₀·γ₀ᵗ (Theorem 3.6)", func(c EscapeCurve) float64 { return c.Gamma0Bound }, color.RGBA{R: 120, G: 120, B: 120, A: 255}, 1,
			[]vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}},
	} {
		var xys plotter.XYs
		for _, cv := range curves {
			if ok, pt := point(float64(cv.Step), c.y(cv), false, true); ok {
				xys = append(xys, pt)
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = c.color, vg.Points(c.width), c.dashes
		p.Add(l)
		p.Legend.Add(c.label, l)
	}
	if !legend {
		p.Legend = plot.NewLegend()
	}
	if len(curves) > 0 && curves[0].Step == 0 && curves[0].Mean > 0 {
		// Runs that blow up (the linear network's reach 1e300) would
		// squash the escape itself into the bottom of the panel.
		p.Y.Max = math.Min(p.Y.Max, curves[0].Mean*escapeAxisSpan)
	}
	if p.Y.Max < 100*p.Y.Min { // at least two decades, so a flat line reads as flat
		c := math.Sqrt(p.Y.Min * p.Y.Max)
		p.Y.Min, p.Y.Max = c/10, c*10
	}
	return p, nil
}
