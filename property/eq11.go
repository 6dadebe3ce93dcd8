package property

import (
	"fmt"
	"math"
	"math/big"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/theory"
)

// eq-11: the n x n forms of ‖G‖_F, Tr(GΣ) and ‖Σ‖_F (Appendix A.1), and the
// misprint in its second line.

func init() {
	addCheck("eq-11", Check{Name: "integers", Kind: Exact, Run: eq11Exact(sigmaCorrected)})
	addCheck("eq-11", Check{Name: "vs-naive", Kind: Property, Run: eq11VsNaive(readings)})
	addCheck("eq-11", Check{Name: "scale", Kind: Property, Run: eq11Scale})
	addControl("eq-11", Control{Name: "printed", Wrong: "‖Σ‖_F² = ‖P SᵀS‖_F²/n², as printed",
		Run: eq11Exact(sigmaPrinted),
		Erratum: &Erratum{Where: "Appendix A.1, eq. (11), second line",
			Printed: "‖Σ‖_F² = (1/n²)‖P Sᵀ S‖_F²", Corrected: "‖Σ‖_F² = (1/n²)‖P Sᵀ S P‖_F²"}})
	withoutP := readings
	withoutP.trGSigma = func(m measured) float64 { return m.nz.TrSigma1G }
	addControl("eq-11", Control{Name: "trace-without-P", Wrong: "Tr(GΣ) = ‖E K‖_F²/n²: the centring P dropped",
		Run: eq11VsNaive(withoutP)})
}

// sigmaForm is a form of eq. (11)'s second line in the integers of
// eq11Exact: ‖Σ‖_F² = ‖matrix(nP, EKE)‖_F²/n^nPower (nP = nI - 11ᵀ, whose
// factor n each power of n undoes). name is how a failure calls it.
type sigmaForm struct {
	name   string
	matrix func(np, eke [][]int64) [][]int64
	nPower int
}

var (
	// sigmaCorrected is eq. (11) corrected: (1/n²)‖P SᵀS P‖_F², that is
	// ‖(nP)EKE(nP)‖_F²/n⁶.
	sigmaCorrected = sigmaForm{name: "(1/n²)‖P SᵀS P‖_F²",
		matrix: func(np, eke [][]int64) [][]int64 { return mul(mul(np, eke), np) }, nPower: 6}
	// sigmaPrinted is eq. (11) as printed: (1/n²)‖P SᵀS‖_F², that is
	// ‖(nP)EKE‖_F²/n⁴.
	sigmaPrinted = sigmaForm{name: "the printed (1/n²)‖P SᵀS‖_F²",
		matrix: func(np, eke [][]int64) [][]int64 { return mul(np, eke) }, nPower: 4}
)

// eq11Exact checks eq. (11) in exact integer arithmetic, its second line
// in the form sigma. Q and e have small integer entries, so with
// nP = nI - 11ᵀ every quantity times a power of n is an integer:
// n²‖Si‖² = ‖(nP)EKE(nP)‖², n·Tr(Gi Si) = ‖(nP)EK‖² and ‖Gi‖² = ‖K‖², with
// Gi = QᵀQ = nG and Si = Qᵀ E (nP) E Q = n²Σ.
func eq11Exact(sigma sigmaForm) func(*T) {
	return func(t *T) {
		n := rapid.IntRange(1, 5).Draw(t.T, "n")
		p := rapid.IntRange(1, 5).Draw(t.T, "p")
		q := intMatrix(n, p)
		e := make([]int64, n)
		for i := range q {
			for j := range q[i] {
				q[i][j] = int64(rapid.IntRange(-3, 3).Draw(t.T, fmt.Sprintf("Q[%d,%d]", i, j)))
			}
		}
		for i := range e {
			e[i] = int64(rapid.IntRange(-3, 3).Draw(t.T, fmt.Sprintf("e[%d]", i)))
		}
		// Entries are at most 3 in size and n, p <= 5, so every integer below
		// stays under 1e14: int64 arithmetic is exact.
		qt := transpose(q)
		k := mul(q, qt)  // K = QQᵀ
		gi := mul(qt, q) // Gi = QᵀQ
		np := intMatrix(n, n)
		for i := range np {
			for j := range np[i] {
				np[i][j] = -1
				if i == j {
					np[i][j] += int64(n)
				}
			}
		}
		ed := diag(e)
		eke := mul(mul(ed, k), ed)
		si := mul(mul(qt, mul(mul(ed, np), ed)), q) // Si = Qᵀ E (nP) E Q
		nn := int64(n)
		desc := fmt.Sprintf("n=%d p=%d Q=%v e=%v", n, p, q, e)

		t.Equal(desc+": ‖QᵀQ‖_F² = ‖QQᵀ‖_F²", frob2(gi), frob2(k))
		// ‖Σ‖_F² = ‖Si‖²/n⁴ = ‖matrix‖²/n^nPower, in integers:
		// n^(nPower-4)‖Si‖² = ‖matrix‖².
		form := frob2(sigma.matrix(np, eke))
		if ipow(nn, sigma.nPower-4)*frob2(si) != form {
			t.Fatalf("%s: ‖Σ‖_F² = %v but %s = %v (corrected (1/n²)‖P SᵀS P‖_F² = %v)",
				desc, big.NewRat(frob2(si), ipow(nn, 4)), sigma.name, big.NewRat(form, ipow(nn, sigma.nPower)),
				big.NewRat(frob2(mul(mul(np, eke), np)), ipow(nn, 6)))
		}
		t.margin(desc+": ‖Σ‖_F² = "+sigma.name, 1)
		t.Equal(desc+": n·Tr(nG·n²Σ) = ‖(nP)EK‖_F²", nn*traceOf(mul(gi, si)), frob2(mul(np, mul(ed, k))))
		t.Equal(desc+": Tr(nG·nΣ1) = ‖EK‖_F²", traceOf(mul(gi, mul(mul(qt, mul(ed, ed)), q))), frob2(mul(ed, k)))
	}
}

// eq11VsNaive compares the n x n path of theory.State with the naive p x p
// computation on hard-corner features, at tolerances from magnitudes, with
// Tr(GΣ) as read (read.trGSigma).
func eq11VsNaive(read reading) func(*T) {
	return func(t *T) {
		m := drawMeasured(t)
		c, geo, nz, mag := m.featureCase, m.geo, m.nz, m.mag
		ngeo, nnz, err := theory.Naive(c.q, c.n, c.p, c.e)
		if err != nil {
			t.Fatalf("Naive: %v", err)
		}
		g := 2 * m.g // two paths, each within γ_k of the magnitude
		trGSigma := read.trGSigma(m)
		t.Close("‖G‖_F", geo.FroG, ngeo.FroG, g*mag.froG)
		t.Close("Tr(G)", geo.TraceG, ngeo.TraceG, g*mag.froG*math.Sqrt(float64(c.n)))
		t.Close("‖Σ‖_F", nz.FroSigma, nnz.FroSigma, g*mag.froSigma)
		t.Close("Tr(GΣ)", trGSigma, nnz.TrGSigma, g*mag.traces)
		t.Close("Tr(Σ1G)", nz.TrSigma1G, nnz.TrSigma1G, g*mag.traces)
		t.Close("Tr(Σ2G)", nz.TrSigma2G, nnz.TrSigma2G, g*mag.traces)
		t.Close("L", nz.Loss, nnz.Loss, 2*gamma(c.n+4)*nz.Loss)
		for i := range geo.Chi {
			t.Close(fmt.Sprintf("χ_%d", i), geo.Chi[i], ngeo.Chi[i], g*mag.chi[i])
		}
		dGamma, dTau := m.gammaTauErrors(g)
		t.Close("γ", geo.Gamma, ngeo.Gamma, dGamma)
		t.Close("τ(G)", geo.Tau, ngeo.Tau, dTau)
		t.Close("μ", nz.Mu, nnz.Mu, m.muError(g, nz.Mu))
		t.Close("μ1", nz.Mu1, nnz.Mu1, m.muError(g, nz.Mu1))
		t.Close("μ2", nz.Mu2, nnz.Mu2, m.muError(g, nz.Mu2))
		// λ_1 of K/n and of G: a backward-stable symmetric eigensolver is
		// within a few p·u·‖·‖_2 <= p·u·‖G‖_F of the exact value on each path.
		t.Close("λ_1(G)", geo.LambdaMax, ngeo.LambdaMax, g*mag.froG+4*float64(c.n+c.p)*u*geo.FroG)
		// The rank is decidable when no eigenvalue is near the threshold
		// max(n,p)·ε·λ_1: with condition <= 1e4 and no degenerate rows, the
		// smallest non-zero eigenvalue of G is >= 1e-8·λ_1, far above it.
		if c.spec.LogCond <= 4 && c.spec.DupRows == 0 && c.spec.ZeroRows == 0 {
			t.Equal("rank G (n x n path)", geo.Rank, c.spec.Rank)
			t.Equal("rank G (p x p path)", ngeo.Rank, c.spec.Rank)
			t.Tally("rank compared")
		}
	}
}

// eq11Scale checks overflow safety: the ratios for (Q, e) at any scale are
// the same bits as for the power-of-two normalised (Q, e), because scaling by
// a power of two is exact, and every other quantity is finite wherever its
// true value is.
func eq11Scale(t *T) {
	c := drawCase(t, fixtures.DefaultBounds, 150)
	big := mustState(t, c.q, c.n, c.p, c.e)
	norm := mustState(t, normalized(c.q), c.n, c.p, normalized(c.e))
	bg, ng := mustGeometry(t, big), mustGeometry(t, norm)
	bn, nn := mustNoise(t, big), mustNoise(t, norm)
	for _, r := range []struct {
		name      string
		got, want float64
	}{
		{"α", bn.Alpha, nn.Alpha}, {"β", bn.Beta, nn.Beta}, {"μ", bn.Mu, nn.Mu},
		{"μ1", bn.Mu1, nn.Mu1}, {"μ2", bn.Mu2, nn.Mu2}, {"γ", bg.Gamma, ng.Gamma}, {"τ", bg.Tau, ng.Tau},
	} {
		if math.Float64bits(r.got) != math.Float64bits(r.want) {
			t.Fatalf("%s at scale (%v; %v) = %v, normalised %v: not scale invariant", r.name, c.spec, c.res, r.got, r.want)
		}
	}
	t.Equal("rank", bg.Rank, ng.Rank)
	// ‖G‖_F scales as Q², so it is finite iff the true value is (up to the
	// last rounding at the overflow threshold).
	for _, x := range []float64{bg.FroG, bg.TraceG, bg.LambdaMax, bn.Loss} {
		if math.IsNaN(x) {
			t.Fatalf("NaN at scale (%v; %v)", c.spec, c.res)
		}
	}
	t.margin("scale invariance (bitwise)", 1)
}

func intMatrix(r, c int) [][]int64 {
	m := make([][]int64, r)
	for i := range m {
		m[i] = make([]int64, c)
	}
	return m
}

func transpose(a [][]int64) [][]int64 {
	t := intMatrix(len(a[0]), len(a))
	for i := range a {
		for j := range a[i] {
			t[j][i] = a[i][j]
		}
	}
	return t
}

func mul(a, b [][]int64) [][]int64 {
	c := intMatrix(len(a), len(b[0]))
	for i := range a {
		for k := range b {
			for j := range b[k] {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

func diag(v []int64) [][]int64 {
	d := intMatrix(len(v), len(v))
	for i, x := range v {
		d[i][i] = x
	}
	return d
}

func frob2(a [][]int64) int64 {
	var s int64
	for _, r := range a {
		for _, x := range r {
			s += x * x
		}
	}
	return s
}

// ipow is n^k for k >= 0 (here n <= 5, k <= 6: exact).
func ipow(n int64, k int) int64 {
	r := int64(1)
	for range k {
		r *= n
	}
	return r
}

func traceOf(a [][]int64) int64 {
	var s int64
	for i := range a {
		s += a[i][i]
	}
	return s
}
