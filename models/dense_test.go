package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/numerics"
	"pgregory.net/rapid"
)

// drawDense draws a Dense network: d and the hidden widths in 1..6, 0 to 3
// hidden layers, with the given activation and biases.
func drawDense(t *rapid.T, act Activation, bias bool) Dense {
	d := rapid.IntRange(1, 6).Draw(t, "d")
	widths := rapid.SliceOfN(rapid.IntRange(1, 6), 0, 3).Draw(t, "widths")
	m, err := NewDense(act, bias, KaimingNormal, d, widths...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDenseProperties runs the harness on random networks of every
// activation and bias choice: the FCN's (ReLU, biases) and the linear
// network's (identity, no biases) among them. The identity network has no
// kinks, so it must never skip a finite difference.
func TestDenseProperties(t *testing.T) {
	for _, c := range []struct {
		name string
		act  Activation
		bias bool
	}{{"fcn", ReLU, true}, {"relu-nobias", ReLU, false}, {"linear", Identity, false}, {"affine", Identity, true}} {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				m := drawDense(t, c.act, c.bias)
				theta, x, y := drawCase(t, m)
				s := checkNetwork(t, m, theta, x, y)
				if c.act == Identity && s.skipped > 0 {
					t.Fatalf("linear network: %d of %d finite differences skipped", s.skipped, s.pairs)
				}
			})
		})
	}
}

// TestFCNValues: the FCN 2 → 2 → 1 by hand. θ = (W_1, b_1, W_2, b_2) with
// W_1 = [1 -1; 2 1], b_1 = (0.5, -1), W_2 = [3 -2], b_2 = 0.25.
//
// x_1 = (1, 2): z_1 = (1 - 2 + 0.5, 2 + 2 - 1) = (-0.5, 3), a_1 = (0, 3),
// f = 0 - 6 + 0.25 = -5.75. Backward: δ_2 = 1, so ∂f/∂W_2 = a_1 = (0, 3),
// ∂f/∂b_2 = 1; δ_1 = W_2ᵀ ∘ 1{z_1 > 0} = (0, -2), ∂f/∂W_1 = δ_1 x_1ᵀ =
// [0 0; -2 -4], ∂f/∂b_1 = (0, -2): g_1 = (0, 0, -2, -4, 0, -2, 0, 3, 1).
//
// x_2 = (0, 1): z_1 = (-0.5, 0), a_1 = (0, 0) (σ'(0) = 0), f = 0.25,
// g_2 = (0, …, 0, 1).
//
// K: g_1·g_1 = 4 + 16 + 4 + 9 + 1 = 34, g_1·g_2 = 1, g_2·g_2 = 1; layer-wise,
// layer 2 gives (a aᵀ + 1) ∘ 1 = [10 1; 1 1] and layer 1 (x xᵀ + 1) ∘ δ δᵀ =
// [6 3; 3 2] ∘ [4 0; 0 0] = [24 0; 0 0], the same sum.
//
// With y = (-6, 1): e = (0.25, -0.75), L = (1/16 + 9/16)/4 = 0.15625 and
// ∇L = (e_1 g_1 + e_2 g_2)/2 = (0, 0, -1/4, -1/2, 0, -1/4, 0, 3/8, -1/4).
// Every number is a dyadic rational, so all are exact.
func TestFCNValues(t *testing.T) {
	m, err := NewFCN(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	theta := []float64{1, -1, 2, 1, 0.5, -1, 3, -2, 0.25}
	x := []float64{1, 2, 0, 1}
	y := []float64{-6, 1}
	out, q := make([]float64, 2), make([]float64, 18)
	if err := m.Outputs(out, theta, x); err != nil {
		t.Fatal(err)
	}
	if err := m.PerSampleGradients(q, theta, x); err != nil {
		t.Fatal(err)
	}
	k := make([]float64, 4)
	if err := m.Gram(k, out, theta, x); err != nil {
		t.Fatal(err)
	}
	grad := make([]float64, 9)
	loss, err := m.LossGradient(grad, theta, x, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{
		{"f", out, []float64{-5.75, 0.25}},
		{"Q", q, []float64{0, 0, -2, -4, 0, -2, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"K", k, []float64{34, 1, 1, 1}},
		{"∇L", grad, []float64{0, 0, -0.25, -0.5, 0, -0.25, 0, 0.375, -0.25}},
		{"L", []float64{loss}, []float64{0.15625}},
	} {
		for i := range c.want {
			if c.got[i] != c.want[i] {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				break
			}
		}
	}
}

// TestDenseSizes: p of the A.1 networks. FCN 784 → 30 → 30 → 1:
// 784·30 + 30 + 30·30 + 30 + 30 + 1 = 24511. Linear 100 → 50 → 50 → 50 → 1:
// 5000 + 2500 + 2500 + 50 = 10050.
func TestDenseSizes(t *testing.T) {
	fcn, err := NewFCN(784, 30, 30)
	if err != nil {
		t.Fatal(err)
	}
	lin, err := NewLinearNet(100, 50, 50, 50)
	if err != nil {
		t.Fatal(err)
	}
	if p := fcn.NumParams(); p != 24511 {
		t.Errorf("FCN p = %d, want 24511", p)
	}
	if p := lin.NumParams(); p != 10050 {
		t.Errorf("linear p = %d, want 10050", p)
	}
}

// TestDenseInit: the empirical second moment s² = Σ w²/N of each weight
// matrix (N entries, mean 0 known) against its variance σ². s²/σ² has mean 1
// and standard deviation sqrt(κ/N), κ = Var(w²)/σ⁴: 2 for the Gaussian of
// kaiming_normal_ (σ² = 2/fan_in), 4/5 for the uniform of xavier_uniform_
// (E w⁴ = a⁴/5, σ² = a²/3). By the central limit theorem a deviation of 6
// standard deviations has probability about 2e-9; the seed is fixed anyway.
// The uniform's entries lie in [-a, a], and biases are zero.
func TestDenseInit(t *testing.T) {
	fcn, _ := NewFCN(784, 30, 30)
	lin, _ := NewLinearNet(100, 50, 50, 50)
	for _, c := range []struct {
		m     Dense
		kappa float64
		sigma func(in, out float64) float64 // σ²
	}{
		{fcn, 2, func(in, _ float64) float64 { return 2 / in }},
		{lin, 0.8, func(in, out float64) float64 { return 2 / (in + out) }},
	} {
		theta := c.m.Init(rand.New(rand.NewPCG(1, 2)))
		for l := 1; l <= c.m.depth(); l++ {
			w, b := c.m.layer(theta, l)
			in, out := float64(c.m.dims[l-1]), float64(c.m.dims[l])
			s2 := 0.0
			for _, v := range w {
				s2 += v * v
				if c.m.init == XavierUniform && math.Abs(v) > math.Sqrt(3*c.sigma(in, out)) {
					t.Errorf("layer %d: %v outside ±a", l, v)
				}
			}
			ratio := s2 / float64(len(w)) / c.sigma(in, out)
			if bound := 6 * math.Sqrt(c.kappa/float64(len(w))); math.Abs(ratio-1) > bound {
				t.Errorf("layer %d (%v): s²/σ² = %v, |s²/σ² - 1| > %v", l, c.m.dims, ratio, bound)
			}
			for _, v := range b {
				if v != 0 {
					t.Errorf("layer %d: bias %v", l, v)
				}
			}
		}
	}
}

// TestDenseProcs: every method gives the same bits with GOMAXPROCS 1 and 2,
// on a case large enough for Gemm and Gram to split their work (n·n_l·d well
// past their 2^18 threshold).
func TestDenseProcs(t *testing.T) {
	fcn, _ := NewFCN(784, 64, 64)
	lin, _ := NewLinearNet(100, 50, 50, 50)
	for _, m := range []Dense{fcn, lin} {
		rng := rand.New(rand.NewPCG(3, 4))
		n, d := 64, m.InputDim()
		theta := m.Init(rng)
		x, y := make([]float64, n*d), make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		run := func(procs int) [][]float64 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			out, q := make([]float64, n), make([]float64, n*m.p)
			k, kout, grad := make([]float64, n*n), make([]float64, n), make([]float64, m.p)
			loss, err := m.LossGradient(grad, theta, x, y)
			if err := errors.Join(err, m.Outputs(out, theta, x), m.PerSampleGradients(q, theta, x), m.Gram(k, kout, theta, x)); err != nil {
				t.Fatal(err)
			}
			return [][]float64{out, q, k, kout, grad, {loss}}
		}
		one, two := run(1), run(2)
		for r := range one {
			for i := range one[r] {
				if math.Float64bits(one[r][i]) != math.Float64bits(two[r][i]) {
					t.Fatalf("%v: result %d entry %d: %v with one proc, %v with two", m.dims, r, i, one[r][i], two[r][i])
				}
			}
		}
	}
}

// broken is a Dense with one deliberate bug, for the negative controls.
type broken struct {
	Dense
	bug string
}

const (
	bugGradTwice  = "per-sample gradients doubled"
	bugGradNoBias = "per-sample gradients without the bias entries"
	bugGramNoBias = "Gram without the bias term"
	bugLossNoMean = "loss gradient without the 1/n"
)

// dropBias zeroes the bias entries of each of the n rows of q.
func (b broken) dropBias(q []float64, n int) {
	for i := range n {
		for l := 1; l <= b.depth(); l++ {
			_, gb := b.layer(q[i*b.p:(i+1)*b.p], l)
			clear(gb)
		}
	}
}

func (b broken) PerSampleGradients(q, theta, x []float64) error {
	err := b.Dense.PerSampleGradients(q, theta, x)
	switch b.bug {
	case bugGradTwice:
		numerics.Scal(2, q)
	case bugGradNoBias:
		b.dropBias(q, len(q)/b.p)
	}
	return err
}

func (b broken) Gram(k, out, theta, x []float64) error {
	if b.bug != bugGramNoBias {
		return b.Dense.Gram(k, out, theta, x)
	}
	n := len(out)
	q := make([]float64, n*b.p)
	err := errors.Join(b.Dense.PerSampleGradients(q, theta, x), b.Dense.Outputs(out, theta, x))
	b.dropBias(q, n)
	numerics.Gram(k, q, n, b.p)
	return err
}

func (b broken) LossGradient(grad, theta, x, y []float64) (float64, error) {
	loss, err := b.Dense.LossGradient(grad, theta, x, y)
	if b.bug == bugLossNoMean {
		numerics.Scal(float64(len(y)), grad)
	}
	return loss, err
}

// TestNegativeControls: the harness passes the FCN on a fixed case and
// rejects each broken variant of it there, each by the check meant for it.
func TestNegativeControls(t *testing.T) {
	m, _ := NewFCN(3, 4, 3)
	rng := rand.New(rand.NewPCG(5, 6))
	theta := make([]float64, m.p)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	x := []float64{1, -0.5, 2, 0.3, 0.7, -1.2, -0.4, 1.1, 0.9}
	y := []float64{0.5, -1, 2}
	if _, err := verifyNetwork(m, theta, x, y); err != nil {
		t.Fatalf("the correct FCN fails: %v", err)
	}
	for bug, check := range map[string]string{
		bugGradTwice:  "finite difference",
		bugGradNoBias: "finite difference",
		bugGramNoBias: "Gram",
		bugLossNoMean: "LossGradient",
	} {
		_, err := verifyNetwork(broken{m, bug}, theta, x, y)
		if err == nil || !strings.HasPrefix(err.Error(), check) {
			t.Errorf("%s: error %v, want one from the %s check", bug, err, check)
		}
	}
}

// TestDenseBadInput: wrong lengths and non-finite values are typed errors,
// and a zero Dense neither panics nor computes.
func TestDenseBadInput(t *testing.T) {
	m, _ := NewFCN(2, 3)
	theta := m.Init(rand.New(rand.NewPCG(1, 1)))
	x, y := []float64{1, 2, 3, 4}, []float64{0, 1}
	out, q, k, grad := make([]float64, 2), make([]float64, 2*m.p), make([]float64, 4), make([]float64, m.p)
	nan := func(v []float64, i int) []float64 {
		c := append([]float64(nil), v...)
		c[i] = math.NaN()
		return c
	}
	inf := append([]float64(nil), x...)
	inf[3] = math.Inf(-1)
	loss := func(grad, theta, x, y []float64) error {
		_, err := m.LossGradient(grad, theta, x, y)
		return err
	}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"zero width", func() error { _, err := NewFCN(2, 0); return err }(), ErrShape},
		{"short θ", m.Outputs(out, theta[1:], x), ErrShape},
		{"NaN θ", m.Gram(k, out, nan(theta, 5), x), ErrNotFinite},
		{"ragged x", m.PerSampleGradients(q, theta, x[:3]), ErrShape},
		{"empty x", m.Outputs(out[:0], theta, nil), ErrShape},
		{"Inf x", loss(grad, theta, inf, y), ErrNotFinite},
		{"NaN y", loss(grad, theta, x, nan(y, 1)), ErrNotFinite},
		{"short y", loss(grad, theta, x, y[:1]), ErrShape},
		{"short grad", loss(grad[1:], theta, x, y), ErrShape},
		{"short out", m.Outputs(out[:1], theta, x), ErrShape},
		{"short q", m.PerSampleGradients(q[1:], theta, x), ErrShape},
		{"short K", m.Gram(k[1:], out, theta, x), ErrShape},
		{"zero Dense", Dense{}.Outputs(out, theta, x), ErrShape},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := NewDense(Activation(7), true, KaimingNormal, 2, 3); err == nil {
		t.Error("unknown activation accepted")
	}
}

// fcnBatch returns A.1's FCN (784 → 30 → 30 → 1) at its initialization and
// n Gaussian inputs and labels.
func fcnBatch(b *testing.B, n int) (m Dense, theta, x, y []float64) {
	m, err := NewFCN(784, 30, 30)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	theta = m.Init(rng)
	x, y = make([]float64, n*784), make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	return m, theta, x, y
}

// BenchmarkFCNLossGradient: one SGD step's gradient of A.1's FCN on a batch
// of B = 5.
func BenchmarkFCNLossGradient(b *testing.B) {
	m, theta, x, y := fcnBatch(b, 5)
	grad := make([]float64, m.p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.LossGradient(grad, theta, x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFCNGram: K (n = 1000) of A.1's FCN.
func BenchmarkFCNGram(b *testing.B) {
	const n = 1000
	m, theta, x, _ := fcnBatch(b, n)
	k, out := make([]float64, n*n), make([]float64, n)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Gram(k, out, theta, x); err != nil {
			b.Fatal(err)
		}
	}
}
