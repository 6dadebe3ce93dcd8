package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/flatmin/flatmin/theory"
)

// maxDensityBins bounds --density: the grid is printed and kept in memory.
const maxDensityBins = 100000

// spectrumFlags are --spectrum and --density, shared by measure and stability.
type spectrumFlags struct {
	spectrum *string
	density  *int
}

func addSpectrumFlags(fs *flagSet) spectrumFlags {
	return spectrumFlags{
		spectrum: fs.String("spectrum", "", "print the eigenvalues of G (of K/n), descending: all, or the `TOP` largest"),
		density: fs.Int("density", 0, fmt.Sprintf("print G's spectral density, Gaussian-smoothed, on `BINS` points (2 to %d; see Spectrum above)",
			maxDensityBins)),
	}
}

// spectrumHelp is the paragraph of the help of measure and stability on
// --spectrum and --density.
const spectrumHelp = `Spectrum: --spectrum all (or --spectrum TOP, the TOP largest) lists the
eigenvalues of G = QᵀQ/n, descending, computed as those of the n x n K/n
(G's other p - n are zero); --density BINS their density like PyHessian's:
each eigenvalue a Gaussian of weight 1/n and standard deviation σ = w/BINS
(one bin of a BINS-bin histogram over their range w = λ_1 - λ_n), sampled
on BINS points from λ_n - 4σ to λ_1 + 4σ. It integrates to 1.`

// parse checks the flags: top is how many eigenvalues to list (0: none,
// math.MaxInt: all), bins the density's grid (0: none).
func (sf spectrumFlags) parse() (top, bins int, err error) {
	switch s := *sf.spectrum; s {
	case "":
	case "all":
		top = math.MaxInt
	default:
		k, perr := strconv.Atoi(s)
		if perr != nil || k < 1 {
			return 0, 0, fmt.Errorf("--spectrum must be all or a positive integer TOP (how many of the largest), got %q", s)
		}
		top = k
	}
	bins = *sf.density
	if bins != 0 && (bins < 2 || bins > maxDensityBins) {
		return 0, 0, fmt.Errorf("--density must be between 2 and %d points, got %d", maxDensityBins, bins)
	}
	return top, bins, nil
}

// spectrum is G's spectrum as --spectrum and --density ask for it.
type spectrum struct {
	total       int       // n, the eigenvalues of K/n
	eigenvalues []float64 // the top ones, descending; nil when not asked
	density     *density  // nil when not asked
}

// density is a Gaussian-smoothed histogram of eigenvalues on a grid.
type density struct {
	sigma float64
	x     []float64
	rho   []float64
}

// newSpectrum computes what top and bins ask for from the eigenvalues of
// K/n; nil when neither is asked.
func newSpectrum(st *theory.State, top, bins int) (*spectrum, error) {
	if top == 0 && bins == 0 {
		return nil, nil
	}
	lam, err := st.Spectrum()
	if err != nil {
		return nil, err
	}
	s := &spectrum{total: len(lam)}
	if top > 0 {
		s.eigenvalues = lam[:min(top, len(lam))]
	}
	if bins > 0 {
		s.density = gaussianDensity(lam, bins)
	}
	return s, nil
}

// densityCutoff is where a Gaussian term is dropped: beyond 9σ its weight
// is below e^-40.5 ≈ 2.6e-18 of its peak, under the rounding of any sum
// that includes the peak. Each eigenvalue then touches about 18σ/Δ ≈ 18
// grid points, so the density costs O(n + bins), not O(n·bins).
const densityCutoff = 9

// gaussianDensity returns the density of the m eigenvalues lam (descending)
// on bins points: ρ(x) = (1/m) Σ_k φ_σ(x - λ_k), φ_σ the normal density of
// standard deviation σ, which integrates to 1 over ℝ, as PyHessian's
// density_generate (Yao et al., 2020) smooths the Ritz values of its
// stochastic Lanczos quadrature. Here the eigenvalues are exact, and the
// bandwidth follows the grid the user asks for instead of PyHessian's fixed
// σ² = 1e-5·max(1, w): σ = w/bins with w = λ_1 - λ_m, the width of one bin
// of a bins-bin histogram over the spectrum, so --density 100 is a smoothed
// 100-bin histogram and more bins resolve finer detail. (w is max(w, |λ|)
// when the eigenvalues are all equal, K ≠ 0.) The grid runs from λ_m - 4σ
// to λ_1 + 4σ: the tails beyond it hold 2·Φ(-4) ≈ 6.3e-5 of the mass, and
// its spacing Δ = σ(bins + 8)/(bins - 1) is about σ, at which the Riemann
// sum Σ_j ρ(x_j)Δ is within 2e^(-2π²σ²/Δ²) of the integral (Poisson
// summation): ≈ 5e-9 at Δ = σ.
func gaussianDensity(lam []float64, bins int) *density {
	hi, lo := lam[0], lam[len(lam)-1]
	w := hi - lo
	if w == 0 {
		w = math.Max(math.Abs(hi), math.Abs(lo))
	}
	sigma := w / float64(bins)
	x0 := lo - 4*sigma
	step := (hi - lo + 8*sigma) / float64(bins-1)
	d := &density{sigma: sigma, x: make([]float64, bins), rho: make([]float64, bins)}
	for j := range d.x {
		d.x[j] = x0 + float64(j)*step
	}
	norm := 1 / (float64(len(lam)) * sigma * math.Sqrt(2*math.Pi))
	for _, l := range lam {
		first := max(0, int(math.Ceil((l-densityCutoff*sigma-x0)/step)))
		last := min(bins-1, int(math.Floor((l+densityCutoff*sigma-x0)/step)))
		for j := first; j <= last; j++ {
			z := (d.x[j] - l) / sigma
			d.rho[j] += norm * math.Exp(-z*z/2)
		}
	}
	return d
}

// rows are the JSON entries of the spectrum: "spectrum" and "density",
// null when not asked.
func (s *spectrum) rows() []row {
	var eig, dens any
	if s != nil && s.eigenvalues != nil {
		eig = object{{"total", s.total, ""}, {"eigenvalues", s.eigenvalues, ""}}
	}
	if s != nil && s.density != nil {
		dens = object{{"eigenvalues", s.total, ""}, {"sigma", s.density.sigma, ""}, {"x", s.density.x, ""}, {"density", s.density.rho, ""}}
	}
	return []row{
		{"spectrum", eig, "the top eigenvalues of K/n (--spectrum)"},
		{"density", dens, "their Gaussian-smoothed density (--density)"},
	}
}

// writeText writes the spectrum and the density as tables.
func (s *spectrum) writeText(w io.Writer) error {
	if s == nil {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s.eigenvalues != nil {
		fmt.Fprintf(tw, "\nspectrum of G: the top %d of the %d eigenvalues of K/n, descending\n", len(s.eigenvalues), s.total)
		for k, l := range s.eigenvalues {
			fmt.Fprintf(tw, "  λ_%d\t%s\n", k+1, tableValue(l))
		}
	}
	if d := s.density; d != nil {
		fmt.Fprintf(tw, "\ndensity of the %d eigenvalues of K/n: Gaussian kernel, σ = %.4g (one bin of %d over their range), %d points\n",
			s.total, d.sigma, len(d.x), len(d.x))
		fmt.Fprintf(tw, "  x\tdensity\n")
		for j := range d.x {
			fmt.Fprintf(tw, "  %s\t%s\n", tableValue(d.x[j]), tableValue(d.rho[j]))
		}
	}
	return tw.Flush()
}
