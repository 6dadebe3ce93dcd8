package models

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// DeepLinear is the deep linear network F(θ) = W_1 W_2 ⋯ W_L of Section 2.1,
// f(x; θ) = F(θ)ᵀx, with layer l of size Dims[l-1] x Dims[l], Dims[0] = d and
// Dims[L] = 1. θ holds W_1, …, W_L in order, each row-major.
type DeepLinear struct {
	Dims []int
}

// NewDeepLinear returns the network d → widths… → 1 (depth len(widths)+1).
func NewDeepLinear(d int, widths ...int) (DeepLinear, error) {
	dims := append(append([]int{d}, widths...), 1)
	for l, w := range dims {
		if w < 1 {
			return DeepLinear{}, fmt.Errorf("models: layer width %d at position %d: %w", w, l, ErrShape)
		}
	}
	return DeepLinear{Dims: dims}, nil
}

// Dim is d.
func (m DeepLinear) Dim() int { return m.Dims[0] }

// Depth is L, the number of weight matrices.
func (m DeepLinear) Depth() int { return len(m.Dims) - 1 }

// NumParams is Σ_l Dims[l-1]·Dims[l].
func (m DeepLinear) NumParams() int {
	p := 0
	for l := 0; l < m.Depth(); l++ {
		p += m.Dims[l] * m.Dims[l+1]
	}
	return p
}

// layers views θ as the matrices W_1..W_L.
func (m DeepLinear) layers(theta []float64) ([]*mat.Dense, error) {
	if err := checkTheta(theta, m.NumParams()); err != nil {
		return nil, err
	}
	ws := make([]*mat.Dense, m.Depth())
	off := 0
	for l := range ws {
		r, c := m.Dims[l], m.Dims[l+1]
		ws[l] = mat.NewDense(r, c, theta[off:off+r*c])
		off += r * c
	}
	return ws, nil
}

// F returns W_1 ⋯ W_L, multiplied left to right.
func (m DeepLinear) F(theta []float64) ([]float64, error) {
	ws, err := m.layers(theta)
	if err != nil {
		return nil, err
	}
	return mat.Col(nil, 0, prefix(ws, len(ws))), nil
}

// prefix returns W_1 ⋯ W_k (Dims[0] x Dims[k]; the identity for k = 0).
func prefix(ws []*mat.Dense, k int) *mat.Dense {
	d, _ := ws[0].Dims()
	a := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		a.Set(i, i, 1)
	}
	for _, w := range ws[:k] {
		var next mat.Dense
		next.Mul(a, w)
		a = &next
	}
	return a
}

// Jacobian returns ∇F (d x p): F = A_l W_l B_l with A_l = W_1 ⋯ W_{l-1} and
// B_l = W_{l+1} ⋯ W_L, so ∂F/∂(W_l)_{ab} = (A_l)_{:,a} (B_l)_b.
func (m DeepLinear) Jacobian(theta []float64) (*mat.Dense, error) {
	ws, err := m.layers(theta)
	if err != nil {
		return nil, err
	}
	d, depth := m.Dims[0], m.Depth()
	// Suffix products B_l, from the last layer back.
	b := make([][]float64, depth)
	b[depth-1] = []float64{1}
	for l := depth - 2; l >= 0; l-- {
		next := ws[l+1]
		r, _ := next.Dims()
		b[l] = make([]float64, r)
		for i := range b[l] {
			for k, x := range b[l+1] {
				b[l][i] += next.At(i, k) * x
			}
		}
	}
	j := mat.NewDense(d, m.NumParams(), nil)
	off := 0
	for l := 0; l < depth; l++ {
		a := prefix(ws, l)
		r, c := m.Dims[l], m.Dims[l+1]
		for ai := 0; ai < r; ai++ {
			for bi := 0; bi < c; bi++ {
				col := off + ai*c + bi
				for i := 0; i < d; i++ {
					j.Set(i, col, a.At(i, ai)*b[l][bi])
				}
			}
		}
		off += r * c
	}
	return j, nil
}

// Quadratic is the quadratically parameterized linear model of Section 2.1:
// θ = (a_1..a_d, b_1..b_d), F_k(θ) = a_k² - b_k².
type Quadratic struct{ D int }

// Dim is d.
func (m Quadratic) Dim() int { return m.D }

// NumParams is 2d.
func (m Quadratic) NumParams() int { return 2 * m.D }

// F returns (a_k² - b_k²)_k.
func (m Quadratic) F(theta []float64) ([]float64, error) {
	if err := checkTheta(theta, m.NumParams()); err != nil {
		return nil, err
	}
	f := make([]float64, m.D)
	for k := range f {
		a, b := theta[k], theta[m.D+k]
		f[k] = a*a - b*b
	}
	return f, nil
}

// Jacobian returns ∇F = [diag(2a), -diag(2b)] (d x 2d).
func (m Quadratic) Jacobian(theta []float64) (*mat.Dense, error) {
	if err := checkTheta(theta, m.NumParams()); err != nil {
		return nil, err
	}
	j := mat.NewDense(m.D, 2*m.D, nil)
	for k := 0; k < m.D; k++ {
		j.Set(k, k, 2*theta[k])
		j.Set(k, m.D+k, -2*theta[m.D+k])
	}
	return j, nil
}
