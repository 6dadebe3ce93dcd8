package experiment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// Figure 5b (Section 4): the flatness SGD reached beside the bounds linear
// stability puts on it. The paper shows VGG and ResNet on CIFAR-10; here the
// networks of Appendix A.1 at the widths of the size sweeps, one Tightness
// per run, measured at the run's final state.

// Tightness is one run of Figure 5b: the flatness ‖H‖_F = ‖G‖_F at the end
// of the run, Theorem 3.3's bound computed two ways, GD's bounds, and the
// exact critical learning rates of the linearized SGD at the final features.
// It is one row of tightness.csv; the csv tags are the column names.
type Tightness struct {
	Model    string  `csv:"model"`
	Width    int     `csv:"width"`
	P        int     `csv:"p"`
	N        int     `csv:"n"`
	Run      int     `csv:"run"`
	Seed     uint64  `csv:"seed"`
	Eta      float64 `csv:"lr"`
	Batch    int     `csv:"batch"`
	Sampling string  `csv:"sampling"` // how the run drew its batches: shuffled or with-replacement
	Step     int     `csv:"step"`     // steps taken
	// Loss is the final training loss, where μ(θ*) is measured: μ is 0/0 at
	// an exact minimum. The run converged when Loss <= LossTarget.
	Loss       float64 `csv:"loss"`
	LossTarget float64 `csv:"loss_target"`

	Flatness  float64 `csv:"flatness"`   // ‖H‖_F = ‖G‖_F at the end
	LambdaMax float64 `csv:"lambda_max"` // λ_1(G)
	TraceG    float64 `csv:"trace_G"`    // Tr(G)
	Rank      int     `csv:"rank"`       // numerical rank of G
	Mu0       float64 `csv:"mu0"`        // inf_θ μ(θ) at the final features (exact)
	MuEnd     float64 `csv:"mu_end"`     // μ(θ) at the final loss: the μ(θ*) of Figure 5b's reading

	BoundThm33    float64 `csv:"bound_thm33"`     // sqrt(B/μ0)/η, Theorem 3.3 as stated
	BoundThm33WOR float64 `csv:"bound_thm33_wor"` // sqrt(B(n-1)/((n-B)μ0))/η, without replacement
	BoundMuEnd    float64 `csv:"bound_mu_end"`    // sqrt(B/μ(θ*))/η
	BoundGDLambda float64 `csv:"bound_gd_lambda"` // 2/η, GD's bound on λ_1
	BoundGDFro    float64 `csv:"bound_gd_fro"`    // 2 sqrt(rank)/η, GD's bound on ‖H‖_F

	RatioThm33    float64 `csv:"ratio_thm33"`     // ‖H‖_F / bound_thm33
	RatioMuEnd    float64 `csv:"ratio_mu_end"`    // ‖H‖_F / bound_mu_end
	RatioGDFro    float64 `csv:"ratio_gd_fro"`    // ‖H‖_F / bound_gd_fro
	RatioGDLambda float64 `csv:"ratio_gd_lambda"` // λ_1 / (2/η)

	// The exact critical learning rates η* of the linearized SGD at the
	// final features (oracle.Dynamics.CriticalRate: stable iff η <= η*), for
	// batches drawn with and without replacement; NaN when the oracle could
	// not compute them, and Oracle says why.
	EtaStarWith        float64 `csv:"eta_star_with"`
	EtaStarWithout     float64 `csv:"eta_star_without"`
	EtaOverStarWith    float64 `csv:"lr_over_eta_star_with"`    // η/η*: <= 1 iff the minimum is linearly stable
	EtaOverStarWithout float64 `csv:"lr_over_eta_star_without"` // the same without replacement
	// MuEdge = B/(η*_with ‖H‖_F)² is the alignment constant for which
	// Theorem 3.3's bound, at these features, is exactly the stability edge
	// (at least μ0, since the theorem holds).
	MuEdge float64 `csv:"mu_edge"`
	Oracle string  `csv:"oracle"` // "ok", or why η* is missing
}

// Converged reports whether the run reached its loss target.
func (t Tightness) Converged() bool { return t.Loss <= t.LossTarget }

// EtaOverStar is η/η* for the sampling the run used: without replacement
// for shuffled epochs, whose per-step batch is a uniform B-subset.
func (t Tightness) EtaOverStar() float64 {
	if t.Sampling == WithReplacement.String() {
		return t.EtaOverStarWith
	}
	return t.EtaOverStarWithout
}

// oracleOK is the Oracle column of a row whose η* were computed.
const oracleOK = "ok"

// MeasureTightness returns the Figure 5b row of a job's run: from its last
// record and its final state, which a run read back from a run cache does
// not have (Tightnesses handles those).
func MeasureTightness(j Job, r Run) (Tightness, error) {
	if len(r.Records) == 0 {
		return Tightness{}, errors.New("experiment: run has no records")
	}
	if r.State == nil {
		return Tightness{}, errors.New("experiment: run has no final state (a run read back from a cache keeps only its records)")
	}
	return TightnessOf(j, r.Records[len(r.Records)-1], r.State)
}

// TightnessOf returns the Figure 5b row of the final record of a job's run,
// with η* from the exact oracle at the state st of the network there (its
// Gram K; the residuals are ignored). An oracle that cannot answer (too
// large a problem) leaves η* NaN and says why in the Oracle column; bad
// input is an error.
func TightnessOf(j Job, final Record, st *theory.State) (Tightness, error) {
	if st == nil {
		return Tightness{}, errors.New("experiment: no state")
	}
	if st.N() != final.N || st.P() != final.P {
		return Tightness{}, fmt.Errorf("experiment: state is n = %d, p = %d but the record is n = %d, p = %d", st.N(), st.P(), final.N, final.P)
	}
	if final.Eta != j.Config.Eta || final.Batch != j.Config.Batch {
		return Tightness{}, fmt.Errorf("experiment: record has η = %v, B = %d but the job η = %v, B = %d", final.Eta, final.Batch, j.Config.Eta, j.Config.Batch)
	}
	for _, v := range []float64{final.Flatness, final.Mu0, final.LambdaMax, final.TraceG} {
		if !finite(v) {
			return Tightness{}, fmt.Errorf("experiment: %s m=%d step %d is not a final record (‖G‖_F = %v, μ0 = %v)", final.Model, final.Width, final.Step, final.Flatness, final.Mu0)
		}
	}
	sgd := theory.SGD{Eta: final.Eta, Batch: final.Batch}
	nan := math.NaN()
	t := Tightness{Model: final.Model, Width: final.Width, P: final.P, N: final.N, Run: final.Run, Seed: final.Seed,
		Eta: final.Eta, Batch: final.Batch, Sampling: j.Config.Sampling.String(), Step: final.Step,
		Loss: final.Loss, LossTarget: j.Config.LossTarget,
		Flatness: final.Flatness, LambdaMax: final.LambdaMax, TraceG: final.TraceG, Rank: final.Rank,
		Mu0: final.Mu0, MuEnd: final.Mu, BoundThm33WOR: nan, BoundMuEnd: nan,
		BoundGDLambda: sgd.BoundGDLambdaMax(), BoundGDFro: sgd.BoundGDFro(final.Rank)}
	var err error
	if t.BoundThm33, err = sgd.BoundThm33(t.Mu0); err != nil {
		return Tightness{}, err
	}
	if t.Batch <= t.N {
		if t.BoundThm33WOR, err = sgd.BoundThm33WithoutReplacement(t.Mu0, t.N); err != nil {
			return Tightness{}, err
		}
	}
	if finite(t.MuEnd) { // NaN at zero loss
		if t.BoundMuEnd, err = sgd.BoundThm33(t.MuEnd); err != nil {
			return Tightness{}, err
		}
	}
	t.RatioThm33 = t.Flatness / t.BoundThm33
	t.RatioMuEnd = t.Flatness / t.BoundMuEnd
	t.RatioGDFro = t.Flatness / t.BoundGDFro
	t.RatioGDLambda = t.LambdaMax / t.BoundGDLambda
	t.EtaStarWith, t.EtaStarWithout, t.Oracle = criticalRates(st, t.Batch)
	t.EtaOverStarWith = t.Eta / t.EtaStarWith
	t.EtaOverStarWithout = t.Eta / t.EtaStarWithout
	s := t.EtaStarWith * t.Flatness
	t.MuEdge = float64(t.Batch) / (s * s)
	return t, nil
}

// criticalRates returns η* with and without replacement (NaN for B > n)
// for batch size b at the features of st, or NaN and the oracle's reason
// when it cannot compute them.
func criticalRates(st *theory.State, b int) (with, without float64, note string) {
	with, without = math.NaN(), math.NaN()
	o, err := oracle.NewOracleFromState(st)
	if err != nil {
		return with, without, "skipped: " + err.Error()
	}
	rates := []*float64{&with, &without}
	for i, s := range []oracle.Sampling{oracle.WithReplacement, oracle.WithoutReplacement} {
		if s == oracle.WithoutReplacement && b > o.N() {
			break
		}
		d, err := o.SGD(b, s)
		if err == nil {
			*rates[i], err = d.CriticalRate()
		}
		if err != nil {
			return math.NaN(), math.NaN(), fmt.Sprintf("skipped: η* %s: %v", s, err)
		}
	}
	return with, without, oracleOK
}

// Tightnesses returns the Figure 5b rows of runs, the runs of jobs (as
// RunJobs returns them, in the same order). A run trained in this process
// has its final state; one read back from opt.CacheDir does not, and its
// row is read back too when an earlier call cached it, else its state is
// rebuilt from the θ an earlier call cached, else the run is trained again
// (the same bits). With a cache, each row whose η* the oracle computed is
// kept there, and so is the final θ of every run at hand. The rows are
// computed on opt.Workers goroutines; opt.Done counts them.
func Tightnesses(jobs []Job, runs []Run, opt RunOptions) ([]Tightness, error) {
	if len(jobs) != len(runs) {
		return nil, fmt.Errorf("experiment: %d jobs but %d runs", len(jobs), len(runs))
	}
	out := make([]Tightness, len(jobs))
	errs := make([]error, len(jobs))
	forEach(len(jobs), opt, func(i int) { out[i], errs[i] = tightnessCached(jobs[i], runs[i], opt.CacheDir) })
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// tightnessFormat versions the cached rows: raise it when the oracle's η*
// or the row's columns change, so that older rows are computed again.
const tightnessFormat = 1

func tightnessCached(j Job, r Run, dir string) (Tightness, error) {
	var base string
	if dir != "" {
		base = filepath.Join(dir, j.cacheName())
		rows, err := readCacheFile(fmt.Sprintf("%s.fig5b-v%d.csv", base, tightnessFormat), ReadTightness)
		switch {
		case err == nil && len(rows) == 1:
			return rows[0], nil
		case err == nil:
			return Tightness{}, fmt.Errorf("%s: %d rows, want 1", base, len(rows))
		case !errors.Is(err, fs.ErrNotExist):
			return Tightness{}, err
		}
	}
	if r.State == nil {
		var err error
		if r, err = restoreRun(j, r, base); err != nil {
			return Tightness{}, fmt.Errorf("%s m=%d n=%d seed %d: %w", j.Spec.Model, j.Spec.Width, j.Spec.N, j.Spec.Seed, err)
		}
	}
	t, err := MeasureTightness(j, r)
	if err != nil || dir == "" {
		return t, err
	}
	if err := saveTheta(base, r.Theta); err != nil {
		return Tightness{}, err
	}
	if t.Oracle != oracleOK {
		return t, nil // computed again next time, perhaps by a larger oracle
	}
	return t, writeAtomic(fmt.Sprintf("%s.fig5b-v%d.csv", base, tightnessFormat), func(w io.Writer) error { return WriteTightness(w, []Tightness{t}) })
}

// restoreRun gives a run read back from a cache its final state: from the θ
// cached at base+".theta.f64" when there is one, else by training the job
// again.
func restoreRun(j Job, r Run, base string) (Run, error) {
	if base != "" && len(r.Records) > 0 {
		raw, err := os.ReadFile(base + ".theta.f64")
		switch {
		case err == nil:
			return runFromTheta(j, r, raw)
		case !errors.Is(err, fs.ErrNotExist):
			return Run{}, err
		}
	}
	return runJob(j)
}

// runFromTheta measures the state of the network at the θ of raw (p
// little-endian float64).
func runFromTheta(j Job, r Run, raw []byte) (Run, error) {
	p, err := Build(j.Spec)
	if err != nil {
		return Run{}, err
	}
	if np := p.Net.NumParams(); len(raw) != 8*np {
		return Run{}, fmt.Errorf("cached θ has %d bytes, want 8p = %d", len(raw), 8*np)
	}
	theta := make([]float64, len(raw)/8)
	for i := range theta {
		theta[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	if r.State, err = stateAt(p, theta); err != nil {
		return Run{}, err
	}
	r.Theta = theta
	return r, nil
}

// WriteTightness writes ts to w as a tidy CSV with a header row (the rules
// of WriteRecords).
func WriteTightness(w io.Writer, ts []Tightness) error { return writeTable(w, ts) }

// ReadTightness reads a CSV written by WriteTightness (the rules of
// ReadRecords).
func ReadTightness(r io.Reader) ([]Tightness, error) { return readTable[Tightness](r) }
