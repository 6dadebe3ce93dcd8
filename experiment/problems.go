package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/fixtures/mnist"
	"github.com/flatmin/flatmin/models"
)

// Models are the four models of Appendix A.1, in the paper's order.
var Models = []string{"rfm", "linear", "fcn", "cnn"}

// Setting is a model's configuration in Appendix A.1: its default width,
// sample size and input dimension, and the SGD that trains it, with the
// stopping rule this suite chose (A.1 gives none for the small models).
type Setting struct {
	Width, N, D int
	Eta         float64
	Batch       int
	// LossTarget is 1e-5, the threshold A.1 gives for its larger models
	// ("until the training loss becomes smaller than 1e-5"): near a global
	// minimum G is the Hessian up to O(sqrt(L)), so the measured flatness is
	// the flatness of the minimum. MaxSteps caps a run that stalls (an RFM
	// whose smallest eigenvalues of G are tiny converges slowly in their
	// directions); a capped run is reported as not converged.
	LossTarget float64
	MaxSteps   int
	// RecordEvery spaces the records along training (Figures 1a, 2a).
	RecordEvery int
}

// settings of Appendix A.1 (the step caps and record intervals are ours).
var settings = map[string]Setting{
	"rfm":    {Width: 2000, N: 200, D: 10, Eta: 0.003, Batch: 5, LossTarget: 1e-5, MaxSteps: 400_000, RecordEvery: 20_000},
	"linear": {Width: 50, N: 50, D: 100, Eta: 0.1, Batch: 5, LossTarget: 1e-5, MaxSteps: 100_000, RecordEvery: 500},
	"fcn":    {Width: 30, N: 1000, D: 784, Eta: 0.05, Batch: 5, LossTarget: 1e-5, MaxSteps: 200_000, RecordEvery: 2_000},
	"cnn":    {Width: 20, N: 1000, D: 784, Eta: 0.1, Batch: 5, LossTarget: 1e-5, MaxSteps: 60_000, RecordEvery: 2_000},
}

// Settings returns the A.1 setting of a model.
func Settings(model string) (Setting, error) {
	s, ok := settings[model]
	if !ok {
		return Setting{}, fmt.Errorf("unknown model %q (known: rfm, linear, fcn, cnn)", model)
	}
	return s, nil
}

// Spec names one network of Appendix A.1 on its data set.
type Spec struct {
	Model string // rfm, linear, fcn or cnn
	Width int    // m; 0 means the A.1 default
	N     int    // training samples; 0 means the A.1 default
	// Seed draws the data (the MNIST subset, the Gaussian inputs, the RFM's
	// fixed weights); the run's Config.Seed draws θ_0 and the batches.
	Seed uint64
	// Literal builds A.1 as printed where it cannot train (see Reading).
	Literal bool
	// TorchInit initializes the FCN as PyTorch does by default (weights and
	// biases U(±1/sqrt(fan_in))) instead of A.1's Kaiming-He: the reading
	// under which the CNN trains, tried on the FCN to explain its flatness.
	TorchInit bool
}

// Reading says how a model is built where Appendix A.1 taken literally
// cannot train at its learning rate: λ_1(G) at initialization far above
// 2/η makes even GD diverge (Section 3.1), whatever the batch.
func Reading(model string, literal, torchInit bool) string {
	switch {
	case model == "fcn" && torchInit:
		return "PyTorch's default initialization: weights and biases U(±1/sqrt(fan_in)), not A.1's Kaiming-He"
	case model == "rfm" && literal:
		return "features ReLU(w_jᵀx), w_j ~ N(0, I_d), as printed"
	case model == "rfm":
		return "features ReLU(w_jᵀx)/sqrt(m), w_j ~ N(0, I_d): the usual random-feature scaling"
	case model == "linear" && literal:
		return "Xavier-uniform weights (gain 1), no biases, as printed"
	case model == "linear":
		return linearReading
	case model == "cnn" && !literal:
		return cnnReading
	}
	return "Kaiming-He (kaiming_normal_, fan_in) on every weight, biases zero, as printed" // the FCN, and the CNN with --literal
}

// cnnReading is how the CNN is built: A.1's Kaiming-He initialization taken
// literally starts Table 1's CNN (m = 20, n = 1000) at λ_1(G) = 196, 68 and
// 105 on seeds 1-3, well above 2/η = 20, and SGD diverges within a few
// steps; PyTorch's default initialization of Conv2d and Linear, itself a
// Kaiming-uniform scheme (a = sqrt(5)), starts it at λ_1 between 1.5 and
// 2.3 and trains.
const cnnReading = "PyTorch's default initialization (kaiming_uniform_, a = sqrt(5)): weights and biases U(±1/sqrt(fan_in)); A.1's Kaiming-He read as the framework's Kaiming default"

// Limits checked before anything is allocated: the Gram K is n x n float64
// (20000 samples: 3.2 GB), and a step holds a few vectors of p float64
// (2^28 parameters: 2 GB each).
const (
	maxSamples = 20_000
	maxParams  = 1 << 28
)

// paramCount is p of a model at width m, in float64 so that absurd widths
// do not overflow.
func paramCount(model string, m, d int) float64 {
	w, x := float64(m), float64(d)
	switch model {
	case "rfm":
		return w
	case "linear":
		return x*w + 2*w*w + w
	case "fcn":
		return x*w + w + w*w + w + w + 1
	}
	return 72*w*w + 64*w + 1 // cnn, Table 1
}

// streamRFMWeights is the PCG stream of the RFM's fixed weights.
const streamRFMWeights = 0x5246_4d57 // "RFMW"

// Build returns the network and the data set of a spec.
func Build(s Spec) (Problem, error) {
	set, err := Settings(s.Model)
	if err != nil {
		return Problem{}, err
	}
	if s.Width == 0 {
		s.Width = set.Width
	}
	if s.N == 0 {
		s.N = set.N
	}
	if s.Width < 1 || s.N < 1 {
		return Problem{}, fmt.Errorf("%s: width %d and n %d must be >= 1", s.Model, s.Width, s.N)
	}
	if s.N > maxSamples {
		return Problem{}, fmt.Errorf("%s: n = %d samples: the n x n Gram of more than %d does not fit in memory here", s.Model, s.N, maxSamples)
	}
	if p := paramCount(s.Model, s.Width, set.D); p > maxParams {
		return Problem{}, fmt.Errorf("%s: width %d gives p = %.3g parameters, more than the %.3g this command trains (θ, its gradient and the scratch of a step are each p floats)", s.Model, s.Width, p, float64(maxParams))
	}
	p := Problem{Model: s.Model, Width: s.Width}
	switch s.Model {
	case "rfm":
		if p.Data, err = fixtures.RFMData(s.N, set.D, s.Seed); err != nil {
			return Problem{}, err
		}
		w := fixtures.Gaussians(rand.New(rand.NewPCG(s.Seed, streamRFMWeights)), s.Width*set.D)
		rfm, err := models.NewRFM(w, s.Width, set.D)
		if err != nil {
			return Problem{}, err
		}
		if !s.Literal {
			rfm = rfm.Scaled(1 / math.Sqrt(float64(s.Width)))
		}
		p.Net = rfm
	case "linear":
		if p.Data, err = fixtures.LinearNetData(s.N, set.D, s.Seed); err != nil {
			return Problem{}, err
		}
		p.Net, err = linearNet(set.D, s.Width, s.Literal)
	case "fcn", "cnn":
		if p.Data, err = mnistData(s.N, s.Seed); err != nil {
			return Problem{}, err
		}
		switch {
		case s.Model == "fcn" && s.TorchInit:
			p.Net, err = models.NewDense(models.ReLU, true, models.LinearDefault, set.D, s.Width, s.Width)
		case s.Model == "fcn":
			p.Net, err = models.NewFCN(set.D, s.Width, s.Width)
		default:
			var cnn models.CNN
			if cnn, err = models.NewCNN(s.Width); !s.Literal {
				cnn.Weights = models.LinearDefault
			}
			p.Net = cnn
		}
	}
	if err != nil {
		return Problem{}, err
	}
	return p, nil
}

var mnistSet = sync.OnceValues(mnist.Load)

// mnistData draws the binary MNIST training set of A.1: n digits of the
// embedded subset, labels 0 for digits 0-4 and 1 for 5-9, pixels in [0, 1].
func mnistData(n int, seed uint64) (fixtures.Dataset, error) {
	set, err := mnistSet()
	if err != nil {
		return fixtures.Dataset{}, err
	}
	x, y, _, err := set.Subset(n, seed)
	if err != nil {
		return fixtures.Dataset{}, err
	}
	return fixtures.Dataset{N: n, D: 784, X: x, Y: y}, nil
}

// linearReading is how the linear network is built: A.1's "default Xavier
// initialization" taken literally (xavier_uniform_, gain 1) starts at
// λ_1(G) between 46 and 59 on seeds 1-3, above 2/η = 20, where GD is
// unstable; PyTorch's default initialization of nn.Linear, which the word
// "default" may mean, starts near λ_1 = 1 and trains.
const linearReading = "PyTorch's default nn.Linear initialization U(±1/sqrt(fan_in)), no biases: A.1's \"default Xavier\" read as the default"

// linearNet is the four-layer linear network d → m → m → m → 1 of A.1,
// without biases (the model of Section 2.1).
func linearNet(d, m int, literal bool) (models.Network, error) {
	init := models.LinearDefault
	if literal {
		init = models.XavierUniform
	}
	return models.NewDense(models.Identity, false, init, d, m, m, m)
}
