package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/cmd/flatmin/internal/npytest"
	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// jsonOf runs a command with --json and returns its keys and values.
func jsonOf(t *testing.T, args ...string) ([]string, map[string]any) {
	t.Helper()
	code, out, errs := runCmd(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
	}
	return orderedJSON(t, out)
}

// num is a JSON value as a float64, or NaN when it is not a number.
func num(v any) float64 {
	n, ok := v.(json.Number)
	if !ok {
		return math.NaN()
	}
	f, err := n.Float64()
	if err != nil {
		return math.NaN()
	}
	return f
}

// sameReport compares two reports key by key: the same keys, the same
// words, and numbers within tol relative (tol(key) < 0 skips the key).
func sameReport(t *testing.T, what string, keysA, keysB []string, a, b map[string]any, tol func(key string) float64) {
	t.Helper()
	if strings.Join(keysA, ",") != strings.Join(keysB, ",") {
		t.Fatalf("%s: keys differ\n%v\n%v", what, keysA, keysB)
	}
	for _, k := range keysA {
		tk := tol(k)
		if tk < 0 {
			continue
		}
		x, y := num(a[k]), num(b[k])
		if math.IsNaN(x) || math.IsNaN(y) {
			if fmt.Sprint(a[k]) != fmt.Sprint(b[k]) {
				t.Errorf("%s: %s = %v and %v", what, k, a[k], b[k])
			}
			continue
		}
		if rel := math.Abs(x-y) / math.Max(math.Abs(x), math.Abs(y)); rel > tk {
			t.Errorf("%s: %s = %v and %v, relative %.2g > %g", what, k, x, y, rel, tk)
		}
	}
}

// TestGramAgainstGrads: measure and stability on testdata's K.npy (NumPy's
// q @ q.T) agree with the same commands on q.npy, to the rounding of
// forming K: 1e-12 relative, the tolerance TestMeasureAgainstNumPy derives
// for each side against the exact values (NumPy's K and numerics.Gram's are
// two formations of K, each within p·u of it an entry). K.npy is
// symmetric to the rounding of float64 sums of p = 50 terms:
// |K_ij - K_ji| <= 2·γ_50·sqrt(K_ii K_jj), at most 100·u·max|K|. Without
// --params p is null, and nothing else changes (the rank's threshold is
// n·ε·λ_1 instead of p·ε·λ_1; Q is well conditioned, rank 20 either way).
func TestGramAgainstGrads(t *testing.T) {
	const tol = 1e-12
	q, k, e := testdata("q.npy"), testdata("K.npy"), testdata("e.npy")
	sgd := []string{"--lr", "0.05", "--batch", "4"}
	kg, vg := jsonOf(t, append([]string{"measure", "--grads", q, "--residuals", e}, sgd...)...)
	kk, vk := jsonOf(t, append([]string{"measure", "--gram", k, "--residuals", e, "--params", "50"}, sgd...)...)
	sameReport(t, "measure", kg, kk, vg, vk, func(key string) float64 {
		if key == "gram_asymmetry" || key == "inputs" || key == "arguments" {
			return -1 // gram_asymmetry below; the inputs and arguments differ
		}
		return tol
	})
	if a := num(vk["gram_asymmetry"]); !(a >= 0 && a <= 100*0x1p-53) {
		t.Errorf("gram_asymmetry of K.npy = %v, want in [0, 100u]", a)
	}
	kn, vn := jsonOf(t, append([]string{"measure", "--gram", k, "--residuals", e}, sgd...)...)
	if vn["p"] != nil {
		t.Errorf("p = %v without --params, want null", vn["p"])
	}
	vn["p"] = vk["p"]
	sameReport(t, "measure without --params", kk, kn, vk, vn, func(key string) float64 {
		if key == "arguments" {
			return -1 // --params
		}
		return 0
	})

	ks, vs := jsonOf(t, append([]string{"stability", "--grads", q}, sgd...)...)
	kt, vt := jsonOf(t, append([]string{"stability", "--gram", k, "--params", "50"}, sgd...)...)
	// The oracle's ρ, η* and their enclosures are smooth in K, with
	// condition numbers of order one on these data (their values agree to
	// 1e-15 here); gram_lambda_min is computed only for a --gram.
	sameReport(t, "stability", ks, kt, vs, vt, func(key string) float64 {
		if key == "gram_asymmetry" || key == "gram_lambda_min" || key == "inputs" || key == "arguments" {
			return -1
		}
		return tol
	})
	if vs["gram_lambda_min"] != nil || num(vt["gram_lambda_min"]) != num(vk["gram_lambda_min"]) {
		t.Errorf("stability gram_lambda_min: %v with --grads (want null), %v with --gram (want measure's %v)",
			vs["gram_lambda_min"], vt["gram_lambda_min"], vk["gram_lambda_min"])
	}
}

// TestGramFloat32: testdata's K_f32.npy is the Gram of the same Q summed in
// float32 (upper triangle in one order, lower in the reverse), slightly
// asymmetric as a GPU's would be. measure accepts it, reports its asymmetry
// exactly, and agrees with --grads to float32 rounding: each entry of the
// float32 Gram is within γ_51(u32)·sqrt(K_ii K_jj) ≈ 51·2^-24·sqrt(K_ii K_jj)
// of K (50 products and sums, each rounded to float32; Q is float32-exact),
// and symmetrizing keeps that; so K̃ = K + E with ‖E‖_2 <= ‖E‖_F <= 51u32·Tr(K).
// Hence |ΔTr| <= 51u32·Tr, |Δ‖K‖_F| <= 51u32·Tr, |Δλ_i| <= 51u32·Tr (Weyl):
// relative errors of 51u32 times Tr/Tr, Tr/‖K‖_F and Tr/λ_i, which the test
// computes from --grads' own values.
func TestGramFloat32(t *testing.T) {
	q, k, e := testdata("q.npy"), testdata("K_f32.npy"), testdata("e.npy")
	_, vg := jsonOf(t, "measure", "--grads", q, "--residuals", e)
	_, vk := jsonOf(t, "measure", "--gram", k, "--residuals", e, "--params", "50")
	a, err := dataio.ReadFile(k, dataio.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	n := a.Rows
	kMax, asym := 0.0, 0.0
	for i := range n {
		for j := range n {
			kMax = math.Max(kMax, math.Abs(a.Data[i*n+j]))
			asym = math.Max(asym, math.Abs(a.Data[i*n+j]-a.Data[j*n+i]))
		}
	}
	if got := num(vk["gram_asymmetry"]); got != asym/kMax || got == 0 {
		t.Errorf("gram_asymmetry = %v, the file's max|K - Kᵀ|/max|K| = %v (want it, and not 0)", got, asym/kMax)
	}
	eps := 51 * 0x1p-24
	tr := num(vg["trace_G"])
	for key, scale := range map[string]float64{
		"trace_G":         tr / tr,
		"fro_G":           tr / num(vg["fro_G"]),
		"lambda_max":      tr / num(vg["lambda_max"]),
		"gram_lambda_min": tr / num(vg["gram_lambda_min"]),
	} {
		x, y := num(vg[key]), num(vk[key])
		if rel := math.Abs(x-y) / x; !(rel <= eps*scale) {
			t.Errorf("%s = %v from float32's Gram, %v from Q: relative %.2g > %.2g", key, y, x, rel, eps*scale)
		}
	}
}

// TestGramLimits: the asymmetry and the negative eigenvalue a --gram may
// have are the rounding model's (gram.go), and no more: a Gram just within
// each limit is read, one just beyond it refused, with --params and without.
func TestGramLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, k []float64, n int) string {
		p := filepath.Join(dir, name)
		if err := dataio.WriteNPY(p, k, n, n); err != nil {
			t.Fatal(err)
		}
		return p
	}
	e := filepath.Join(dir, "e.csv")
	writeFile(t, e, "1\n-0.5\n0.25\n2\n")
	for _, params := range []int{0, 50} {
		tt := gramRoundoff(params)
		asymLimit, eigLimit := 2*tt/(1-tt), tt/(1-tt)
		args := func(k string) []string {
			a := []string{"measure", "--gram", k, "--residuals", e}
			if params > 0 {
				a = append(a, "--params", fmt.Sprint(params))
			}
			return a
		}
		for _, c := range []struct {
			name string
			k    []float64
			ok   bool
		}{
			// The identity with K[0, 1] = a·max|K| and K[1, 0] = 0.
			{"asymmetry within", []float64{1, 0.99 * asymLimit, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, true},
			{"asymmetry beyond", []float64{1, 1.01 * asymLimit, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, false},
			// diag(1, 1, 1, -x): λ_n = -x, Tr = 3 - x; -x = -l·Tr at x = 3l/(1+l).
			{"eigenvalue within", diag(1, 1, 1, -0.99*3*eigLimit/(1+eigLimit)), true},
			{"eigenvalue beyond", diag(1, 1, 1, -1.01*3*eigLimit/(1+eigLimit)), false},
		} {
			code, _, errs := runCmd(args(write(fmt.Sprintf("%s_%d.npy", strings.ReplaceAll(c.name, " ", "_"), params), c.k, 4))...)
			if c.ok != (code == 0) || (!c.ok && !strings.Contains(errs, "not a Gram matrix")) {
				t.Errorf("--params %d, %s: exit %d, stderr %q", params, c.name, code, errs)
			}
		}
	}
}

// diag is the row-major diagonal matrix of d.
func diag(d ...float64) []float64 {
	k := make([]float64, len(d)*len(d))
	for i, v := range d {
		k[i*len(d)+i] = v
	}
	return k
}

// gramOfQ is K = QQᵀ as theory.NewState forms it (Q scaled by 2^-x when
// max|Q| has exponent |x| > 150), scaled back: the Gram a user computing K
// the same way would pass, exact where it is representable.
func gramOfQ(q []float64, n, p int) []float64 {
	_, x := math.Frexp(maxAbs(q))
	if x >= -safeExp && x <= safeExp {
		x = 0
	}
	scaled := make([]float64, len(q))
	for i, v := range q {
		scaled[i] = math.Ldexp(v, -x)
	}
	k := make([]float64, n*n)
	numerics.Gram(k, scaled, n, p)
	for i, v := range k {
		k[i] = math.Ldexp(v, 2*x)
	}
	return k
}

// TestGramMatchesGradsProperty: on random features (rank-deficient,
// condition up to 1e12, duplicated and zero rows, scales 1e±100), measure
// and stability print exactly the same JSON for --gram K as for --grads Q
// when K is formed as --grads forms it: the analysis is the same function
// of K, so they can differ only by how K is formed (TestGramAgainstGrads).
// Scales stop at 1e±100, where K's entries (up to p·1e±200, and the
// smallest a factor cond² = 1e24 below) are representable in the file;
// beyond, a K file loses what a scaled Q keeps. The control: a K one ulp
// off in one entry changes the output.
func TestGramMatchesGradsProperty(t *testing.T) {
	bounds := fixtures.FeatureBounds{MinN: 1, MaxN: 10, MaxP: 12, MaxLogCond: 12, MaxLogScale: 100, Degenerate: true}
	dir := t.TempDir()
	changed := 0
	rapid.Check(t, func(rt *rapid.T) {
		spec := fixtures.Features(bounds).Draw(rt, "features")
		q := spec.Build()
		e := make([]float64, spec.N)
		for i := range e {
			e[i] = rapid.Float64Range(-2, 2).Draw(rt, "e")
		}
		e[0] = 1 // a non-zero loss
		batch := rapid.IntRange(1, spec.N).Draw(rt, "B")
		eta := rapid.SampledFrom([]string{"1e-3", "0.1", "10"}).Draw(rt, "η")
		qp, kp, ep := filepath.Join(dir, "q.npy"), filepath.Join(dir, "k.npy"), filepath.Join(dir, "e.npy")
		k := gramOfQ(q, spec.N, spec.P)
		for _, err := range []error{dataio.WriteNPY(qp, q, spec.N, spec.P), dataio.WriteNPY(kp, k, spec.N, spec.N), dataio.WriteNPY(ep, e, spec.N, 0)} {
			if err != nil {
				rt.Fatal(err)
			}
		}
		sgd := []string{"--lr", eta, "--batch", fmt.Sprint(batch), "--json"}
		params := fmt.Sprint(spec.P)
		for _, cmd := range [][2][]string{
			{{"measure", "--grads", qp, "--residuals", ep}, {"measure", "--gram", kp, "--residuals", ep, "--params", params}},
			{{"stability", "--grads", qp}, {"stability", "--gram", kp, "--params", params}},
		} {
			cg, og, eg := runCmd(append(cmd[0], sgd...)...)
			ck, ok, ek := runCmd(append(cmd[1], sgd...)...)
			// The inputs and arguments differ; stability computes
			// gram_lambda_min for a --gram only.
			og, ok = dropKeys(og, "inputs", "arguments", "gram_lambda_min"), dropKeys(ok, "inputs", "arguments", "gram_lambda_min")
			if cg != ck || og != ok || strings.TrimPrefix(eg, "flatmin "+cmd[0][0]+": "+qp) != strings.TrimPrefix(ek, "flatmin "+cmd[0][0]+": "+kp) {
				rt.Fatalf("%s %v: --grads exit %d %q\n%s\n--gram exit %d %q\n%s", cmd[0][0], spec, cg, eg, og, ck, ek, ok)
			}
		}
		// The control: one entry of K one ulp off (kept symmetric).
		i := rapid.IntRange(0, spec.N-1).Draw(rt, "i")
		if k[i*spec.N+i] != 0 {
			k[i*spec.N+i] = math.Nextafter(k[i*spec.N+i], math.Inf(1))
			if err := dataio.WriteNPY(kp, k, spec.N, spec.N); err != nil {
				rt.Fatal(err)
			}
			_, og, _ := runCmd("measure", "--grads", qp, "--residuals", ep, "--json")
			_, ok, _ := runCmd("measure", "--gram", kp, "--residuals", ep, "--params", params, "--json")
			if dropKeys(og, "inputs", "arguments") != dropKeys(ok, "inputs", "arguments") {
				changed++
			}
		}
	})
	if changed == 0 {
		t.Error("no K one ulp off changed the output: the comparison would not see a different K")
	}
}

// TestStreamedGramBits: a Q read from a file a block of columns at a time
// gives the Gram theory.NewState forms from Q in memory, bit for bit, with
// its scaling: for C and Fortran order, float64 and (float32-exact Q)
// float32, one block and many (the budget forced down to a few 512-column
// blocks), scales from 1e-150 to 1e150 (Q scaled by 2^-x past 2^±150).
func TestStreamedGramBits(t *testing.T) {
	saved := streamBudget
	defer func() { streamBudget = saved }()
	dir := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(rt, "n")
		p := rapid.SampledFrom([]int{1, 7, 9, 512, 513, 1100, 2061}).Draw(rt, "p")
		logScale := rapid.SampledFrom([]float64{0, -150, 150, -46, 46, 60}).Draw(rt, "log10 scale")
		f32 := rapid.Bool().Draw(rt, "float32")
		fortran := rapid.Bool().Draw(rt, "fortran")
		streamBudget = rapid.SampledFrom([]int64{64 << 20, 1}).Draw(rt, "budget") // 1: blocks of 512
		seed := rapid.Uint64().Draw(rt, "seed")
		r := newRand(seed)
		q := make([]float64, n*p)
		for i := range q {
			v := r.NormFloat64()
			if f32 {
				v = float64(float32(v))
			}
			q[i] = v * math.Pow(10, logScale)
			if f32 {
				q[i] = float64(float32(q[i]))
				if math.IsInf(q[i], 0) || (q[i] == 0 && v != 0) {
					q[i] = v // 1e±150 is beyond float32: keep this entry unscaled
				}
			}
		}
		path := filepath.Join(dir, "q.npy")
		if err := os.WriteFile(path, npyOf(q, n, p, f32, fortran), 0o600); err != nil {
			rt.Fatal(err)
		}
		want, err := theory.NewState(q, n, p, nil)
		if err != nil {
			rt.Skip(err) // Q = 0
		}
		s, err := dataio.OpenStream(path)
		if err != nil {
			rt.Fatal(err)
		}
		g, err := streamGrams(s, nil, nil)
		s.Close()
		if err != nil {
			rt.Fatal(err)
		}
		got, err := theory.NewStateScaledGram(g[0].k, g[0].exp, n, p, nil)
		if err != nil {
			rt.Fatal(err)
		}
		wk, wx := want.ScaledGram()
		gk, gx := got.ScaledGram()
		if wx != gx {
			rt.Fatalf("exponent %d streamed, %d in memory", gx, wx)
		}
		for i, v := range wk.RawSymmetric().Data {
			if w := gk.RawSymmetric().Data[i]; math.Float64bits(v) != math.Float64bits(w) {
				rt.Fatalf("K̂ entry %d: %v streamed, %v in memory", i, w, v)
			}
		}
	})
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// npyOf is the .npy file of the row-major n x p matrix q, little-endian
// float64 or float32, in C or Fortran order.
func npyOf(q []float64, n, p int, f32, fortran bool) []byte {
	vals := q
	if fortran {
		vals = make([]float64, 0, len(q))
		for j := range p {
			for i := range n {
				vals = append(vals, q[i*p+j])
			}
		}
	}
	descr, payload := "<f8", npytest.F8(le, vals...)
	if f32 {
		v32 := make([]float32, len(vals))
		for i, v := range vals {
			v32[i] = float32(v)
		}
		descr, payload = "<f4", npytest.F4(le, v32...)
	}
	order := "False"
	if fortran {
		order = "True"
	}
	return npytest.File(1, fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%d, %d), }", descr, order, n, p), payload)
}

// maxAbs is max |x_i|.
func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// dropKeys removes the lines of the given top-level keys from a JSON
// object as writeJSON writes it, a key a line.
func dropKeys(out string, keys ...string) string {
	lines := strings.SplitAfter(out, "\n")
	kept := lines[:0]
	for _, l := range lines {
		drop := false
		for _, k := range keys {
			drop = drop || strings.HasPrefix(l, `  "`+k+`": `)
		}
		if !drop {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

// TestMeasureStreamsQ: measure on a float32 n x p file allocates, in all,
// a small part of the n·p·8 bytes Q would take as float64 (here with the
// block budget at 1 MiB: 64 x 65,536, 32 MiB as float64, streamed in
// blocks of 1024 columns: 0.75 MiB with the float32 buffer), so the file
// is never held; the bound is a quarter of n·p·8 (measure allocates about
// 4.4 MB: the block, GramAdd's tiles for each of its 64 calls, and the n x n
// analysis; the Gram's scratch, pooled, is allocated again when a collection
// empties the pool, 0.35 MB at this n, 1.65 MB before it was sized by n,
// which once took the total past the bound). The control: reading the file
// whole, as measure did before it streamed, allocates more than n·p·8.
func TestMeasureStreamsQ(t *testing.T) {
	saved := streamBudget
	defer func() { streamBudget = saved }()
	streamBudget = 1 << 20
	const n, p = 64, 1 << 16
	r := newRand(9)
	q := make([]float64, n*p)
	for i := range q {
		q[i] = float64(float32(r.NormFloat64()))
	}
	e := make([]float64, n)
	for i := range e {
		e[i] = r.NormFloat64()
	}
	dir := t.TempDir()
	qp, ep := filepath.Join(dir, "q.npy"), filepath.Join(dir, "e.npy")
	if err := os.WriteFile(qp, npyOf(q, n, p, true, false), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := dataio.WriteNPY(ep, e, n, 0); err != nil {
		t.Fatal(err)
	}
	alloc := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	whole := uint64(n * p * 8)
	streamed := alloc(func() {
		if code, _, errs := runCmd("measure", "--grads", qp, "--residuals", ep); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
	})
	if streamed > whole/4 {
		t.Errorf("measure allocated %d bytes in all, more than n·p·8/4 = %d", streamed, whole/4)
	}
	read := alloc(func() {
		if _, err := dataio.ReadFile(qp, dataio.Matrix); err != nil {
			t.Fatal(err)
		}
	})
	if read <= whole {
		t.Errorf("the control: reading Q whole allocated %d bytes, not more than n·p·8 = %d", read, whole)
	}
	t.Logf("measure allocated %d bytes, reading Q whole %d; n·p·8 = %d", streamed, read, whole)
}
