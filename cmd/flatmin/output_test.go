package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stabilityRowKeys are the rows of `flatmin stability`'s table, in order.
var stabilityRowKeys = []string{
	"n", "p", "rank", "fro_H", "lambda_max", "eta", "stable",
	"rho_with_replacement", "rho_with_replacement_lo", "rho_with_replacement_hi",
	"rho_without_replacement", "rho_without_replacement_lo", "rho_without_replacement_hi",
	"stable_with", "stable_without",
	"eta_star_with", "eta_star_with_lo", "eta_star_with_hi",
	"eta_star_without", "eta_star_without_lo", "eta_star_without_hi",
	"mu0", "mu1_0", "bound_thm33", "bound_thm33_without_replacement", "bound_prop34", "gd_stable",
	"gamma0", "escape_eps", "escape_steps", "loss", "gram_asymmetry", "gram_lambda_min",
}

// TestJSONLayout pins the JSON layout of measure and stability (schema
// version 1, output.go): the keys in order, the keys of inputs and of
// arguments, and their values: the file names as given (null when not),
// every other flag's value, the default when not given, null for a flag not
// given that has no default.
func TestJSONLayout(t *testing.T) {
	q, e := testdata("q.npy"), testdata("e.npy")
	for _, tc := range []struct {
		args      []string
		rows      []string
		inputs    string
		arguments string
	}{
		{[]string{"measure", "--grads", q, "--residuals", e}, measureOutRowKeys,
			`{"grads":"` + q + `","gram":null,"residuals":"` + e + `"}`,
			`{"batch":null,"check":false,"compare":false,"density":null,"json":true,"loss":"paper","lr":null,"params":null,"repeats":10,"seed":1,"spectrum":null,"subsample":null}`},
		{[]string{"measure", "--grads", q, "--residuals", e, "--lr", "0.025", "--batch", "4", "--loss", "mse-mean", "--check", "--spectrum", "all", "--density", "9"}, measureOutRowKeys,
			`{"grads":"` + q + `","gram":null,"residuals":"` + e + `"}`,
			`{"batch":4,"check":true,"compare":false,"density":9,"json":true,"loss":"mse-mean","lr":0.025,"params":null,"repeats":10,"seed":1,"spectrum":"all","subsample":null}`},
		{[]string{"stability", "--grads", q, "--lr", "0.05", "--batch", "4"}, stabilityRowKeys,
			`{"grads":"` + q + `","gram":null,"residuals":null}`,
			`{"batch":4,"check":false,"density":null,"eps":0.001,"json":true,"loss":"paper","lr":0.05,"params":null,"sampling":"with","spectrum":null}`},
		{[]string{"stability", "--grads", q, "--residuals", e, "--lr", "0.05", "--batch", "4", "--sampling", "without", "--eps", "0.5", "--density", "0"}, stabilityRowKeys,
			`{"grads":"` + q + `","gram":null,"residuals":"` + e + `"}`,
			`{"batch":4,"check":false,"density":0,"eps":0.5,"json":true,"loss":"paper","lr":0.05,"params":null,"sampling":"without","spectrum":null}`},
	} {
		code, out, errs := runCmd(append(tc.args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errs)
		}
		keys, _ := orderedJSON(t, out)
		if diff := cmp.Diff(jsonKeys(tc.rows), keys); diff != "" {
			t.Errorf("%v: keys (-want +got)\n%s", tc.args, diff)
		}
		lines := jsonLines(t, tc.args...)
		if lines["schema_version"] != "1" || lines["command"] != `"`+tc.args[0]+`"` || !strings.HasPrefix(lines["flatmin_version"], `"flatmin `) {
			t.Errorf("%v: schema_version %s, command %s, flatmin_version %s", tc.args, lines["schema_version"], lines["command"], lines["flatmin_version"])
		}
		if lines["inputs"] != tc.inputs || lines["arguments"] != tc.arguments {
			t.Errorf("%v:\ninputs    %s\narguments %s\nwant\ninputs    %s\narguments %s", tc.args, lines["inputs"], lines["arguments"], tc.inputs, tc.arguments)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || v["schema_version"] != float64(schemaVersion) {
			t.Errorf("%v: %v, schema_version %v", tc.args, err, v["schema_version"])
		}
	}
	// The stability table has the rows of the JSON, in order.
	_, out, _ := runCmd("stability", "--grads", q, "--lr", "0.05", "--batch", "4")
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && !strings.HasSuffix(f[0], ":") && !strings.HasPrefix(f[0], "(") {
			rows = append(rows, f[0])
		}
	}
	if !slices.Equal(rows, stabilityRowKeys) {
		t.Errorf("stability's table rows %v, want %v", rows, stabilityRowKeys)
	}
}
