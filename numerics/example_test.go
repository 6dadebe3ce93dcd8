package numerics_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/flatmin/flatmin/numerics"
)

func ExampleDot() {
	fmt.Println(numerics.Dot([]float64{1, 2, 3}, []float64{4, 5, 6}))
	// Output: 32
}

func ExampleNrm2() {
	// Squaring 3e300 would overflow; the scaled sum does not.
	fmt.Println(numerics.Nrm2([]float64{3e300, 4e300}))
	// Output: 5e+300
}

func ExampleAxpy() {
	y := []float64{1, 1, 1}
	numerics.Axpy(2, []float64{1, 2, 3}, y)
	fmt.Println(y)
	// Output: [3 5 7]
}

func ExampleScal() {
	x := []float64{1, 2, 3}
	numerics.Scal(-0.5, x)
	fmt.Println(x)
	// Output: [-0.5 -1 -1.5]
}

func ExampleGram() {
	// Two per-sample gradients of three parameters, one a row.
	q := []float64{
		1, 2, 2,
		0, 3, 4,
	}
	k := make([]float64, 2*2)
	numerics.Gram(k, q, 2, 3)
	fmt.Println(k)
	// Output: [9 14 14 25]
}

func ExampleGemm() {
	a := []float64{1, 2, 3, 4} // 2x2
	b := []float64{5, 6, 7, 8} // 2x2
	c := make([]float64, 4)
	numerics.Gemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [19 22 43 50]
}

func ExampleSyrk() {
	a := []float64{1, 2, 3, 4} // 2x2
	c := make([]float64, 4)
	numerics.Syrk(true, false, 2, 2, 1, a, 2, 0, c, 2) // upper triangle of A Aᵀ
	fmt.Println(c)
	// Output: [5 11 0 25]
}

func ExampleUseAsGonumBLAS() {
	restore := numerics.UseAsGonumBLAS() // gonum's mat now multiplies with Gemm
	defer restore()
	a := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
	var c mat.Dense
	c.Mul(a, a)
	fmt.Println(mat.Formatted(&c))
	// Output:
	// ⎡ 7  10⎤
	// ⎣15  22⎦
}
