// Command stream writes the inputs of the streaming benchmarks of
// BENCHMARKS.md ("flatmin measure: streamed gradients and --gram") and
// times the Gram kernel they are compared with:
//
//	go run ./bench/stream q -n 1000 -p 10000000 -f32 -out q.npy   # Q, uniform in [-1, 1), C order
//	go run ./bench/stream e -n 1000 -out e.npy                    # residuals
//	go run ./bench/stream gram -n 5000 -p 5000 -out K.npy         # K = QQᵀ of a random n x p Q
//	go run ./bench/stream kernel -n 1000 -p 1000000               # numerics.Gram's own time, Q in memory
//	go run ./bench/stream compare -n 1000 -p 1000000 -rounds 5 -- flatmin measure --grads q.npy --residuals e.npy
//
// compare alternates, in one process, numerics.Gram on a Q of the same
// shape held in memory and the command after "--" (its CPU time from the
// system's accounting of the child), so that the ratio holds on a noisy
// machine, and prints each round and the medians.
//
// Entries come from a fixed seed, so the files are the same on every run.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/flatmin/flatmin/numerics"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stream q|e|gram|kernel [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 1000, "rows (samples)")
	p := fs.Int("p", 1000, "columns (parameters)")
	f32 := fs.Bool("f32", false, "write float32 (else float64)")
	out := fs.String("out", "", "the .npy file to write")
	rounds := fs.Int("rounds", 5, "compare: rounds")
	fs.Parse(os.Args[2:])
	rng := rand.New(rand.NewPCG(1, 2))
	uniform := func() float64 { return float64(int32(rng.Uint32())) * 0x1p-31 } // float32-exact
	var err error
	switch os.Args[1] {
	case "q":
		err = writeMatrix(*out, *n, *p, *f32, uniform)
	case "e":
		err = writeMatrix(*out, *n, 0, false, uniform)
	case "gram":
		q := make([]float64, *n**p)
		for i := range q {
			q[i] = uniform()
		}
		k := make([]float64, *n**n)
		numerics.Gram(k, q, *n, *p)
		i := 0
		err = writeMatrix(*out, *n, *n, false, func() float64 { i++; return k[i-1] })
	case "kernel":
		q := make([]float64, *n**p)
		for i := range q {
			q[i] = uniform()
		}
		k := make([]float64, *n**n)
		start, cpu := time.Now(), cpuTime()
		numerics.Gram(k, q, *n, *p)
		d, c := time.Since(start), cpuTime()-cpu
		fmt.Printf("numerics.Gram n=%d p=%d: %.2f s wall, %.2f s CPU, %.1f GFLOP/s\n", *n, *p, d.Seconds(), c.Seconds(), float64(*n)*float64(*n+1)*float64(*p)/d.Seconds()/1e9)
	case "compare":
		err = compare(*n, *p, *rounds, fs.Args(), uniform)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// writeMatrix writes an n x p matrix (a vector of n when p = 0) of next()'s
// values, row by row, as a little-endian C-order .npy file.
func writeMatrix(path string, n, p int, f32 bool, next func() float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 4<<20)
	descr, shape := "<f8", fmt.Sprintf("(%d,)", n)
	if f32 {
		descr = "<f4"
	}
	if p > 0 {
		shape = fmt.Sprintf("(%d, %d)", n, p)
	}
	// A version 1.0 header, as numpy.save writes it: the dictionary padded
	// with spaces and ended by '\n' so that the data starts at a multiple
	// of 64 bytes.
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	hdr := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(dict)+1))
	w.Write(append(append(hdr, dict...), '\n'))
	var b [8]byte
	for range n * max(p, 1) {
		v := next()
		if f32 {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(float32(v)))
			w.Write(b[:4])
		} else {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// compare alternates numerics.Gram on an n x p Q in memory and the command
// cmd, rounds times, and prints their wall and CPU times and the medians.
func compare(n, p, rounds int, cmd []string, next func() float64) error {
	if len(cmd) == 0 {
		return fmt.Errorf("compare: no command after --")
	}
	q := make([]float64, n*p)
	for i := range q {
		q[i] = next()
	}
	k := make([]float64, n*n)
	var kw, kc, cw, cc []float64
	for r := range rounds {
		start, cpu := time.Now(), cpuTime()
		numerics.Gram(k, q, n, p)
		kw, kc = append(kw, time.Since(start).Seconds()), append(kc, (cpuTime()-cpu).Seconds())
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Stderr = os.Stderr
		start = time.Now()
		if err := c.Run(); err != nil {
			return err
		}
		cw = append(cw, time.Since(start).Seconds())
		cc = append(cc, (c.ProcessState.UserTime() + c.ProcessState.SystemTime()).Seconds())
		fmt.Printf("round %d: Gram %.2f s wall %.2f s CPU; command %.2f s wall %.2f s CPU; ratio %.2f wall %.2f CPU\n",
			r+1, kw[r], kc[r], cw[r], cc[r], cw[r]/kw[r], cc[r]/kc[r])
	}
	fmt.Printf("medians: Gram %.2f s wall %.2f s CPU; command %.2f s wall %.2f s CPU; ratio of medians %.2f wall %.2f CPU\n",
		median(kw), median(kc), median(cw), median(cc), median(cw)/median(kw), median(cc)/median(kc))
	return nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
