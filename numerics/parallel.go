package numerics

import (
	"runtime"
	"sync"
)

// minWork is the number of multiply-adds below which a kernel stays on one
// goroutine: starting another costs about a microsecond.
const minWork = 1 << 18

// workers returns how many goroutines a kernel of that many multiply-adds
// uses: GOMAXPROCS, or 1 for small work. Results never depend on it.
func workers(work float64) int {
	if work < minWork {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// parallel runs f(0), …, f(w-1) on w goroutines and waits for them.
func parallel(w int, f func(g int)) {
	var wg sync.WaitGroup
	for g := 1; g < w; g++ {
		wg.Go(func() { f(g) })
	}
	f(0)
	wg.Wait()
}

// split cuts [0, n) at multiples of grain into at most w ranges of about equal
// total cost(i), returned as w'+1 increasing boundaries from 0 to n. One
// range (w ≤ 1) costs no call of cost.
func split(n, w, grain int, cost func(i int) float64) []int {
	if w <= 1 {
		return []int{0, n}
	}
	var total float64
	for i := range n {
		total += cost(i)
	}
	cuts := []int{0}
	var acc float64
	for i := range n {
		acc += cost(i)
		g := len(cuts)
		if g < w && acc >= total*float64(g)/float64(w) && (i+1)%grain == 0 && i+1 < n {
			cuts = append(cuts, i+1)
		}
	}
	return append(cuts, n)
}

// buffers recycles the packing buffers of Gemm, Syrk and Gram: fresh large
// allocations cost page faults on every call.
var buffers sync.Pool

// getBuffer returns a buffer of n elements, not cleared; putBuffer returns it.
func getBuffer(n int) *[]float64 {
	if b, ok := buffers.Get().(*[]float64); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float64, n)
	return &b
}

func putBuffer(b *[]float64) { buffers.Put(b) }
