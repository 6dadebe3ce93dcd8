package oracle

import (
	"fmt"
	"math"

	"github.com/flatmin/flatmin/theory"
)

// unitRoundoff is u = 2^-53, the relative error bound of one float64
// rounding (half the spacing of float64 at 1).
const unitRoundoff = 0x1p-53

// inputErr is bad input as a *theory.InputError wrapping one of theory's
// error kinds (theory.ErrParam, ErrShape, ErrNotFinite, ...), so that
// errors.Is works the same on the oracle's errors as on theory's.
func inputErr(kind error, arg string, row, col int, format string, args ...any) error {
	return &theory.InputError{Err: kind, Arg: arg, Row: row, Col: col, Detail: fmt.Sprintf(format, args...)}
}

// paramErr is a scalar parameter outside its domain (theory.ErrParam).
func paramErr(name string, format string, args ...any) error {
	return inputErr(theory.ErrParam, name, theory.NoIndex, theory.NoIndex, format, args...)
}

// errNoConvergence reports that the eigen-decomposition of what did not
// converge (theory.ErrNoConvergence).
func errNoConvergence(what string) error {
	return fmt.Errorf("oracle: %s: %w", what, theory.ErrNoConvergence)
}

// checkFinite locates the first NaN or ±Inf of the vector x.
func checkFinite(x []float64, arg string) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return inputErr(theory.ErrNotFinite, arg, i, theory.NoIndex, "value %v", v)
		}
	}
	return nil
}
