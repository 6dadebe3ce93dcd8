package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/flatmin/flatmin/numerics"
	"pgregory.net/rapid"
)

// This file is the harness every Network is checked with: checkNetwork on one
// case (θ, x, y), and drawCase to draw cases for a rapid property. A model
// whose forward pass has weights that are not in θ registers them with
// absModel.
//
// Rounding bounds. Write u = 2^-53 and γ_k = ku/(1-ku) (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1; γ_j + γ_k + γ_jγ_k <= γ_{j+k}).
// A forward pass is a composition of dot products (one per layer, of length
// n_{l-1}, Gemm's FMA chains), bias additions and 1-Lipschitz activations
// with |σ(z)| <= |z|, so by induction over the layers the computed f is
// within γ_N·F_abs of the exact f, where F_abs is the exact forward pass of
// the absolute network (|θ|, |x|, and |W| for fixed weights): with
// non-negative weights and inputs no ReLU is ever clipped, so F_abs is the
// sum over all paths of the products of absolute values. N bounds the number
// of roundings on a path: Σ_l (n_{l-1} + 2) <= p + d + L <= 2p + d, as each
// layer has at least n_{l-1} parameters (for the RFM, d + m + 2 <= 2p + d),
// so N = 2p + d. Likewise the computed per-sample gradient (a backward pass,
// then one product) is within γ_N·G_abs of the exact one, G_abs being the
// per-sample gradients of the absolute network, which bound |g|
// componentwise. F_abs and G_abs are themselves computed, from non-negative
// terms, so each is at least (1 - γ_N) times the exact value, and
// γ_k/(1-γ_N) <= γ_{k+2N}: every bound below that uses computed magnitudes
// adds 2N to the index.

// unit is the unit roundoff u of float64.
const unit = 0x1p-53

// gamma is γ_k = ku/(1 - ku).
func gamma(k int) float64 {
	ku := float64(k) * unit
	return ku / (1 - ku)
}

// absModel returns net with its fixed, non-θ weights in absolute value, for
// the magnitudes F_abs and G_abs; the test-only wrappers are unwrapped.
func absModel(net Network) Network {
	switch m := net.(type) {
	case RFM:
		return RFM{M: m.M, D: m.D, W: absOf(m.W), S: math.Abs(m.S)}
	case broken:
		return absModel(m.Dense)
	}
	return net
}

func absOf(v []float64) []float64 {
	a := make([]float64, len(v))
	for i, x := range v {
		a[i] = math.Abs(x)
	}
	return a
}

// fdStats counts the (sample, coordinate) pairs of a finite-difference check
// and those skipped because the difference crossed a ReLU kink.
type fdStats struct{ pairs, skipped int }

// checkNetwork fails t unless net passes verifyNetwork on (θ, x, y), or if
// more than half of the finite differences were skipped.
func checkNetwork(t *rapid.T, net Network, theta, x, y []float64) fdStats {
	s, err := verifyNetwork(net, theta, x, y)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verifyNetwork checks the four methods of net against each other and
// against finite differences on (θ, x, y), and returns the first
// discrepancy beyond its rounding bound:
//
//   - every entry of PerSampleGradients against a central difference of
//     Outputs (checkFD), skipping those that cross a ReLU kink; more than half
//     skipped is an error;
//   - LossGradient against Σ e_i g_i/n from Outputs and PerSampleGradients;
//   - Gram against numerics.Gram of PerSampleGradients, and its outputs
//     against Outputs, bit for bit.
func verifyNetwork(net Network, theta, x, y []float64) (fdStats, error) {
	p, d := net.NumParams(), net.InputDim()
	n := len(x) / d
	nr := 2*p + d // N of the rounding bounds above
	f, q := make([]float64, n), make([]float64, n*p)
	fAbs, gAbs := make([]float64, n), make([]float64, n*p)
	abs, thetaAbs, xAbs := absModel(net), absOf(theta), absOf(x)
	for _, err := range []error{
		net.Outputs(f, theta, x),
		net.PerSampleGradients(q, theta, x),
		abs.Outputs(fAbs, thetaAbs, xAbs),
		abs.PerSampleGradients(gAbs, thetaAbs, xAbs),
	} {
		if err != nil {
			return fdStats{}, err
		}
	}
	s, err := checkFD(net, theta, x, f, q, fAbs, gAbs, nr)
	if err != nil {
		return s, err
	}
	if 2*s.skipped > s.pairs {
		return s, fmt.Errorf("%d of %d finite differences cross a kink", s.skipped, s.pairs)
	}
	if err := checkLoss(net, theta, x, y, f, q, gAbs, nr); err != nil {
		return s, err
	}
	return s, checkGram(net, theta, x, f, q, gAbs, nr)
}

// checkFD compares g_ik with the central difference
// (f(θ+) - f(θ-))/(θ+_k - θ-_k), θ± = θ ± h e_k rounded, h = 2^-12·max(1, |θ_k|).
//
// Why it is exact up to rounding: each θ_k enters one layer, linearly (a
// weight or a bias; the RFM's θ_j likewise), the layers above it are linear
// or, between ReLU kinks, linear too, and those below do not depend on it, so
// with a fixed ReLU pattern f is affine in θ_k, f(θ±) = f(θ) ± s± g_k with
// the actual steps s+ = θ+_k - θ_k, s- = θ_k - θ-_k, |s± - h| <= u(|θ_k| + h).
//
// Bounds: along the segment the absolute network is affine in its θ_k too,
// with slope G_abs,ik, so its size there is at most M = F_abs,i + h·G_abs,ik,
// and each computed f is within ε = γ_{3N}·M (computed magnitudes) of the
// exact one.
//   - Curvature c = f(θ+) + f(θ-) - 2f(θ) is (s+ - s-) g + 4ε at most
//     without a kink: |c| <= cTol = 4ε + 2u(|θ_k| + h)·G_abs,ik·(1 + γ_{3N}).
//     A larger |c| is a kink crossing: the pair is tried again with h/16,
//     h/256 and h/4096 (a kink at distance t > 0 from θ_k is not crossed
//     once h < t, and the bounds hold for any h), and skipped and counted if
//     all cross.
//   - Otherwise the difference is g_k(θ+_k - θ-_k) up to 2ε, and
//     fl(θ+_k - θ-_k) and the division add a relative 2u; a kink crossed
//     unseen (|c| <= cTol) changes the quotient by at most its true curvature
//     over the step, <= (cTol + 4ε)/|step| <= 2cTol/|step|; the computed g_k
//     is within γ_{3N}·G_abs,ik of the exact one. So
//     tol = (2ε + 2cTol)(1+2u)/|step| + (4u + γ_{3N})·G_abs,ik.
func checkFD(net Network, theta, x, f, q, fAbs, gAbs []float64, nr int) (fdStats, error) {
	const tries = 4 // h, h/16, h/256, h/4096
	p, n := len(theta), len(f)
	th := slices.Clone(theta)
	fp, fm := make([]float64, n), make([]float64, n)
	g3 := gamma(3 * nr)
	s := fdStats{pairs: n * p}
	pending := make([]int, 0, n)
	for k, tk := range theta {
		pending = pending[:0]
		for i := range n {
			pending = append(pending, i)
		}
		h := 0x1p-12 * max(1, math.Abs(tk))
		for try := 0; try < tries && len(pending) > 0; try, h = try+1, h/16 {
			th[k] = tk + h
			plus := th[k]
			if err := net.Outputs(fp, th, x); err != nil {
				return s, err
			}
			th[k] = tk - h
			minus := th[k]
			if err := net.Outputs(fm, th, x); err != nil {
				return s, err
			}
			th[k] = tk
			step := plus - minus
			kinked := pending[:0]
			for _, i := range pending {
				ga := gAbs[i*p+k]
				eps := g3 * (fAbs[i] + h*ga)
				cTol := 4*eps + 2*unit*(math.Abs(tk)+h)*ga*(1+g3)
				if c := fp[i] + fm[i] - 2*f[i]; math.Abs(c) > cTol {
					kinked = append(kinked, i)
					continue
				}
				fd := (fp[i] - fm[i]) / step
				tol := (2*eps+2*cTol)*(1+2*unit)/math.Abs(step) + (4*unit+g3)*ga
				if g := q[i*p+k]; math.Abs(fd-g) > tol {
					return s, fmt.Errorf("finite difference: sample %d, θ[%d] = %v, h = %v: g = %v, difference %v, |Δ| = %.3g > tol %.3g", i, k, tk, h, g, fd, math.Abs(fd-g), tol)
				}
			}
			pending = kinked
		}
		s.skipped += len(pending)
	}
	return s, nil
}

// checkLoss compares LossGradient with Σ_i e_i g_i/n and Σ e_i²/(2n), e_i =
// f_i - y_i. Both compute e from the same forward pass, so they share the
// bits of e and differ by the roundings of the gradients (γ_N, computed
// magnitudes γ_{3N}), of the sums over n samples and of the scaling by 1/n:
// each is within γ_{3N+n+2}·Σ_i |e_i| G_abs,ik/n of Σ e_i g_ik/n, and the two
// losses within γ_{n+2}·Σ e_i²/(2n) of the exact one.
func checkLoss(net Network, theta, x, y, f, q, gAbs []float64, nr int) error {
	p, n := len(theta), len(f)
	grad := make([]float64, p)
	loss, err := net.LossGradient(grad, theta, x, y)
	if err != nil {
		return err
	}
	want, mag := make([]float64, p), make([]float64, p)
	sq := 0.0
	for i := range n {
		e := f[i] - y[i]
		sq += e * e
		for k := range p {
			want[k] += e * q[i*p+k]
			mag[k] += math.Abs(e) * gAbs[i*p+k]
		}
	}
	if d := math.Abs(loss - sq/float64(2*n)); d > 2*gamma(n+2)*sq/float64(2*n) {
		return fmt.Errorf("LossGradient: loss %v, Σe²/(2n) = %v", loss, sq/float64(2*n))
	}
	g := gamma(3*nr + n + 2)
	for k := range p {
		w := want[k] / float64(n)
		if d := math.Abs(grad[k] - w); d > 2*g*mag[k]/float64(n) {
			return fmt.Errorf("LossGradient: ∂L/∂θ[%d] = %v, Σe_i g_i/n = %v, |Δ| = %.3g > %.3g", k, grad[k], w, d, 2*g*mag[k]/float64(n))
		}
	}
	return nil
}

// checkGram compares Gram with numerics.Gram(Q) and its outputs with Outputs
// bit for bit. numerics.Gram of the computed Q is within γ_{p+2N} of
// K = Σ_k g_ik g_jk relative to K_abs = Σ_k G_abs,ik G_abs,jk (a sum of p
// products of values each within γ_N). A layer-wise Gram (Dense.Gram)
// multiplies two Grams of computed activations and signals (each within
// γ_{n_l+2N}), adds 1 and sums L layers: within γ_{4N+n_{l-1}+n_l+L+2} <=
// γ_{6N}. So the two differ by at most 2γ_{6N} K_abs, and the computed
// K_abs, from non-negative terms, needs 2N + p <= 3N more: 2γ_{9N} K_abs.
func checkGram(net Network, theta, x, f, q, gAbs []float64, nr int) error {
	p, n := len(theta), len(f)
	k, out := make([]float64, n*n), make([]float64, n)
	if err := net.Gram(k, out, theta, x); err != nil {
		return err
	}
	for i := range f {
		if math.Float64bits(out[i]) != math.Float64bits(f[i]) {
			return fmt.Errorf("Gram: output %d = %v, Outputs gives %v", i, out[i], f[i])
		}
	}
	want, kAbs := make([]float64, n*n), make([]float64, n*n)
	numerics.Gram(want, q, n, p)
	numerics.Gram(kAbs, gAbs, n, p)
	g := 2 * gamma(9*nr)
	for i := range k {
		if d := math.Abs(k[i] - want[i]); d > g*kAbs[i] {
			return fmt.Errorf("Gram: K[%d][%d] = %v, QQᵀ = %v, |Δ| = %.3g > %.3g", i/n, i%n, k[i], want[i], d, g*kAbs[i])
		}
	}
	return nil
}

// drawCase draws θ, x and y for net: n in 1..5 samples, each row of x
// Gaussian, zero, or a copy of an earlier row; θ and x Gaussian at scales
// 10^a, a ∈ [-3, 3]; labels standard Gaussian. The values come from a PCG
// seeded by rapid, the structure from rapid itself.
func drawCase(t *rapid.T, net Network) (theta, x, y []float64) {
	p, d := net.NumParams(), net.InputDim()
	n := rapid.IntRange(1, 5).Draw(t, "n")
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0))
	ts := math.Pow(10, rapid.Float64Range(-3, 3).Draw(t, "log10 θ scale"))
	xs := math.Pow(10, rapid.Float64Range(-3, 3).Draw(t, "log10 x scale"))
	theta = make([]float64, p)
	for k := range theta {
		theta[k] = ts * rng.NormFloat64()
	}
	x = make([]float64, n*d)
	for i := range n {
		row := x[i*d : (i+1)*d]
		switch kind := rapid.IntRange(0, 2).Draw(t, "row kind"); {
		case kind == 1:
			// a zero row
		case kind == 2 && i > 0:
			j := rapid.IntRange(0, i-1).Draw(t, "copy of")
			copy(row, x[j*d:(j+1)*d])
		default:
			for b := range row {
				row[b] = xs * rng.NormFloat64()
			}
		}
	}
	y = make([]float64, n)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	return theta, x, y
}
