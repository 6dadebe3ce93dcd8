package experiment

import (
	"errors"
	"math"

	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// Measure returns the record of the network at θ after step steps of cfg:
// the Gram K = QQᵀ accumulated by the model (never Q itself) and the
// residuals e_i = f(x_i; θ) - y_i give every quantity through eq. (11).
// With final, the record also carries μ0 of the linearized model at these
// features and the bounds of Theorem 3.3 and of GD for cfg's η and B.
func Measure(p Problem, theta []float64, cfg Config, step int, final bool) (Record, error) {
	r, _, _, err := measureState(p, theta, cfg, step, final)
	return r, err
}

// stateAt is the network at θ as the paper sees it: the Gram K = QQᵀ,
// accumulated by the model without Q, and the residuals e_i = f(x_i; θ) - y_i.
func stateAt(p Problem, theta []float64) (*theory.State, error) {
	n := p.Data.N
	k := make([]float64, n*n)
	out := make([]float64, n)
	if err := p.Net.Gram(k, out, theta, p.Data.X); err != nil {
		return nil, err
	}
	e := make([]float64, n)
	for i, f := range out {
		e[i] = f - p.Data.Y[i]
	}
	return theory.NewStateGram(k, n, p.Net.NumParams(), e)
}

// measureState is Measure, also returning the state and χ_i of every sample.
func measureState(p Problem, theta []float64, cfg Config, step int, final bool) (Record, *theory.State, []float64, error) {
	n := p.Data.N
	st, err := stateAt(p, theta)
	if err != nil {
		return Record{}, nil, nil, err
	}
	nan := math.NaN()
	g, err := st.Geometry()
	if err != nil {
		return Record{}, nil, nil, err
	}
	r := Record{Model: p.Model, Width: p.Width, P: p.Net.NumParams(), N: n, Seed: cfg.Seed,
		Eta: cfg.Eta, Batch: cfg.Batch, Step: step, Loss: st.Loss(),
		Gamma: g.Gamma, Tau: g.Tau, Flatness: g.FroG, LambdaMax: g.LambdaMax, TraceG: g.TraceG, Rank: g.Rank,
		Alpha: nan, Beta: nan, Mu: nan, Mu1: nan, Mu2: nan, Mu0: nan, BoundThm33: nan, BoundGD: nan}
	switch nz, err := st.Noise(); {
	case err == nil:
		r.Alpha, r.Beta, r.Mu, r.Mu1, r.Mu2 = nz.Alpha, nz.Beta, nz.Mu, nz.Mu1, nz.Mu2
	case !errors.Is(err, theory.ErrZeroLoss): // at zero loss the ratios are undefined: NaN
		return Record{}, nil, nil, err
	}
	if final {
		o, err := oracle.NewOracleFromState(st)
		if err != nil {
			return Record{}, nil, nil, err
		}
		sgd := theory.SGD{Eta: cfg.Eta, Batch: cfg.Batch}
		if r.Mu0, err = o.Mu0(); err != nil {
			return Record{}, nil, nil, err
		}
		if r.BoundThm33, err = sgd.BoundThm33(r.Mu0); err != nil {
			return Record{}, nil, nil, err
		}
		r.BoundGD = sgd.BoundGDFro(g.Rank)
	}
	return r, st, g.Chi, nil
}
