package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/fixtures"
	"github.com/flatmin/flatmin/oracle"
	"github.com/flatmin/flatmin/theory"
)

// writeCSV writes a row-major n x p matrix as CSV in dir.
func writeCSV(t *testing.T, dir, name string, x []float64, n, p int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%.17g", x[i*p+j])
		}
		b.WriteString("\n")
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStabilityJSON: the command prints the oracle's report with the
// documented keys, the same numbers theory computes.
func TestStabilityJSON(t *testing.T) {
	spec := fixtures.FeatureSpec{N: 8, P: 12, Rank: 6, Spectrum: fixtures.Geometric, LogCond: 2, Seed: 11}
	q := spec.Build()
	dir := t.TempDir()
	grads := writeCSV(t, dir, "q.csv", q, spec.N, spec.P)
	var out, errb bytes.Buffer
	if rc := run([]string{"stability", "--grads", grads, "--lr", "3", "--batch", "2", "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, k := range []string{"rho_with_replacement", "rho_without_replacement", "stable_with", "stable_without",
		"eta_star_with", "eta_star_without", "mu0", "mu1_0", "bound_thm33", "bound_thm33_without_replacement",
		"bound_prop34", "gd_stable", "gamma0", "escape_steps"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	o, err := oracle.NewOracle(q, spec.N, spec.P)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := o.Report(theory.SGD{Eta: 3, Batch: 2}, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	// The CSV holds Q to 17 digits, so Q round-trips exactly.
	if got["eta_star_with"] != rep.EtaStarWith || got["mu0"] != rep.Mu0 {
		t.Errorf("η* = %v, μ0 = %v; the oracle says %v, %v", got["eta_star_with"], got["mu0"], rep.EtaStarWith, rep.Mu0)
	}
}

// TestStabilityErrors: one stderr line naming the file and the problem;
// exit 1 for bad data, 2 for usage; never a panic.
func TestStabilityErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeCSV(t, dir, "q.csv", []float64{1, 0, 0, 1, 1, 1}, 3, 2)
	nan := filepath.Join(dir, "nan.csv")
	os.WriteFile(nan, []byte("1,2\nNaN,3\n"), 0o644)
	ragged := filepath.Join(dir, "ragged.csv")
	os.WriteFile(ragged, []byte("1,2\n3\n"), 0o644)
	zero := writeCSV(t, dir, "zero.csv", []float64{0, 0, 0, 0}, 2, 2)
	short := writeCSV(t, dir, "e.csv", []float64{1, 2}, 2, 1)
	for _, c := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"--grads", filepath.Join(dir, "missing.csv"), "--lr", "1", "--batch", "1"}, 1, "missing.csv"},
		{[]string{"--grads", nan, "--lr", "1", "--batch", "1"}, 1, "nan.csv"},
		{[]string{"--grads", ragged, "--lr", "1", "--batch", "1"}, 1, "line 2"},
		{[]string{"--grads", zero, "--lr", "1", "--batch", "1"}, 1, "zero Gram"},
		{[]string{"--grads", good, "--residuals", short, "--lr", "1", "--batch", "1"}, 1, "e.csv"},
		{[]string{"--grads", good, "--lr", "0", "--batch", "1"}, 2, "--lr"},
		{[]string{"--grads", good, "--lr", "1"}, 2, "--batch"},
		{[]string{"--grads", good, "--lr", "1", "--batch", "4", "--sampling", "without"}, 2, "--batch"},
		{[]string{"--grads", good, "--lr", "1", "--batch", "1", "--sampling", "sometimes"}, 2, "--sampling"},
		{[]string{"--lr", "1", "--batch", "1"}, 2, "--grads"},
	} {
		var out, errb bytes.Buffer
		rc := run(append([]string{"stability"}, c.args...), &out, &errb)
		msg := errb.String()
		if rc != c.rc || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line naming %q", c.args, rc, msg, c.rc, c.want)
		}
	}
}
