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

// TestMain also sets the blocking to the reference machine's, whatever this
// one's L2 is: the tests' shapes are chosen against its block sizes (n = 263
// is the smallest packed Gram, n = 416 two blocks), and TestBlockingBits
// runs those of other caches. Likewise its L1, so that the Gram runs the
// kernels of a large L1 on every machine; TestBlockingBits and the Gram's
// properties (drawL1) run those of a small one too.
func TestMain(m *testing.M) {
	l2Size, l1Size = referenceL2, bigL1
	flag.Parse()
	if f := flag.Lookup("rapid.seed"); f != nil && f.Value.String() == "0" {
		_ = f.Value.Set(strconv.Itoa(testSeed))
	}
	os.Exit(m.Run())
}
