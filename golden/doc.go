// Package golden holds flatmin's golden-file regression tests: the theory
// quantities for a fixed set of seeded inputs, the `flatmin verify --json`
// report for the default seed, and (as they are added) kernel outputs and
// oracle results. Files live in testdata/*.golden as indented JSON.
//
//	go test ./golden            compare; a mismatch prints a go-cmp diff located by JSON path
//	go test ./golden -update    rewrite the files (a golden change is a reviewed diff)
//
// Floats are written in Go's shortest round-trip form, so a golden file pins
// exact bits; NaN and ±Inf are written as the strings "NaN", "+Inf", "-Inf".
// On amd64 comparisons are exact. Other architectures may fuse a*b+c into an
// FMA where amd64 does not, so there floats compare to 1e-12 relative.
package golden
