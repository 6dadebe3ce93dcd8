package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
)

// jsonLines returns a command's JSON output by key, each value as the text
// it was printed as, so that outputs compare exactly.
func jsonLines(t *testing.T, args ...string) map[string]string {
	t.Helper()
	code, out, errs := runCmd(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			m[strings.Trim(k, `"`)] = strings.TrimSuffix(v, ",")
		}
	}
	return m
}

// TestLossConversion pins --loss: a learning rate used with PyTorch's
// MSELoss(reduction='mean') is the paper's η at 2·lr, with
// reduction='sum' over batches of B at 2·B·lr, so --lr 0.025 --loss
// mse-mean and --lr 0.00625 --loss mse-sum --batch 4 print exactly what
// --lr 0.05 prints (0.025 and 0.00625 are fl(0.05)/2 and fl(0.05)/8:
// scaling by a power of two is exact, so η is the same float64), but for the
// arguments. The negative control: the learning rate passed unconverted
// (--loss paper) gives other bounds, Theorem 3.3's twice as large, as the
// η is half.
func TestLossConversion(t *testing.T) {
	q, e := testdata("q.npy"), testdata("e.npy")
	for _, cmd := range []string{"measure", "stability"} {
		base := []string{cmd, "--grads", q, "--residuals", e, "--batch", "4"}
		want := jsonLines(t, append(base, "--lr", "0.05")...)
		if want["eta"] != "0.05" {
			t.Fatalf("%s --lr 0.05: eta %s", cmd, want["eta"])
		}
		for _, conv := range [][]string{{"--lr", "0.025", "--loss", "mse-mean"}, {"--lr", "0.00625", "--loss", "mse-sum"}} {
			got := jsonLines(t, append(base, conv...)...)
			for k, w := range want {
				if k != "arguments" && got[k] != w {
					t.Errorf("%s %v: %s = %s, --lr 0.05 --loss paper gives %s", cmd, conv, k, got[k], w)
				}
			}
			if !strings.Contains(got["arguments"], `"loss":"`+conv[3]+`"`) || !strings.Contains(got["arguments"], `"lr":`+conv[1]) {
				t.Errorf("%s %v: arguments %s do not record --lr and --loss as given", cmd, conv, got["arguments"])
			}
		}
		// The negative control.
		raw := jsonLines(t, append(base, "--lr", "0.025")...)
		b, braw := number(t, jsonNumber(t, want["bound_thm33"])), number(t, jsonNumber(t, raw["bound_thm33"]))
		if raw["eta"] != "0.025" || braw != 2*b || raw["verdict"] == want["verdict"] {
			t.Errorf("%s --lr 0.025 --loss paper: η %s, Theorem 3.3's bound %v (converted %v), verdict %s: want η 0.025, twice the bound, another verdict",
				cmd, raw["eta"], braw, b, raw["verdict"])
		}
		// The table's header says which η it used.
		_, table, _ := runCmd(append(base, "--lr", "0.025", "--loss", "mse-mean")...)
		if !strings.Contains(table, "0.025 with --loss mse-mean (PyTorch's MSELoss(reduction='mean'), the mean of e_i²): the paper's η = 2·lr = 0.05\n") {
			t.Errorf("%s: the table does not say which η it used:\n%s", cmd, table)
		}
	}
}

// jsonNumber reads a printed JSON number.
func jsonNumber(t *testing.T, s string) any {
	t.Helper()
	_, v := orderedJSON(t, `{"x": `+s+`}`)
	return v["x"]
}

// TestLossDerivation checks the factors of lossConventions against the
// losses themselves, independently of the derivation in loss.go: for a
// linear model f(x; θ) = θᵀx on a batch of B = 3, the SGD step of PyTorch's
// MSELoss, lr·∇[(1/B) Σ e_i²] (mean) or lr·∇[Σ e_i²] (sum), must be the
// paper's step (η/B) Σ ∇ℓ_i = η·∇[(1/B) Σ e_i²/2] at η = paperEta(lr).
// Gradients are central differences of the losses as written: exact on a
// quadratic up to rounding, about ε·|loss|/h ≈ 2e-16·10/1e-4 = 2e-11 against
// gradients of order 1, so 1e-8 relative is far above rounding and far below
// a wrong factor (at least 2). The unconverted η = lr is the negative control.
func TestLossDerivation(t *testing.T) {
	x := [][]float64{{1, 2}, {-0.5, 1.5}, {2, -1}}
	y := []float64{0.3, -1, 2}
	theta := []float64{0.7, -0.2}
	const lr, h = 0.01, 1e-4
	sumSq := func(th []float64, scale float64) float64 { // scale·Σ e_i²
		s := 0.0
		for i := range x {
			e := th[0]*x[i][0] + th[1]*x[i][1] - y[i]
			s += e * e
		}
		return scale * s
	}
	grad := func(scale float64) []float64 {
		g := make([]float64, len(theta))
		for j := range theta {
			up, down := append([]float64(nil), theta...), append([]float64(nil), theta...)
			up[j] += h
			down[j] -= h
			g[j] = (sumSq(up, scale) - sumSq(down, scale)) / (2 * h)
		}
		return g
	}
	b := float64(len(x))
	paper := grad(1 / (2 * b)) // ∇[(1/B) Σ e_i²/2]
	for _, tc := range []struct {
		name  string
		scale float64 // the loss is scale·Σ e_i²
	}{{"mse-mean", 1 / b}, {"mse-sum", 1}} {
		c, err := findLoss(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		eta, err := c.paperEta(lr, len(x))
		if err != nil {
			t.Fatal(err)
		}
		torch := grad(tc.scale)
		match := func(eta float64) bool {
			for j := range torch {
				if math.Abs(lr*torch[j]-eta*paper[j]) > 1e-8*math.Abs(lr*torch[j]) {
					return false
				}
			}
			return true
		}
		if !match(eta) {
			t.Errorf("%s: the step lr·∇loss = %v is not η·∇L_paper with η = %v", tc.name, torch, eta)
		}
		if match(lr) {
			t.Errorf("%s: the unconverted η = lr matches too: the check cannot see the factor", tc.name)
		}
	}
	if c, _ := findLoss("paper"); c.mul != 1 || c.mulB {
		t.Errorf("--loss paper converts: %+v", c)
	}
}

// TestLossErrors: an unknown --loss and an η that overflows are usage
// errors, one line naming the flag.
func TestLossErrors(t *testing.T) {
	q, e := testdata("q.npy"), testdata("e.npy")
	for _, cmd := range []string{"measure", "stability"} {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"--lr", "0.1", "--loss", "mse"}, `--loss must be one of paper, mse-mean, mse-sum, got "mse"`},
			{[]string{"--lr", "1e308", "--loss", "mse-sum"}, "--lr: 1e+308 with --loss mse-sum is η = 2·B·lr = +Inf, beyond float64"},
		} {
			args := append([]string{cmd, "--grads", q, "--residuals", e, "--batch", "4"}, tc.args...)
			code, out, errs := runCmd(args...)
			if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.msg) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", args, code, out, errs, tc.msg)
			}
		}
	}
}

// TestResidualConventions: every quantity is even in e and invariant under
// flipping the sign of a sample's gradient together with its residual
// (G = (1/n) Σ g_i g_iᵀ and the loss gradients e_i g_i do not change), so
// residuals taken as y - f instead of f - y, or gradients of -f, print the
// same. Scaling e by 2 scales L, Σ and its traces by 4 exactly (State keeps
// e scaled by a power of two) and leaves the ratios α, β, μ, μ1, μ2 and the
// bounds unchanged to the bit.
func TestResidualConventions(t *testing.T) {
	dir := t.TempDir()
	qa, err := dataio.ReadFile(testdata("q.npy"), dataio.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := dataio.ReadFile(testdata("e.npy"), dataio.Vector)
	if err != nil {
		t.Fatal(err)
	}
	n, p := qa.Rows, qa.Cols
	write := func(name string, data []float64, cols int) string {
		path := filepath.Join(dir, name)
		if err := dataio.WriteNPY(path, data, n, cols); err != nil {
			t.Fatal(err)
		}
		return path
	}
	transform := func(name string, f func(i int, v float64) float64, v []float64, cols int) string {
		out := make([]float64, len(v))
		for k, x := range v {
			out[k] = f(k/max(cols, 1), x)
		}
		return write(name, out, cols)
	}
	flip := func(i int, v float64) float64 { // the sign of every third sample
		if i%3 == 0 {
			return -v
		}
		return v
	}
	neg := func(_ int, v float64) float64 { return -v }
	q, e := testdata("q.npy"), testdata("e.npy")
	run := func(q, e string) map[string]string {
		m := jsonLines(t, "measure", "--grads", q, "--residuals", e, "--lr", "0.05", "--batch", "4")
		delete(m, "inputs")
		return m
	}
	want := run(q, e)
	for _, tc := range []struct{ name, q, e string }{
		{"y - f", q, transform("neg_e.npy", neg, ea.Data, 0)},
		{"-f", transform("neg_q.npy", neg, qa.Data, p), transform("neg_e2.npy", neg, ea.Data, 0)},
		{"per-sample signs", transform("flip_q.npy", flip, qa.Data, p), transform("flip_e.npy", flip, ea.Data, 0)},
	} {
		got := run(tc.q, tc.e)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s = %s, want %s", tc.name, k, got[k], w)
			}
		}
	}
	twice := run(q, transform("twice_e.npy", func(_ int, v float64) float64 { return 2 * v }, ea.Data, 0))
	quadratic := map[string]bool{"loss": true, "fro_Sigma": true, "tr_G_Sigma": true, "tr_Sigma1_G": true, "tr_Sigma2_G": true, "eq11_printed_fro_Sigma": true}
	for k, w := range want {
		if !quadratic[k] {
			if twice[k] != w {
				t.Errorf("2e: %s = %s, want %s", k, twice[k], w)
			}
			continue
		}
		a, b := number(t, jsonNumber(t, twice[k])), number(t, jsonNumber(t, w))
		if a != 4*b {
			t.Errorf("2e: %s = %v, want 4·%v", k, a, b)
		}
	}
}
