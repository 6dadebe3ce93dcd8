package main

import (
	"fmt"
	"math"
	"strings"
)

// lossConvention is a loss a user may have trained with, and the factor
// that turns its learning rate into the paper's η.
//
// The paper's SGD (eq. 2, and its linearization eq. 5) on the loss
// L = Σ e_i²/(2n), with ℓ_i = e_i²/2 and ∇ℓ_i = e_i g_i (g_i = ∇f(x_i; θ)),
// takes the step
//
//	θ ← θ - (η/B) Σ_{i∈batch} ∇ℓ_i = θ - (η/B) Σ_{i∈batch} e_i g_i.
//
// torch.nn.MSELoss(reduction='mean') on a batch of B scalar outputs is
// (1/B) Σ e_i², whose gradient is (2/B) Σ e_i g_i: plain SGD with learning
// rate lr steps by lr·(2/B) Σ e_i g_i, the paper's step at η = 2·lr.
// MSELoss(reduction='sum') is Σ e_i², gradient 2 Σ e_i g_i: the step
// lr·2 Σ e_i g_i is the paper's at η/B = 2·lr, η = 2·B·lr. Everything the
// paper bounds scales with η (Theorem 3.3: ‖H‖_F <= sqrt(B/μ0)/η), so a
// learning rate passed unconverted puts every bound off by that factor.
//
// The conversion holds for plain SGD (no momentum, no weight decay) on a
// model with one output per sample, with every batch of size B.
type lossConvention struct {
	name   string
	what   string  // the loss in words, for the help and the table
	factor string  // η in terms of lr, as printed
	mulB   bool    // the factor has a B in it
	mul    float64 // η = mul·lr, times B when mulB
}

// lossConventions are the values of --loss; the first is the default.
var lossConventions = []lossConvention{
	{name: "paper", what: "the paper's L = Σ e_i²/(2n)", factor: "lr", mul: 1},
	{name: "mse-mean", what: "PyTorch's MSELoss(reduction='mean'), the mean of e_i²", factor: "2·lr", mul: 2},
	{name: "mse-sum", what: "PyTorch's MSELoss(reduction='sum') over a batch of B", factor: "2·B·lr", mul: 2, mulB: true},
}

// lossFlag defines --loss on fs.
func lossFlag(fs *flagSet) *string {
	names := make([]string, len(lossConventions))
	for i, c := range lossConventions {
		names[i] = c.name
	}
	return fs.String("loss", lossConventions[0].name,
		"the loss --lr was used with: "+strings.Join(names, ", ")+" (see Learning rates above)")
}

// lossHelp is the paragraph of the help of measure and stability on --loss.
const lossHelp = `Learning rates: --lr is the learning rate you trained with, and --loss
names the loss it was used with, so that flatmin can convert it to the η of
the paper's loss L = Σ e_i²/(2n), which every bound assumes:
  --loss paper     L = Σ e_i²/(2n): η = lr (the default)
  --loss mse-mean  PyTorch's MSELoss() (reduction='mean'): η = 2·lr
  --loss mse-sum   MSELoss(reduction='sum'), batches of B: η = 2·B·lr
(plain SGD, no momentum or weight decay). The η used is printed.`

// findLoss returns the convention named name.
func findLoss(name string) (lossConvention, error) {
	for _, c := range lossConventions {
		if c.name == name {
			return c, nil
		}
	}
	names := make([]string, len(lossConventions))
	for i, c := range lossConventions {
		names[i] = c.name
	}
	return lossConvention{}, fmt.Errorf("--loss must be one of %s, got %q", strings.Join(names, ", "), name)
}

// paperEta converts the learning rate lr, used with batches of B on the loss
// c, to the paper's η. lr and B are valid (theory.SGD.Validate); the error
// is an η that overflows.
func (c lossConvention) paperEta(lr float64, batch int) (float64, error) {
	eta := c.mul * lr
	if c.mulB {
		eta *= float64(batch)
	}
	if math.IsInf(eta, 0) {
		return 0, fmt.Errorf("--lr: %v with --loss %s is η = %s = %v, beyond float64", lr, c.name, c.factor, eta)
	}
	return eta, nil
}

// etaLine says which η the bounds use, for the table's header.
func (c lossConvention) etaLine(lr, eta float64) string {
	if c.mul == 1 && !c.mulB {
		return fmt.Sprintf("%g with --loss %s (%s): η = lr = %g", lr, c.name, c.what, eta)
	}
	return fmt.Sprintf("%g with --loss %s (%s): the paper's η = %s = %g", lr, c.name, c.what, c.factor, eta)
}
