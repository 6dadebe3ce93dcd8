package property

import (
	"math/rand/v2"

	"github.com/flatmin/flatmin/experiment"
)

// Misprints of the paper that are not tied to a checked formula: each is an
// Erratum control whose check is the printed statement, which must fail.

func init() {
	addControl("fig-3", Control{Name: "fcn-parameter-count",
		Wrong: "p = 25441 for the FCN 784 → m → m → 1 at m = 30, as printed",
		Run:   fcnParameterCount,
		Erratum: &Erratum{Where: "Appendix A.1, fully-connected networks",
			Printed:   "784 → m → m → 1 with m = 30 has p = 25441",
			Corrected: "784 → 30 → 30 → 1 has p = 24511 (with biases); 25441 is 784 → 30 → 30 → 30 → 1"}})
}

// fcnParameterCount checks the printed parameter count exactly.
func fcnParameterCount(t *T) {
	if p := mlpParameters(784, 30, 30, 1); p != 25441 {
		t.Fatalf("784→30→30→1 with biases has %d parameters, not 25441; 784→30→30→30→1 has %d",
			p, mlpParameters(784, 30, 30, 30, 1))
	}
}

// mlpParameters counts the weights and biases of a fully-connected network
// with the given layer widths.
func mlpParameters(widths ...int) int {
	p := 0
	for i := 1; i < len(widths); i++ {
		p += widths[i-1]*widths[i] + widths[i]
	}
	return p
}

func init() {
	addControl("fig-1", Control{Name: "mnist-binary-labels",
		Wrong: "the printed relabelling of the MNIST digits is a binary labelling of 0-9",
		Run:   printedDigitLabels,
		Erratum: &Erratum{Where: "Appendix A.1, fully-connected networks (the CNN uses the same data)",
			Printed:   "label {1, 2, 3, 4, 5} to 0 and {5, 6, 7, 8, 9, 10} to 1",
			Corrected: "digits 0-4 → 0 and 5-9 → 1: MNIST's digits are 0-9, and the printed sets leave 0 out and put 5 in both"}})
	addControl("fig-1", Control{Name: "linear-network-sample-size",
		Wrong: "Figure 1's caption and Appendix A.1 give the linear network the same n and d",
		Run:   linearNetworkSizes,
		Erratum: &Erratum{Where: "Figure 1 caption against Appendix A.1, linear networks",
			Printed:   "Figure 1: the linear network is trained with n = 100, d = 50",
			Corrected: "Appendix A.1: d = 100, n = 50 (n < d, the low-sample regime both texts mean); the suite runs A.1's"}})
	addControl("fig-1", Control{Name: "rfm-as-printed",
		Wrong: "A.1's RFM as printed (unscaled ReLU features of w_j ~ N(0, I_10), m = 2000) is trainable at η = 0.003",
		Run:   func(t *T) { literalTrainable(t, "rfm", 0) },
		Erratum: &Erratum{Where: "Appendix A.1, random feature model",
			Printed:   "f(x; θ) = Σ_j θ_j ReLU(w_jᵀx), w_j ~ N(0, I_d), m = 2000, trained by SGD with η = 0.003, B = 5",
			Corrected: "as printed λ_1(G) at initialization is far above 2/η, so GD and SGD diverge; the suite scales the features by 1/sqrt(m)"}})
	addControl("fig-1", Control{Name: "linear-network-as-printed",
		Wrong: "A.1's linear network as printed (Xavier initialization) is trainable at η = 0.1",
		Run:   func(t *T) { literalTrainable(t, "linear", 0) },
		Erratum: &Erratum{Where: "Appendix A.1, linear networks",
			Printed:   "d → m → m → m → 1, m = 50, default Xavier initialization, trained by SGD with η = 0.1, B = 5",
			Corrected: "as printed λ_1(G) at initialization exceeds 2/η = 20, so GD is unstable from the start; the suite reads \"default\" as PyTorch's default nn.Linear initialization"}})
	// λ_1(G) = λ_1(Σ g_i g_iᵀ/n) is a sample mean over the digits, so 200 of
	// them show it as well as A.1's 1000, at a fifth of the cost.
	addControl("fig-1", Control{Name: "cnn-as-printed",
		Wrong: "A.1's CNN as printed (Kaiming-He initialization, m = 20) is trainable at η = 0.1",
		Run:   func(t *T) { literalTrainable(t, "cnn", 200) },
		Erratum: &Erratum{Where: "Appendix A.1, convolutional neural networks",
			Printed:   "Table 1's CNN with m = 20, Kaiming-He initialization, trained by SGD with η = 0.1, B = 5",
			Corrected: "as printed λ_1(G) at initialization is about ten times 2/η = 20 and SGD diverges in a few steps; the suite uses PyTorch's default (Kaiming-uniform, a = sqrt(5)) initialization"}})
}

// printedDigitLabels fails unless the printed sets label every digit 0-9
// exactly once.
func printedDigitLabels(t *T) {
	printed := [][]int{{1, 2, 3, 4, 5}, {5, 6, 7, 8, 9, 10}}
	for digit := 0; digit <= 9; digit++ {
		in := 0
		for _, set := range printed {
			for _, v := range set {
				if v == digit {
					in++
				}
			}
		}
		if in != 1 {
			t.Fatalf("digit %d is in %d of the printed sets, not one", digit, in)
		}
	}
}

// linearNetworkSizes compares the two printed settings.
func linearNetworkSizes(t *T) {
	caption := [2]int{100, 50} // n, d in Figure 1's caption
	set, err := experiment.Settings("linear")
	if err != nil {
		t.Fatal(err)
	}
	if a1 := [2]int{set.N, set.D}; a1 != caption {
		t.Fatalf("Figure 1 says (n, d) = %v, A.1 says %v", caption, a1)
	}
}

// literalTrainable fails when the model built as A.1 prints it (on n
// samples; 0 for A.1's) has
// λ_1(G) > 2/η at initialization: then GD is linearly unstable there
// (Section 3.1), and so is SGD, whose noise only adds to the loss (eq. 10).
func literalTrainable(t *T, model string, n int) {
	j, err := experiment.NewJob(experiment.Spec{Model: model, N: n, Literal: true}, 0, experimentSeed, false)
	if err != nil {
		t.Fatal(err)
	}
	j.Spec.Literal = true
	p, err := experiment.Build(j.Spec)
	if err != nil {
		t.Fatal(err)
	}
	theta := p.Net.Init(rand.New(rand.NewPCG(experimentSeed, 0)))
	rec, err := experiment.Measure(p, theta, j.Config, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if edge := 2 / j.Config.Eta; rec.LambdaMax > edge {
		t.Fatalf("%s as printed: λ_1(G) = %.4g at initialization > 2/η = %.4g", model, rec.LambdaMax, edge)
	}
}
