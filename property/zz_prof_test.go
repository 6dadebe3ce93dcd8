package property

import (
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

func TestZZProfileFigs(t *testing.T) {
	f, _ := os.Create("/tmp/figs.prof")
	pprof.StartCPUProfile(f)
	for _, id := range []string{"fig-1", "fig-2", "fig-3", "fig-4", "fig-5b"} {
		c, _ := Lookup(id)
		s := time.Now()
		r := Run(c, Options{Seed: DefaultSeed, Checks: 1000})
		t.Logf("%s %s %v", id, r.Status, time.Since(s))
	}
	pprof.StopCPUProfile()
	f.Close()
}
