//go:build !amd64 || purego

package numerics

// impls is the generic twin alone: the purego tag or a CPU without assembly.
var impls = []*impl{generic}
