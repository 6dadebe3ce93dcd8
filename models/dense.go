package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/flatmin/flatmin/numerics"
)

// Activation is the nonlinearity σ of the hidden layers of a Dense network.
type Activation int

const (
	// ReLU is σ(z) = max(z, 0), with PyTorch's derivative σ'(z) = 1{z > 0}
	// (0 at the kink).
	ReLU Activation = iota
	// Identity is σ(z) = z: the network is linear in x.
	Identity
)

// Init is the distribution of the weight matrices at initialization; biases
// start at zero.
type Init int

const (
	// KaimingNormal is PyTorch's kaiming_normal_ with mode fan_in and gain
	// sqrt(2): W_ab ~ N(0, 2/fan_in).
	KaimingNormal Init = iota
	// XavierUniform is PyTorch's xavier_uniform_ with gain 1: W_ab ~ U(-a, a),
	// a = sqrt(6/(fan_in + fan_out)).
	XavierUniform
	// LinearDefault is the initialization PyTorch gives nn.Linear (and
	// nn.Conv2d) when nothing else is asked for (kaiming_uniform_ with
	// a = sqrt(5)): weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
	LinearDefault
)

// Dense is a fully connected network d = n_0 → n_1 → … → n_L = 1,
//
//	z_l = W_l a_{l-1} + b_l,  a_0 = x,  a_l = σ(z_l) (l < L),  f(x; θ) = z_L,
//
// W_l being n_l x n_{l-1}, with biases b_l or without. Appendix A.1 uses two:
// the FCN 784 → m → m → 1 with ReLU and biases (NewFCN) and the four-layer
// linear network d → m → m → m → 1 without biases (NewLinearNet), which is
// the deep linear model f = F(θ)ᵀx of Section 2.1.
//
// θ is laid out as PyTorch's parameters(): for l = 1, …, L, W_l row-major
// (out x in: entry (a, b) at offset a·n_{l-1} + b, the weight from input b to
// unit a), then b_l (n_l values) if the network has biases. So
// p = Σ_l n_l·(n_{l-1} + 1) with biases, Σ_l n_l·n_{l-1} without.
//
// Samples are processed as a batch: the activations of layer l are an
// n x n_l matrix, the backward pass and the batch gradient are one
// numerics.Gemm a layer, and the outputs and per-sample gradients of a sample
// are the same bits whatever the other samples of the batch.
type Dense struct {
	dims []int // n_0, …, n_L
	offs []int // offs[l] is the offset in θ of W_{l+1}
	p    int
	act  Activation
	bias bool
	init Init
	work *sync.Pool // of *denseWork
}

var _ Network = Dense{}

// NewDense returns the network d → widths… → 1 with the given activation,
// biases or not, and initialization.
func NewDense(act Activation, bias bool, init Init, d int, widths ...int) (Dense, error) {
	if act != ReLU && act != Identity {
		return Dense{}, fmt.Errorf("models: unknown activation %d", act)
	}
	if init != KaimingNormal && init != XavierUniform && init != LinearDefault {
		return Dense{}, fmt.Errorf("models: unknown initialization %d", init)
	}
	dims := append(append([]int{d}, widths...), 1)
	for l, w := range dims {
		if w < 1 {
			return Dense{}, fmt.Errorf("models: layer width %d at position %d: %w", w, l, ErrShape)
		}
	}
	m := Dense{dims: dims, act: act, bias: bias, init: init, work: new(sync.Pool)}
	for l := 1; l < len(dims); l++ {
		m.offs = append(m.offs, m.p)
		m.p += dims[l] * dims[l-1]
		if bias {
			m.p += dims[l]
		}
	}
	return m, nil
}

// NewFCN returns the fully connected network of Appendix A.1, d → widths… → 1
// with ReLU, biases and Kaiming-He initialization (A.1: d = 784 and two
// hidden layers of width m = 30, so p = 24511; A.1 quotes p = 25441, which
// is the count with a third hidden layer).
func NewFCN(d int, widths ...int) (Dense, error) {
	return NewDense(ReLU, true, KaimingNormal, d, widths...)
}

// NewLinearNet returns the linear network of Appendix A.1, d → widths… → 1
// (A.1: three hidden layers of width m = 50) without biases and with
// Xavier initialization, PyTorch's default in A.1's words.
func NewLinearNet(d int, widths ...int) (Dense, error) {
	return NewDense(Identity, false, XavierUniform, d, widths...)
}

// InputDim is d = n_0 (0 for a Dense not made by NewDense).
func (m Dense) InputDim() int {
	if len(m.dims) == 0 {
		return 0
	}
	return m.dims[0]
}

// NumParams is p.
func (m Dense) NumParams() int { return m.p }

// Dims returns n_0, …, n_L (a copy).
func (m Dense) Dims() []int { return append([]int(nil), m.dims...) }

// depth is L, the number of layers.
func (m Dense) depth() int { return len(m.dims) - 1 }

// layer returns W_l and b_l (nil without biases) of layer l (1-based) in θ.
func (m Dense) layer(theta []float64, l int) (w, b []float64) {
	in, out := m.dims[l-1], m.dims[l]
	at := m.offs[l-1]
	w = theta[at : at+out*in]
	if m.bias {
		b = theta[at+out*in : at+out*in+out]
	}
	return w, b
}

// Init draws θ in θ order: every W_l from the network's Init; the biases
// are zero, except under LinearDefault, which draws them like the weights
// (PyTorch's nn.Linear.reset_parameters).
func (m Dense) Init(rng *rand.Rand) []float64 {
	theta := make([]float64, m.p)
	uniform := func(v []float64, a float64) {
		for i := range v {
			v[i] = a * (2*rng.Float64() - 1)
		}
	}
	for l := 1; l <= m.depth(); l++ {
		w, b := m.layer(theta, l)
		in, out := float64(m.dims[l-1]), float64(m.dims[l])
		switch m.init {
		case KaimingNormal:
			std := math.Sqrt(2 / in)
			for i := range w {
				w[i] = std * rng.NormFloat64()
			}
		case XavierUniform:
			uniform(w, math.Sqrt(6/(in+out)))
		case LinearDefault:
			uniform(w, 1/math.Sqrt(in))
			uniform(b, 1/math.Sqrt(in))
		}
	}
	return theta
}

// denseWork is the scratch of one call, recycled through Dense.work so that a
// training step allocates next to nothing.
type denseWork struct {
	buf  []float64
	acts [][]float64 // acts[l] = a_l (n x n_l); acts[0] is x itself
	ds   [2][]float64
	seed []float64 // the signal ∂(·)/∂f fed to the backward pass (n)
	out  []float64 // outputs when the caller does not want them (n)
	ga   []float64 // Gram scratch (n x n), only with gram
	gd   []float64
}

// scratch returns a workspace for n samples of x, with the two n x n Gram
// buffers if gram.
func (m Dense) scratch(x []float64, n int, gram bool) *denseWork {
	w, _ := m.work.Get().(*denseWork)
	if w == nil {
		w = &denseWork{acts: make([][]float64, m.depth())}
	}
	maxw := 1
	size := 2 * n
	for _, k := range m.dims[1:m.depth()] {
		size += n * k
		maxw = max(maxw, k)
	}
	size += 2 * n * maxw
	if gram {
		size += 2 * n * n
	}
	if cap(w.buf) < size {
		w.buf = make([]float64, size)
	}
	buf := w.buf[:size]
	take := func(k int) []float64 {
		s := buf[:k:k]
		buf = buf[k:]
		return s
	}
	w.acts[0] = x
	for l := 1; l < m.depth(); l++ {
		w.acts[l] = take(n * m.dims[l])
	}
	w.ds[0], w.ds[1] = take(n*maxw), take(n*maxw)
	w.seed, w.out = take(n), take(n)
	w.ga, w.gd = nil, nil
	if gram {
		w.ga, w.gd = take(n*n), take(n*n)
	}
	return w
}

// release returns w to the pool, without its reference to x.
func (m Dense) release(w *denseWork) {
	w.acts[0] = nil
	m.work.Put(w)
}

// batch checks θ and x and returns n.
func (m Dense) batch(theta, x []float64) (int, error) {
	if len(m.dims) == 0 {
		return 0, fmt.Errorf("models: Dense not made by NewDense: %w", ErrShape)
	}
	if err := checkTheta(theta, m.p); err != nil {
		return 0, err
	}
	return batchSize(x, m.dims[0])
}

// forward computes the hidden activations a_1, …, a_{L-1} of the n samples
// into w.acts and the outputs f into out. Each pre-activation is one
// numerics.Dot of a row of W_l and a row of A_{l-1}, then + b_l: its bits
// depend on that sample alone, not on the batch. (Dot reads both rows in
// place; a Gemm Z_l = A_{l-1} W_lᵀ would pack W_lᵀ, a strided gather of all
// of W_l, on every call, which for SGD's batches of 5 costs more than the
// products.)
func (m Dense) forward(w *denseWork, theta []float64, n int, out []float64) {
	a := w.acts[0]
	for l := 1; l <= m.depth(); l++ {
		in, k := m.dims[l-1], m.dims[l]
		wl, bl := m.layer(theta, l)
		z := out
		if l < m.depth() {
			z = w.acts[l]
		}
		for j := range k { // a row of W_l stays in L1 across the samples
			wj := wl[j*in : (j+1)*in]
			for i := range n {
				z[i*k+j] = numerics.Dot(wj, a[i*in:(i+1)*in])
			}
		}
		for i := range n {
			zi := z[i*k : (i+1)*k]
			for j, b := range bl {
				zi[j] += b
			}
			if l < m.depth() && m.act == ReLU {
				for j, v := range zi {
					zi[j] = max(v, 0)
				}
			}
		}
		a = z
	}
}

// backward propagates δ_l = s ∘ ∂f/∂z_l (n x n_l, row i for sample i) from
// δ_L = s = w.seed down to layer 1, calling visit(l, A_{l-1}, δ_l) for
// l = L, …, 1. With s = 1, row i of δ_l is ∂f(x_i)/∂z_l, and the gradient of
// f(x_i) in W_l is the outer product δ_l[i] a_{l-1}[i]ᵀ, in b_l δ_l[i]. The
// step is δ_{l-1} = (δ_l W_l) ∘ σ'(z_{l-1}), with σ'(z_{l-1}) = 1{a_{l-1} > 0}
// for ReLU.
func (m Dense) backward(w *denseWork, theta []float64, n int, visit func(l int, a, d []float64)) {
	d := w.seed
	for l := m.depth(); l >= 1; l-- {
		visit(l, w.acts[l-1], d)
		if l == 1 {
			return
		}
		in, k := m.dims[l-1], m.dims[l]
		wl, _ := m.layer(theta, l)
		prev := w.ds[l%2][:n*in]
		numerics.Gemm(false, false, n, in, k, 1, d, k, wl, in, 0, prev, in)
		if m.act == ReLU {
			for i, a := range w.acts[l-1] {
				if a <= 0 {
					prev[i] = 0
				}
			}
		}
		d = prev
	}
}

// Outputs writes f(x_i; θ) into out (length n).
func (m Dense) Outputs(out, theta, x []float64) error {
	n, err := m.batch(theta, x)
	if err != nil {
		return err
	}
	if err := checkLen("out", out, n); err != nil {
		return err
	}
	w := m.scratch(x, n, false)
	defer m.release(w)
	m.forward(w, theta, n, out)
	return nil
}

// LossGradient returns L = Σ e_i²/(2n) and writes ∇L = Σ_i e_i g_i/n into
// grad, by one backward pass seeded with s_i = e_i/n: the gradient in W_l is
// δ_lᵀ A_{l-1} (one Gemm over the samples), in b_l the column sums of δ_l
// (summed over i in order).
func (m Dense) LossGradient(grad, theta, x, y []float64) (float64, error) {
	n, err := m.batch(theta, x)
	if err != nil {
		return 0, err
	}
	if err := checkLabels(grad, y, m.p, n); err != nil {
		return 0, err
	}
	w := m.scratch(x, n, false)
	defer m.release(w)
	m.forward(w, theta, n, w.out)
	loss := 0.0
	for i, f := range w.out {
		e := f - y[i]
		loss += e * e
		w.seed[i] = e / float64(n)
	}
	m.backward(w, theta, n, func(l int, a, d []float64) {
		in, k := m.dims[l-1], m.dims[l]
		gw, gb := m.layer(grad, l)
		numerics.Gemm(true, false, k, in, n, 1, d, k, a, in, 0, gw, in)
		if gb != nil {
			clear(gb)
			for i := range n {
				for j, v := range d[i*k : (i+1)*k] {
					gb[j] += v
				}
			}
		}
	})
	return loss / float64(2*n), nil
}

// PerSampleGradients writes Q (row-major n x p): row i is g_i = ∇_θ f(x_i; θ),
// in θ's layout, from one backward pass seeded with s = 1.
func (m Dense) PerSampleGradients(q, theta, x []float64) error {
	n, err := m.batch(theta, x)
	if err != nil {
		return err
	}
	if err := checkLen("q", q, n*m.p); err != nil {
		return err
	}
	w := m.scratch(x, n, false)
	defer m.release(w)
	m.forward(w, theta, n, w.out)
	for i := range w.seed {
		w.seed[i] = 1
	}
	m.backward(w, theta, n, func(l int, a, d []float64) {
		in, k := m.dims[l-1], m.dims[l]
		for i := range n {
			gw, gb := m.layer(q[i*m.p:(i+1)*m.p], l)
			ai, di := a[i*in:(i+1)*in], d[i*k:(i+1)*k]
			for j, dij := range di {
				row := gw[j*in : (j+1)*in]
				for b, v := range ai {
					row[b] = dij * v
				}
			}
			copy(gb, di)
		}
	})
	return nil
}

// Gram writes K = QQᵀ and the outputs f(x_i; θ) (the bits of Outputs)
// without forming Q. Layer l contributes
//
//	K_l = (A_{l-1} A_{l-1}ᵀ + 1) ∘ (δ_l δ_lᵀ)
//
// (the + 1 from b_l, only with biases), since the gradient of f(x_i) in
// (W_l, b_l) is (δ_l[i] a_{l-1}[i]ᵀ, δ_l[i]) and ⟨u aᵀ, v cᵀ⟩ = (uᵀv)(aᵀc). Both
// Grams are numerics.Gram, and K = Σ_l K_l is accumulated for l = L, …, 1
// as K = FMA(ga + 1, gd, K). Memory is the activations (n·Σ_l n_l) and three
// n x n matrices, never the n x p matrix Q.
func (m Dense) Gram(k, out, theta, x []float64) error {
	n, err := m.batch(theta, x)
	if err != nil {
		return err
	}
	if err := checkLen("out", out, n); err != nil {
		return err
	}
	if err := checkLen("k", k, n*n); err != nil {
		return err
	}
	w := m.scratch(x, n, true)
	defer m.release(w)
	m.forward(w, theta, n, out)
	for i := range w.seed {
		w.seed[i] = 1
	}
	one := 0.0
	if m.bias {
		one = 1
	}
	clear(k)
	m.backward(w, theta, n, func(l int, a, d []float64) {
		numerics.Gram(w.ga, a, n, m.dims[l-1])
		numerics.Gram(w.gd, d, n, m.dims[l])
		for i, gd := range w.gd {
			k[i] = math.FMA(w.ga[i]+one, gd, k[i])
		}
	})
	return nil
}
