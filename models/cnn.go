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
// dW = Dᵀ P are each one product, with the patches of a block of samples
// stacked. They are taken transposed, Pᵀ (9·in x positions, rows in
// PyTorch's (channel, ky, kx) order) and activations channels x positions:
// then Zᵀ = W Pᵀ, dPᵀ = Wᵀ Dᵀ and dW = Dᵀ·P take W and dW in θ's own layout,
// and the long dimension (thousands of positions) is the columns of C, which
// Gemm splits among its goroutines without each packing all of A (with
// positions as rows, a LossGradient of B = 5 at M = 20 took 16.0 ms instead
// of 14.4 ms, same blocks).
//
// The patches are never stored as a matrix: numerics.Gather reads them from
// the zero-padded input straight into the panels the Gemm micro-kernel
// reads (numerics.GemmPacked), through tables of offsets (cnnTables), a
// chunk of columns at a time for the forward product and a k-panel of
// positions at a time for dW, each in cache when multiplied; the weights
// are packed once a call, and col2im adds a sample's patch gradients into
// padded planes with numerics.AddBlock. Packing moves data, never changes a
// sum: the bits are those of the stored-Pᵀ implementation
// (TestCNNPinnedBits), at 2.2x its speed (BenchmarkCNNLossGradient, M = 20,
// one core, under load; BenchmarkCNNGram 2.9x).
//
// ReLU'(0) = 0, as in PyTorch. Samples are processed in blocks of fixed size
// on up to GOMAXPROCS goroutines; every per-sample result depends on that
// sample alone and the batch gradient sums block partials in block order,
// so results are the same bits for every GOMAXPROCS.
type CNN struct {
	M int
	// Weights is KaimingNormal (the zero value: kaiming_normal_ on every
	// weight, biases zero) or LinearDefault: PyTorch's own initialization
	// of Conv2d and Linear layers (kaiming_uniform_ with a = sqrt(5)), every
	// weight and bias U(±1/sqrt(fan_in)).
	Weights Init
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
	// workspace of a block at M = 20 is about 10 MB. It changes no bits.
	cnnBlock = 8
	// cnnLossBlock is the block of LossGradient, which sums the weight
	// gradient of a block in one Gemm and the blocks in order: it fixes the
	// bits of LossGradient. Small, so that a batch of B = 5 spreads over
	// the cores: at M = 20 it took 12.3, 10.0, 9.4 and 8.5 ms with blocks of
	// 8, 1, 2 and 3 on two cores.
	cnnLossBlock = 3
	// cnnChunk is the size, in elements, of the packed patches the forward
	// pass builds and multiplies at once: 512 KB stay in L2 between the two.
	cnnChunk = 1 << 16
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
	draw := func(w []float64, fanIn int) {
		for i := range w {
			if c.Weights == LinearDefault {
				w[i] = (2*rng.Float64() - 1) / math.Sqrt(float64(fanIn))
			} else {
				w[i] = math.Sqrt(2/float64(fanIn)) * rng.NormFloat64()
			}
		}
	}
	for l, s := range c.convs() {
		draw(theta[off[l]:off[l]+s.out*s.k()], s.k())
		if c.Weights == LinearDefault {
			draw(theta[off[l]+s.out*s.k():off[l]+s.out*s.k()+s.out], s.k())
		}
	}
	draw(theta[head:head+49*c.M], 49*c.M)
	if c.Weights == LinearDefault {
		draw(theta[head+49*c.M:], 49*c.M)
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

// cnnParams is θ viewed by layer.
// The weights are also packed once a call, for all the blocks of samples:
// W as the A of the forward products Zᵀ = W Pᵀ, Wᵀ as that of the patch
// gradients dPᵀ = Wᵀ Dᵀ.
type cnnParams struct {
	w   [4][]float64 // out x 9in, PyTorch's layout
	b   [4][]float64
	fc  []float64 // CHW order
	fcb float64
	wp  [4]numerics.Operand // W packed
	wtp [4]numerics.Operand // Wᵀ packed
	buf *[]float64          // holds wp and wtp, from cnnPacked
}

// cnnPacked recycles the packed weights of cnnParams.
var cnnPacked sync.Pool

// params views θ by layer and packs the weights; release returns the packed
// weights to cnnPacked.
func (c CNN) params(theta []float64) *cnnParams {
	par := &cnnParams{}
	off, head := c.offsets()
	var n int
	for _, s := range c.convs() {
		n += roundUp(s.out, numerics.PanelHeight(s.out))*s.k() + roundUp(s.k(), numerics.PanelHeight(s.k()))*s.out
	}
	par.buf = getBuffer(&cnnPacked, n)
	d := *par.buf
	for l, s := range c.convs() {
		k := s.k()
		par.w[l] = theta[off[l] : off[l]+s.out*k]
		par.b[l] = theta[off[l]+s.out*k : off[l]+s.params()]
		mr, mrt := numerics.PanelHeight(s.out), numerics.PanelHeight(k)
		a, at := roundUp(s.out, mr)*k, roundUp(k, mrt)*s.out
		numerics.PackA(d[:a], false, s.out, k, par.w[l], k)
		numerics.PackA(d[a:a+at], true, k, s.out, par.w[l], k)
		par.wp[l] = numerics.Operand{Data: d[:a], Stride: k * mr}
		par.wtp[l] = numerics.Operand{Data: d[a : a+at], Stride: s.out * mrt}
		d = d[a+at:]
	}
	par.fc = theta[head : head+49*c.M]
	par.fcb = theta[head+49*c.M]
	return par
}

func (par *cnnParams) release() { cnnPacked.Put(par.buf) }

// cnnWork is the workspace of one goroutine, for up to bs samples. A block
// of ns samples with ch channels on r positions is stored ch x (ns·r):
// element (c, sample i, position y·side + x) at c·ns·r + i·r + y·side + x.
// A conv layer's input is also kept zero padded, plane c·ns + i of
// (side+2)² at (c·ns + i)·(side+2)², its borders zero, so that every tap of
// every patch is a plain read (cnnTables).
type cnnWork struct {
	m, bs, nr int
	pad       [4][]float64 // padded inputs of the conv layers
	p         []float64    // patches of one layer, packed, then their gradient
	a         [4][]float64 // post-ReLU outputs (out x ns·r), then the signals D
	feat      []float64    // ns x 49M, each row CHW
	g         []float64    // padded input gradient of a conv layer
	out       []float64    // outputs of the block
	delta     []float64    // output signals of the block
	base      []int        // cnnTables' column offsets
	qoff      []int        // cnnTables' patch row offsets
}

var cnnWorks sync.Pool

// cnnPartials recycles LossGradient's partial gradients.
var cnnPartials sync.Pool

// getBuffer returns a buffer of n elements (not cleared) from pool.
func getBuffer(pool *sync.Pool, n int) *[]float64 {
	if b, ok := pool.Get().(*[]float64); ok && len(*b) == n {
		return b
	}
	b := make([]float64, n)
	return &b
}

func (c CNN) getWork(bs int) *cnnWork {
	nr := numerics.PanelWidth()
	if w, ok := cnnWorks.Get().(*cnnWork); ok && w.m == c.M && w.bs >= bs && w.nr == nr {
		return w
	}
	m := c.M
	w := &cnnWork{m: m, bs: bs, nr: nr}
	var np, ng int
	for l, s := range c.convs() {
		cols, k := bs*s.rows(), s.k()
		np = max(np, max(cnnChunk, nr*k), min(cols, numerics.KPanel)*roundUp(k, nr), s.rows()*k)
		w.pad[l] = make([]float64, s.in*bs*(s.side+2)*(s.side+2))
		ng = max(ng, len(w.pad[l]))
		w.a[l] = make([]float64, cols*s.out)
	}
	w.p = make([]float64, np)
	w.feat = make([]float64, bs*49*m)
	w.g = make([]float64, ng)
	w.out = make([]float64, bs)
	w.delta = make([]float64, bs)
	w.base = make([]int, roundUp(bs*784, nr))
	w.qoff = make([]int, roundUp(9*2*m, nr))
	return w
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// run calls f on the blocks [lo, hi) of n samples, block at a time, from
// up to GOMAXPROCS goroutines, each with its own workspace.
func (c CNN) run(n, block int, f func(w *cnnWork, b, lo, hi int)) {
	nb := (n + block - 1) / block
	bs := min(n, block)
	var next atomic.Int64
	work := func() {
		w := c.getWork(bs)
		defer cnnWorks.Put(w)
		for {
			b := int(next.Add(1) - 1)
			if b >= nb {
				return
			}
			f(w, b, b*block, min(n, (b+1)*block))
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nb) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// padPlanes copies the planes of side x side of in (planes·side² entries)
// into the interiors of the (side+2)² planes of pad, whose borders stay zero.
func padPlanes(pad, in []float64, planes, side int) {
	w := side + 2
	for t := range planes {
		src := in[t*side*side : (t+1)*side*side]
		dst := pad[t*w*w : (t+1)*w*w]
		for y := range side {
			copy(dst[(y+1)*w+1:(y+1)*w+1+side], src[y*side:(y+1)*side])
		}
	}
}

// cnnTables fills the offsets that turn the padded input of conv layer s
// (ns samples) into its patches: the patch matrix Pᵀ (9in x ns·side², row
// q = (c, ky, kx) in PyTorch's order, column (i, y, x)) has entry (q, col)
// = pad[qoff[q] + base[col]], qoff[q] = c·ns·(side+2)² + ky·(side+2) + kx
// and base[col] = i·(side+2)² + y·(side+2) + x. Both are filled up to a
// multiple of nr with 0 (a border zero, or a harmless entry of the input)
// for the padding rows and columns of the panels, which change nothing.
func cnnTables(base, qoff []int, ns int, s convShape, nr int) (cols, k int) {
	w := s.side + 2
	cols, k = ns*s.rows(), s.k()
	base = base[:roundUp(cols, nr)]
	for i := range ns {
		for y := range s.side {
			row := base[(i*s.side+y)*s.side : (i*s.side+y+1)*s.side]
			for x := range row {
				row[x] = i*w*w + y*w + x
			}
		}
	}
	clear(base[cols:])
	qoff = qoff[:roundUp(k, nr)]
	for ci := range s.in {
		for t := range 9 {
			qoff[ci*9+t] = ci*ns*w*w + t/3*w + t%3
		}
	}
	clear(qoff[k:])
	return cols, k
}

// packPatches writes the columns [j0, j0+jn) (j0 a multiple of nr) of the
// patches Pᵀ (k x cols) that cnnTables described into w.p, packed for
// numerics.GemmPacked with panel stride k·nr: the B of the forward product
// Zᵀ = W Pᵀ on those columns.
func (w *cnnWork) packPatches(pad []float64, j0, jn, k int) {
	numerics.Gather(w.p, pad, w.qoff[:k], w.base[j0:j0+roundUp(jn, w.nr)], w.nr)
}

// packPatchesT writes the rows [r0, r0+rn) of the patches P (cols x k,
// the transpose of the Pᵀ that cnnTables described) into w.p, packed for
// numerics.GemmPacked with panel stride rn·nr: the B of the weight gradient
// dW = D P over those positions.
func (w *cnnWork) packPatchesT(pad []float64, r0, rn, k int) {
	numerics.Gather(w.p, pad, w.base[r0:r0+rn], w.qoff[:roundUp(k, w.nr)], w.nr)
}

// col2im adds to the interiors of the padded planes of sample i of ns in g
// (plane c·ns + i of (side+2)², for the ch channels c) the patch gradients
// dp of that sample (laid out as its Pᵀ, 9ch x side²), summed over the
// patches each input entry belongs to, taps in the order of the rows of dp:
// tap (ky, kx) of position (y, x) lands on (y+ky, x+kx) of the padded plane,
// the border when it is outside the input. From cleared planes, the
// interiors get the same sums in the same order as the zero-padded
// convolution's transpose; the borders collect what falls outside.
func col2im(g, dp []float64, i, ns, side, ch int) {
	r, w := side*side, side+2
	for q := range 9 * ch {
		ci, ky, kx := q/9, q%9/3, q%3
		plane := g[(ci*ns+i)*w*w : (ci*ns+i+1)*w*w]
		numerics.AddBlock(plane[ky*w+kx:], w, dp[q*r:(q+1)*r], side, side, side)
	}
}

// relu returns v if v > 0 and +0 otherwise (for NaN too), without a branch
// that the signs of the pre-activations would mispredict half of the time:
// v > 0 exactly when its bits, an unsigned integer, are in [1, bits(+Inf)].
func relu(v float64) float64 {
	b := math.Float64bits(v)
	if b-1 >= 0x7ff0_0000_0000_0000 {
		b = 0
	}
	return math.Float64frombits(b)
}

// masked returns v times ReLU'(a) for a post-ReLU activation a (+0 or
// positive), that is v, or +0 when a = +0, unless all is all ones (then v):
// the signal of the backward pass, without a branch.
func masked(v, a float64, all uint64) float64 {
	b := math.Float64bits(v)
	if math.Float64bits(a)|all == 0 {
		b = 0
	}
	return math.Float64frombits(b)
}

// forward runs the ns samples x (ns x 784) through the network, leaving the
// patches, activations and features in w and the outputs in w.out.
func (c CNN) forward(w *cnnWork, par *cnnParams, x []float64, ns int) {
	m, nr := c.M, w.nr
	for l, s := range c.convs() {
		switch l { // the first pool writes the padded input of conv 3 itself
		case 0:
			padPlanes(w.pad[0], x, ns, s.side) // 1 x ns·784
		case 1, 3:
			padPlanes(w.pad[l], w.a[l-1], s.in*ns, s.side)
		}
		cols, k := cnnTables(w.base, w.qoff, ns, s, nr)
		z := w.a[l][:s.out*cols]
		// A chunk of columns at a time, its patches, bias, product and ReLU
		// in cache.
		cw := max(nr, cnnChunk/k/nr*nr)
		for j0 := 0; j0 < cols; j0 += cw {
			jn := min(cw, cols-j0)
			w.packPatches(w.pad[l], j0, jn, k)
			for o, b := range par.b[l] {
				row := z[o*cols+j0 : o*cols+j0+jn]
				for j := range row {
					row[j] = b
				}
			}
			numerics.GemmPacked(s.out, jn, k, par.wp[l], numerics.Operand{Data: w.p, Stride: k * nr}, 1, z[j0:], cols)
			for o := range s.out {
				row := z[o*cols+j0 : o*cols+j0+jn]
				for j, v := range row {
					row[j] = relu(v)
				}
			}
		}
		switch l {
		case 1: // 2M x ns·784 → 2M x ns·196, padded to planes of 16²
			for ci := range 2 * m * ns {
				src := z[ci*784 : (ci+1)*784]
				dst := w.pad[2][ci*256 : (ci+1)*256]
				for y := range 14 {
					for x := range 14 {
						dst[(y+1)*16+x+1] = (src[2*y*28+2*x] + src[2*y*28+2*x+1] + src[(2*y+1)*28+2*x] + src[(2*y+1)*28+2*x+1]) * 0.25
					}
				}
			}
		case 3: // M x ns·196 → ns x 49M, flattened (C, H, W)
			for ci := range m {
				for i := range ns {
					src := z[(ci*ns+i)*196 : (ci*ns+i+1)*196]
					dst := w.feat[i*49*m+ci*49 : i*49*m+(ci+1)*49]
					for y := range 7 {
						for x := range 7 {
							dst[y*7+x] = (src[2*y*14+2*x] + src[2*y*14+2*x+1] + src[(2*y+1)*14+2*x] + src[(2*y+1)*14+2*x+1]) * 0.25
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
// down, once its signal D_l = ∂(Σ_i delta_i f_i)/∂Z_l (out x ns·r) is in
// w.a[l] and cnnTables describes its patches, it calls grad(l).
func (c CNN) backward(w *cnnWork, par *cnnParams, ns int, delta []float64, lowest int, grad func(l int)) {
	m := c.M
	convs := c.convs()
	q := 0.25
	if c.variant == cnnBadPool {
		q = 1
	}
	// A post-ReLU value a (+0 or positive) has ReLU' = 1 when
	// bits(a)|all != 0: a select without a branch, which the signs of the
	// activations would mispredict half of the time.
	var all uint64
	if c.variant == cnnAbs {
		all = ^all // ReLU' := 1
	}
	// Head and second pool: D_3 = ReLU' · q · delta_i fc[c·49 + pooled position].
	for ci := range m {
		for i := range ns {
			r := w.a[3][(ci*ns+i)*196 : (ci*ns+i+1)*196]
			fc := par.fc[ci*49 : (ci+1)*49]
			for y := range 14 {
				for x := range 14 {
					r[y*14+x] = masked(q*(delta[i]*fc[(y/2)*7+x/2]), r[y*14+x], all)
				}
			}
		}
	}
	for l := 3; l >= lowest; l-- {
		s := convs[l]
		cols, k := cnnTables(w.base, w.qoff, ns, s, w.nr)
		grad(l)
		if l == lowest {
			return
		}
		// The patch gradients dPᵀ = Wᵀ Dᵀ of a sample at a time, in cache
		// for col2im.
		g, r, pw := w.g, s.rows(), s.side+2
		clear(g[:s.in*ns*pw*pw])
		for i := range ns {
			dp := w.p[:k*r]
			numerics.GemmPacked(k, r, s.out, par.wtp[l], numerics.Operand{Data: w.a[l][i*r:], Ld: cols}, 0, dp, r)
			col2im(g, dp, i, ns, s.side, s.in)
		}
		prev := w.a[l-1]
		switch l {
		case 2: // g is the gradient of the first pool's output, planes of 16²
			for ci := range 2 * m * ns {
				r := prev[ci*784 : (ci+1)*784]
				src := g[ci*256 : (ci+1)*256]
				for y := range 28 {
					for x := range 28 {
						r[y*28+x] = masked(q*src[(y/2+1)*16+x/2+1], r[y*28+x], all)
					}
				}
			}
		default:
			side := s.side
			for t := range s.in * ns {
				r := prev[t*side*side : (t+1)*side*side]
				src := g[t*pw*pw : (t+1)*pw*pw]
				for y := range side {
					for x := range side {
						r[y*side+x] = masked(src[(y+1)*pw+x+1], r[y*side+x], all)
					}
				}
			}
		}
	}
}

// convGrad writes the gradient of conv layer l in θ's layout (weights, then
// bias) into dst: dW = D P and the row sums of D, over the columns
// [j0, j0+cols) of D_l (out x ld) and the rows [j0, j0+cols) of the patches
// P (ld x 9in) that cnnTables describes. The product is taken one k-panel of
// numerics.KPanel positions at a time, the panel's patches packed just
// before it: the bits of one product, its k-panels in cache.
func (c CNN) convGrad(w *cnnWork, l, ld, j0, cols int, dst []float64) {
	s := c.convs()[l]
	k := s.k()
	d := w.a[l][j0:]
	for k0 := 0; k0 < cols; k0 += numerics.KPanel {
		kn := min(numerics.KPanel, cols-k0)
		w.packPatchesT(w.pad[l], j0+k0, kn, k)
		beta := 1.0
		if k0 == 0 {
			beta = 0
		}
		numerics.GemmPacked(s.out, k, kn, numerics.Operand{Data: d[k0:], Ld: ld}, numerics.Operand{Data: w.p, Stride: kn * w.nr}, beta, dst, k)
	}
	bias := dst[s.out*k : s.out*k+s.out]
	for o := range s.out {
		var sum float64
		for _, v := range d[o*ld : o*ld+cols] {
			sum += v
		}
		bias[o] = sum
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
	defer par.release()
	c.run(n, cnnBlock, func(w *cnnWork, _, lo, hi int) {
		c.forward(w, par, x[lo*cnnIn:hi*cnnIn], hi-lo)
		copy(out[lo:hi], w.out)
	})
	return nil
}

// LossGradient returns L = Σ e_i²/(2n) and writes ∇L = Σ e_i g_i / n into
// grad, backpropagating e_i/n; the weight gradient of a block of samples is
// one Gemm, and the blocks are summed in order: block 0's gradient is grad
// itself, and grad += block b's for b = 1, 2, … in turn, each as soon as the
// blocks before it are in, so that only the few partial gradients the
// goroutines have ahead wait, in buffers reused from call to call.
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
	defer par.release()
	off, head := c.offsets()
	convs := c.convs()
	m := c.M
	var (
		mu    sync.Mutex
		ready = map[int]*[]float64{} // finished partial gradients, by block
		added int                    // blocks summed into grad
	)
	e := make([]float64, n)
	inv := 1 / float64(n)
	c.run(n, cnnLossBlock, func(w *cnnWork, b, lo, hi int) {
		ns := hi - lo
		g := grad
		var buf *[]float64
		if b > 0 {
			buf = getBuffer(&cnnPartials, p)
			g = *buf
		}
		c.forward(w, par, x[lo*cnnIn:hi*cnnIn], ns)
		delta := w.delta[:ns]
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
			cols := ns * convs[l].rows()
			c.convGrad(w, l, cols, 0, cols, g[off[l]:off[l]+convs[l].params()])
		})
		mu.Lock()
		defer mu.Unlock()
		ready[b] = buf
		for {
			r, ok := ready[added]
			if !ok {
				return
			}
			delete(ready, added)
			if added > 0 {
				for j, v := range *r {
					grad[j] += v
				}
				cnnPartials.Put(r)
			}
			added++
		}
	})
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
	defer par.release()
	off, head := c.offsets()
	m := c.M
	c.run(n, cnnBlock, func(w *cnnWork, _, lo, hi int) {
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
	r := c.convs()[l].rows()
	for i := range ns {
		c.convGrad(w, l, ns*r, i*r, r, dst(i))
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
	defer par.release()
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
		c.run(n, cnnBlock, func(w *cnnWork, _, lo, hi int) {
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
