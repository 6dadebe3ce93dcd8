//go:build !amd64 || purego

package numerics

// impls is the generic twin alone: the purego tag or a CPU without assembly.
var impls = []*impl{generic}

// cpuL2 returns 0: without assembly the L2 size is not read, and the
// blocking is the reference one (cache.go).
func cpuL2() int { return 0 }

// cpuL1 returns 0: without assembly the L1 size is not read (cache.go).
func cpuL1() int { return 0 }
