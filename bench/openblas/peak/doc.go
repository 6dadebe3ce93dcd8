// Package peak measures the FMA peak of one core (BenchmarkPeak), which
// BENCHMARKS.md gives the kernels' percent of: `go test -bench . ./peak` in
// bench/openblas, in the same session as the comparisons. It is a package of
// its own because a cgo package cannot hold Go assembly.
package peak
