package numerics

import (
	"fmt"
	"os"
	"strings"
)

// EnvImpl is the environment variable that chooses the implementation the
// kernels run on, read once when the package is initialized: "avx512",
// "avx2" or "generic" force that one (so that the AVX2+FMA path can be run,
// and benchmarked, on an AVX-512 machine), and an empty or unset value
// leaves the best one the CPU has. A value that names no implementation,
// or one this CPU or build lacks, is ignored, and Implementation says why;
// it never panics. Every implementation gives the same bits, so the choice
// changes only the speed.
const EnvImpl = "FLATMIN_NUMERICS"

// active is the implementation the kernels run on, and note why EnvImpl was
// ignored, if it was.
var active, note = choose(impls, os.Getenv(EnvImpl))

// choose returns the implementation of have that want names, or have[0]
// (the best) when want is empty, with the reason when want is not empty and
// not available.
func choose(have []*impl, want string) (*impl, string) {
	if want == "" {
		return have[0], ""
	}
	names := make([]string, len(have))
	for i, im := range have {
		if im.name == want {
			return im, ""
		}
		names[i] = im.name
	}
	return have[0], fmt.Sprintf("%s=%q ignored: not an implementation of this CPU and build (%s); running %s",
		EnvImpl, want, strings.Join(names, ", "), have[0].name)
}

// Implementation returns the name of the implementation the kernels run on,
// "avx512", "avx2" or "generic", and, when EnvImpl was set but ignored, the
// reason (otherwise "").
func Implementation() (name, ignored string) { return active.name, note }
