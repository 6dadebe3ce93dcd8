package numerics_test

import (
	"fmt"
	"slices"

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

func ExampleGramFloat32() {
	// Two per-sample gradients of three parameters, stored as float32.
	q := []float32{
		1, 2, 2,
		0, 3, 4,
	}
	k := make([]float64, 2*2)
	numerics.GramFloat32(k, q, 2, 3)
	fmt.Println(k)
	// Products and sums are float64: the square of float32(1e30) does not
	// overflow, and K holds it to float64's precision.
	numerics.GramFloat32(k[:1], []float32{1e30}, 1, 1)
	fmt.Println(k[0])
	// Output:
	// [9 14 14 25]
	// 1.0000000300949327e+60
}

func ExampleGramFloat32Add() {
	// Q (2 x 1030, float32) streamed a block of columns at a time: blocks
	// whose widths are multiples of GramBlock, the last excepted, give the
	// bits of GramFloat32 on the whole of Q.
	n, p := 2, 1030
	q := make([]float32, n*p)
	for i := range q {
		q[i] = float32(i%7) / 8
	}
	whole := make([]float64, n*n)
	numerics.GramFloat32(whole, q, n, p)

	k := make([]float64, n*n) // K starts zero
	for c := 0; c < p; c += numerics.GramBlock {
		w := min(numerics.GramBlock, p-c)
		block := make([]float32, 0, n*w) // columns [c, c+w) of Q, n x w
		for i := range n {
			block = append(block, q[i*p+c:i*p+c+w]...)
		}
		numerics.GramFloat32Add(k, block, n, w)
	}
	fmt.Println(k, slices.Equal(k, whole))
	// Output:
	// [209.015625 160.78125 160.78125 209.03125] true
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
