// Package reference holds the dense references that the exact
// linear-stability oracle (package oracle) is tested against: the second
// moment recursion of linearized SGD at a minimum written directly from its
// definition on the symmetric r x r matrices of the range of G, its m x m
// matrix (m = r(r+1)/2), the spectral radius of that matrix by a general
// eigensolver, and a critical learning rate by bisection. They share no code
// with the oracle (no diagonal-plus-low-rank structure, no secular solver,
// no recursion on the residuals), and cost O(m³): small r only.
//
// The notation is the oracle's (Wu, Wang and Su, 2022, Section 3): with
// G = V diag(h) Vᵀ of rank r, the features in the basis V are the rows a_i
// of A (n x r), H = diag(h), and M is the second moment of θ in that basis.
//
// Everything is computed unscaled: use moderate magnitudes only (η·h and the
// entries of A near 1, as theory.Naive), or pass the oracle's own scaled
// basis with its scaled learning rate. Bad input is an error wrapping
// ErrInput, never a panic.
//
// The package is internal: tests of this module (oracle, property) import
// it; users of the module cannot.
package reference
