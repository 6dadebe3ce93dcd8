package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/flatmin/flatmin/numerics"
)

// CNN is the LeNet-type network of Table 1 (Appendix A.1) with width M, on
// 28x28x1 inputs (x_i is 784 pixels, row-major 28x28):
//
//	conv 3x3 1→M, ReLU; conv 3x3 M→2M, ReLU; 2x2 average pool → 14x14x2M;
//	conv 3x3 2M→2M, ReLU; conv 3x3 2M→M, ReLU; 2x2 average pool → 7x7xM;
//	flatten in (C, H, W) order → 49M; linear 49M → 1.
//
// Every convolution has stride 1, zero padding 1 ("same") and a bias; the
// pools have stride 2. p = 72M² + 64M + 1 (30,081 at M = 20).
//
// θ layout, PyTorch's parameters() order, each tensor row-major:
//
//	conv1.weight [M,1,3,3], conv1.bias [M],
//	conv2.weight [2M,M,3,3], conv2.bias [2M],
//	conv3.weight [2M,2M,3,3], conv3.bias [2M],
//	conv4.weight [M,2M,3,3], conv4.bias [M],
//	fc.weight [1,49M] (feature c·49 + 7·y + x), fc.bias [1].
//
// Convolutions run as im2col + numerics.Gemm: the 3x3 patches of a sample
// form a (positions x 9·in) matrix P, so the forward pass Z = P Wᵀ + b, the
// patch gradient dP = D W (scattered back by col2im) and the weight gradient
// dW = Dᵀ P are each one Gemm, with the patch rows of a block of samples
// stacked (thousands of rows, 9·in and out columns: shapes on which the SIMD
// kernel runs near its peak). Activations are kept positions x channels;
// internally the patch columns run (ky, kx, channel), so that im2col copies
// whole channel vectors, and weights and weight gradients are permuted to and
// from PyTorch's (channel, ky, kx) per call (O(p), negligible).
//
// ReLU'(0) = 0, as in PyTorch. Samples are processed in blocks of fixed size
// on up to GOMAXPROCS goroutines; every per-sample result depends on that
// sample alone and the batch gradient sums block partials in block order,
// so results are the same bits for every GOMAXPROCS.
type CNN struct {
	M int
	// variant is a test knob: the exact network, or the backward passes of
	// the absolute-value rounding bound and of a deliberately wrong network.
	variant cnnVariant
}

type cnnVariant uint8

const (
	cnnExact   cnnVariant = iota
	cnnAbs                // ReLU' := 1 in the backward pass (for bounds on |θ|, |x|)
	cnnBadPool            // the 1/4 of the pools dropped in the backward pass
)

const (
	cnnSide = 28
	cnnIn   = cnnSide * cnnSide
	// cnnMaxM keeps every size far from overflow.
	cnnMaxM = 1 << 12
	// cnnBlock is the number of samples a goroutine processes at once: the
	// patches of a block at M = 20 are about 23 MB. LossGradient sums the
	// weight gradient of a block in one Gemm and the blocks in order, so
	// cnnBlock fixes the bits of LossGradient; it changes nothing else.
	cnnBlock = 8
)

// cnnGramCap is the most memory, in bytes, Gram spends on the per-sample conv
// gradients Q_l of all layers at once (one forward/backward pass); above it
// Gram holds one layer's Q_l at a time and runs one pass per layer. At
// M = 20, n = 1000 all of them take 240 MB. A variable for the tests.
var cnnGramCap float64 = 1 << 30

// NewCNN returns the network of width m (1 ≤ m ≤ 4096).
func NewCNN(m int) (CNN, error) {
	if m < 1 || m > cnnMaxM {
		return CNN{}, fmt.Errorf("models: CNN width %d not in [1, %d]: %w", m, cnnMaxM, ErrShape)
	}
	return CNN{M: m}, nil
}

// convShape is one convolution: side x side positions, in → out channels.
type convShape struct{ side, in, out int }

func (s convShape) rows() int   { return s.side * s.side } // positions
func (s convShape) k() int      { return 9 * s.in }        // patch length
func (s convShape) params() int { return s.out*s.k() + s.out }

func (c CNN) convs() [4]convShape {
	m := c.M
	return [4]convShape{{28, 1, m}, {28, m, 2 * m}, {14, 2 * m, 2 * m}, {14, 2 * m, m}}
}

// offsets returns where each conv layer's weights start in θ, and the head.
func (c CNN) offsets() (off [4]int, head int) {
	for l, s := range c.convs() {
		off[l] = head
		head += s.params()
	}
	return off, head
}

// InputDim is 784.
func (c CNN) InputDim() int { return cnnIn }

// NumParams is p = 72M² + 64M + 1.
func (c CNN) NumParams() int { return 72*c.M*c.M + 64*c.M + 1 }

// Init draws θ as PyTorch's kaiming_normal_ (fan_in, gain √2) on every
// weight, the head included: W ~ N(0, 2/fan_in), fan_in = 9·in for a conv
// and 49M for the head; biases are zero.
func (c CNN) Init(rng *rand.Rand) []float64 {
	if c.validate() != nil {
		return nil
	}
	theta := make([]float64, c.NumParams())
	off, head := c.offsets()
	for l, s := range c.convs() {
		sd := math.Sqrt(2 / float64(s.k()))
		for i := range s.out * s.k() {
			theta[off[l]+i] = sd * rng.NormFloat64()
		}
	}
	sd := math.Sqrt(2 / float64(49*c.M))
	for i := range 49 * c.M {
		theta[head+i] = sd * rng.NormFloat64()
	}
	return theta
}

func (c CNN) validate() error {
	if c.M < 1 || c.M > cnnMaxM {
		return fmt.Errorf("models: CNN width %d not in [1, %d]: %w", c.M, cnnMaxM, ErrShape)
	}
	return nil
}

// check validates θ and x and returns n.
func (c CNN) check(theta, x []float64) (int, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	if err := checkTheta(theta, c.NumParams()); err != nil {
		return 0, err
	}
	if len(x) == 0 || len(x)%cnnIn != 0 {
		return 0, fmt.Errorf("models: x has %d entries, not a positive multiple of %d: %w", len(x), cnnIn, ErrShape)
	}
	if err := finite("x", x); err != nil {
		return 0, err
	}
	return len(x) / cnnIn, nil
}

func checkLen(name string, v []float64, want int) error {
	if len(v) != want {
		return fmt.Errorf("models: len(%s) = %d, want %d: %w", name, len(v), want, ErrShape)
	}
	return nil
}

// cnnParams is θ arranged for the passes.
type cnnParams struct {
	w   [4][]float64 // out x 9in, columns (ky, kx, channel)
	b   [4][]float64 // views into θ
	fc  []float64    // view into θ, CHW order
	fcb float64
}

func (c CNN) params(theta []float64) *cnnParams {
	par := &cnnParams{}
	off, head := c.offsets()
	for l, s := range c.convs() {
		k := s.k()
		w := make([]float64, s.out*k)
		src := theta[off[l] : off[l]+s.out*k]
		for o := range s.out {
			for ci := range s.in {
				for t := range 9 {
					w[o*k+t*s.in+ci] = src[o*k+ci*9+t]
				}
			}
		}
		par.w[l] = w
		par.b[l] = theta[off[l]+s.out*k : off[l]+s.params()]
	}
	par.fc = theta[head : head+49*c.M]
	par.fcb = theta[head+49*c.M]
	return par
}

// cnnWork is the workspace of one goroutine, for up to bs samples.
type cnnWork struct {
	m, bs int
	p     [4][]float64 // patches (rows x 9in per sample), then their gradient
	a     [4][]float64 // post-ReLU outputs (rows x out), then the signals D
	pool1 []float64    // 14x14x2M per sample
	feat  []float64    // 49M per sample, CHW
	g     []float64    // input gradients of a conv layer
	tmp   []float64    // one weight gradient, out x 9in
	out   []float64    // outputs of the block
}

var cnnWorks sync.Pool

func (c CNN) getWork(bs int) *cnnWork {
	if w, ok := cnnWorks.Get().(*cnnWork); ok && w.m == c.M && w.bs >= bs {
		return w
	}
	m := c.M
	w := &cnnWork{m: m, bs: bs}
	maxTmp := 0
	for l, s := range c.convs() {
		w.p[l] = make([]float64, bs*s.rows()*s.k())
		w.a[l] = make([]float64, bs*s.rows()*s.out)
		maxTmp = max(maxTmp, s.out*s.k())
	}
	w.pool1 = make([]float64, bs*196*2*m)
	w.feat = make([]float64, bs*49*m)
	w.g = make([]float64, bs*max(784*m, 196*2*m))
	w.tmp = make([]float64, maxTmp)
	w.out = make([]float64, bs)
	return w
}

// run calls f on the blocks [lo, hi) of n samples, cnnBlock at a time, from
// up to GOMAXPROCS goroutines, each with its own workspace.
func (c CNN) run(n int, f func(w *cnnWork, b, lo, hi int)) {
	nb := (n + cnnBlock - 1) / cnnBlock
	bs := min(n, cnnBlock)
	var next atomic.Int64
	work := func() {
		w := c.getWork(bs)
		defer cnnWorks.Put(w)
		for {
			b := int(next.Add(1) - 1)
			if b >= nb {
				return
			}
			f(w, b, b*cnnBlock, min(n, (b+1)*cnnBlock))
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nb) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// im2col writes the patches of one sample (side x side x ch, positions x
// channels) into p (side² x 9ch, columns (ky, kx, channel)), zero padded.
func im2col(p, in []float64, side, ch int) {
	k := 9 * ch
	for y := range side {
		for x := range side {
			row := p[(y*side+x)*k : (y*side+x+1)*k]
			for ky := range 3 {
				yy := y + ky - 1
				for kx := range 3 {
					xx := x + kx - 1
					dst := row[(ky*3+kx)*ch : (ky*3+kx+1)*ch]
					if yy < 0 || yy >= side || xx < 0 || xx >= side {
						clear(dst)
					} else {
						copy(dst, in[(yy*side+xx)*ch:])
					}
				}
			}
		}
	}
}

// col2im sets g (side x side x ch) to the sum of the patch gradients dp
// (side² x 9ch) over the patches each input entry belongs to.
func col2im(g, dp []float64, side, ch int) {
	k := 9 * ch
	clear(g[:side*side*ch])
	for y := range side {
		for x := range side {
			row := dp[(y*side+x)*k : (y*side+x+1)*k]
			for ky := range 3 {
				yy := y + ky - 1
				if yy < 0 || yy >= side {
					continue
				}
				for kx := range 3 {
					xx := x + kx - 1
					if xx < 0 || xx >= side {
						continue
					}
					src := row[(ky*3+kx)*ch : (ky*3+kx+1)*ch]
					dst := g[(yy*side+xx)*ch : (yy*side+xx+1)*ch]
					for i, v := range src {
						dst[i] += v
					}
				}
			}
		}
	}
}

// forward runs the ns samples x (ns x 784) through the network, leaving the
// patches, activations and features in w and the outputs in w.out.
func (c CNN) forward(w *cnnWork, par *cnnParams, x []float64, ns int) {
	m := c.M
	convs := c.convs()
	for l, s := range convs {
		var in []float64
		switch l {
		case 0:
			in = x
		case 1:
			in = w.a[0]
		case 2:
			in = w.pool1
		case 3:
			in = w.a[2]
		}
		rows, k := s.rows(), s.k()
		p := w.p[l][:ns*rows*k]
		for i := range ns {
			im2col(p[i*rows*k:], in[i*rows*s.in:], s.side, s.in)
		}
		z := w.a[l][:ns*rows*s.out]
		for r := range ns * rows {
			copy(z[r*s.out:(r+1)*s.out], par.b[l])
		}
		numerics.Gemm(false, true, ns*rows, s.out, k, 1, p, k, par.w[l], k, 1, z, s.out)
		for i, v := range z {
			if !(v > 0) {
				z[i] = 0
			}
		}
		switch l {
		case 1: // 28x28x2M → 14x14x2M, positions x channels
			ch := 2 * m
			for i := range ns {
				src := z[i*784*ch:]
				dst := w.pool1[i*196*ch:]
				for y := range 14 {
					for x := range 14 {
						p00 := src[(2*y*28+2*x)*ch:]
						p01 := src[(2*y*28+2*x+1)*ch:]
						p10 := src[((2*y+1)*28+2*x)*ch:]
						p11 := src[((2*y+1)*28+2*x+1)*ch:]
						o := dst[(y*14+x)*ch:]
						for j := range ch {
							o[j] = (p00[j] + p01[j] + p10[j] + p11[j]) * 0.25
						}
					}
				}
			}
		case 3: // 14x14xM → 7x7xM, flattened (C, H, W)
			for i := range ns {
				src := z[i*196*m:]
				dst := w.feat[i*49*m:]
				for y := range 7 {
					for x := range 7 {
						p00 := src[(2*y*14+2*x)*m:]
						p01 := src[(2*y*14+2*x+1)*m:]
						p10 := src[((2*y+1)*14+2*x)*m:]
						p11 := src[((2*y+1)*14+2*x+1)*m:]
						for j := range m {
							dst[j*49+y*7+x] = (p00[j] + p01[j] + p10[j] + p11[j]) * 0.25
						}
					}
				}
			}
		}
	}
	for i := range ns {
		w.out[i] = numerics.Dot(par.fc, w.feat[i*49*m:(i+1)*49*m]) + par.fcb
	}
}

// backward backpropagates the output signals delta (length ns) of the last
// forward pass down to conv layer lowest. For each conv layer l from the last
// down, once its signal D_l = ∂(Σ_i delta_i f_i)/∂Z_l (rows x out per sample)
// is in w.a[l] and the patches still in w.p[l], it calls grad(l).
func (c CNN) backward(w *cnnWork, par *cnnParams, ns int, delta []float64, lowest int, grad func(l int)) {
	m := c.M
	convs := c.convs()
	q := 0.25
	if c.variant == cnnBadPool {
		q = 1
	}
	on := func(a float64) bool { return a > 0 || c.variant == cnnAbs }
	// Head and second pool: D_3 = ReLU' · q · delta_i fc[c·49 + pooled position].
	a := w.a[3]
	for i := range ns {
		for y := range 14 {
			for x := range 14 {
				pp := (y/2)*7 + x/2
				r := a[(i*196+y*14+x)*m:]
				for j := range m {
					if on(r[j]) {
						r[j] = q * (delta[i] * par.fc[j*49+pp])
					} else {
						r[j] = 0
					}
				}
			}
		}
	}
	for l := 3; l >= lowest; l-- {
		grad(l)
		if l == lowest {
			return
		}
		s := convs[l]
		rows, k := s.rows(), s.k()
		dp := w.p[l][:ns*rows*k]
		numerics.Gemm(false, false, ns*rows, k, s.out, 1, w.a[l], s.out, par.w[l], k, 0, dp, k)
		g := w.g[:ns*rows*s.in]
		for i := range ns {
			col2im(g[i*rows*s.in:], dp[i*rows*k:], s.side, s.in)
		}
		prev := w.a[l-1]
		switch l {
		case 2: // g is the gradient of the first pool's output
			ch := 2 * m
			for i := range ns {
				for y := range 28 {
					for x := range 28 {
						r := prev[(i*784+y*28+x)*ch:]
						src := g[(i*196+(y/2)*14+x/2)*ch:]
						for j := range ch {
							if on(r[j]) {
								r[j] = q * src[j]
							} else {
								r[j] = 0
							}
						}
					}
				}
			}
		default:
			for i, v := range g {
				if on(prev[i]) {
					prev[i] = v
				} else {
					prev[i] = 0
				}
			}
		}
	}
}

// convGrad writes the gradient of conv layer l, Σ over the rows of D_l and
// the patches P (rows of them), in θ's layout (weights then bias) into dst.
func (c CNN) convGrad(w *cnnWork, l int, d, p []float64, rows int, dst []float64) {
	s := c.convs()[l]
	k := s.k()
	t := w.tmp[:s.out*k]
	numerics.Gemm(true, false, s.out, k, rows, 1, d, s.out, p, k, 0, t, k)
	for o := range s.out {
		for ci := range s.in {
			for tap := range 9 {
				dst[o*k+ci*9+tap] = t[o*k+tap*s.in+ci]
			}
		}
	}
	bias := dst[s.out*k : s.out*k+s.out]
	clear(bias)
	for r := range rows {
		for o, v := range d[r*s.out : (r+1)*s.out] {
			bias[o] += v
		}
	}
}

// Outputs writes f(x_i; θ) into out.
func (c CNN) Outputs(out, theta, x []float64) error {
	n, err := c.check(theta, x)
	if err != nil {
		return err
	}
	if err := checkLen("out", out, n); err != nil {
		return err
	}
	par := c.params(theta)
	c.run(n, func(w *cnnWork, _, lo, hi int) {
		c.forward(w, par, x[lo*cnnIn:hi*cnnIn], hi-lo)
		copy(out[lo:hi], w.out)
	})
	return nil
}

// LossGradient returns L = Σ e_i²/(2n) and writes ∇L = Σ e_i g_i / n into
// grad, backpropagating e_i/n; the weight gradient of a block of samples is
// one Gemm, and the blocks are summed in order.
func (c CNN) LossGradient(grad, theta, x, y []float64) (float64, error) {
	n, err := c.check(theta, x)
	if err != nil {
		return 0, err
	}
	p := c.NumParams()
	if err := checkLen("y", y, n); err != nil {
		return 0, err
	}
	if err := finite("y", y); err != nil {
		return 0, err
	}
	if err := checkLen("grad", grad, p); err != nil {
		return 0, err
	}
	par := c.params(theta)
	off, head := c.offsets()
	convs := c.convs()
	m := c.M
	nb := (n + cnnBlock - 1) / cnnBlock
	partial := make([][]float64, nb)
	e := make([]float64, n)
	inv := 1 / float64(n)
	c.run(n, func(w *cnnWork, b, lo, hi int) {
		ns := hi - lo
		g := grad
		if b > 0 {
			g = make([]float64, p)
		}
		partial[b] = g
		c.forward(w, par, x[lo*cnnIn:hi*cnnIn], ns)
		delta := make([]float64, ns)
		for i := range ns {
			e[lo+i] = w.out[i] - y[lo+i]
			delta[i] = e[lo+i] * inv
		}
		fc := g[head : head+49*m]
		clear(fc)
		g[head+49*m] = 0
		for i := range ns {
			numerics.Axpy(delta[i], w.feat[i*49*m:(i+1)*49*m], fc)
			g[head+49*m] += delta[i]
		}
		c.backward(w, par, ns, delta, 0, func(l int) {
			s := convs[l]
			rows := ns * s.rows()
			c.convGrad(w, l, w.a[l][:rows*s.out], w.p[l][:rows*s.k()], rows, g[off[l]:off[l]+s.params()])
		})
	})
	for _, g := range partial[1:] {
		for j, v := range g {
			grad[j] += v
		}
	}
	var loss float64
	for _, v := range e {
		loss += v * v
	}
	return loss / (2 * float64(n)), nil
}

// PerSampleGradients writes Q (n x p), row i = ∇_θ f(x_i; θ), in θ's layout.
func (c CNN) PerSampleGradients(q, theta, x []float64) error {
	n, err := c.check(theta, x)
	if err != nil {
		return err
	}
	p := c.NumParams()
	if err := checkLen("q", q, n*p); err != nil {
		return err
	}
	par := c.params(theta)
	off, head := c.offsets()
	m := c.M
	c.run(n, func(w *cnnWork, _, lo, hi int) {
		ns := hi - lo
		c.forward(w, par, x[lo*cnnIn:hi*cnnIn], ns)
		for i := range ns {
			row := q[(lo+i)*p : (lo+i+1)*p]
			copy(row[head:], w.feat[i*49*m:(i+1)*49*m])
			row[p-1] = 1
		}
		c.backward(w, par, ns, ones(ns), 0, func(l int) {
			c.sampleGrads(w, l, ns, func(i int) []float64 { return q[(lo+i)*p+off[l]:] })
		})
	})
	return nil
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// sampleGrads writes each sample's gradient of conv layer l into dst(i).
func (c CNN) sampleGrads(w *cnnWork, l, ns int, dst func(i int) []float64) {
	s := c.convs()[l]
	rows, k := s.rows(), s.k()
	for i := range ns {
		c.convGrad(w, l, w.a[l][i*rows*s.out:(i+1)*rows*s.out], w.p[l][i*rows*k:(i+1)*rows*k], rows, dst(i))
	}
}

// Gram writes K = QQᵀ = K_head + Σ_l Q_l Q_lᵀ and the outputs. The head's
// block is K_head = (A Aᵀ + 1) ∘ (D Dᵀ) with A (n x 49M) the features and
// D = 1 the output signals, i.e. A Aᵀ + 1, so its Q is never formed. Each
// conv layer's per-sample gradients Q_l (n x p_l) come from one sample's
// signal D_i and patches P_i as dW_i = D_iᵀ P_i and the column sums of D_i,
// and K accumulates numerics.Gram(Q_l) in layer order.
//
// Memory: when n·p_conv·8 bytes (p_conv = 72M² + 15M, the conv parameters)
// is at most 1 GiB, one forward/backward pass fills every Q_l; otherwise
// Gram keeps one Q_l at a time, with one pass per layer (the backward pass
// stopping at that layer). Peak memory is O(n² + n·p_conv) or
// O(n² + n·max_l p_l), plus n·49M for A. The bits are the same either way.
func (c CNN) Gram(k, out, theta, x []float64) error {
	n, err := c.check(theta, x)
	if err != nil {
		return err
	}
	if err := checkLen("k", k, n*n); err != nil {
		return err
	}
	if err := checkLen("out", out, n); err != nil {
		return err
	}
	par := c.params(theta)
	convs := c.convs()
	m := c.M
	_, pconv := c.offsets()
	groups := [][]int{{0, 1, 2, 3}}
	if float64(n)*float64(pconv)*8 > cnnGramCap {
		groups = [][]int{{0}, {1}, {2}, {3}}
	}
	feats := make([]float64, n*49*m)
	tmp := make([]float64, n*n)
	var q [4][]float64
	for gi, grp := range groups {
		for _, l := range grp {
			q[l] = make([]float64, n*convs[l].params())
		}
		c.run(n, func(w *cnnWork, _, lo, hi int) {
			ns := hi - lo
			c.forward(w, par, x[lo*cnnIn:hi*cnnIn], ns)
			if gi == 0 {
				copy(out[lo:hi], w.out[:ns])
				copy(feats[lo*49*m:hi*49*m], w.feat)
			}
			c.backward(w, par, ns, ones(ns), grp[0], func(l int) {
				if q[l] == nil {
					return
				}
				pl := convs[l].params()
				c.sampleGrads(w, l, ns, func(i int) []float64 { return q[l][(lo+i)*pl : (lo+i+1)*pl] })
			})
		})
		if gi == 0 {
			numerics.Gram(k, feats, n, 49*m)
			for i := range k {
				k[i]++
			}
		}
		for _, l := range grp {
			numerics.Gram(tmp, q[l], n, convs[l].params())
			for i, v := range tmp {
				k[i] += v
			}
			q[l] = nil
		}
	}
	return nil
}

var _ Network = CNN{}
