package numerics

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

// testSeed is rapid's seed for this package's properties unless
// -rapid.seed is given: `go test ./numerics` is then reproducible, as
// `go test ./property` is; pass -rapid.seed=N (N > 0) to explore, and the
// fuzz targets (make fuzz) for open-ended search.
const testSeed = 1

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("rapid.seed"); f != nil && f.Value.String() == "0" {
		_ = f.Value.Set(strconv.Itoa(testSeed))
	}
	os.Exit(m.Run())
}
