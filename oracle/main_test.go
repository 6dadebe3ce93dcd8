package oracle

import (
	"testing"

	"github.com/flatmin/flatmin/numerics"
)

// TestMain runs the tests on numerics' kernels as gonum's BLAS, as
// cmd/flatmin does (numerics.UseAsGonumBLAS): the bits they check are the
// ones the command computes.
func TestMain(m *testing.M) {
	restore := numerics.UseAsGonumBLAS()
	defer restore()
	m.Run()
}
