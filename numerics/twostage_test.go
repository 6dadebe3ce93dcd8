package numerics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// twoStageSizes draws the size of a two-stage property for bandwidth nb:
// the trivial ones; nb-1, nb, nb+1, already a band (no panel); nb+2 and
// 2nb+1, one panel of fewer than nb reflectors; 2nb+3 and 3nb+2, a short
// last panel after full ones; or a random size up to 90.
func twoStageSizes(t *rapid.T, nb int) int {
	s := []int{0, 1, 2, 3, max(1, nb-1), nb, nb + 1, nb + 2, 2*nb + 1, 2*nb + 3, 3*nb + 2}
	if rapid.Bool().Draw(t, "random size") {
		return rapid.IntRange(1, 90).Draw(t, "n")
	}
	return rapid.SampledFrom(s).Draw(t, "n")
}

// The two-stage reduction (dense to band, band to tridiagonal), forced at
// small sizes and bandwidths, agrees with gonum's Dsyev to the bound of
// TestSymmetricEigenvaluesNearDsyev (the two-stage reduction is a product
// of Householder similarity transforms too, backward stable to the same
// order), on the hard corners of symmetricCase.
func TestTwoStageNearDsyev(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nb := rapid.SampledFrom([]int{1, 2, 3, 4, 5, 8, 13, 33, 65}).Draw(t, "nb")
		n := twoStageSizes(t, nb)
		a := symmetricCase(t, n)
		want, wantOK := dsyevEigenvalues(n, a)
		w := make([]float64, n)
		ok := symmetricEigenvalues(n, nb, slices.Clone(a), w)
		if overflowed(a) {
			return // no panic is all
		}
		if ok != wantOK {
			t.Fatalf("n=%d nb=%d: ok %v, gonum %v", n, nb, ok, wantOK)
		}
		if !ok || n == 0 {
			return
		}
		if err := nearEigenvalues(w, want); err != nil {
			t.Fatalf("n=%d nb=%d: %v", n, nb, err)
		}
		if !slices.IsSorted(w) {
			t.Fatalf("n=%d nb=%d: eigenvalues not ascending: %v", n, nb, w)
		}
	})
}

// The two-stage path agrees with the one-stage one and with gonum's Dsyev
// at the bandwidths SymmetricEigenvalues takes, on matrices of several
// tiles of the symmetric product (and so of several of its parts), and
// SymmetricEigenvalues takes it from twoStageMin on.
func TestTwoStageLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("n = 552 and 900 against Dsyev: TestTwoStageNearDsyev covers the path at small sizes")
	}
	r := rand.New(rand.NewPCG(10, 11))
	for _, c := range []struct{ n, nb int }{{2*symmTile + 40, 33}, {2*symmTile + 40, 65}, {twoStageMin, 0}} {
		n := c.n
		for _, a := range [][]float64{sineMatrix(n), randomGram(r, n, n/4)} {
			want, ok := dsyevEigenvalues(n, a)
			if !ok {
				t.Fatalf("n=%d: gonum did not converge", n)
			}
			w := make([]float64, n)
			if c.nb == 0 {
				SymmetricEigenvalues(n, slices.Clone(a), w)
				two := make([]float64, n)
				symmetricEigenvalues(n, bandWidth(n), slices.Clone(a), two)
				sameSlices(t, fmt.Sprintf("n=%d: SymmetricEigenvalues against the two-stage path", n), w, two)
			} else if !symmetricEigenvalues(n, c.nb, slices.Clone(a), w) {
				t.Fatalf("n=%d nb=%d: no convergence", n, c.nb)
			}
			if err := nearEigenvalues(w, want); err != nil {
				t.Fatalf("n=%d nb=%d: %v", n, c.nb, err)
			}
			one := make([]float64, n)
			symmetricEigenvalues(n, 0, slices.Clone(a), one)
			if err := nearEigenvalues(w, one); err != nil {
				t.Fatalf("n=%d nb=%d: against the one-stage path: %v", n, c.nb, err)
			}
		}
	}
}

// The two-stage path is the same bits on every path and for every
// GOMAXPROCS, with one and several tiles and parts of the symmetric
// product, and for a bandwidth that leaves a short last panel.
func TestTwoStageSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	cases := []struct{ n, nb int }{{3, 2}, {40, 7}, {2*33 + 3, 33}, {symmTile + 5, 7}}
	if !testing.Short() {
		// Under -short (CI's race run) the products cut into two tiles
		// only, and the chase's many sweeps at nb = 7 race each other.
		cases = append(cases, []struct{ n, nb int }{{3*symmTile + 5, 33}, {3*symmTile + 5, 65}}...)
	}
	for _, c := range cases {
		n, nb := c.n, c.nb
		for _, a := range [][]float64{sineMatrix(n), randomGram(r, n, max(1, n/3))} {
			var want []float64
			withProcs(1, func() {
				defer forceImpl(generic)()
				want = make([]float64, n)
				if !symmetricEigenvalues(n, nb, slices.Clone(a), want) {
					t.Fatalf("n=%d: no convergence", n)
				}
			})
			forEachImpl(t, func(t *testing.T) {
				for _, procs := range []int{1, 2, 5} {
					withProcs(procs, func() {
						w := make([]float64, n)
						symmetricEigenvalues(n, nb, slices.Clone(a), w)
						sameSlices(t, fmt.Sprintf("n=%d nb=%d GOMAXPROCS=%d", n, nb, procs), w, want)
					})
				}
			})
		}
	}
}

// Non-finite input: the two-stage path neither panics nor hides it where
// the one-stage one shows it, by reporting no convergence or by NaN
// eigenvalues (which of the two, and how many NaNs, depends on how the
// NaNs spread through each reduction and DSTERF: not part of the
// contract). The two agree on both at n = 2 (below one band, no
// reduction), where DSTERF's 2 x 2 formula turns some NaN diagonals into
// finite values, as it does today.
func TestTwoStageNonFinite(t *testing.T) {
	shows := func(ok bool, w []float64) bool { return !ok || slices.ContainsFunc(w, math.IsNaN) }
	sizes := []int{2, 5, 40, 131}
	if !testing.Short() {
		sizes = append(sizes, twoStageMin+3)
	}
	for _, n := range sizes {
		for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			for _, at := range [][2]int{{0, 0}, {0, n - 1}, {n / 2, n/2 + 1}} {
				a := sineMatrix(n)
				i, j := at[0], min(at[1], n-1)
				a[i*n+j], a[j*n+i] = x, x
				one, two := make([]float64, n), make([]float64, n)
				ok1 := symmetricEigenvalues(n, 0, slices.Clone(a), one)
				ok2 := symmetricEigenvalues(n, 4, slices.Clone(a), two)
				if shows(ok1, one) && !shows(ok2, two) {
					t.Errorf("n=%d %v at %v: ok and finite %v, one-stage ok %v %v", n, x, at, two, ok1, one)
				}
				if n == 2 && (ok1 != ok2 || !sameNaNs(one, two)) {
					t.Errorf("n=%d %v at %v: ok %v %v, one-stage ok %v %v", n, x, at, ok2, two, ok1, one)
				}
			}
		}
	}
}

// sameNaNs reports whether x and y have NaNs at the same places.
func sameNaNs(x, y []float64) bool {
	for i := range x {
		if math.IsNaN(x[i]) != math.IsNaN(y[i]) {
			return false
		}
	}
	return true
}

// reduceToBand is an orthogonal similarity onto the band: the band it
// leaves (the rest of the upper triangle holds reflectors) has A's
// Frobenius norm, to the backward error of Householder transformations, a
// small multiple of n·ε·‖A‖_F (here 10·n·ε). Reflectors counted in, or a
// band element dropped, would show.
func TestReduceToBandNorm(t *testing.T) {
	for _, c := range []struct{ n, nb int }{{1, 1}, {5, 1}, {17, 4}, {70, 8}, {2*symmTile + 40, 33}} {
		n, nb := c.n, c.nb
		a := sineMatrix(n)
		frob := func(get func(i, j int) float64) float64 {
			s := 0.0
			for i := range n {
				for j := range n {
					s += get(i, j) * get(i, j)
				}
			}
			return math.Sqrt(s)
		}
		want := frob(func(i, j int) float64 { return a[i*n+j] })
		b := slices.Clone(a)
		reduceToBand(n, nb, b)
		got := frob(func(i, j int) float64 {
			i, j = min(i, j), max(i, j)
			if j-i > nb {
				return 0
			}
			return b[i*n+j]
		})
		if math.Abs(got-want) > 10*float64(n)*0x1p-52*want {
			t.Errorf("n=%d nb=%d: band's Frobenius norm %v, A's %v", n, nb, got, want)
		}
	}
}
