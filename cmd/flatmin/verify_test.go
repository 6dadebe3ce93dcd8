package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestVerifyExitAndTable(t *testing.T) {
	var out, errb bytes.Buffer
	// The experiment rows train networks; the ledger's own tests and the
	// golden report run them, this test needs only the table's shape.
	code := run([]string{"verify", "--checks", "50", "--only", "def-alignment,eq-11,lemma-2.3,lemma-e.1,lemma-e.2,thm-3.3"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	for _, id := range []string{"def-alignment", "eq-11", "lemma-2.3", "lemma-e.1", "lemma-e.2", "thm-3.3"} {
		if !strings.Contains(out.String(), id) {
			t.Errorf("table does not list %s", id)
		}
	}
	if !strings.Contains(out.String(), "P Sᵀ S P") || !strings.Contains(out.String(), "minimal counterexample: n=2 p=1") {
		t.Errorf("the eq. 11 erratum and its minimal counterexample are missing:\n%s", out.String())
	}
}

func TestVerifyJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"verify", "--checks", "20", "--only", "eq-11,thm-3.3", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Seed   uint64 `json:"seed"`
		Claims []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"claims"`
		Errata []struct{ Counterexample string } `json:"errata"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(rep.Claims) != 2 || rep.Claims[0].ID != "eq-11" || rep.Claims[0].Status != "verified" {
		t.Errorf("claims = %+v", rep.Claims)
	}
	if len(rep.Errata) != 1 || rep.Errata[0].Counterexample == "" {
		t.Errorf("errata = %+v", rep.Errata)
	}
}

func TestVerifyBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"verify", "--only", "no-such-claim"},
		{"verify", "--checks", "0"},
		{"verify", "--bogus"},
		{"verify", "extra"},
		{"no-such-command"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%v: nothing on stderr", args)
		}
	}
}
