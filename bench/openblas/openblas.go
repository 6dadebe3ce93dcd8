// Package openblas benchmarks the kernels of flatmin's numerics against
// OpenBLAS in one process, so that their ratios hold however noisy the
// machine: `go test -bench . -count 10` here, with
// `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` for OpenBLAS's best kernels.
// It is a module of its own because it needs cgo and libopenblas-dev
// (apt-get install -y libopenblas-dev); the main module has no cgo.
package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

// Threads sets the number of threads OpenBLAS uses.
func Threads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Core is the name of the kernel set OpenBLAS chose at load time.
func Core() string { return C.GoString(C.openblas_get_corename()) }

// Config is OpenBLAS's build configuration.
func Config() string { return C.GoString(C.openblas_get_config()) }

func ptr(x []float64) *C.double { return (*C.double)(unsafe.Pointer(unsafe.SliceData(x))) }

// Dgemm computes C = A B for row-major n x n matrices.
func Dgemm(n int, a, b, c []float64) {
	C.cblas_dgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(n), C.blasint(n), C.blasint(n),
		1, ptr(a), C.blasint(n), ptr(b), C.blasint(n), 0, ptr(c), C.blasint(n))
}

// Dsyrk computes the upper triangle of K = Q Qᵀ for the row-major n x p q.
func Dsyrk(n, p int, q, k []float64) {
	C.cblas_dsyrk(C.CblasRowMajor, C.CblasUpper, C.CblasNoTrans, C.blasint(n), C.blasint(p),
		1, ptr(q), C.blasint(p), 0, ptr(k), C.blasint(n))
}

// Ddot returns x·y.
func Ddot(x, y []float64) float64 {
	return float64(C.cblas_ddot(C.blasint(len(x)), ptr(x), 1, ptr(y), 1))
}

// Daxpy sets y += alpha x.
func Daxpy(alpha float64, x, y []float64) {
	C.cblas_daxpy(C.blasint(len(x)), C.double(alpha), ptr(x), 1, ptr(y), 1)
}

// Dnrm2 returns the Euclidean norm of x.
func Dnrm2(x []float64) float64 { return float64(C.cblas_dnrm2(C.blasint(len(x)), ptr(x), 1)) }
