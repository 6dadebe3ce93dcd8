package numerics

import (
	"testing"

	"gonum.org/v1/gonum/blas/testblas"
)

// The conformance suite of gonum, on every implementation.
func TestBLASConformance(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		var b BLAS
		t.Run("Ddot", func(t *testing.T) { testblas.DdotTest(t, b) })
		t.Run("Daxpy", func(t *testing.T) { testblas.DaxpyTest(t, b) })
		t.Run("Dscal", func(t *testing.T) { testblas.DscalTest(t, b) })
		t.Run("Dnrm2", func(t *testing.T) { testblas.Dnrm2Test(t, b) })
		t.Run("Dgemv", func(t *testing.T) { testblas.DgemvTest(t, b) })
		t.Run("Dgemm", func(t *testing.T) { testblas.TestDgemm(t, b) })
		t.Run("Dsyrk", func(t *testing.T) { testblas.DsyrkTest(t, b) })
	})
}
