package theory_test

import (
	"fmt"

	"github.com/flatmin/flatmin/theory"
)

// Two samples with orthogonal unit gradients and equal residuals: G = I/2,
// Σ = (1/4)[[1, -1], [-1, 1]], so α = β = 1/√2, μ = 1/2, μ1 = 1, μ2 = 1/2.
func ExampleState_Noise() {
	s, err := theory.NewState([]float64{
		1, 0, // g_1
		0, 1, // g_2
	}, 2, 2, []float64{1, 1})
	if err != nil {
		panic(err)
	}
	nz, err := s.Noise()
	if err != nil {
		panic(err)
	}
	fmt.Printf("L = %.4f, ‖Σ‖_F = %.4f, Tr(GΣ) = %.4f\n", nz.Loss, nz.FroSigma, nz.TrGSigma)
	fmt.Printf("α = %.4f, β = %.4f, μ = %.4f, μ1 = %.4f, μ2 = %.4f\n", nz.Alpha, nz.Beta, nz.Mu, nz.Mu1, nz.Mu2)
	// Output:
	// L = 0.5000, ‖Σ‖_F = 0.5000, Tr(GΣ) = 0.2500
	// α = 0.7071, β = 0.7071, μ = 0.5000, μ1 = 1.0000, μ2 = 0.5000
}

// The flatness ‖H‖_F = ‖G‖_F at a minimum, against the GD and Theorem 3.3 bounds.
func ExampleState_Geometry() {
	s, err := theory.NewState([]float64{
		2, 0, 0,
		0, 1, 0,
		0, 0, 1,
		1, 1, 0,
	}, 4, 3, nil)
	if err != nil {
		panic(err)
	}
	g, err := s.Geometry()
	if err != nil {
		panic(err)
	}
	h := theory.SGD{Eta: 0.5, Batch: 2}
	thm33, _ := h.BoundThm33(0.5)
	fmt.Printf("‖H‖_F = %.4f, λ_1 = %.4f, rank %d\n", g.FroG, g.LambdaMax, g.Rank)
	fmt.Printf("GD: λ_1 <= %.1f, ‖H‖_F <= %.4f; Theorem 3.3 with μ0 = 0.5: ‖H‖_F <= %.1f\n",
		h.BoundGDLambdaMax(), h.BoundGDFro(g.Rank), thm33)
	// Output:
	// ‖H‖_F = 1.4142, λ_1 = 1.3257, rank 3
	// GD: λ_1 <= 4.0, ‖H‖_F <= 6.9282; Theorem 3.3 with μ0 = 0.5: ‖H‖_F <= 4.0
}
