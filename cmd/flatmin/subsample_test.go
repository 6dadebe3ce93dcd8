package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// subsampleJSON runs measure --subsample with --json and returns its
// quantities by key.
func subsampleJSON(t *testing.T, args ...string) map[string]map[string]any {
	t.Helper()
	code, out, errs := runCmd(append(append([]string{"measure"}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
	}
	var v struct {
		Quantities map[string]map[string]any
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return v.Quantities
}

// TestSubsampleDraws: draws are S distinct indices of [0, n), sorted,
// the same for a seed and different for another.
func TestSubsampleDraws(t *testing.T) {
	a, b, c := draws(30, 7, 20, 1), draws(30, 7, 20, 1), draws(30, 7, 20, 2)
	for _, d := range a {
		if len(d) != 7 || !slices.IsSorted(d) || len(slices.Compact(slices.Clone(d))) != 7 || d[0] < 0 || d[6] >= 30 {
			t.Fatalf("draw %v: want 7 distinct sorted indices of [0, 30)", d)
		}
	}
	if fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("seed 1 twice: %v, %v; seed 2: %v", a[0], b[0], c[0])
	}
}

// TestSubsampleWhole: a sample of all n samples is the data itself: every
// estimate equals the full value (the unbiased estimates through
// theory.State.Subsample's path, within its 1e-11 of TestSubsampleMatchesState;
// the plug-in ones exactly) and the draws do not vary.
func TestSubsampleWhole(t *testing.T) {
	q := subsampleJSON(t, "--grads", testdata("q.npy"), "--residuals", testdata("e.npy"), "--subsample", "20", "--repeats", "2", "--compare")
	for key, s := range q {
		if s["counts"] != nil || s["full"] == nil {
			continue
		}
		mean, full := num(s["mean"]), num(s["full"])
		tol := 0.0
		if s["estimator"] != "plug-in" && s["estimator"] != "exact" {
			tol = 1e-11
		}
		if !(math.Abs(mean-full) <= tol*math.Abs(full)) || !(num(s["sd"]) <= tol*math.Abs(full)) {
			t.Errorf("%s: mean %v, sd %v over samples of all 20; full %v", key, mean, s["sd"], full)
		}
	}
}

// TestSubsampleGradsLikeGram: --grads reads only the drawn rows of Q, and
// their Grams have the bits of the rows of the full Gram (numerics.Gram
// sums each entry over its two rows alone), so measure --subsample prints
// the same numbers from Q as from K = numerics.Gram(Q). Rows that no draw
// holds are never read: a NaN in one is not seen (without --subsample it
// is).
func TestSubsampleGradsLikeGram(t *testing.T) {
	spec := fixtures.FeatureSpec{N: 40, P: 30, Rank: 25, Spectrum: fixtures.Geometric, LogCond: 2, DupRows: 2, ZeroRows: 1, Seed: 5}
	q := spec.Build()
	k := make([]float64, spec.N*spec.N)
	numerics.Gram(k, q, spec.N, spec.P)
	e := make([]float64, spec.N)
	for i := range e {
		e[i] = math.Sin(float64(i) + 0.5)
	}
	const size, repeats, seed = 6, 3, 9
	unread := -1
	union, _ := unionOf(draws(spec.N, size, repeats, seed))
	for i := range spec.N {
		if _, found := slices.BinarySearch(union, i); !found {
			unread = i
			break
		}
	}
	if unread < 0 {
		t.Fatal("every row is drawn: the test needs one that is not")
	}
	q[unread*spec.P] = math.NaN()
	dir := t.TempDir()
	qp, kp, ep := filepath.Join(dir, "q.npy"), filepath.Join(dir, "k.npy"), filepath.Join(dir, "e.npy")
	for _, err := range []error{dataio.WriteNPY(qp, q, spec.N, spec.P), dataio.WriteNPY(kp, k, spec.N, spec.N), dataio.WriteNPY(ep, e, spec.N, 0)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sub := []string{"--subsample", fmt.Sprint(size), "--repeats", fmt.Sprint(repeats), "--seed", fmt.Sprint(seed), "--lr", "0.1", "--batch", "2", "--json"}
	cq, oq, eq := runCmd(append([]string{"measure", "--grads", qp, "--residuals", ep}, sub...)...)
	ck, ok, ek := runCmd(append([]string{"measure", "--gram", kp, "--residuals", ep, "--params", fmt.Sprint(spec.P)}, sub...)...)
	if cq != 0 || ck != 0 || dropKeys(oq, "inputs", "arguments") != dropKeys(ok, "inputs", "arguments") {
		t.Errorf("--grads: exit %d %q\n%s\n--gram: exit %d %q\n%s", cq, eq, oq, ck, ek, ok)
	}
	if code, _, errs := runCmd("measure", "--grads", qp, "--residuals", ep); code != 1 || !strings.Contains(errs, fmt.Sprintf("NaN at [%d, 0]", unread)) {
		t.Errorf("without --subsample: exit %d, stderr %q; want the NaN of row %d found", code, errs, unread)
	}
}

// TestSubsampleAgainstFull says how far the estimates from S = 50 of n =
// 200 samples are from the full values, on features of the paper's kind
// (rank 150, condition 100) and residuals e = Qθ + noise, over R = 400
// draws: the corrected (unbiased) estimates' mean must lie within 4
// standard errors sd/sqrt(R) of the full value (the draws are independent,
// so the mean is nearly normal: a fixed seed passes a 4σ test unless the
// estimator is biased by about sd/5, 6e-5 being the chance of a false alarm
// for an unbiased one), and the plug-in estimates of the same quantities
// (the sample's own ‖G_S‖_F², Tr(Σ1G), ...) must fail it: the control that
// the test can see the bias the correction removes. The relative bias and
// rms error of every quantity are logged (BENCHMARKS.md and the README quote
// them).
func TestSubsampleAgainstFull(t *testing.T) {
	if testing.Short() {
		t.Skip("400 draws of S = 50: a few seconds")
	}
	const n, p, size, repeats = 200, 300, 50, 400
	spec := fixtures.FeatureSpec{N: n, P: p, Rank: 150, Spectrum: fixtures.Geometric, LogCond: 2, Seed: 3}
	q := spec.Build()
	r := newRand(4)
	theta := make([]float64, p)
	for j := range theta {
		theta[j] = r.NormFloat64()
	}
	e := make([]float64, n)
	for i := range e {
		e[i] = numerics.Dot(q[i*p:(i+1)*p], theta) + 0.3*r.NormFloat64()
	}
	dir := t.TempDir()
	qp, ep := filepath.Join(dir, "q.npy"), filepath.Join(dir, "e.npy")
	if err := dataio.WriteNPY(qp, q, n, p); err != nil {
		t.Fatal(err)
	}
	if err := dataio.WriteNPY(ep, e, n, 0); err != nil {
		t.Fatal(err)
	}
	got := subsampleJSON(t, "--grads", qp, "--residuals", ep, "--subsample", fmt.Sprint(size), "--repeats", fmt.Sprint(repeats), "--compare")
	var lines []string
	for _, key := range []string{"loss", "trace_G", "fro_G_squared", "tr_Sigma1_G", "tr_Sigma2_G", "tr_G_Sigma", "fro_Sigma_squared",
		"fro_G", "fro_Sigma", "alpha", "beta", "mu", "mu1", "mu2", "gamma", "tau", "lambda_max"} {
		s := got[key]
		mean, sd, full := num(s["mean"]), num(s["sd"]), num(s["full"])
		z := (mean - full) / (sd / math.Sqrt(repeats))
		lines = append(lines, fmt.Sprintf("%-18s %-18s bias %+8.2f%%  rms %7.2f%%  z %+7.2f", key, s["estimator"], 100*(mean-full)/full, 100*num(s["rms_error"])/math.Abs(full), z))
		if s["estimator"] == "unbiased" && !(math.Abs(z) <= 4) {
			t.Errorf("%s: mean %v over %d draws, full %v: %.2f standard errors off", key, mean, repeats, full, z)
		}
	}
	t.Logf("S = %d of n = %d, R = %d draws:\n%s", size, n, repeats, strings.Join(lines, "\n"))

	// The control: the plug-in estimates of the same draws.
	full, err := theory.NewState(q, n, p, e)
	if err != nil {
		t.Fatal(err)
	}
	fg := mustGeometryCmd(t, full)
	fn, _ := full.Noise()
	k := full.Gram().RawSymmetric().Data
	plug := map[string][]float64{}
	for _, d := range draws(n, size, repeats, 1) {
		ks := submatrix(scaledGram{k: k, m: n}, d)
		es := make([]float64, size)
		for a, i := range d {
			es[a] = e[i]
		}
		st, err := theory.NewStateGram(ks.k, size, p, es)
		if err != nil {
			t.Fatal(err)
		}
		g := mustGeometryCmd(t, st)
		nz, _ := st.Noise()
		plug["fro_G_squared"] = append(plug["fro_G_squared"], g.FroG*g.FroG)
		plug["tr_Sigma1_G"] = append(plug["tr_Sigma1_G"], nz.TrSigma1G)
		plug["tr_Sigma2_G"] = append(plug["tr_Sigma2_G"], nz.TrSigma2G)
		plug["fro_Sigma_squared"] = append(plug["fro_Sigma_squared"], nz.FroSigma*nz.FroSigma)
	}
	for key, want := range map[string]float64{"fro_G_squared": fg.FroG * fg.FroG, "tr_Sigma1_G": fn.TrSigma1G,
		"tr_Sigma2_G": fn.TrSigma2G, "fro_Sigma_squared": fn.FroSigma * fn.FroSigma} {
		mean, sd := meanSD(plug[key])
		z := (mean - want) / (sd / math.Sqrt(repeats))
		t.Logf("plug-in %-18s bias %+8.2f%%  z %+7.2f", key, 100*(mean-want)/want, z)
		if math.Abs(z) <= 4 {
			t.Errorf("plug-in %s is within 4 standard errors of the full value (z = %.2f): the test would not see the bias", key, z)
		}
	}
}

func mustGeometryCmd(t *testing.T, st *theory.State) theory.Geometry {
	t.Helper()
	g, err := st.Geometry()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestSubsampleUsage: the flags of subsampling are checked before anything
// is read: exit 2 and one line.
func TestSubsampleUsage(t *testing.T) {
	q, e := testdata("q.npy"), testdata("e.npy")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--subsample", "3"}, "--subsample must be >= 4"},
		{[]string{"--subsample", "21"}, "--subsample 21 exceeds the 20 samples of " + q},
		{[]string{"--subsample", "5", "--repeats", "0"}, "--repeats must be between 1 and"},
		{[]string{"--repeats", "5"}, "--repeats, --seed and --compare go with --subsample"},
		{[]string{"--compare"}, "--repeats, --seed and --compare go with --subsample"},
		{[]string{"--subsample", "5", "--seed", "-1"}, "invalid value"},
	} {
		code, out, errs := runCmd(append([]string{"measure", "--grads", q, "--residuals", e}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, c.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.msg)
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "z.csv"), strings.Repeat("0\n", 20))
	code, _, errs := runCmd("measure", "--grads", q, "--residuals", filepath.Join(dir, "z.csv"), "--subsample", "5")
	if code != 1 || !strings.Contains(errs, "zero loss") {
		t.Errorf("zero residuals: exit %d, stderr %q", code, errs)
	}
	// One non-zero residual of 20: some draw of 4 misses it.
	writeFile(t, filepath.Join(dir, "one.csv"), "1\n"+strings.Repeat("0\n", 19))
	code, _, errs = runCmd("measure", "--grads", q, "--residuals", filepath.Join(dir, "one.csv"), "--subsample", "4")
	if code != 1 || !strings.Contains(errs, "zero loss on draw") || strings.Count(errs, "\n") != 1 {
		t.Errorf("a draw of zero residuals: exit %d, stderr %q", code, errs)
	}
}
