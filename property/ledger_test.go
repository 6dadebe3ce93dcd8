package property

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/flatmin/flatmin/numerics"
)

// TestMain fixes rapid's seed to DefaultSeed unless -rapid.seed is given, so
// that `go test ./property` is reproducible; pass -rapid.seed to explore. It
// runs the checks on numerics' kernels as gonum's BLAS, as `flatmin verify`
// does (numerics.UseAsGonumBLAS).
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("rapid.seed"); f.Value.String() == "0" {
		_ = f.Value.Set(strconv.FormatUint(DefaultSeed, 10))
	}
	restore := numerics.UseAsGonumBLAS()
	defer restore()
	m.Run()
}

// TestLedger runs every check of every claim under go test, as
// TestLedger/<claim ID>/<check>, through rapid with testing.T.
//
// Under -short rapid runs a fifth of its checks: a property's 100 cases
// become 20, but a check with a fixed count of fewer than five (an exact
// enumeration, a closed form) would run none and pass. Such a check runs its
// count in full (casesFlag); an experiment, which trains networks for a
// minute, is skipped, and says so.
func TestLedger(t *testing.T) {
	for _, c := range Claims() {
		t.Run(c.ID, func(t *testing.T) {
			if !c.Checked() {
				t.Skip("not yet checked")
			}
			for _, chk := range c.Checks {
				t.Run(chk.Name, func(t *testing.T) {
					if chk.Kind == Experiment && testing.Short() {
						t.Skip("an experiment trains networks: run it without -short")
					}
					if chk.Cases > 0 {
						defer setFlags(map[string]string{"rapid.checks": strconv.Itoa(casesFlag(chk.Cases))}, true)()
					}
					rapid.Check(t, Wrap(chk.Run))
				})
			}
		})
	}
}

// TestControls shows that every negative control is caught: the wrong
// variant fails on the same generator as the right one, as
// TestControls/<claim ID>/<control>.
func TestControls(t *testing.T) {
	for _, c := range Claims() {
		for _, ctl := range c.Controls {
			t.Run(c.ID+"/"+ctl.Name, func(t *testing.T) {
				cr := runControl(c.ID, ctl, seedFromFlag())
				if !cr.Caught {
					t.Fatalf("negative control %q (%s) was not caught in %d cases", ctl.Name, ctl.Wrong, controlBudget)
				}
				t.Logf("caught: %s", cr.Counterexample)
			})
		}
	}
}

// TestEveryCheckedClaimHasAControl: a check without a negative control
// cannot be shown to fail.
func TestEveryCheckedClaimHasAControl(t *testing.T) {
	for _, c := range Claims() {
		if c.Checked() && len(c.Controls) == 0 {
			t.Errorf("%s has checks but no negative control", c.ID)
		}
	}
}

func seedFromFlag() uint64 {
	s, _ := strconv.ParseUint(flag.Lookup("rapid.seed").Value.String(), 10, 64)
	return s
}

// TestCatalogueIsGenerated: the committed CLAIMS.md is what WriteCatalogue
// makes of the ledger, so a claim, check or control changed without
// `go generate ./property` fails here, before CI's own regeneration.
func TestCatalogueIsGenerated(t *testing.T) {
	committed, err := os.ReadFile("../CLAIMS.md")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCatalogue(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, b.Bytes()) {
		t.Error("CLAIMS.md is stale: regenerate it with go generate ./property")
	}
}

// Options.Long and Options.CacheDir reach the checks, which pass the cache
// on to the experiment runs (figures.go, fig5b.go).
func TestOptionsReachTheChecks(t *testing.T) {
	var long bool
	var dir string
	c := Claim{ID: "options", Checks: []Check{{Name: "see", Kind: Exact, Cases: 1, Run: func(t *T) {
		long, dir = t.Long(), t.CacheDir()
	}}}}
	Run(c, Options{Seed: DefaultSeed, Long: true, CacheDir: "runs"})
	if !long || dir != "runs" {
		t.Errorf("the check saw Long %v, CacheDir %q; want true, \"runs\"", long, dir)
	}
}
