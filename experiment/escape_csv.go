package experiment

import (
	"io"
	"math"
)

// The tidy CSV of Figure 4, in the format of csv.go: escape.csv holds one
// EscapeRow per trajectory per step, escape_curves.csv one EscapeCurve per
// panel per step, escape_summary.csv one EscapeSummary per panel.

// EscapeRow is the loss of one SGD trajectory after some steps.
type EscapeRow struct {
	Model    string  `csv:"model"`
	Width    int     `csv:"width"`
	P        int     `csv:"p"`
	N        int     `csv:"n"`
	Seed     uint64  `csv:"seed"`
	Eta      float64 `csv:"lr"`
	Batch    int     `csv:"batch"`
	Sampling string  `csv:"sampling"` // shuffled or with-replacement
	Run      int     `csv:"run"`      // trajectory, from 0
	Step     int     `csv:"step"`     // SGD steps since the switch
	Loss     float64 `csv:"loss"`     // full training loss; NaN once it left the float64 range
}

// EscapeCurve is a panel's curves at one step.
type EscapeCurve struct {
	Model    string `csv:"model"`
	Width    int    `csv:"width"`
	N        int    `csv:"n"`
	Seed     uint64 `csv:"seed"`
	Batch    int    `csv:"batch"`
	Sampling string `csv:"sampling"`
	Runs     int    `csv:"runs"`
	Step     int    `csv:"step"`
	// SettleBatch is the B of the phase that found the minimum: n for GD.
	SettleBatch int `csv:"settle_batch"`
	// Mean of the trajectories' losses (NaN once one left the float64 range).
	Mean float64 `csv:"mean"`
	// Linearized is the exact E[L_t] of SGD linearized at the switch point
	// from R_0 = e eᵀ (for shuffled epochs, of the per-step marginals).
	Linearized float64 `csv:"linearized"`
	// LinearSameBatches is the mean of linearized SGD run with the
	// trajectories' own batches.
	LinearSameBatches float64 `csv:"linear_same_batches"`
	// Gamma0Bound is Theorem 3.6's L_0·γ0^t where the theorem applies, NaN
	// where it does not.
	Gamma0Bound float64 `csv:"gamma0_bound"`
}

// EscapeSummary is a panel's numbers.
type EscapeSummary struct {
	Model    string  `csv:"model"`
	Width    int     `csv:"width"`
	P        int     `csv:"p"`
	N        int     `csv:"n"`
	Seed     uint64  `csv:"seed"`
	Reading  string  `csv:"reading"`
	Eta      float64 `csv:"lr"`
	Batch    int     `csv:"batch"`
	Sampling string  `csv:"sampling"`
	Runs     int     `csv:"runs"`
	Steps    int     `csv:"steps"`

	SettleBatch int     `csv:"settle_batch"` // B of the first phase: n for GD
	GDSteps     int     `csv:"gd_steps"`     // steps of the first phase
	GDConverged int     `csv:"gd_converged"` // 1 if it reached its loss target
	SwitchLoss  float64 `csv:"switch_loss"`  // L at the switch
	LambdaMax   float64 `csv:"lambda_max"`   // λ_1(G) at the switch
	TwoOverEta  float64 `csv:"two_over_lr"`  // 2/η
	GDStable    int     `csv:"gd_stable"`    // 1 if λ_1(G) <= 2/η
	Flatness    float64 `csv:"flatness"`     // ‖H‖_F = ‖G‖_F
	Mu0         float64 `csv:"mu0"`
	Rank        int     `csv:"rank"`

	Rho         float64 `csv:"rho"`           // ρ at B (NaN: see note)
	RhoGD       float64 `csv:"rho_gd"`        // ρ of GD
	EdgeBatch   int     `csv:"edge_batch"`    // largest unstable B (0 none, -1 unknown)
	RhoEdge     float64 `csv:"rho_edge"`      // ρ there
	RhoEdgeNext float64 `csv:"rho_edge_next"` // ρ at the edge batch + 1
	Gamma0      float64 `csv:"gamma0"`        // Theorem 3.6's γ0 for B and the sampling
	BoundThm33  float64 `csv:"bound_thm33"`   // ‖H‖_F must exceed it for the theorem

	Window         int     `csv:"window"`          // steps of the early rates
	RateMean       float64 `csv:"rate_mean"`       // (mean_k/mean_0)^(1/k)
	RateLinearized float64 `csv:"rate_linearized"` // the same of the exact E[L_t]
	RateRatio      float64 `csv:"rate_ratio"`
	MonteCarloP    float64 `csv:"mc_p"`  // two-sided p of the ratio under linearized SGD
	MonteCarloLo   float64 `csv:"mc_lo"` // central 99% of that ratio under linearized SGD
	MonteCarloHi   float64 `csv:"mc_hi"`
	Steps10Mean    int     `csv:"steps_10x_mean"`       // first step with mean >= 10 L_0 (-1: none)
	Steps10Linear  int     `csv:"steps_10x_linearized"` // the same for E[L_t]
	Steps10Gamma0  float64 `csv:"steps_10x_gamma0"`     // log 10/log γ0 (NaN when γ0 <= 1)
	MaxGrowth      float64 `csv:"max_growth"`           // max of mean_t/mean_0 over t <= 20
	Note           string  `csv:"note"`                 // why an oracle value is NaN
	Seconds        float64 `csv:"seconds"`
}

// Rows returns the trajectories of r as tidy rows.
func (r EscapeResult) Rows() []EscapeRow {
	var rows []EscapeRow
	for run, l := range r.Loss {
		for t, v := range l {
			rows = append(rows, EscapeRow{Model: r.Model, Width: r.Width, P: r.P, N: r.N, Seed: r.Job.Seed,
				Eta: r.Job.Eta, Batch: r.Batch, Sampling: r.Job.Sampling.String(), Run: run, Step: t, Loss: v})
		}
	}
	return rows
}

// Curves returns the curves of r, one row a step.
func (r EscapeResult) Curves() []EscapeCurve {
	out := make([]EscapeCurve, len(r.Mean))
	for t := range r.Mean {
		g := math.NaN()
		if r.Gamma0 > 1 {
			g = r.Linearized[0] * math.Pow(r.Gamma0, float64(t))
		}
		out[t] = EscapeCurve{Model: r.Model, Width: r.Width, N: r.N, Seed: r.Job.Seed, Batch: r.Batch, SettleBatch: r.Switch.Batch,
			Sampling: r.Job.Sampling.String(), Runs: len(r.Loss), Step: t, Mean: r.Mean[t],
			Linearized: r.Linearized[t], LinearSameBatches: r.LinearMean[t], Gamma0Bound: g}
	}
	return out
}

// Summary returns the numbers of r.
func (r EscapeResult) Summary() EscapeSummary {
	sw, st := r.Switch, r.Stability
	m, l := r.Rates()
	lo, hi := r.GroupRange(0.01)
	s10 := math.NaN()
	if r.Gamma0 > 1 {
		s10 = math.Log(EscapeFactor) / math.Log(r.Gamma0)
	}
	return EscapeSummary{Model: r.Model, Width: r.Width, P: r.P, N: r.N, Seed: r.Job.Seed, Reading: r.Reading,
		Eta: r.Job.Eta, Batch: r.Batch, Sampling: r.Job.Sampling.String(), Runs: len(r.Loss), Steps: r.Job.Steps,
		SettleBatch: sw.Batch, GDSteps: sw.Steps, GDConverged: b2i(sw.Converged), SwitchLoss: sw.Loss, LambdaMax: sw.LambdaMax,
		TwoOverEta: 2 / sw.Eta, GDStable: b2i(sw.GDStable), Flatness: sw.FroH, Mu0: sw.Mu0, Rank: sw.Rank,
		Rho: st.Rho, RhoGD: st.RhoGD, EdgeBatch: st.EdgeBatch, RhoEdge: st.RhoEdge, RhoEdgeNext: st.RhoEdgeNext,
		Gamma0: r.Gamma0, BoundThm33: r.BoundThm33,
		Window: r.Window(), RateMean: m, RateLinearized: l, RateRatio: m / l,
		MonteCarloP: r.MonteCarloP(), MonteCarloLo: lo, MonteCarloHi: hi,
		Steps10Mean: StepsToGrow(r.Mean, EscapeFactor), Steps10Linear: StepsToGrow(r.Linearized, EscapeFactor),
		Steps10Gamma0: s10, MaxGrowth: MaxGrowth(r.Mean, EscapeHorizon), Note: st.Note, Seconds: r.Seconds}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteEscapeRows, WriteEscapeCurves and WriteEscapeSummaries write tidy
// CSV with a header row; the Read functions read them back (csv.go's rules).
func WriteEscapeRows(w io.Writer, rows []EscapeRow) error { return writeTable(w, rows) }

// WriteEscapeCurves writes the curves of Figure 4's panels.
func WriteEscapeCurves(w io.Writer, rows []EscapeCurve) error { return writeTable(w, rows) }

// WriteEscapeSummaries writes the numbers of Figure 4's panels.
func WriteEscapeSummaries(w io.Writer, rows []EscapeSummary) error { return writeTable(w, rows) }

// ReadEscapeRows reads a CSV written by WriteEscapeRows.
func ReadEscapeRows(r io.Reader) ([]EscapeRow, error) { return readTable[EscapeRow](r) }

// ReadEscapeCurves reads a CSV written by WriteEscapeCurves.
func ReadEscapeCurves(r io.Reader) ([]EscapeCurve, error) { return readTable[EscapeCurve](r) }
