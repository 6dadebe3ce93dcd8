package experiment

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// syntheticRecords is a sweep: models × widths × runs × steps, the last
// step of each run carrying μ0 and the bounds.
func syntheticRecords() []Record {
	var rs []Record
	nan := math.NaN()
	for mi, m := range []string{"cnn", "fcn", "linear", "rfm"} { // not the paper's order
		for wi, w := range []int{10, 40, 160} {
			for run := range 3 {
				for step := 0; step <= 100; step += 20 {
					x := float64(step) / 100
					r := Record{
						Model: m, Width: w, P: w * w * (mi + 1) * 10, N: 100, Run: run,
						Seed: uint64(1000*mi + 100*wi + run), Eta: 0.1, Batch: 20, Step: step,
						Loss:  math.Exp(-5 * x),
						Alpha: 0.9 + 0.02*float64(run), Beta: 0.3 + 0.1*x, Mu: (0.9 + 0.02*float64(run)) * (0.3 + 0.1*x),
						Mu1: 0.5, Mu2: 0.1, Gamma: 0.2 + 0.05*float64(mi) + 0.01*x, Tau: 0.3,
						Flatness: 2.4 + 0.1*float64(run) + 0.2*float64(wi), LambdaMax: 2, TraceG: 10, Rank: 100,
						Mu0: nan, BoundThm33: nan, BoundGD: nan,
					}
					if step == 100 {
						r.Mu0 = 0.25
						r.BoundThm33 = math.Sqrt(20/0.25) / 0.1
						r.BoundGD = 2 * math.Sqrt(float64(w*w)) / 0.1
					}
					rs = append(rs, r)
				}
			}
		}
	}
	return rs
}

func syntheticNorms() []FeatureNorm {
	var fs []FeatureNorm
	for _, m := range []string{"fcn", "rfm", "cnn"} {
		for run := range 2 {
			for i := range 50 {
				r := 0.5 + math.Mod(float64(i)*0.37, 1)
				fs = append(fs, FeatureNorm{Model: m, Width: 10, Run: run, Sample: i, Chi: 3 * r, Ratio: r})
			}
		}
	}
	return fs
}

// finalOnly keeps the records that carry μ0, the last of each run.
func finalOnly(rs []Record) []Record {
	var out []Record
	for _, r := range rs {
		if !math.IsNaN(r.Mu0) {
			out = append(out, r)
		}
	}
	return out
}

// checkSaved saves f and checks the PNG and SVG files.
func checkSaved(t *testing.T, f *Figure, name string) {
	t.Helper()
	dir := t.TempDir()
	if err := SaveFigure(dir, name, f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || len(b) > 300<<10 {
		t.Errorf("%s.png has %d bytes", name, len(b))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s.png: %v", name, err)
	}
	px := func(l vg.Length) int { return int(float64(l/vg.Inch)*FigureDPI + 0.5) }
	if got := img.Bounds().Size(); got.X != px(f.Width) || got.Y != px(f.Height) {
		t.Errorf("%s.png is %v pixels, want %d×%d", name, got, px(f.Width), px(f.Height))
	}
	s, err := os.ReadFile(filepath.Join(dir, name+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) == 0 || len(s) > 300<<10 {
		t.Errorf("%s.svg has %d bytes", name, len(s))
	}
	if !bytes.HasPrefix(s, []byte("<?xml")) && !bytes.HasPrefix(s, []byte("<svg")) {
		t.Errorf("%s.svg starts %q", name, s[:min(len(s), 20)])
	}
	if w := float64(f.Width / vg.Centimeter); w < 10 || w > 16 {
		t.Errorf("%s is %.1f cm wide", name, w)
	}
}

func shape(f *Figure) (rows, cols, panels int) {
	for _, row := range f.Panels {
		for _, p := range row {
			if p != nil {
				panels++
			}
		}
	}
	return len(f.Panels), len(f.Panels[0]), panels
}

func TestFigure1a(t *testing.T) {
	f, err := Figure1a(syntheticRecords())
	if err != nil {
		t.Fatal(err)
	}
	if r, c, n := shape(f); r != 2 || c != 2 || n != 4 {
		t.Errorf("grid %d×%d with %d panels, want 2×2 with 4", r, c, n)
	}
	for i, want := range []string{"RFM", "Linear net", "FCN", "CNN"} {
		if got := f.Panels[i/2][i%2].Title.Text; got != want {
			t.Errorf("panel %d titled %q, want %q", i, got, want)
		}
	}
	checkSaved(t, f, "figure1a")
}

func TestFigure1b(t *testing.T) {
	rs := syntheticRecords()
	for name, in := range map[string][]Record{"histories": rs, "finals": finalOnly(rs)} {
		f, err := Figure1b(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSaved(t, f, "figure1b")
	}
	// One width only: the log axis still has a positive range.
	f, err := Figure1b(ofModel(finalOnly(rs), "rfm")[:1])
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "figure1b_one")
}

func TestFigure2a(t *testing.T) {
	f, err := Figure2a(syntheticRecords())
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "figure2a")
}

func TestFigure2b(t *testing.T) {
	f, err := Figure2b(syntheticNorms())
	if err != nil {
		t.Fatal(err)
	}
	if r, c, n := shape(f); r != 1 || c != 3 || n != 3 {
		t.Errorf("grid %d×%d with %d panels, want 1×3 with 3", r, c, n)
	}
	if got := f.Panels[0][0].Title.Text; got != "RFM" {
		t.Errorf("first panel %q, want RFM", got)
	}
	checkSaved(t, f, "figure2b")
}

func TestFigure3(t *testing.T) {
	f, err := Figure3(syntheticRecords())
	if err != nil {
		t.Fatal(err)
	}
	if r, c, n := shape(f); r != 1 || c != 2 || n != 2 {
		t.Errorf("grid %d×%d with %d panels, want 1×2 with 2", r, c, n)
	}
	checkSaved(t, f, "figure3")
}

func TestFiguresEmpty(t *testing.T) {
	if _, err := Figure1a(nil); err == nil {
		t.Error("Figure1a: no error on empty input")
	}
	if _, err := Figure1b(nil); err == nil {
		t.Error("Figure1b: no error on empty input")
	}
	if _, err := Figure2a(nil); err == nil {
		t.Error("Figure2a: no error on empty input")
	}
	if _, err := Figure2b(nil); err == nil {
		t.Error("Figure2b: no error on empty input")
	}
	if _, err := Figure3(nil); err == nil {
		t.Error("Figure3: no error on empty input")
	}
	if _, err := Figure3(ofModel(syntheticRecords(), "rfm")); err == nil {
		t.Error("Figure3: no error without fcn or cnn")
	}
	if err := SaveFigure(t.TempDir(), "x", &Figure{}); err == nil {
		t.Error("SaveFigure: no error on an empty figure")
	}
	// A panel plot cannot draw: an error, not a panic.
	p := newPanel("bad", "x", "y")
	logAxis(&p.Y)
	p.Y.Min, p.Y.Max = -1, 1
	if err := SaveFigure(t.TempDir(), "bad", grid([]*plot.Plot{p})); err == nil {
		t.Error("SaveFigure: no error on a log axis through 0")
	}
}

func TestFiguresNaNOnly(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	rs := syntheticRecords()
	for i := range rs {
		rs[i].Alpha, rs[i].Beta, rs[i].Mu, rs[i].Gamma, rs[i].Flatness = nan, nan, nan, inf, nan
	}
	if _, err := Figure1a(rs); err == nil {
		t.Error("Figure1a: no error on NaN-only α, β, μ")
	}
	if _, err := Figure1b(rs); err == nil {
		t.Error("Figure1b: no error on NaN-only μ")
	}
	if _, err := Figure2a(rs); err == nil {
		t.Error("Figure2a: no error on infinite γ")
	}
	if _, err := Figure3(rs); err == nil {
		t.Error("Figure3: no error on NaN-only flatness")
	}
	fs := syntheticNorms()
	for i := range fs {
		fs[i].Ratio = nan
	}
	if _, err := Figure2b(fs); err == nil {
		t.Error("Figure2b: no error on NaN-only χ ratios")
	}
}

func TestFiguresSkipNaN(t *testing.T) {
	nan := math.NaN()
	rs := syntheticRecords()
	for i := range rs {
		switch {
		case rs[i].Model == "cnn": // a panel with nothing to plot is left out
			rs[i].Alpha, rs[i].Beta, rs[i].Mu, rs[i].Gamma, rs[i].Flatness = nan, nan, nan, nan, nan
		case i%3 == 0:
			rs[i].Alpha, rs[i].Mu, rs[i].Gamma = nan, nan, nan
			rs[i].Flatness, rs[i].BoundThm33 = nan, -1 // not on a log axis
		case i%3 == 1:
			rs[i].Beta = nan
		}
		if rs[i].Model == "fcn" {
			rs[i].BoundGD = nan // the whole series: not drawn
		}
	}
	f, err := Figure1a(rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, n := shape(f); n != 3 {
		t.Errorf("Figure1a has %d panels, want 3 (no CNN)", n)
	}
	checkSaved(t, f, "figure1a")
	for name, build := range map[string]func([]Record) (*Figure, error){
		"figure1b": Figure1b, "figure2a": Figure2a, "figure3": Figure3,
	} {
		f, err := build(rs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSaved(t, f, name)
	}
	f, err = Figure3(rs)
	if err != nil {
		t.Fatal(err)
	}
	if r, c, n := shape(f); r != 1 || c != 1 || n != 1 || f.Panels[0][0].Title.Text != "FCN" {
		t.Errorf("Figure3: grid %d×%d with %d panels, want FCN alone", r, c, n)
	}
	fs := syntheticNorms()
	for i := range fs {
		if i%2 == 0 {
			fs[i].Ratio = nan
		}
	}
	f, err = Figure2b(fs)
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "figure2b")
}

func TestGroupMeanSD(t *testing.T) {
	rs := []Record{
		{Model: "fcn", Width: 20, P: 400, Flatness: 2},
		{Model: "fcn", Width: 10, P: 100, Flatness: 1},
		{Model: "fcn", Width: 10, P: 100, Flatness: 3},
		{Model: "fcn", Width: 10, P: 100, Flatness: math.NaN()},
	}
	s := groupMeanSD(rs, func(r Record) float64 { return r.Flatness }, false)
	if len(s.XYs) != 2 || s.XYs[0].X != 100 || s.XYs[0].Y != 2 || s.XYs[1].X != 400 {
		t.Fatalf("points %v", s.XYs)
	}
	if lo, hi := s.YError(0); lo != math.Sqrt2 || hi != math.Sqrt2 {
		t.Errorf("error bar (%v, %v), want ±√2", lo, hi)
	}
	if lo, hi := s.YError(1); lo != 0 || hi != 0 {
		t.Errorf("one run: error bar (%v, %v), want 0", lo, hi)
	}
	// On a log axis the lower bar stays above 0.
	rs[2].Flatness = 30
	s = groupMeanSD(rs, func(r Record) float64 { return r.Flatness }, true)
	if lo, _ := s.YError(0); s.XYs[0].Y-lo <= 0 {
		t.Errorf("log axis: lower end %v", s.XYs[0].Y-lo)
	}
}

func TestLogTicks(t *testing.T) {
	var labels []string
	for _, tk := range (logTicks{}).Ticks(0.1, 5000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got, want := strings.Join(labels, " "), "0.1 1 10 100 1000"; got != want {
		t.Errorf("labels %q, want %q", got, want)
	}
	labels = labels[:0]
	for _, tk := range (logTicks{}).Ticks(2e4, 3e5) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got, want := strings.Join(labels, " "), "2e4 5e4 1e5 2e5"; got != want {
		t.Errorf("labels %q, want %q", got, want)
	}
	if ts := (logTicks{}).Ticks(0, 1); ts != nil {
		t.Errorf("ticks %v for a range from 0", ts)
	}
}
