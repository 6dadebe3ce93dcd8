package main

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestGaussianDensity: the density integrates to 1 on its grid, has the
// documented bandwidth and grid, peaks at 1/(σ sqrt(2π)) on a lone
// eigenvalue, is symmetric about it, and dropping the terms beyond 9σ
// changes nothing above 1e-17 of the peak (each is below e^-40.5 ≈ 2.6e-18
// of its peak). The integral is a Riemann sum: 1 to within the tails beyond
// 4σ (2Φ(-4) ≈ 6.3e-5) and the aliasing of sampling a Gaussian at spacing
// ≈ σ (below 1e-7), so 1e-4.
func TestGaussianDensity(t *testing.T) {
	lam := []float64{3, 1, 0.5, 0.5, 0}
	d := gaussianDensity(lam, 200)
	sigma := 3.0 / 200
	if d.sigma != sigma || len(d.x) != 200 || len(d.rho) != 200 {
		t.Fatalf("σ = %v (want %v), %d and %d points (want 200)", d.sigma, sigma, len(d.x), len(d.rho))
	}
	if d.x[0] != -4*sigma || math.Abs(d.x[199]-(3+4*sigma)) > 1e-14 {
		t.Errorf("grid [%v, %v], want [-4σ, 3 + 4σ] = [%v, %v]", d.x[0], d.x[199], -4*sigma, 3+4*sigma)
	}
	sum := 0.0
	for _, r := range d.rho {
		sum += r
	}
	if step := d.x[1] - d.x[0]; math.Abs(sum*step-1) > 1e-4 {
		t.Errorf("Riemann sum %v, want 1 within 1e-4", sum*step)
	}
	// The same sum without the cutoff.
	norm := 1 / (float64(len(lam)) * sigma * math.Sqrt(2*math.Pi))
	for j, x := range d.x {
		full := 0.0
		for _, l := range lam {
			z := (x - l) / sigma
			full += norm * math.Exp(-z*z/2)
		}
		if math.Abs(full-d.rho[j]) > 1e-17*norm+1e-14*full {
			t.Errorf("x = %v: density %v, without the cutoff %v", x, d.rho[j], full)
		}
	}

	// One eigenvalue (all equal: the width falls back to |λ|): the grid is
	// symmetric about it, its middle point on it.
	d = gaussianDensity([]float64{2}, 101)
	sigma = 2.0 / 101
	peak := 1 / (sigma * math.Sqrt(2*math.Pi))
	if d.sigma != sigma || math.Abs(d.x[50]-2) > 1e-15 || math.Abs(d.rho[50]-peak) > 1e-12*peak {
		t.Errorf("lone eigenvalue 2: σ = %v (want %v), x[50] = %v, ρ = %v (want %v)", d.sigma, sigma, d.x[50], d.rho[50], peak)
	}
	for j := range 50 {
		if a, b := d.rho[j], d.rho[100-j]; math.Abs(a-b) > 1e-12*peak {
			t.Errorf("not symmetric: ρ[%d] = %v, ρ[%d] = %v", j, a, 100-j, b)
		}
	}
}

// spectrumJSON is the JSON of --spectrum and --density.
type spectrumJSON struct {
	LambdaMax float64 `json:"lambda_max"`
	TraceG    float64 `json:"trace_G"`
	Spectrum  *struct {
		Total       int
		Eigenvalues []float64
	}
	Density *struct {
		Eigenvalues int
		Sigma       float64
		X           []float64
		Density     []float64
	}
}

func runSpectrum(t *testing.T, args ...string) spectrumJSON {
	t.Helper()
	code, out, errs := runCmd(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	var s spectrumJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSpectrumFlags: --spectrum TOP lists the TOP largest eigenvalues of K/n (all
// of them for K >= n or all), descending, λ_1 the lambda_max row and their
// sum Tr(G) (20 eigenvalues, each within a few n·ε·λ_1 of exact: 1e-13
// relative); stability lists the same numbers as measure; --density BINS
// gives BINS points; neither asked, both are null; bad values are usage
// errors; the table shows them before the verdict.
func TestSpectrumFlags(t *testing.T) {
	q, e := testdata("q.npy"), testdata("e.npy")
	all := runSpectrum(t, "measure", "--grads", q, "--residuals", e, "--spectrum", "all", "--density", "50")
	lam := all.Spectrum.Eigenvalues
	if all.Spectrum.Total != 20 || len(lam) != 20 || lam[0] != all.LambdaMax || !slices.IsSortedFunc(lam, func(a, b float64) int { return cmp.Compare(b, a) }) {
		t.Fatalf("spectrum %+v: want the 20 eigenvalues, descending, λ_1 = %v", all.Spectrum, all.LambdaMax)
	}
	sum := 0.0
	for _, l := range lam {
		sum += l
	}
	if math.Abs(sum-all.TraceG) > 1e-13*all.TraceG {
		t.Errorf("Σλ = %v, Tr(G) = %v", sum, all.TraceG)
	}
	if d := all.Density; d == nil || d.Eigenvalues != 20 || len(d.X) != 50 || len(d.Density) != 50 || d.Sigma != (lam[0]-lam[19])/50 {
		t.Errorf("density %+v: want 50 points, σ = (λ_1 - λ_20)/50", d)
	}
	top := runSpectrum(t, "measure", "--grads", q, "--residuals", e, "--spectrum", "3")
	if top.Spectrum == nil || !slices.Equal(top.Spectrum.Eigenvalues, lam[:3]) || top.Density != nil {
		t.Errorf("--spectrum 3: %+v, density %v; want %v and no density", top.Spectrum, top.Density, lam[:3])
	}
	if more := runSpectrum(t, "measure", "--grads", q, "--residuals", e, "--spectrum", "1000"); !slices.Equal(more.Spectrum.Eigenvalues, lam) {
		t.Errorf("--spectrum 1000 > n: %v, want all 20", more.Spectrum.Eigenvalues)
	}
	if st := runSpectrum(t, "stability", "--grads", q, "--lr", "0.05", "--batch", "4", "--spectrum", "all"); !slices.Equal(st.Spectrum.Eigenvalues, lam) {
		t.Errorf("stability's spectrum %v, measure's %v", st.Spectrum.Eigenvalues, lam)
	}
	if none := runSpectrum(t, "measure", "--grads", q, "--residuals", e); none.Spectrum != nil || none.Density != nil {
		t.Errorf("spectrum and density without the flags: %+v, %+v; want null", none.Spectrum, none.Density)
	}

	_, table, _ := runCmd("stability", "--grads", q, "--lr", "0.05", "--batch", "4", "--spectrum", "2", "--density", "5")
	i, j, k := strings.Index(table, "\nspectrum of G: the top 2 of the 20 eigenvalues of K/n, descending\n  λ_1  "),
		strings.Index(table, "\ndensity of the 20 eigenvalues of K/n: Gaussian kernel, σ = "), strings.Index(table, "\nverdict: ")
	if !(0 < i && i < j && j < k) || strings.Count(table[j:k], "\n") != 8 { // blank, title, header, 5 points
		t.Errorf("the table's spectrum, density and verdict are not in order:\n%s", table)
	}

	for _, tc := range []struct{ flag, value, msg string }{
		{"--spectrum", "0", `--spectrum must be all or a positive integer TOP (how many of the largest), got "0"`},
		{"--spectrum", "-2", `got "-2"`},
		{"--spectrum", "top", `got "top"`},
		{"--density", "1", "--density must be between 2 and 100000 points, got 1"},
		{"--density", "-3", "got -3"},
		{"--density", "100001", "got 100001"},
	} {
		for _, cmd := range []string{"measure", "stability"} {
			code, out, errs := runCmd(cmd, "--grads", q, "--residuals", e, "--lr", "0.05", "--batch", "4", tc.flag, tc.value)
			if code != exitUsage || out != "" || !strings.Contains(errs, tc.msg) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%s %s %s: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", cmd, tc.flag, tc.value, code, out, errs, tc.msg)
			}
		}
	}
}
