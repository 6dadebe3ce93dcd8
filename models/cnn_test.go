package models

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/flatmin/flatmin/numerics"
	"pgregory.net/rapid"
)

// cnnGradDepth bounds the number of roundings along any path of the
// computation of a per-sample gradient: the forward sums (9·in + 1 per conv,
// 3 adds per pool, 49M + 1 for the head: ≤ 94M + 20 < p), the backward ones
// (out per patch gradient, ≤ 8 adds in col2im, the pool and head products:
// ≤ 6M + 40 < p) and the sum over at most 784 positions of dW = Dᵀ P:
// together below 2p + 1024.
func cnnGradDepth(p int) int { return 2*p + 1024 }

func randomInputs(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n*cnnIn)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// randomTheta is Kaiming-He θ times scale, with random biases.
func randomTheta(c CNN, rng *rand.Rand, scale float64) []float64 {
	theta := c.Init(rng)
	off, head := c.offsets()
	for l, s := range c.convs() {
		for o := range s.out {
			theta[off[l]+s.out*s.k()+o] = 0.1 * rng.NormFloat64()
		}
	}
	theta[head+49*c.M] = rng.NormFloat64()
	for i := range theta {
		theta[i] *= scale
	}
	return theta
}

func TestCNNNumParams(t *testing.T) {
	for _, m := range []int{1, 2, 3, 7, 20, 64} {
		c, err := NewCNN(m)
		if err != nil {
			t.Fatal(err)
		}
		// PyTorch's tensors: conv weights out·in·9 and biases out, the head.
		want := (m*1*9 + m) + (2*m*m*9 + 2*m) + (2*m*2*m*9 + 2*m) + (m*2*m*9 + m) + 49*m + 1
		if p := c.NumParams(); p != want || p != 72*m*m+64*m+1 {
			t.Errorf("m = %d: p = %d, want %d", m, p, want)
		}
		if _, head := c.offsets(); head+49*m+1 != want {
			t.Errorf("m = %d: offsets end at %d", m, head+49*m+1)
		}
		if got := len(c.Init(rand.New(rand.NewPCG(1, 2)))); got != want {
			t.Errorf("m = %d: len(Init) = %d", m, got)
		}
	}
	if c, _ := NewCNN(20); c.NumParams() != 30081 || c.InputDim() != 784 {
		t.Errorf("m = 20: p = %d, d = %d", c.NumParams(), c.InputDim())
	}
}

// TestCNNInit: weights have variance 2/fan_in, biases are zero.
func TestCNNInit(t *testing.T) {
	c, _ := NewCNN(8)
	theta := c.Init(rand.New(rand.NewPCG(3, 4)))
	off, head := c.offsets()
	check := func(name string, w []float64, fanIn int) {
		var ss float64
		for _, v := range w {
			ss += v * v
		}
		got, want := ss/float64(len(w)), 2/float64(fanIn)
		// The sample variance of N draws has relative sd √(2/N).
		if math.Abs(got/want-1) > 5*math.Sqrt(2/float64(len(w))) {
			t.Errorf("%s: variance %g, want %g", name, got, want)
		}
	}
	for l, s := range c.convs() {
		check(fmt.Sprint("conv", l+1), theta[off[l]:off[l]+s.out*s.k()], s.k())
		for _, b := range theta[off[l]+s.out*s.k() : off[l]+s.params()] {
			if b != 0 {
				t.Fatalf("conv%d: nonzero bias", l+1)
			}
		}
	}
	check("fc", theta[head:head+49*c.M], 49*c.M)
	if theta[len(theta)-1] != 0 {
		t.Fatal("fc: nonzero bias")
	}
}

// TestCNNHand: m = 2 and a single pixel x(3, 3) = 3. conv1 has only the tap
// (ky, kx) = (0, 1) from channel 0 to channel 0, = 1: the cross-correlation
// puts 3 at (4, 3). conv2, conv3, conv4 pass channel 0 by their centre tap
// (weight 1); ReLU keeps it; pool 1 takes (4, 3) to (2, 1) with value 3/4 and
// pool 2 to (1, 0) with value 3/16. conv4's channel 1 is its bias 1/2 alone,
// pooled to 1/2 everywhere. Flattened (C, H, W), features[7] = 3/16 and
// features[49..97] = 1/2; with fc.weight[k] = k + 1 and fc.bias = 1/4,
// f = 8·3/16 + (1/2)·Σ_{k=50}^{98} k + 1/4 = 1.5 + 1813 + 0.25 = 1814.75.
// Gradients: the head's are the features and 1; conv4.bias[1] collects
// 1/4·fc.weight over each pooled position 4 times, Σ_{k=50}^{98} k = 3626;
// conv1's tap gets x · (1/4)(1/4) · fc.weight[7] = 3·8/16 = 1.5.
func TestCNNHand(t *testing.T) {
	c, _ := NewCNN(2)
	p := c.NumParams()
	theta := make([]float64, p)
	off, head := c.offsets()
	convs := c.convs()
	w := func(l, o, i, ky, kx int) int { return off[l] + (o*convs[l].in+i)*9 + ky*3 + kx }
	theta[w(0, 0, 0, 0, 1)] = 1
	theta[w(1, 0, 0, 1, 1)] = 1
	theta[w(2, 0, 0, 1, 1)] = 1
	theta[w(3, 0, 0, 1, 1)] = 1
	bias4 := off[3] + convs[3].out*convs[3].k()
	theta[bias4+1] = 0.5
	for k := range 98 {
		theta[head+k] = float64(k + 1)
	}
	theta[p-1] = 0.25
	x := make([]float64, cnnIn)
	x[3*28+3] = 3

	out := make([]float64, 1)
	if err := c.Outputs(out, theta, x); err != nil {
		t.Fatal(err)
	}
	if out[0] != 1814.75 {
		t.Fatalf("f = %v, want 1814.75", out[0])
	}
	q := make([]float64, p)
	if err := c.PerSampleGradients(q, theta, x); err != nil {
		t.Fatal(err)
	}
	for k := range 98 {
		want := 0.0
		switch {
		case k == 7:
			want = 3.0 / 16
		case k >= 49:
			want = 0.5
		}
		if q[head+k] != want {
			t.Errorf("∂f/∂fc.weight[%d] = %v, want %v", k, q[head+k], want)
		}
	}
	if q[p-1] != 1 {
		t.Errorf("∂f/∂fc.bias = %v", q[p-1])
	}
	if q[bias4+1] != 3626 {
		t.Errorf("∂f/∂conv4.bias[1] = %v, want 3626", q[bias4+1])
	}
	if g := q[w(0, 0, 0, 0, 1)]; g != 1.5 {
		t.Errorf("∂f/∂conv1.weight[0,0,0,1] = %v, want 1.5", g)
	}
	k, gout := make([]float64, 1), make([]float64, 1)
	if err := c.Gram(k, gout, theta, x); err != nil {
		t.Fatal(err)
	}
	if gout[0] != out[0] || math.Abs(k[0]-numerics.Dot(q, q)) > 1e-12*k[0] {
		t.Errorf("Gram: K = %v, f = %v; want %v, %v", k[0], gout[0], numerics.Dot(q, q), out[0])
	}
}

// cnnFDCheck compares the per-sample gradients of c at θ with central
// differences of Outputs in the coordinates coords, and returns how many
// (coordinate, sample) pairs it skipped for a kink.
//
// Tolerance. With its ReLU pattern fixed, f is affine in any one coordinate
// θ_k (θ_k enters one layer linearly, the rest is linear), so a central
// difference is exact but for rounding. Each evaluation of f errs by at most
// γ_N·F_abs, with F_abs = Outputs(|θ| + h, |x|) (with non-negative weights
// and inputs no ReLU clips, so that is the absolute-value forward pass, and
// it grows with every |θ_j|), u = 2^-53, γ_N = N·u/(1-N·u) and N = p + 7
// (the forward depth is below p; 7 layers). So:
//   - a curvature |f(θ+h) + f(θ-h) - 2f(θ)| above 4γ_N·F_abs (plus the
//     rounding of that sum) means a kink was crossed: the pair is skipped.
//     Below it, one kink within [θ-h, θ+h] moves the difference quotient by
//     at most curvature/(2h) ≤ 4γ_N·F_abs/(2h).
//   - the two evaluations err by 2γ_N·F_abs together, divided by the actual
//     step 2h = (θ_k+h) - (θ_k-h);
//   - the backpropagated g_k errs by at most γ_{N_g}·G_abs,k (N_g from
//     cnnGradDepth), and G_abs,k ≤ F_abs/h because the absolute-value network
//     is affine in θ_k with a non-negative intercept;
//   - the subtraction and the division add 2u|g_k| each.
//
// Total: (6γ_N + 2γ_{N_g})·F_abs/(2h) + 4u|g_k|, h = cnnFDStep·max(1, |θ_k|).
func cnnFDCheck(c CNN, theta, x []float64, coords []int) (skipped int, err error) {
	p := c.NumParams()
	n := len(x) / cnnIn
	q := make([]float64, n*p)
	if err := c.PerSampleGradients(q, theta, x); err != nil {
		return 0, err
	}
	step := func(v float64) float64 { return cnnFDStep * math.Max(1, math.Abs(v)) }
	ta := absOf(theta)
	for j := range ta {
		ta[j] += step(theta[j])
	}
	exact := CNN{M: c.M}
	fabs, f0, fp, fm := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	if err := exact.Outputs(fabs, ta, absOf(x)); err != nil {
		return 0, err
	}
	if err := c.Outputs(f0, theta, x); err != nil {
		return 0, err
	}
	gN, gG := gamma(p+7), gamma(cnnGradDepth(p))
	th := append([]float64(nil), theta...)
	for _, k := range coords {
		h := step(theta[k])
		th[k] = theta[k] + h
		hi := th[k]
		if err := c.Outputs(fp, th, x); err != nil {
			return 0, err
		}
		th[k] = theta[k] - h
		dh := hi - th[k]
		if err := c.Outputs(fm, th, x); err != nil {
			return 0, err
		}
		th[k] = theta[k]
		for i := range n {
			curv := math.Abs(fp[i] + fm[i] - 2*f0[i])
			if curv > 4*gN*fabs[i]+4*unit*(math.Abs(fp[i])+math.Abs(fm[i])+2*math.Abs(f0[i])) {
				skipped++
				continue
			}
			g := q[i*p+k]
			fd := (fp[i] - fm[i]) / dh
			tol := (6*gN+2*gG)*fabs[i]/dh + 4*unit*math.Abs(g)
			if math.Abs(fd-g) > tol {
				return skipped, fmt.Errorf("sample %d, θ[%d]: g = %v, central difference %v, |Δ| = %g > %g", i, k, g, fd, math.Abs(fd-g), tol)
			}
		}
	}
	return skipped, nil
}

// cnnCoords draws per coordinates from each weight tensor and each bias.
func cnnCoords(c CNN, rng *rand.Rand, per int) []int {
	off, head := c.offsets()
	var coords []int
	pick := func(lo, hi int) {
		for range per {
			coords = append(coords, lo+rng.IntN(hi-lo))
		}
	}
	for l, s := range c.convs() {
		pick(off[l], off[l]+s.out*s.k())
		pick(off[l]+s.out*s.k(), off[l]+s.params())
	}
	pick(head, head+49*c.M)
	return append(coords, head+49*c.M)
}

func TestCNNFiniteDifferences(t *testing.T) {
	var pairs, skipped int
	rapid.Check(t, func(rt *rapid.T) {
		m := rapid.IntRange(1, 2).Draw(rt, "m")
		n := rapid.IntRange(1, 3).Draw(rt, "n")
		scale := rapid.Float64Range(0.25, 4).Draw(rt, "scale")
		seed := rapid.Uint64().Draw(rt, "seed")
		rng := rand.New(rand.NewPCG(seed, 5))
		c, _ := NewCNN(m)
		theta := randomTheta(c, rng, scale)
		x := randomInputs(rng, n)
		coords := cnnCoords(c, rng, 3)
		s, err := cnnFDCheck(c, theta, x, coords)
		if err != nil {
			rt.Fatal(err)
		}
		pairs += len(coords) * n
		skipped += s
	})
	t.Logf("%d of %d (coordinate, sample) pairs skipped for kinks", skipped, pairs)
	if 2*skipped > pairs {
		t.Fatalf("%d of %d pairs skipped for kinks", skipped, pairs)
	}
}

// TestCNNNegativeControl: the finite-difference comparison catches a network
// whose backward pass drops the 1/4 of the pools.
func TestCNNNegativeControl(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c, _ := NewCNN(2)
	theta := randomTheta(c, rng, 1)
	x := randomInputs(rng, 2)
	coords := cnnCoords(c, rng, 3)
	if _, err := cnnFDCheck(c, theta, x, coords); err != nil {
		t.Fatalf("exact network: %v", err)
	}
	bad := c
	bad.variant = cnnBadPool
	_, err := cnnFDCheck(bad, theta, x, coords)
	if err == nil {
		t.Fatal("the wrong pooling backward pass was not caught")
	}
	t.Logf("caught: %v", err)
}

// TestCNNLossGradient: ∇L = Σ e_i g_i / n. Both sides sum the same products
// of θ, x and e_i/n along the paths of the network in different orders and
// groupings; each errs by at most γ_{N_g+n+4}·Σ_i |e_i|/n·G_abs,i with
// G_abs,i the gradient of the absolute-value network (|θ|, |x|, every ReLU
// passing: the cnnAbs variant), which bounds the sum of the absolute values
// of the paths; n + 4 covers the sum over samples and the products by e_i and
// 1/n.
func TestCNNLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	c, _ := NewCNN(2)
	n := 2*cnnLossBlock + 2 // three blocks
	p := c.NumParams()
	theta := randomTheta(c, rng, 1)
	x := randomInputs(rng, n)
	y := make([]float64, n)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	grad := make([]float64, p)
	loss, err := c.LossGradient(grad, theta, x, y)
	if err != nil {
		t.Fatal(err)
	}
	out, q, qa := make([]float64, n), make([]float64, n*p), make([]float64, n*p)
	if err := c.Outputs(out, theta, x); err != nil {
		t.Fatal(err)
	}
	if err := c.PerSampleGradients(q, theta, x); err != nil {
		t.Fatal(err)
	}
	if err := (CNN{M: c.M, variant: cnnAbs}).PerSampleGradients(qa, absOf(theta), absOf(x)); err != nil {
		t.Fatal(err)
	}
	var wantLoss float64
	for i := range n {
		e := out[i] - y[i]
		wantLoss += e * e
	}
	if wantLoss /= 2 * float64(n); loss != wantLoss {
		t.Errorf("loss %v, want %v", loss, wantLoss)
	}
	g := gamma(cnnGradDepth(p) + n + 4)
	for k := range p {
		var want, bound float64
		for i := range n {
			e := out[i] - y[i]
			want += e * q[i*p+k] / float64(n)
			bound += math.Abs(e) * qa[i*p+k] / float64(n)
		}
		if d := math.Abs(grad[k] - want); d > 2*g*bound {
			t.Fatalf("∇L[%d] = %v, Σ e_i g_i/n = %v: |Δ| = %g > %g", k, grad[k], want, d, 2*g*bound)
		}
	}
}

// TestCNNGram: Gram equals numerics.Gram of PerSampleGradients. Both sum
// the same products q_ik q_jk (Gram's Q_l and features are the bits of
// PerSampleGradients' rows), in different orders: each errs by at most
// γ_{p+8}·(|Q||Q|ᵀ)_ij (p terms, the +1 of the head and the 5 additions of
// the blocks); |Q||Q|ᵀ is itself computed, within a factor 1 + γ_p.
func TestCNNGram(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	c, _ := NewCNN(2)
	n := cnnBlock + 3
	p := c.NumParams()
	theta := randomTheta(c, rng, 1)
	x := randomInputs(rng, n)
	k, out := make([]float64, n*n), make([]float64, n)
	if err := c.Gram(k, out, theta, x); err != nil {
		t.Fatal(err)
	}
	want, q := make([]float64, n), make([]float64, n*p)
	if err := c.Outputs(want, theta, x); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if math.Float64bits(out[i]) != math.Float64bits(want[i]) {
			t.Fatalf("Gram's f[%d] = %v, Outputs %v", i, out[i], want[i])
		}
	}
	if err := c.PerSampleGradients(q, theta, x); err != nil {
		t.Fatal(err)
	}
	kq, ka := make([]float64, n*n), make([]float64, n*n)
	numerics.Gram(kq, q, n, p)
	numerics.Gram(ka, absOf(q), n, p)
	g := 2 * gamma(p+8) * (1 + gamma(p))
	for i := range k {
		if d := math.Abs(k[i] - kq[i]); d > g*ka[i] {
			t.Fatalf("K[%d][%d] = %v, QQᵀ %v: |Δ| = %g > %g", i/n, i%n, k[i], kq[i], d, g*ka[i])
		}
		if k[i] != k[i%n*n+i/n] {
			t.Fatalf("K not symmetric at %d, %d", i/n, i%n)
		}
	}
	// One layer at a time: the same bits.
	defer func(cap float64) { cnnGramCap = cap }(cnnGramCap)
	cnnGramCap = 0
	k2, out2 := make([]float64, n*n), make([]float64, n)
	if err := c.Gram(k2, out2, theta, x); err != nil {
		t.Fatal(err)
	}
	if err := sameBits(k2, k); err != nil {
		t.Errorf("Gram one layer at a time: %v", err)
	}
	if err := sameBits(out2, out); err != nil {
		t.Errorf("Gram one layer at a time, outputs: %v", err)
	}
}

func sameBits(a, b []float64) error {
	if len(a) != len(b) {
		return fmt.Errorf("lengths %d, %d", len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Errorf("[%d]: %v != %v", i, a[i], b[i])
		}
	}
	return nil
}

// TestCNNProcs: every method gives the same bits for GOMAXPROCS 1 and 2.
func TestCNNProcs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	c, _ := NewCNN(3)
	n := 2*cnnBlock + 5 // three blocks, and seven of LossGradient
	p := c.NumParams()
	theta := randomTheta(c, rng, 1)
	x := randomInputs(rng, n)
	y := make([]float64, n)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	run := func(procs int) [][]float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		out, grad, q, k, kout := make([]float64, n), make([]float64, p), make([]float64, n*p), make([]float64, n*n), make([]float64, n)
		if err := c.Outputs(out, theta, x); err != nil {
			t.Fatal(err)
		}
		loss, err := c.LossGradient(grad, theta, x, y)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PerSampleGradients(q, theta, x); err != nil {
			t.Fatal(err)
		}
		if err := c.Gram(k, kout, theta, x); err != nil {
			t.Fatal(err)
		}
		return [][]float64{out, {loss}, grad, q, k, kout}
	}
	one, two := run(1), run(2)
	for i, name := range []string{"Outputs", "loss", "LossGradient", "PerSampleGradients", "Gram", "Gram outputs"} {
		if err := sameBits(one[i], two[i]); err != nil {
			t.Errorf("%s: GOMAXPROCS 1 vs 2: %v", name, err)
		}
	}
	// A sample's outputs and gradients do not depend on the others.
	out1, q1 := make([]float64, 1), make([]float64, p)
	last := x[(n-1)*cnnIn:]
	if err := c.Outputs(out1, theta, last); err != nil {
		t.Fatal(err)
	}
	if err := c.PerSampleGradients(q1, theta, last); err != nil {
		t.Fatal(err)
	}
	if err := sameBits(out1, one[0][n-1:]); err != nil {
		t.Errorf("Outputs alone vs in a batch: %v", err)
	}
	if err := sameBits(q1, one[3][(n-1)*p:]); err != nil {
		t.Errorf("gradient alone vs in a batch: %v", err)
	}
}

func TestCNNBadInput(t *testing.T) {
	if _, err := NewCNN(0); !errors.Is(err, ErrShape) {
		t.Errorf("m = 0: %v", err)
	}
	if _, err := NewCNN(1 << 20); !errors.Is(err, ErrShape) {
		t.Errorf("huge m: %v", err)
	}
	if err := (CNN{}).Outputs(make([]float64, 1), make([]float64, 1), make([]float64, cnnIn)); !errors.Is(err, ErrShape) {
		t.Errorf("zero CNN: %v", err)
	}
	c, _ := NewCNN(1)
	p := c.NumParams()
	theta, x := make([]float64, p), make([]float64, 2*cnnIn)
	with := func(v []float64, i int, val float64) []float64 {
		w := append([]float64(nil), v...)
		w[i] = val
		return w
	}
	nan := func(v []float64, i int) []float64 { return with(v, i, math.NaN()) }
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"short θ", c.Outputs(make([]float64, 2), theta[1:], x), ErrShape},
		{"NaN θ", c.Outputs(make([]float64, 2), nan(theta, 3), x), ErrNotFinite},
		{"ragged x", c.Outputs(make([]float64, 2), theta, x[1:]), ErrShape},
		{"empty x", c.Outputs(nil, theta, nil), ErrShape},
		{"Inf x", c.Outputs(make([]float64, 2), theta, with(x, 0, math.Inf(1))), ErrNotFinite},
		{"NaN x", c.PerSampleGradients(make([]float64, 2*p), theta, nan(x, 100)), ErrNotFinite},
		{"short out", c.Outputs(make([]float64, 1), theta, x), ErrShape},
		{"short q", c.PerSampleGradients(make([]float64, p), theta, x), ErrShape},
		{"short K", c.Gram(make([]float64, 2), make([]float64, 2), theta, x), ErrShape},
		{"short Gram out", c.Gram(make([]float64, 4), make([]float64, 1), theta, x), ErrShape},
		{"NaN x Gram", c.Gram(make([]float64, 4), make([]float64, 2), theta, nan(x, 5)), ErrNotFinite},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	lg := func(grad, y []float64) error {
		_, err := c.LossGradient(grad, theta, x, y)
		return err
	}
	if err := lg(make([]float64, p), make([]float64, 1)); !errors.Is(err, ErrShape) {
		t.Errorf("short y: %v", err)
	}
	if err := lg(make([]float64, p), []float64{0, math.Inf(-1)}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Inf y: %v", err)
	}
	if err := lg(make([]float64, p-1), make([]float64, 2)); !errors.Is(err, ErrShape) {
		t.Errorf("short grad: %v", err)
	}
}

// BenchmarkCNNLossGradient is one SGD step's gradient (B = 5) at the widths
// of verify's quick CNN (m = 4) and of A.1 (m = 20).
func BenchmarkCNNLossGradient(b *testing.B) {
	for _, m := range []int{4, 20} {
		b.Run(fmt.Sprintf("m=%d", m), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			c, _ := NewCNN(m)
			theta := c.Init(rng)
			x := randomInputs(rng, 5)
			y := make([]float64, 5)
			grad := make([]float64, c.NumParams())
			for b.Loop() {
				if _, err := c.LossGradient(grad, theta, x, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCNNGram(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	c, _ := NewCNN(20)
	n := 200
	theta := c.Init(rng)
	x := randomInputs(rng, n)
	k, out := make([]float64, n*n), make([]float64, n)
	for b.Loop() {
		if err := c.Gram(k, out, theta, x); err != nil {
			b.Fatal(err)
		}
	}
}

// cnnFDStep is the relative step of the central differences. The brief's
// 2^-12 crossed a kink in 11% of the (coordinate, sample) pairs on average
// and in up to 70% at θ scale 1/2 (thousands of ReLUs move with one conv
// weight); 2^-16 crosses about 0.5%, and the tolerance, relative to F_abs,
// is still near 1e-9.
const cnnFDStep = 0x1p-16

// cnnBitsHash is the SHA-256 of the bits of the vectors, in order.
func cnnBitsHash(vs ...[]float64) string {
	h := sha256.New()
	var b [8]byte
	for _, v := range vs {
		for _, x := range v {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestCNNPinnedBits: the loss, gradient, per-sample gradients, outputs and
// Gram matrix of a few networks are the bits that the im2col + Gemm
// implementation computed before the convolutions read packed patches
// (commit db59e0b): the trained runs cached by the experiments depend on
// them. Inputs with exact zeros of both signs; odd batches, a block of
// LossGradient cut short; the test knobs' backward passes.
func TestCNNPinnedBits(t *testing.T) {
	for _, tc := range []struct {
		m, n    int
		variant cnnVariant
		init    Init
		want    string
	}{
		{2, 7, cnnExact, KaimingNormal, "dc547064fb8cbb03bb6838af256e9f8a68d10af8d4a1f04debd4d32b05546944"},
		{3, 3, cnnExact, LinearDefault, "0d82e39eb518be5f354d2ea52f9b4a580835c13c285549f5f03207931503b39a"},
		{4, 5, cnnAbs, KaimingNormal, "a58e2db9beebc25f7f42be51c46bfd273cf8dca9f5820688bc35bb97c9bafccf"},
		{3, 4, cnnBadPool, KaimingNormal, "ce5a3866345301899c5040306934f7bf9c5d803f2cd96582b02da2a21ad88712"},
		{20, 4, cnnExact, KaimingNormal, "b467f45e3e1b37fecb8265a22c99d9b393767c01116398cb2776e1647bbefa5f"},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.n)))
		c := CNN{M: tc.m, Weights: tc.init, variant: tc.variant}
		p, n := c.NumParams(), tc.n
		theta := randomTheta(c, rng, 1)
		x := randomInputs(rng, n)
		for i := 0; i < len(x); i += 37 {
			x[i] = 0
		}
		for i := 5; i < len(x); i += 41 {
			x[i] = math.Copysign(0, -1)
		}
		y := make([]float64, n)
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		grad, q, out := make([]float64, p), make([]float64, n*p), make([]float64, n)
		loss, err := c.LossGradient(grad, theta, x, y)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PerSampleGradients(q, theta, x); err != nil {
			t.Fatal(err)
		}
		if err := c.Outputs(out, theta, x); err != nil {
			t.Fatal(err)
		}
		vs := [][]float64{{loss}, grad, q, out}
		if tc.variant == cnnExact {
			k, kout := make([]float64, n*n), make([]float64, n)
			if err := c.Gram(k, kout, theta, x); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, k, kout)
		}
		if got := cnnBitsHash(vs...); got != tc.want {
			t.Errorf("M = %d, n = %d, variant %d, init %d: bits %s, want %s", tc.m, tc.n, tc.variant, tc.init, got, tc.want)
		}
	}
}
