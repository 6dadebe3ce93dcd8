//go:build !amd64 || purego

package numerics

// impls is the generic twin alone: the purego tag or a CPU without assembly.
var impls = []*impl{generic}

// cpuL2 returns 0: without assembly the L2 size is not read, and the
// blocking is the reference one (cache.go).
func cpuL2() int { return 0 }
