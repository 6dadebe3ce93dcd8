package main

import (
	"fmt"
	"io"
	"math"

	"github.com/flatmin/flatmin/theory"
)

// A Gram given with --gram was summed elsewhere, typically in float32 on a
// GPU, K = Σ over parameter shards of Q_s Q_sᵀ. Its rounding makes it
// slightly asymmetric (K_ij and K_ji summed in different orders) and
// slightly indefinite. How much is acceptable follows from a model of that
// rounding:
//
// Each entry is a sum of p products g_ik·g_jk. Summed in float32 (unit
// roundoff u = 2^-24) in any order, its error is at most
// λ·sqrt(p)·u·Σ_k |g_ik g_jk| with probability at least 1 - 2p·e^(-λ²/2)
// when the rounding errors are independent and of mean zero (Higham and
// Mary, "A new approach to probabilistic rounding error analysis", SIAM J.
// Sci. Comput. 41(5), 2019, Theorem 2.4; the worst case p·u is reached only
// by errors that all conspire). With λ = 10 that probability of failure is
// 2p·e^-50 ≈ 3.9e-22·p an entry, under 4e-5 for all n² = 1e8 entries of
// n = 10,000 samples at p = 1e9 parameters. By Cauchy–Schwarz
// Σ_k |g_ik g_jk| <= ‖g_i‖‖g_j‖ = sqrt(K_ii K_jj), so every entry's error is
// at most t·sqrt(K_ii K_jj) with
//
//	t = 10·sqrt(p)·2^-24   (p = --params, or 2^30 when it is not given: t ≈ 0.0195).
//
// Two consequences, with K̃ the given Gram and K the exact one (and
// K_ii <= K̃_ii/(1 - t), since the diagonal's own error is at most t·K_ii):
//
//   - asymmetry: |K̃_ij - K̃_ji| <= 2t·sqrt(K_ii K_jj) <= 2t/(1-t)·max|K̃|;
//   - indefiniteness: after symmetrizing, K̃ = K + E with
//     ‖E‖_2 <= ‖E‖_F <= t·sqrt(Σ_ij K_ii K_jj) = t·Tr(K), so
//     λ_n(K̃) >= λ_n(K) - ‖E‖_2 >= -t/(1-t)·Tr(K̃). (A rank-one E = -t·ddᵀ,
//     d_i = sqrt(K_ii), reaches the bound: no sharper bound holds without
//     more knowledge of K.)
//
// A Gram beyond either limit is not a float32 rounding of QQᵀ (a wrong
// matrix, shards subtracted, a Hessian) and is refused; within them it is
// symmetrized, (K̃ + K̃ᵀ)/2, and both figures are reported. t is capped at
// 1/2 (p beyond 1.7e11), where float32 sums carry no information anyway.

// gramRoundoff is t of the model above for p parameters (0: unknown).
func gramRoundoff(p int) float64 {
	pf := float64(p)
	if p == 0 {
		pf = 1 << 30
	}
	return math.Min(10*math.Sqrt(pf)*0x1p-24, 0.5)
}

// readGram reads K from --gram, checks its asymmetry and symmetrizes it.
func (in *inputs) readGram() error {
	n := in.n
	k := make([]float64, n*n)
	w := max(1, min(n, int(streamBudget/in.src.ColumnBytes())))
	block := make([]float64, n*w)
	for c := 0; ; {
		got, err := in.src.Next(block, w)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		for i := range n {
			copy(k[i*n+c:i*n+c+got], block[i*got:(i+1)*got])
		}
		c += got
	}
	kMax, asym, ai, aj := 0.0, 0.0, 0, 0
	for i := range n {
		for j := range n {
			kMax = math.Max(kMax, math.Abs(k[i*n+j]))
			if j < i {
				if d := math.Abs(k[i*n+j] - k[j*n+i]); d > asym {
					asym, ai, aj = d, i, j
				}
			}
		}
	}
	if kMax == 0 {
		return in.blame(fmt.Errorf("%w", theory.ErrZeroGram))
	}
	// K_ij - K_ji can overflow where both are near the largest float64;
	// halved, it cannot.
	if math.IsInf(asym, 0) {
		asym = 2 * math.Abs(k[ai*n+aj]/2-k[aj*n+ai]/2)
	}
	in.asym = asym / kMax
	t := gramRoundoff(in.p)
	if limit := 2 * t / (1 - t); in.asym > limit {
		return fmt.Errorf("%s: not a Gram matrix: |K[%d, %d] - K[%d, %d]|/max|K| = %.3g, more asymmetric than the %.3g that float32 rounding of %s allows (see flatmin measure --help)",
			in.gramPath, ai, aj, aj, ai, in.asym, limit, in.pText())
	}
	for i := range n {
		for j := range i {
			// a/2 + b/2 is exact but for subnormal halves, and the same
			// number for (i, j) and (j, i).
			v := k[i*n+j]/2 + k[j*n+i]/2
			k[i*n+j], k[j*n+i] = v, v
		}
	}
	in.k, in.kExp = k, 0
	return nil
}

// pText says which p the rounding model used.
func (in inputs) pText() string {
	if in.p == 0 {
		return "p = 2^30 parameters (give --params P for yours)"
	}
	return fmt.Sprintf("p = %d parameters", in.p)
}

// gramRows adjusts the rows of a report for the inputs and appends the
// two that describe K: the p row is null when p is unknown, and a --gram
// whose smallest eigenvalue lies beyond the limit of the rounding model is
// refused. λ_n is computed when withMin is set or K came from --gram (it
// costs an eigen-decomposition that stability does not otherwise make).
func (in inputs) gramRows(st *theory.State, rows []row, withMin bool) ([]row, error) {
	if in.p == 0 {
		for i := range rows {
			if rows[i].key == "p" {
				rows[i].value, rows[i].doc = nil, "parameters: unknown (a --gram without --params)"
			}
		}
	}
	var lmin any
	if withMin || in.gramPath != "" {
		spec, err := st.Spectrum()
		if err != nil {
			return nil, in.blame(err)
		}
		l := spec[len(spec)-1]
		lmin = l
		if in.gramPath != "" {
			g, err := st.Geometry()
			if err != nil {
				return nil, in.blame(err)
			}
			t := gramRoundoff(in.p)
			if limit := t / (1 - t); l < -limit*g.TraceG {
				return nil, fmt.Errorf("%s: not a Gram matrix: its smallest eigenvalue is %.3g·Tr(K), more negative than the -%.3g·Tr(K) that float32 rounding of %s allows (see flatmin measure --help)",
					in.gramPath, l/g.TraceG, limit, in.pText())
			}
		}
	}
	return append(rows,
		row{"gram_asymmetry", in.asym, "max|K - Kᵀ|/max|K| of --gram, before it is symmetrized (0 with --grads: K is formed symmetric)"},
		row{"gram_lambda_min", lmin, "λ_n(K)/n, the smallest eigenvalue of K/n: >= 0 for a Gram but for rounding"},
	), nil
}

// missingNote says why measure's table has values missing: p without
// --params, the bounds without --lr and --batch.
func missingNote(in inputs, sgd *theory.SGD) string {
	switch {
	case in.p == 0 && sgd == nil:
		return "p needs --params; the rest needs --lr and --batch"
	case in.p == 0:
		return "p needs --params"
	}
	return "needs --lr and --batch"
}
