package numerics

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"
)

// symmetricCase draws a symmetric matrix from the corners an eigensolver
// finds hard: rank-deficient Grams, repeated and clustered eigenvalues,
// duplicated and zero rows, diagonal and zero matrices, and scales from
// subnormal to near overflow (both of Dsyev's and Dsteqr's rescalings).
func symmetricCase(t *rapid.T, n int) []float64 {
	a := make([]float64, n*n)
	scale := math.Pow(2, float64(rapid.SampledFrom([]int{0, 0, -40, 40, -1000, -1060, 1000, 1020}).Draw(t, "log2 scale")))
	switch rapid.IntRange(0, 4).Draw(t, "kind") {
	case 0: // a random symmetric matrix
		for i := range n {
			for j := i; j < n; j++ {
				v := rapid.Float64Range(-1, 1).Draw(t, "entry")
				a[i*n+j], a[j*n+i] = v, v
			}
		}
	case 1: // a Gram QQᵀ of rank at most k, rows duplicated or zeroed
		k := rapid.IntRange(1, max(1, n)).Draw(t, "rank")
		q := make([]float64, n*k)
		for i := range n {
			switch rapid.IntRange(0, 5).Draw(t, "row") {
			case 0:
				continue // a zero row
			case 1:
				if i > 0 {
					copy(q[i*k:(i+1)*k], q[(i-1)*k:i*k])
					continue
				}
			}
			for c := range k {
				q[i*k+c] = rapid.Float64Range(-1, 1).Draw(t, "q")
			}
		}
		for i := range n {
			for j := range n {
				for c := range k {
					a[i*n+j] += q[i*k+c] * q[j*k+c]
				}
			}
		}
	case 2: // few distinct eigenvalues: c·I plus a low-rank term
		c := rapid.SampledFrom([]float64{0, 1, -1, 1e-12}).Draw(t, "shift")
		for i := range n {
			a[i*n+i] = c
		}
		if n > 0 {
			j := rapid.IntRange(0, n-1).Draw(t, "spike")
			a[j*n+j] += 1
		}
	case 3: // diagonal, possibly with repeats
		for i := range n {
			a[i*n+i] = float64(rapid.IntRange(-3, 3).Draw(t, "diag"))
		}
	case 4: // tridiagonal with tiny off-diagonals (early splitting)
		for i := range n {
			a[i*n+i] = rapid.Float64Range(-1, 1).Draw(t, "d")
			if i+1 < n {
				v := rapid.SampledFrom([]float64{0, 1e-300, 1e-17, 0.5}).Draw(t, "e")
				a[i*n+i+1], a[(i+1)*n+i] = v, v
			}
		}
	}
	for i := range a {
		a[i] *= scale
	}
	return a
}

// gonumEigen is the reference: mat.EigenSym, which calls lapack Dsyev.
func gonumEigen(n int, a []float64) (w, v []float64, ok bool) {
	var es mat.EigenSym
	if n == 0 {
		return nil, nil, true
	}
	if !es.Factorize(mat.NewSymDense(n, slices.Clone(a)), true) {
		return nil, nil, false
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	return es.Values(nil), vecs.RawMatrix().Data, true
}

// sameEigen compares SymmetricEigen with gonum bit for bit.
func sameEigen(n int, a []float64) error {
	wantW, wantV, wantOK := gonumEigen(n, a)
	v := slices.Clone(a)
	w := make([]float64, n)
	ok := SymmetricEigen(n, v, w)
	if ok != wantOK {
		return fmt.Errorf("n=%d: ok %v, gonum %v", n, ok, wantOK)
	}
	if !ok {
		return nil
	}
	for i := range w {
		if math.Float64bits(w[i]) != math.Float64bits(wantW[i]) {
			return fmt.Errorf("n=%d: eigenvalue %d is %v, gonum %v", n, i, w[i], wantW[i])
		}
	}
	for i := range v {
		if math.Float64bits(v[i]) != math.Float64bits(wantV[i]) {
			return fmt.Errorf("n=%d: eigenvector entry (%d, %d) is %v, gonum %v", n, i/n, i%n, v[i], wantV[i])
		}
	}
	return nil
}

// SymmetricEigen returns gonum's Dsyev bits on every generated matrix.
func TestSymmetricEigenIsDsyev(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "n")
		if err := sameEigen(n, symmetricCase(t, n)); err != nil {
			t.Fatal(err)
		}
	})
}

// Sizes where Dsytrd blocks, the log is replayed several times, and the
// rows split unevenly into blocks of four, at one core and at several.
func TestSymmetricEigenLarge(t *testing.T) {
	for _, n := range []int{150, 257} {
		a := make([]float64, n*n)
		for i := range n {
			for j := i; j < n; j++ {
				v := math.Sin(float64(i*n + j + 1))
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
			old := runtime.GOMAXPROCS(procs)
			err := sameEigen(n, a)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatalf("GOMAXPROCS=%d: %v", procs, err)
			}
		}
	}
}

// The negative control: the same generator and comparison catch the
// rotations replayed in the wrong order within each batch (Dlasr's Forward
// for Backward), a mistake that still leaves an orthogonal matrix.
func TestSymmetricEigenControl(t *testing.T) {
	correct := replay
	replay = func(z []float64, n int, rot []rotation) {
		rev := slices.Clone(rot)
		slices.Reverse(rev)
		correct(z, n, rev)
	}
	defer func() { replay = correct }()
	caught := false
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(3, 40).Draw(t, "n")
		if sameEigen(n, symmetricCase(t, n)) != nil {
			caught = true
		}
	})
	if !caught {
		t.Fatal("the reversed rotation order went unnoticed in every case")
	}
}

func BenchmarkSymmetricEigen(b *testing.B) {
	for _, n := range []int{500, 1000} {
		a := make([]float64, n*n)
		for i := range n {
			for j := i; j < n; j++ {
				v := math.Sin(float64(i*n + j + 1))
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		b.Run(fmt.Sprintf("numerics/n=%d", n), func(b *testing.B) {
			v, w := make([]float64, n*n), make([]float64, n)
			for b.Loop() {
				copy(v, a)
				SymmetricEigen(n, v, w)
			}
		})
		b.Run(fmt.Sprintf("gonum/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				gonumEigen(n, a)
			}
		})
	}
}
