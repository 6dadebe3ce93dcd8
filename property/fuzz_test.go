package property

import (
	"testing"

	"pgregory.net/rapid"
)

// Each claim's checks double as fuzz targets: the fuzzer's bytes drive
// rapid's draws (rapid.MakeFuzz). Run one with, for example,
//
//	go test ./property -run XXX -fuzz FuzzEq11 -fuzztime 30s
func fuzzClaim(f *testing.F, id string) {
	c, ok := Lookup(id)
	if !ok || !c.Checked() {
		f.Skipf("%s has no checks", id)
	}
	// A check of one case (an enumeration, a seeded statistical sweep, an
	// experiment) draws nothing from the fuzzer's input: fuzzing it would
	// rerun the same computation on every input.
	var drawn []Check
	for _, chk := range c.Checks {
		if chk.Cases != 1 {
			drawn = append(drawn, chk)
		}
	}
	if len(drawn) == 0 {
		f.Skipf("%s has only single-case checks: nothing to fuzz", id)
	}
	f.Fuzz(rapid.MakeFuzz(func(t *rapid.T) {
		for _, chk := range drawn {
			Wrap(chk.Run)(t)
		}
	}))
}

func FuzzDefAlignment(f *testing.F) { fuzzClaim(f, "def-alignment") }
func FuzzEq11(f *testing.F)         { fuzzClaim(f, "eq-11") }
func FuzzLemma23(f *testing.F)      { fuzzClaim(f, "lemma-2.3") }
func FuzzLemmaE1(f *testing.F)      { fuzzClaim(f, "lemma-e.1") }
func FuzzLemmaE2(f *testing.F)      { fuzzClaim(f, "lemma-e.2") }
