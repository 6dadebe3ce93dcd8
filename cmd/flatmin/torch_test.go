package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/numerics"
	"github.com/flatmin/flatmin/theory"
)

// torchPython returns a Python that imports torch and numpy: $FLATMIN_PYTHON,
// else python3 on the PATH, else Debian's /usr/bin/python3 (the one
// python3-torch installs into, which a pyenv or venv python3 on the PATH
// does not see). It skips the test, saying how to run it, when there is none.
func torchPython(t *testing.T) string {
	t.Helper()
	candidates := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("FLATMIN_PYTHON"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import torch, numpy").Run() == nil {
			return p
		}
	}
	t.Skipf("the PyTorch helper's test needs a python3 that imports torch and numpy; none of %v does "+
		"(Debian: apt-get install python3-torch python3-numpy; or set FLATMIN_PYTHON)", candidates)
	return ""
}

// TestPyTorchHelper runs the tests of tools/torchgrads/flatmin_grads.py (the
// recipes the README gives: frozen parameters skipped, targets (n, 1), vmap
// or functorch in chunks equal to the loop, the loop surviving parameters
// without a gradient, K = QQᵀ from parameter shards, one SGD step of
// MSELoss at lr equal to the paper's at the η of --loss), then reads the
// files they write for a tiny float64 network (n = 12, p = 44) from Go:
//
//   - gram.npy against the Gram numerics forms from grads.npy: two sums of
//     p products in different orders, |ΔK_ij| <= 2·p·u·‖q_i‖‖q_j‖
//     (Cauchy-Schwarz), plus u|K_ij| for the helper's symmetrization;
//   - `flatmin measure --grads grads.npy` against the same quantities from
//     K (theory.NewStateGram, what --gram computes): the two Grams differ
//     by the above, ≈ 2e-14 relative, and the rows are norms, traces,
//     eigenvalues and ratios of them, Lipschitz in K relative to ‖K‖, or
//     smallest eigenvalues of alignment matrices, relative error times
//     their spread: 1e-9 covers a spread of 1e4 with room, as in
//     experiment.TestMeasureMatchesQ; and `measure --gram`, when the
//     command has it;
//   - the float32 Q the helper writes reads back (exit 0).
//
// Importing torch takes seconds: skipped with -short.
func TestPyTorchHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("imports torch (seconds): skipped with -short")
	}
	python := torchPython(t)
	dir := t.TempDir()
	cmd := exec.Command(python, "-m", "unittest", "test_flatmin_grads")
	cmd.Dir = filepath.Join("..", "..", "tools", "torchgrads")
	cmd.Env = append(os.Environ(), "FLATMIN_OUT="+dir, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s -m unittest test_flatmin_grads: %v\n%s", python, err, out)
	}
	file := func(name string) string { return filepath.Join(dir, name) }

	q, err := dataio.ReadFile(file("grads.npy"), dataio.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	k, err := dataio.ReadFile(file("gram.npy"), dataio.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	e, err := dataio.ReadFile(file("residuals.npy"), dataio.Vector)
	if err != nil {
		t.Fatal(err)
	}
	n, p := q.Rows, q.Cols
	if n != 12 || p != 44 || k.Rows != n || k.Cols != n || e.Rows != n {
		t.Fatalf("Q %s, K %s, e %s; want (12, 44), (12, 12), (12,)", q.Shape(), k.Shape(), e.Shape())
	}
	kGo := make([]float64, n*n)
	numerics.Gram(kGo, q.Data, n, p)
	const u = 0x1p-53
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			ni, nj := numerics.Nrm2(q.Data[i*p:(i+1)*p]), numerics.Nrm2(q.Data[j*p:(j+1)*p])
			bound := 2 * (2*float64(p)*u*ni*nj + u*math.Abs(kGo[i*n+j]))
			if d := math.Abs(k.Data[i*n+j] - kGo[i*n+j]); d > bound {
				t.Errorf("K[%d, %d] = %v from the helper, %v from Q: differ by %.3g > %.3g", i, j, k.Data[i*n+j], kGo[i*n+j], d, bound)
			}
		}
	}

	args := []string{"--residuals", file("residuals.npy"), "--lr", "0.05", "--batch", "5", "--loss", "mse-mean", "--json"}
	code, out, errs := runCmd(append([]string{"measure", "--grads", file("grads.npy")}, args...)...)
	if code != 0 {
		t.Fatalf("measure --grads: exit %d: %s", code, errs)
	}
	_, fromQ := orderedJSON(t, out)
	st, err := theory.NewStateGram(k.Data, n, p, e.Data)
	if err != nil {
		t.Fatal(err)
	}
	sgd := &theory.SGD{Eta: 0.1, Batch: 5} // η = 2·lr for mse-mean
	rows, err := quantities(st, sgd)
	if err != nil {
		t.Fatal(err)
	}
	compare := func(what string, got map[string]any, rows []row) {
		t.Helper()
		worst := 0.0
		for _, r := range withEta(rows, "bound_gd_lambda_max", sgd, lossConventions[0]) {
			switch want := r.value.(type) {
			case float64:
				g := number(t, got[r.key])
				rel := math.Abs(g-want) / math.Abs(want)
				worst = math.Max(worst, rel)
				if !(rel <= 1e-9) {
					t.Errorf("%s: %s = %v, from the helper's K %v: relative difference %.3g", what, r.key, g, want, rel)
				}
			case int:
				if got[r.key] != json.Number(strconv.Itoa(want)) {
					t.Errorf("%s: %s = %v, from the helper's K %v", what, r.key, got[r.key], want)
				}
			}
		}
		t.Logf("%s: largest relative difference from the helper's K: %.2g (tolerance 1e-9)", what, worst)
	}
	compare("measure --grads", fromQ, rows)

	// --gram, once the command has it: the same numbers from K itself.
	if _, help, _ := runCmd("measure", "--help"); strings.Contains(help, "  --gram ") {
		// --params: p is not in a Gram (without it the p row is null).
		code, out, errs := runCmd(append([]string{"measure", "--gram", file("gram.npy"), "--params", strconv.Itoa(p)}, args...)...)
		if code != 0 {
			t.Fatalf("measure --gram: exit %d: %s", code, errs)
		}
		_, fromK := orderedJSON(t, out)
		compare("measure --gram", fromK, rows)
	}

	if code, _, errs := runCmd(append([]string{"measure", "--grads", file("grads_f32.npy")}, args...)...); code != 0 {
		t.Errorf("measure on the helper's float32 Q: exit %d: %s", code, errs)
	}
}
