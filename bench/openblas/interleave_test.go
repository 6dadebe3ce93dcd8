package openblas

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flatmin/flatmin/numerics"
)

// TestInterleaved times flatmin and OpenBLAS call by call, alternating: on
// a machine shared with other jobs, the load moves between two b.Loop
// benchmarks of a second each, but little between two calls.
// FLATMIN_INTERLEAVE lists the cases, "gram:n:p:calls", "gemm:n:calls",
// "dot:n:calls", "axpy:n:calls" or "nrm2:n:calls", separated by spaces; it
// reports for each the median wall time of each library, the median of the
// per-pair ratios of their speeds (flatmin over OpenBLAS), and the same
// from CPU time (clock_gettime: of the thread on one core, of the process
// on more), which leaves out the time slices other jobs take. OpenBLAS gets
// as many threads as GOMAXPROCS, and on more than one thread every call of
// both libraries follows the same pause (openblasSpin); a second line then
// counts the calls that ran short of their threads (reportShort). With
// FLATMIN_INTERLEAVE_AFTER_SELF=1 each timed call follows an untimed call
// of the same library instead of the other library's call, as
// back-to-back benchmarks time it. With FLATMIN_INTERLEAVE_SETTLE set to a
// duration (20ms), each timed call of either library follows a spin of
// that long without a system call. Either keeps out what otherwise slows
// flatmin's calls on one core by 3-7 %: the return from OpenBLAS's cgo
// call, after which Go's sysmon thread polls every 20 µs for a millisecond
// or more, on the same core, while flatmin's call runs (3 % of the core
// over a run on this machine, 20 µs a wake-up; BENCHMARKS.md). OpenBLAS's
// calls, in cgo, let sysmon park. Run it pinned (taskset), e.g.
//
//	FLATMIN_INTERLEAVE="gram:100:100000:21 gemm:2048:7" GOMAXPROCS=1 \
//	    taskset -c 1 go test -run Interleaved -v .
//	FLATMIN_INTERLEAVE="gram:1000:100000:9 dot:1e7:41" GOMAXPROCS=2 \
//	    go test -run Interleaved -v .
func TestInterleaved(t *testing.T) {
	spec := os.Getenv("FLATMIN_INTERLEAVE")
	if spec == "" {
		t.Skip("FLATMIN_INTERLEAVE is not set")
	}
	threads := runtime.GOMAXPROCS(0)
	if threads == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	Threads(threads)
	var settleFor time.Duration
	if v := os.Getenv("FLATMIN_INTERLEAVE_SETTLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FLATMIN_INTERLEAVE_SETTLE: %v", err)
		}
		settleFor = d
	}
	// settle spins, without a system call, for settleFor.
	settle := func() {
		for t0 := time.Now(); time.Since(t0) < settleFor; {
		}
	}
	timed := func(f func()) (wall, cpu float64) {
		c0 := cpuTime(threads)
		t0 := time.Now()
		f()
		return time.Since(t0).Seconds(), cpuTime(threads) - c0
	}
	for _, c := range strings.Fields(spec) {
		f := strings.Split(c, ":")
		num := func(i int) int {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			return int(v)
		}
		r := rand.New(rand.NewPCG(1, 5))
		var ours, theirs func()
		var calls int
		var flops float64
		switch f[0] {
		case "gram":
			n, p := num(1), num(2)
			calls = num(3)
			q, k := randSlice(r, n*p), make([]float64, n*n)
			flops = float64(n) * float64(n+1) * float64(p)
			ours = func() { numerics.Gram(k, q, n, p) }
			theirs = func() { Dsyrk(n, p, q, k) }
		case "gemm":
			n := num(1)
			calls = num(2)
			a, b, cc := randSlice(r, n*n), randSlice(r, n*n), make([]float64, n*n)
			flops = 2 * float64(n) * float64(n) * float64(n)
			ours = func() { numerics.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, cc, n) }
			theirs = func() { Dgemm(n, a, b, cc) }
		case "dot", "axpy", "nrm2":
			n := num(1)
			calls = num(2)
			x, y := randSlice(r, n), randSlice(r, n)
			// GB/s for dot and axpy (16 and 24 bytes an element), as the
			// benchmarks count them; GFLOP/s (2n) for nrm2.
			flops = map[string]float64{"dot": 16, "axpy": 24, "nrm2": 2}[f[0]] * float64(n)
			switch f[0] {
			case "dot":
				ours, theirs = func() { numerics.Dot(x, y) }, func() { Ddot(x, y) }
			case "axpy":
				ours, theirs = func() { numerics.Axpy(1e-9, x, y) }, func() { Daxpy(1e-9, x, y) }
			default:
				ours, theirs = func() { numerics.Nrm2(x) }, func() { Dnrm2(x) }
			}
		default:
			t.Fatalf("unknown case %q", c)
		}
		ours()
		theirs()
		var wo, wt, co, ct []float64
		// OpenBLAS's idle threads spin before they sleep (THREAD_TIMEOUT,
		// about 2^28 cycles): on more than one thread, without a pause
		// they take a core from flatmin's next call. The pause comes before
		// both calls of a pair, not only flatmin's: the first call after an
		// idle pause starts slowly (flatmin's Dot at n = 1e7 often ran at
		// one core's 16 GB/s, its second goroutine woken on the caller's
		// vCPU, against 27-31 GB/s for the next call; BENCHMARKS.md), so a
		// pause before one library's calls alone handicaps that library.
		pause := func() {
			if threads > 1 {
				time.Sleep(openblasSpin)
			}
		}
		afterSelf := os.Getenv("FLATMIN_INTERLEAVE_AFTER_SELF") == "1"
		for range calls {
			pause()
			if afterSelf {
				ours()
			}
			settle()
			w, u := timed(ours)
			wo, co = append(wo, w), append(co, u)
			pause()
			if afterSelf {
				theirs()
			}
			settle()
			w, u = timed(theirs)
			wt, ct = append(wt, w), append(ct, u)
		}
		ratio := func(o, th []float64) (float64, float64, float64) {
			r := make([]float64, len(o))
			for i := range o {
				r[i] = th[i] / o[i]
			}
			slices.Sort(r)
			return median(r), r[0], r[len(r)-1]
		}
		rw, lw, hw := ratio(wo, wt)
		rc, lc, hc := ratio(co, ct)
		fmt.Printf("%-22s %d threads %2d pairs: wall flatmin %6.2f openblas %6.2f G/s, ratio %.3f (%.2f-%.2f); CPU flatmin %6.2f openblas %6.2f, ratio %.3f (%.2f-%.2f)\n",
			c, threads, calls, flops/median(wo)/1e9, flops/median(wt)/1e9, rw, lw, hw,
			flops/median(co)/1e9, flops/median(ct)/1e9, rc, lc, hc)
		if threads > 1 {
			reportShort(threads, wo, co, wt, ct, ratio)
		}
	}
}

// reportShort prints, on more than one thread, how many calls of each
// library ran short of its threads (process CPU time under threads - 0.5
// times the wall time: after an idle pause the kernel may wake a library's
// second thread on the caller's vCPU, for C threads as for Go's;
// BENCHMARKS.md), and the wall-time ratio over the pairs in which neither
// did, the libraries' speeds apart from that placement.
func reportShort(threads int, wo, co, wt, ct []float64, ratio func(o, th []float64) (float64, float64, float64)) {
	short := func(w, u float64) bool { return u < (float64(threads)-0.5)*w }
	var so, st int
	var fo, ft []float64
	for i := range wo {
		a, b := short(wo[i], co[i]), short(wt[i], ct[i])
		if a {
			so++
		}
		if b {
			st++
		}
		if !a && !b {
			fo, ft = append(fo, wo[i]), append(ft, wt[i])
		}
	}
	fmt.Printf("%22s calls short of %d threads: flatmin %d, openblas %d of %d", "", threads, so, st, len(wo))
	if len(fo) > 0 {
		r, l, h := ratio(fo, ft)
		fmt.Printf("; wall ratio over the %d pairs with neither short %.3f (%.2f-%.2f)", len(fo), r, l, h)
	}
	fmt.Println()
}

// openblasSpin outlasts the spinning of OpenBLAS's idle threads, 2^28
// cycles of a core of 2 GHz or more.
const openblasSpin = 300 * time.Millisecond

// cpuTime returns the CPU time, in seconds, of the calling thread (threads
// = 1) or of the whole process. clock_gettime brings the running thread's
// time up to date; getrusage, which this used before, counts it only to the
// last scheduler tick, milliseconds off for calls of milliseconds.
func cpuTime(threads int) float64 {
	clock := int32(unix.CLOCK_PROCESS_CPUTIME_ID)
	if threads == 1 {
		clock = unix.CLOCK_THREAD_CPUTIME_ID
	}
	var ts unix.Timespec
	if unix.ClockGettime(clock, &ts) != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}
