module github.com/flatmin/flatmin

go 1.26.0

require (
	golang.org/x/sys v0.50.0
	gonum.org/v1/gonum v0.17.0
)

require pgregory.net/rapid v1.3.0 // indirect
