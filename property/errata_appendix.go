package property

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
