package experiment

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The figures of Sections 2.3 and 3.1 (Figures 1, 2, 3 and 6). Each FigureX
// function lays out the paper's panels from records and returns a Figure that
// SaveFigure writes as PNG and SVG. Non-finite values are skipped, and so
// are values ≤ 0 on a log axis; a series left without points is not drawn,
// a panel left without its main series is not drawn, and a figure left
// without panels is an error.

// Figure is a grid of panels, Panels[row][col]; a nil panel leaves its tile
// blank. Width and Height are the size of the whole figure.
type Figure struct {
	Panels        [][]*plot.Plot
	Width, Height vg.Length
}

// FigureDPI is the resolution of the PNG files SaveFigure writes.
const FigureDPI = 150

// SaveFigure writes f to dir/name.png (at FigureDPI) and dir/name.svg,
// creating dir if needed.
func SaveFigure(dir, name string, f *Figure) error {
	if f == nil || len(f.Panels) == 0 || len(f.Panels[0]) == 0 {
		return errors.New("experiment: empty figure")
	}
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("experiment: figure size %v × %v", f.Width, f.Height)
	}
	for _, row := range f.Panels {
		if len(row) != len(f.Panels[0]) {
			return errors.New("experiment: figure rows of unequal length")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	img := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(FigureDPI))
	if err := f.draw(img); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, name+".png"), vgimg.PngCanvas{Canvas: img}); err != nil {
		return err
	}
	svg := vgsvg.New(f.Width, f.Height)
	if err := f.draw(svg); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, name+".svg"), svg)
}

// draw draws the panels on c. Package plot panics on some axes it cannot
// draw (a log axis reaching 0, say, in a panel built by hand): that is
// returned as an error.
func (f *Figure) draw(c vg.CanvasSizer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("experiment: drawing the figure: %v", r)
		}
	}()
	dc := draw.New(c)
	tiles := draw.Tiles{
		Rows: len(f.Panels), Cols: len(f.Panels[0]),
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter,
		PadLeft: vg.Millimeter, PadRight: 2 * vg.Millimeter,
		PadX: 4 * vg.Millimeter, PadY: 4 * vg.Millimeter,
	}
	canvases := plot.Align(f.Panels, tiles, dc)
	for j, row := range f.Panels {
		for i, p := range row {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
	return nil
}

func writeFile(path string, w interface {
	WriteTo(w io.Writer) (int64, error)
}) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// grid lays panels out: one row of up to three, two rows of two for four,
// rows of three beyond; 10 to 16 cm wide.
func grid(panels []*plot.Plot) *Figure {
	n := len(panels)
	cols := n
	switch {
	case n == 4:
		cols = 2
	case n > 4:
		cols = 3
	}
	rows := (n + cols - 1) / cols
	f := &Figure{Panels: make([][]*plot.Plot, rows)}
	for j := range rows {
		f.Panels[j] = make([]*plot.Plot, cols)
		for i := range cols {
			if k := j*cols + i; k < n {
				f.Panels[j][i] = panels[k]
			}
		}
	}
	switch cols {
	case 1:
		f.Width, f.Height = 10*vg.Centimeter, 7*vg.Centimeter
	case 2:
		f.Width, f.Height = 14*vg.Centimeter, vg.Length(rows)*5.5*vg.Centimeter
	default:
		f.Width, f.Height = 16*vg.Centimeter, vg.Length(rows)*5*vg.Centimeter
	}
	return f
}

// modelOrder is the order of the models in the paper's figures.
var modelOrder = []string{"rfm", "linear", "fcn", "cnn"}

// ModelTitle is the title of a model's panel in the paper.
func ModelTitle(model string) string {
	switch model {
	case "rfm":
		return "RFM"
	case "linear":
		return "Linear net"
	case "fcn":
		return "FCN"
	case "cnn":
		return "CNN"
	}
	return model
}

// orderedModels lists the distinct models of ms in the paper's order, unknown
// models last in alphabetical order.
func orderedModels(ms []string) []string {
	var known, other []string
	for _, m := range ms {
		if slices.Contains(modelOrder, m) {
			if !slices.Contains(known, m) {
				known = append(known, m)
			}
		} else if !slices.Contains(other, m) {
			other = append(other, m)
		}
	}
	slices.SortFunc(known, func(a, b string) int {
		return slices.Index(modelOrder, a) - slices.Index(modelOrder, b)
	})
	slices.Sort(other)
	return append(known, other...)
}

func recordModels(rs []Record) []string {
	ms := make([]string, len(rs))
	for i, r := range rs {
		ms[i] = r.Model
	}
	return orderedModels(ms)
}

// runKey identifies one training run.
type runKey struct {
	model string
	width int
	run   int
	seed  uint64
}

func keyOf(r Record) runKey { return runKey{r.Model, r.Width, r.Run, r.Seed} }

// firstRun returns the records of the run the paper shows for model: the
// smallest run index (run 0 of a sweep), of the width and seed that come
// first in rs, sorted by step.
func firstRun(rs []Record, model string) []Record {
	var key runKey
	found := false
	for _, r := range rs {
		if r.Model == model && (!found || r.Run < key.run) {
			key, found = keyOf(r), true
		}
	}
	var run []Record
	for _, r := range rs {
		if keyOf(r) == key {
			run = append(run, r)
		}
	}
	slices.SortStableFunc(run, func(a, b Record) int { return a.Step - b.Step })
	return run
}

// finals keeps the last record (largest step) of each run, so that the
// figures at convergence accept either the final records or whole histories.
func finals(rs []Record) []Record {
	last := make(map[runKey]int)
	var order []runKey
	for i, r := range rs {
		k := keyOf(r)
		j, ok := last[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || r.Step >= rs[j].Step {
			last[k] = i
		}
	}
	out := make([]Record, len(order))
	for i, k := range order {
		out[i] = rs[last[k]]
	}
	return out
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// series collects the points (x, y) of rs with both finite, and both > 0
// where logX or logY.
func series(rs []Record, x, y func(Record) float64, logX, logY bool) plotter.XYs {
	var xys plotter.XYs
	for _, r := range rs {
		if ok, pt := point(x(r), y(r), logX, logY); ok {
			xys = append(xys, pt)
		}
	}
	return xys
}

func point(x, y float64, logX, logY bool) (bool, plotter.XY) {
	ok := finite(x) && finite(y) && (!logX || x > 0) && (!logY || y > 0)
	return ok, plotter.XY{X: x, Y: y}
}

// meanSD is a series of means with error bars of ± one standard deviation.
type meanSD struct {
	plotter.XYs
	plotter.YErrors
}

// groupMeanSD groups rs by model size and returns, for each size with a
// finite value, x = mean p and the mean ± standard deviation (over runs) of
// the finite values y(r), sorted by p. With logY the lower error bar stops
// at a tenth of the mean rather than at or below 0.
func groupMeanSD(rs []Record, y func(Record) float64, logY bool) meanSD {
	type group struct{ ps, ys []float64 }
	groups := make(map[int]*group)
	var widths []int
	for _, r := range rs {
		g, ok := groups[r.Width]
		if !ok {
			g = new(group)
			groups[r.Width] = g
			widths = append(widths, r.Width)
		}
		if v := y(r); finite(v) {
			g.ps = append(g.ps, float64(r.P))
			g.ys = append(g.ys, v)
		}
	}
	var s meanSD
	for _, w := range widths {
		g := groups[w]
		if len(g.ys) == 0 {
			continue
		}
		p := stat.Mean(g.ps, nil)
		m, sd := stat.Mean(g.ys, nil), 0.0
		if len(g.ys) > 1 {
			sd = stat.StdDev(g.ys, nil)
		}
		if ok, _ := point(p, m, true, logY); !ok {
			continue
		}
		low := sd
		if logY && m-low <= 0 {
			low = 0.9 * m
		}
		s.XYs = append(s.XYs, plotter.XY{X: p, Y: m})
		s.YErrors = append(s.YErrors, struct{ Low, High float64 }{low, sd})
	}
	// Sort by p, keeping each error with its point.
	idx := make([]int, len(s.XYs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch pa, pb := s.XYs[a].X, s.XYs[b].X; {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	sorted := meanSD{make(plotter.XYs, len(idx)), make(plotter.YErrors, len(idx))}
	for i, j := range idx {
		sorted.XYs[i], sorted.YErrors[i] = s.XYs[j], s.YErrors[j]
	}
	return sorted
}

func newPanel(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = 8
	p.Title.TextStyle.Font.Size = 11
	p.Add(plotter.NewGrid())
	return p
}

// addLine adds the line through xys, in the i-th color and dash, with
// points when marks, to p and its legend; xys must not be empty.
func addLine(p *plot.Plot, label string, i int, xys plotter.XYs, marks bool) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.2)
	p.Add(l)
	if !marks {
		p.Legend.Add(label, l)
		return nil
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	s.Color = l.Color
	s.Shape = plotutil.Shape(i)
	s.Radius = vg.Points(2.5)
	p.Add(s)
	p.Legend.Add(label, l, s)
	return nil
}

// addMeanSD adds a line through the means with error bars.
func addMeanSD(p *plot.Plot, label string, i int, s meanSD) error {
	if err := addLine(p, label, i, s.XYs, true); err != nil {
		return err
	}
	e, err := plotter.NewYErrorBars(s)
	if err != nil {
		return err
	}
	e.Color = plotutil.Color(i)
	p.Add(e)
	return nil
}

// logAxis puts a on a log scale, with labelled ticks even when the data
// span less than a decade.
func logAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{}
}

// logTicks labels the powers of ten, also 2 and 5 times them when the range
// spans less than two decades, and every tick when it spans less than one.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && hi > lo) {
		return nil
	}
	labels := map[int]bool{1: true}
	switch {
	case hi/lo < 10:
		for i := 2; i < 10; i++ {
			labels[i] = true
		}
	case hi/lo < 100:
		labels[2], labels[5] = true, true
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for i := 1; i < 10; i++ {
			v := float64(i) * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labels[i] {
				t.Label = tickLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// tickLabel writes v in decimal between 0.001 and 10⁴, else as 2e5.
func tickLabel(v float64) string {
	if v >= 1e-3 && v < 1e4 {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	e := math.Floor(math.Log10(v))
	return strconv.FormatFloat(math.Round(v/math.Pow(10, e)), 'g', -1, 64) + "e" + strconv.Itoa(int(e))
}

// fixLogRange makes a log axis span a positive range: plot widens an empty
// range by ±1, which can cross 0.
func fixLogRange(a *plot.Axis) {
	if a.Min == a.Max && a.Min > 0 {
		a.Min, a.Max = a.Min/2, a.Max*2
	}
}

// figure lays out panels, or fails when none has data. entries[i] is the
// number of legend entries of panels[i], above which room is made.
func figure(what string, panels []*plot.Plot, entries []int) (*Figure, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("experiment: %s: no finite data to plot", what)
	}
	f := grid(panels)
	// The data area of a panel is its tile less about 50 pt of title and
	// x axis; the legend sits at its top right.
	data := f.Height/vg.Length(len(f.Panels)) - vg.Points(50)
	for i, p := range panels {
		legend := vg.Length(entries[i])*p.Legend.TextStyle.Font.Size*1.25 + vg.Points(4)
		headroom(&p.Y, min(float64(legend/data), 0.5))
	}
	return f, nil
}

// headroom widens the range of a above the data so that they fill the
// fraction 1-r of the axis, leaving r for the legend.
func headroom(a *plot.Axis, r float64) {
	if r <= 0 || a.Max <= a.Min {
		return
	}
	k := r / (1 - r)
	if _, ok := a.Scale.(plot.LogScale); ok {
		a.Max *= math.Pow(a.Max/a.Min, k)
	} else {
		a.Max += (a.Max - a.Min) * k
	}
}

// Figure1a is the paper's Figure 1a: α, β and μ along training, one panel
// per model, for the first run of each model (run 0).
func Figure1a(rs []Record) (*Figure, error) {
	var panels []*plot.Plot
	var entries []int
	step := func(r Record) float64 { return float64(r.Step) }
	for _, m := range recordModels(rs) {
		run := firstRun(rs, m)
		p := newPanel(ModelTitle(m), "step", "α, β, μ")
		n := 0
		for i, q := range []struct {
			label string
			y     func(Record) float64
		}{
			{"α", func(r Record) float64 { return r.Alpha }},
			{"β", func(r Record) float64 { return r.Beta }},
			{"μ", func(r Record) float64 { return r.Mu }},
		} {
			xys := series(run, step, q.y, false, false)
			if len(xys) == 0 {
				continue
			}
			if err := addLine(p, q.label, i, xys, false); err != nil {
				return nil, err
			}
			n++
		}
		if n > 0 {
			panels, entries = append(panels, p), append(entries, n)
		}
	}
	return figure("Figure 1a", panels, entries)
}

// Figure1b is the paper's Figure 1b: μ at convergence against the number of
// parameters p (log scale), one series per model, mean ± standard deviation
// over runs at each width. rs may be the final records of the runs or whole
// histories, of which the last record of each run is used.
func Figure1b(rs []Record) (*Figure, error) {
	final := finals(rs)
	p := newPanel("", "p", "μ")
	logAxis(&p.X)
	n := 0
	for i, m := range recordModels(final) {
		s := groupMeanSD(ofModel(final, m), func(r Record) float64 { return r.Mu }, false)
		if len(s.XYs) == 0 {
			continue
		}
		if err := addMeanSD(p, ModelTitle(m), i, s); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("experiment: Figure 1b: no finite μ to plot")
	}
	fixLogRange(&p.X)
	return figure("Figure 1b", []*plot.Plot{p}, []int{n})
}

func ofModel(rs []Record, model string) []Record {
	var out []Record
	for _, r := range rs {
		if r.Model == model {
			out = append(out, r)
		}
	}
	return out
}

// Figure2a is the paper's Figure 2a: γ = min χ_i / mean χ along training,
// one line per model, for the first run of each model (run 0).
func Figure2a(rs []Record) (*Figure, error) {
	p := newPanel("", "step", "γ")
	n := 0
	for i, m := range recordModels(rs) {
		xys := series(firstRun(rs, m),
			func(r Record) float64 { return float64(r.Step) },
			func(r Record) float64 { return r.Gamma }, false, false)
		if len(xys) == 0 {
			continue
		}
		if err := addLine(p, ModelTitle(m), i, xys, false); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("experiment: Figure 2a: no finite γ to plot")
	}
	return figure("Figure 2a", []*plot.Plot{p}, []int{n})
}

// Figure2b is the paper's Figure 2b (CNN) and Figure 6 (the other models):
// χ_i / mean χ against the sample index i at the end of the first run of
// each model (run 0), one panel per model, with a horizontal line at the
// minimum, which is γ.
func Figure2b(fs []FeatureNorm) (*Figure, error) {
	ms := make([]string, len(fs))
	for i, f := range fs {
		ms[i] = f.Model
	}
	var panels []*plot.Plot
	for _, m := range orderedModels(ms) {
		// The first run: smallest run index, first width met.
		width, run, found := 0, 0, false
		for _, f := range fs {
			if f.Model == m && (!found || f.Run < run) {
				width, run, found = f.Width, f.Run, true
			}
		}
		var xys plotter.XYs
		for _, f := range fs {
			if f.Model == m && f.Width == width && f.Run == run {
				if ok, pt := point(float64(f.Sample), f.Ratio, false, false); ok {
					xys = append(xys, pt)
				}
			}
		}
		if len(xys) == 0 {
			continue
		}
		p := newPanel(ModelTitle(m), "sample i", "χᵢ / mean χ")
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		s.Color = plotutil.Color(0)
		s.Radius = vg.Points(1.5)
		s.Shape = draw.CircleGlyph{}
		p.Add(s)
		xmin, xmax, ymin, _ := plotter.XYRange(xys)
		if xmin == xmax {
			xmax = xmin + 1
		}
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: ymin}, {X: xmax, Y: ymin}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{R: 200, A: 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add("γ = "+strconv.FormatFloat(ymin, 'f', 3, 64), l)
		if p.Y.Min > 0 {
			p.Y.Min = 0 // γ reads as the gap between the line and 0
		}
		panels = append(panels, p)
	}
	return figure("Figure 2b", panels, slices.Repeat([]int{1}, len(panels)))
}

// Figure3 is the paper's Figure 3: the flatness ‖H‖_F at convergence against
// p, both on log scales, one panel for the FCN and one for the CNN, mean ±
// standard deviation over runs, with the mean over runs of the bounds of
// Theorem 3.3, sqrt(B/μ0)/η, and of GD's linear stability, 2 sqrt(rank)/η.
// rs may be the final records of the runs or whole histories.
func Figure3(rs []Record) (*Figure, error) {
	final := finals(rs)
	var panels []*plot.Plot
	var entries []int
	for _, m := range []string{"fcn", "cnn"} {
		mine := ofModel(final, m)
		flat := groupMeanSD(mine, func(r Record) float64 { return r.Flatness }, true)
		if len(flat.XYs) == 0 {
			continue
		}
		p := newPanel(ModelTitle(m), "p", "‖H‖_F")
		logAxis(&p.X)
		logAxis(&p.Y)
		if err := addMeanSD(p, "‖H‖_F of SGD", 0, flat); err != nil {
			return nil, err
		}
		n := 1
		for i, b := range []struct {
			label string
			y     func(Record) float64
		}{
			{"√(B/μ₀)/η, Theorem 3.3", func(r Record) float64 { return r.BoundThm33 }},
			{"2√rank/η, GD", func(r Record) float64 { return r.BoundGD }},
		} {
			s := groupMeanSD(mine, b.y, true)
			if len(s.XYs) == 0 {
				continue
			}
			if err := addLine(p, b.label, i+1, s.XYs, true); err != nil {
				return nil, err
			}
			n++
		}
		fixLogRange(&p.X)
		fixLogRange(&p.Y)
		panels, entries = append(panels, p), append(entries, n)
	}
	return figure("Figure 3", panels, entries)
}
