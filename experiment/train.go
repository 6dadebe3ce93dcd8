package experiment

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/models"
	"github.com/flatmin/flatmin/theory"
)

// Sampling is how SGD draws its minibatches.
type Sampling int

const (
	// Shuffled draws batches of B consecutive samples of a fresh random
	// permutation each epoch, the last batch of an epoch holding the n mod B
	// samples left over when B does not divide n, as a PyTorch DataLoader
	// with shuffle=True and drop_last=False does. The paper does not say how
	// it samples; this is the default of the framework it used.
	Shuffled Sampling = iota
	// WithReplacement draws each batch as B indices uniform on [n],
	// independently, with replacement: the sampling of the paper's analysis
	// (Section 3).
	WithReplacement
)

func (s Sampling) String() string {
	if s == WithReplacement {
		return "with-replacement"
	}
	return "shuffled"
}

// Problem is a network with its training set.
type Problem struct {
	Model string // fcn, cnn, rfm or linear
	Width int    // m
	Net   models.Network
	Data  fixtures.Dataset
}

// Config is a training run: constant-learning-rate SGD (GD when Batch = N).
type Config struct {
	Eta      float64
	Batch    int
	Sampling Sampling
	// Seed of the initialization and of the batches (the data set has its
	// own, in Problem). Two runs with the same Problem and Config give the
	// same bits.
	Seed uint64
	// The run stops at the first check whose full training loss is at most
	// LossTarget, or after MaxSteps steps.
	MaxSteps   int
	LossTarget float64
	// RecordEvery is the number of steps between two records of the
	// quantities along training (the first is at step 0, the last at the
	// end); 0 records only the start and the end.
	RecordEvery int
	// Progress, when not nil, is called every epoch with the steps taken and
	// the mean minibatch loss of the epoch.
	Progress func(step int, batchLoss float64)
}

// Streams of the PCG sources of a run, so that the initialization and the
// batches never share draws.
const (
	streamInit    = 0x494e_4954 // "INIT"
	streamBatches = 0x4241_5443 // "BATC"
)

// Run is the outcome of a training run.
type Run struct {
	Theta     []float64
	Steps     int
	FinalLoss float64
	Converged bool // the loss reached LossTarget before MaxSteps
	// Records are the quantities at step 0, every RecordEvery steps and at
	// the end (the last record also carries μ0 and the bounds).
	Records []Record
	// Chi are the feature norms χ_i of every sample at the end.
	Chi []FeatureNorm
	// State is the network at the end, as the paper sees it (K and e).
	State   *theory.State
	Seconds float64
}

// ErrDiverged: the training loss became non-finite or exploded.
var ErrDiverged = errors.New("training diverged")

// divergence is the growth of the loss over its initial value at which a run
// is declared divergent: SGD at a linearly unstable point grows the loss
// geometrically (Theorem 3.6), so a factor of 1e8 is far past any transient.
const divergence = 1e8

// Validate checks the configuration against the problem.
func (c Config) Validate(n int) error {
	switch {
	case !(c.Eta > 0) || math.IsInf(c.Eta, 1):
		return fmt.Errorf("learning rate must be positive and finite, got %v", c.Eta)
	case c.Batch < 1 || c.Batch > n:
		return fmt.Errorf("batch size must be in [1, n = %d], got %d", n, c.Batch)
	case c.MaxSteps < 0:
		return fmt.Errorf("step cap must be >= 0, got %d", c.MaxSteps)
	case !(c.LossTarget >= 0):
		return fmt.Errorf("loss target must be >= 0, got %v", c.LossTarget)
	case c.RecordEvery < 0:
		return fmt.Errorf("record interval must be >= 0, got %d", c.RecordEvery)
	}
	return nil
}

// Train initializes the network from cfg.Seed and runs SGD, recording the
// quantities along the way; see TrainFrom.
func Train(p Problem, cfg Config) (Run, error) {
	theta := p.Net.Init(rand.New(rand.NewPCG(cfg.Seed, streamInit)))
	return TrainFrom(p, theta, cfg)
}

// TrainFrom runs SGD from θ0 (not modified): θ ← θ - η ∇L_batch(θ), with
// ∇L_batch the gradient of Σ_{i∈batch} e_i²/(2|batch|). The full training
// loss is checked once an epoch (n/B steps), when the epoch's mean
// minibatch loss is within a factor 10 of the target (a minibatch mean is
// an unbiased estimate of the loss at the θ it was drawn at, so a run
// whose epoch mean is ten times the target is not worth a full pass).
func TrainFrom(p Problem, theta0 []float64, cfg Config) (Run, error) {
	start := time.Now()
	n, d := p.Data.N, p.Data.D
	if err := cfg.Validate(n); err != nil {
		return Run{}, err
	}
	theta := append([]float64(nil), theta0...)
	grad := make([]float64, len(theta))
	rng := rand.New(rand.NewPCG(cfg.Seed, streamBatches))
	batches := newBatcher(n, cfg.Batch, cfg.Sampling, rng)
	xb := make([]float64, cfg.Batch*d)
	yb := make([]float64, cfg.Batch)
	epoch := (n + cfg.Batch - 1) / cfg.Batch

	run := Run{}
	rec, err := Measure(p, theta, cfg, 0, false)
	if err != nil {
		return Run{}, err
	}
	run.Records = append(run.Records, rec)
	initial := rec.Loss
	loss := initial
	epochSum, epochSteps := 0.0, 0
	step := 0
	for step < cfg.MaxSteps && !(loss <= cfg.LossTarget) {
		idx := batches.next()
		b := len(idx)
		for k, i := range idx {
			copy(xb[k*d:(k+1)*d], p.Data.X[i*d:(i+1)*d])
			yb[k] = p.Data.Y[i]
		}
		bl, err := p.Net.LossGradient(grad, theta, xb[:b*d], yb[:b])
		if err != nil {
			return Run{}, fmt.Errorf("step %d: %w", step, err)
		}
		if math.IsNaN(bl) || math.IsInf(bl, 0) || bl > divergence*math.Max(initial, math.SmallestNonzeroFloat64) {
			return Run{}, fmt.Errorf("%w at step %d: minibatch loss %v, initial loss %v (η = %v; compare λ_1(G) = %v at initialization with 2/η = %v)",
				ErrDiverged, step, bl, initial, cfg.Eta, run.Records[0].LambdaMax, 2/cfg.Eta)
		}
		for j, g := range grad {
			theta[j] -= cfg.Eta * g
		}
		step++
		epochSum += bl
		epochSteps++
		if epochSteps == epoch || step == cfg.MaxSteps {
			if cfg.Progress != nil {
				cfg.Progress(step, epochSum/float64(epochSteps))
			}
			if epochSum/float64(epochSteps) <= 10*cfg.LossTarget || step == cfg.MaxSteps {
				if loss, err = FullLoss(p, theta); err != nil {
					return Run{}, err
				}
			}
			epochSum, epochSteps = 0, 0
		}
		if cfg.RecordEvery > 0 && step%cfg.RecordEvery == 0 && step < cfg.MaxSteps && !(loss <= cfg.LossTarget) {
			if rec, err = Measure(p, theta, cfg, step, false); err != nil {
				return Run{}, err
			}
			run.Records = append(run.Records, rec)
		}
	}
	final, st, chi, err := measureState(p, theta, cfg, step, true)
	if err != nil {
		return Run{}, err
	}
	run.Records = append(run.Records, final)
	run.State = st
	mean := 0.0
	for _, c := range chi {
		mean += c
	}
	mean /= float64(len(chi))
	for i, c := range chi {
		run.Chi = append(run.Chi, FeatureNorm{Model: p.Model, Width: p.Width, Sample: i, Chi: c, Ratio: c / mean})
	}
	run.Theta, run.Steps, run.FinalLoss = theta, step, final.Loss
	run.Converged = final.Loss <= cfg.LossTarget
	run.Seconds = time.Since(start).Seconds()
	return run, nil
}

// FullLoss is the training loss L(θ) = Σ e_i²/(2n) over the whole data set.
func FullLoss(p Problem, theta []float64) (float64, error) {
	out := make([]float64, p.Data.N)
	if err := p.Net.Outputs(out, theta, p.Data.X); err != nil {
		return 0, err
	}
	s := 0.0
	for i, f := range out {
		e := f - p.Data.Y[i]
		s += e * e
	}
	return s / (2 * float64(p.Data.N)), nil
}

// batcher deals the indices of the minibatches.
type batcher struct {
	n, b     int
	sampling Sampling
	rng      *rand.Rand
	perm     []int
	pos      int
	out      []int
}

func newBatcher(n, b int, s Sampling, rng *rand.Rand) *batcher {
	bt := &batcher{n: n, b: b, sampling: s, rng: rng, perm: make([]int, n), pos: n, out: make([]int, b)}
	for i := range bt.perm {
		bt.perm[i] = i
	}
	return bt
}

// next returns the indices of the next batch (valid until the next call).
func (bt *batcher) next() []int {
	if bt.sampling == WithReplacement {
		for k := range bt.out {
			bt.out[k] = bt.rng.IntN(bt.n)
		}
		return bt.out
	}
	if bt.pos == bt.n {
		bt.rng.Shuffle(bt.n, func(i, j int) { bt.perm[i], bt.perm[j] = bt.perm[j], bt.perm[i] })
		bt.pos = 0
	}
	end := min(bt.pos+bt.b, bt.n)
	batch := bt.perm[bt.pos:end]
	bt.pos = end
	return batch
}
