package theory

import (
	"errors"
	"fmt"
)

// The kinds of bad input. Every error returned by this package for bad input
// wraps one of them, so callers can test with errors.Is.
var (
	// ErrEmpty: no samples or no parameters (n = 0 or p = 0).
	ErrEmpty = errors.New("empty input")
	// ErrShape: the lengths of Q, e or θ do not match n and p.
	ErrShape = errors.New("shape mismatch")
	// ErrNotFinite: an entry is NaN or ±Inf.
	ErrNotFinite = errors.New("entry is not finite")
	// ErrZeroLoss: L = 0, and the quantity asked for divides by L (β, μ, μ1, μ2).
	ErrZeroLoss = errors.New("zero loss: the alignment factors divide by L")
	// ErrZeroGram: Q = 0, so G = 0 and every ratio over ‖G‖_F is undefined.
	ErrZeroGram = errors.New("zero Gram matrix: all per-sample gradients are zero")
	// ErrParam: a scalar parameter (η, B, μ0, a, b) is outside its domain.
	ErrParam = errors.New("parameter out of range")
	// ErrNullDirection: θᵀHθ = 0, so the ratios θᵀH^kθ/θᵀHθ are undefined.
	ErrNullDirection = errors.New("θ lies in the null space of H")
	// ErrNoConvergence: an eigen-decomposition did not converge. No finite
	// symmetric matrix is known to cause it: LAPACK's QL/QR iteration can
	// stall on entries spanning hundreds of binary orders, and
	// numerics.SymmetricEigen then falls back to the Jacobi method.
	ErrNoConvergence = errors.New("an eigen-decomposition did not converge")
)

// NoIndex is the Row or Col of an InputError where it does not apply.
const NoIndex = -1

// InputError locates bad input: which argument, and which row and column of it.
// Row and Col are NoIndex where they do not apply.
type InputError struct {
	Err      error  // one of the Err* kinds above
	Arg      string // "Q", "e", "theta", "H", ...
	Row, Col int
	Detail   string
}

func (e *InputError) Error() string {
	where := e.Arg
	switch {
	case e.Row >= 0 && e.Col >= 0:
		where = fmt.Sprintf("%s[%d, %d]", e.Arg, e.Row, e.Col)
	case e.Row >= 0:
		where = fmt.Sprintf("%s[%d]", e.Arg, e.Row)
	}
	msg := fmt.Sprintf("%s: %v", where, e.Err)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *InputError) Unwrap() error { return e.Err }

func inputErr(kind error, arg string, row, col int, format string, args ...any) error {
	return &InputError{Err: kind, Arg: arg, Row: row, Col: col, Detail: fmt.Sprintf(format, args...)}
}

func paramErr(name string, format string, args ...any) error {
	return inputErr(ErrParam, name, NoIndex, NoIndex, format, args...)
}
