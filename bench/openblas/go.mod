module github.com/flatmin/flatmin/bench/openblas

go 1.26.0

require (
	github.com/flatmin/flatmin v0.0.0
	golang.org/x/sys v0.50.0
)

require gonum.org/v1/gonum v0.17.0 // indirect

replace github.com/flatmin/flatmin => ../..
