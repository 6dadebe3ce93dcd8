package reference

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrInput is wrapped by every error of this package.
var ErrInput = errors.New("reference: bad input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// Model is a feature model at a global minimum in the eigenbasis V of
// G = H: the features a_i (the rows of A, n x r) and the r eigenvalues h
// of H.
type Model struct {
	a *mat.Dense
	h []float64
}

// NewModel is the model with features A (n x r, rows a_i) and eigenvalues
// h (len(h) = r). A and h are copied.
func NewModel(a mat.Matrix, h []float64) (*Model, error) {
	n, r := a.Dims()
	if n < 1 || r < 1 || len(h) != r {
		return nil, inputErr("A is %d x %d with %d eigenvalues, want n x r with n, r >= 1 and r eigenvalues", n, r, len(h))
	}
	md := &Model{a: mat.DenseCopyOf(a), h: append([]float64(nil), h...)}
	if err := finite("A", md.a); err != nil {
		return nil, err
	}
	if err := finite("h", mat.NewVecDense(r, md.h)); err != nil {
		return nil, err
	}
	return md, nil
}

// ModelFromGram is the model of the features Q with Gram K = QQᵀ (n x n)
// on its top r eigenpairs: K = U diag(λ) Uᵀ with λ descending, A = U
// diag(sqrt(λ)) restricted to the first r columns (Q = U S Vᵀ, so the rows
// of US are the features in the basis V) and h = λ/n. The top r
// eigenvalues must be positive.
func ModelFromGram(k mat.Symmetric, r int) (*Model, error) {
	n := k.SymmetricDim()
	if n < 1 || r < 1 || r > n {
		return nil, inputErr("rank %d for a %d x %d Gram matrix", r, n, n)
	}
	if err := finite("K", k); err != nil {
		return nil, err
	}
	var es mat.EigenSym
	if !es.Factorize(k, true) {
		return nil, inputErr("eigen-decomposition of K failed")
	}
	vals := es.Values(nil) // ascending
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	a := mat.NewDense(n, r, nil)
	h := make([]float64, r)
	for c := 0; c < r; c++ {
		j := n - 1 - c
		if !(vals[j] > 0) {
			return nil, inputErr("eigenvalue %d of K is %v: K has fewer than %d positive eigenvalues", c+1, vals[j], r)
		}
		s := math.Sqrt(vals[j])
		h[c] = vals[j] / float64(n)
		for i := 0; i < n; i++ {
			a.Set(i, c, vecs.At(i, j)*s)
		}
	}
	return &Model{a: a, h: h}, nil
}

// N is the number of samples.
func (md *Model) N() int { n, _ := md.a.Dims(); return n }

// Rank is r, the number of eigenvalues of H the model keeps.
func (md *Model) Rank() int { return len(md.h) }

// finite locates the first NaN or ±Inf of x.
func finite(arg string, x mat.Matrix) error {
	rows, cols := x.Dims()
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			if v := x.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return inputErr("%s[%d, %d] = %v is not finite", arg, i, j, v)
			}
		}
	}
	return nil
}

// NoiseKind is the noise model of the recursion.
type NoiseKind int

const (
	// SGD is the batch noise of mini-batch SGD:
	// E[H_I M H_I] = C1·HMH + C2·Σ_i (a_iᵀMa_i) a_i a_iᵀ.
	SGD NoiseKind = iota
	// GeometryAware is Section 3.3's E[S1(θ)]/B with S1 = 2L(θ)H: in the
	// second moment, Tr(HM)·H/B.
	GeometryAware
	// Isotropic is Section 3.3's E[S2(θ)]/B with S2 = 2σ²L(θ)I_p and
	// σ² = Tr(H)/p: in the second moment on the range, σ²Tr(HM)·I_r/B
	// (the compression VᵀI_pV of I_p).
	Isotropic
)

// Noise describes the noise of the recursion: the batch moments C1, C2
// for SGD (GD is C1 = 1, C2 = 0), the batch size B for the custom noises,
// and the number of parameters P for the isotropic one (σ² = Tr(H)/P).
type Noise struct {
	Kind   NoiseKind
	C1, C2 float64 // SGD
	B      int     // GeometryAware, Isotropic
	P      int     // Isotropic
}

func (nz Noise) check() error {
	switch nz.Kind {
	case SGD:
		if math.IsNaN(nz.C1) || math.IsInf(nz.C1, 0) || math.IsNaN(nz.C2) || math.IsInf(nz.C2, 0) {
			return inputErr("batch moments C1 = %v, C2 = %v are not finite", nz.C1, nz.C2)
		}
	case GeometryAware, Isotropic:
		if nz.B < 1 {
			return inputErr("batch size %d < 1", nz.B)
		}
		if nz.Kind == Isotropic && nz.P < 1 {
			return inputErr("number of parameters %d < 1", nz.P)
		}
	default:
		return inputErr("unknown noise kind %d", int(nz.Kind))
	}
	return nil
}
