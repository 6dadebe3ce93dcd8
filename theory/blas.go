package theory

import (
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/flatmin/flatmin/numerics"
)

// init makes gonum's mat and lapack, which theory uses for the n x n algebra
// after the Gram matrix, run their Ddot, Daxpy, Dscal, Dnrm2, Dgemv, Dgemm and
// Dsyrk on the SIMD kernels of package numerics (gonum's own code for the
// rest). Every program that imports theory gets them.
func init() { blas64.Use(numerics.BLAS{}) }
