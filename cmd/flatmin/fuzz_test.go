package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/npytest"
)

// The bits of FuzzCommandLine's flags argument.
const (
	fuzzNoLR        = 1 << iota // leave out --lr
	fuzzNoBatch                 // leave out --batch
	fuzzNoResiduals             // leave out --residuals
	fuzzJSON                    // --json
	fuzzCheck                   // --check (for measure a usage error without --lr)
	fuzzSampling                // --sampling <sampling>
	fuzzEps                     // --eps <eps>
	fuzzOneMore                 // one residual more than Q has rows
)

// fuzzInputs writes the gradients and residuals FuzzCommandLine runs on into
// dir: Q of shape (n, p), (n,), () or (n, p, 1) by ndim, as float64,
// float32, big-endian float64, int32 or CSV by dtype, and e of shape (n,),
// with entries from data: byte b is int8(b)/8, except 127 (NaN) and 128
// (+Inf), so that zeros, NaN and Inf all occur.
func fuzzInputs(t *testing.T, dir string, n, p, ndim, dtype int, oneMore bool, data []byte) (grads, resid string) {
	k := 0
	next := func() float64 {
		if len(data) == 0 {
			return 1
		}
		b := data[k%len(data)]
		k++
		switch b {
		case 127:
			return math.NaN()
		case 128:
			return math.Inf(1)
		}
		return float64(int8(b)) / 8
	}
	values := func(m int) []float64 {
		v := make([]float64, m)
		for i := range v {
			v[i] = next()
		}
		return v
	}
	shape, size := []string{"()", fmt.Sprintf("(%d,)", n), fmt.Sprintf("(%d, %d)", n, p), fmt.Sprintf("(%d, %d, 1)", n, p)}[ndim], []int{1, n, n * p, n * p}[ndim]
	q := values(size)
	grads = filepath.Join(dir, "q.npy")
	var b []byte
	switch dtype {
	case 0:
		b = npyBytes("<f8", shape, npytest.F8(le, q...))
	case 1:
		f32 := make([]float32, len(q))
		for i, v := range q {
			f32[i] = float32(v)
		}
		b = npyBytes("<f4", shape, npytest.F4(le, f32...))
	case 2:
		b = npyBytes(">f8", shape, npytest.F8(binary.BigEndian, q...))
	case 3:
		b = npyBytes("<i4", shape, make([]byte, 4*size))
	default:
		grads = writeCSV(t, dir, "q.csv", q, size/p, p) // a CSV file is 2-D
	}
	if b != nil {
		if err := os.WriteFile(grads, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if oneMore {
		n++
	}
	resid = filepath.Join(dir, "e.npy")
	if err := os.WriteFile(resid, f8File(fmt.Sprintf("(%d,)", n), values(n)...), 0o600); err != nil {
		t.Fatal(err)
	}
	return grads, resid
}

// FuzzCommandLine runs measure or stability in-process on tiny generated
// inputs (at most 8 x 8) with fuzzed flag values (numbers over float64's
// range and beyond, NaN, Inf, -0, huge integers, words) and fuzzed files
// (shapes, dtypes, NaN, Inf, zeros, mismatched n). Whatever they are, the
// command must not panic and must exit with a documented status: 0, 1 for
// bad data and 2 for a usage error, each with exactly one line on stderr
// and nothing on stdout, or, with --check, 3 or 4 with the report on
// stdout. Every status but 1 and 2 leaves stderr empty. extra, one more
// argument, reaches the flags that take a value as --name=value: the seeds
// give it --loss, --spectrum and --density, good and bad.
func FuzzCommandLine(f *testing.F) {
	f.Add(uint8(1), "0.1", "2", "1e-3", "with", "", uint8(0), uint8(4), uint8(3), uint8(2), uint8(0), []byte{8, 3, 250, 17})
	for i, extra := range []string{"--loss=mse-sum", "--loss=mse-mean", "--loss=paper", "--loss=MSE", "--spectrum=all", "--spectrum=2",
		"--spectrum=0", "--spectrum=-1", "--spectrum=1e3", "--density=7", "--density=1", "--density=100001", "--check"} {
		f.Add(uint8(i), "1e308", "3", "1e-3", "with", extra, uint8(fuzzCheck), uint8(5), uint8(3), uint8(2), uint8(i%2), []byte{8, 3, 250, 17, 0})
	}
	f.Fuzz(func(t *testing.T, command uint8, lr, batch, eps, sampling, extra string, flags, n, p, ndim, dtype uint8, data []byte) {
		name := []string{"measure", "stability"}[command%2]
		grads, resid := fuzzInputs(t, t.TempDir(), 1+int(n%8), 1+int(p%8), int(ndim%4), int(dtype%5), flags&fuzzOneMore != 0, data)
		args := []string{name, "--grads", grads}
		add := func(bit uint8, flag ...string) {
			if flags&bit != 0 {
				args = append(args, flag...)
			}
		}
		if flags&fuzzNoResiduals == 0 {
			args = append(args, "--residuals", resid)
		}
		if flags&fuzzNoLR == 0 {
			args = append(args, "--lr", lr)
		}
		if flags&fuzzNoBatch == 0 {
			args = append(args, "--batch", batch)
		}
		add(fuzzJSON, "--json")
		add(fuzzCheck, "--check")
		add(fuzzSampling, "--sampling", sampling)
		add(fuzzEps, "--eps", eps)
		if extra != "" {
			args = append(args, extra)
		}

		checked := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(strings.TrimLeft(a, "-"), "check") })
		code, out, errs := runCmd(args...)
		switch {
		case code == exitFailure || code == exitUsage:
			if strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") || !strings.HasPrefix(errs, "flatmin "+name+": ") || out != "" {
				t.Fatalf("%q: exit %d, stdout %q, stderr %q: want one line on stderr, nothing on stdout", args, code, out, errs)
			}
		case code == exitOK || (code == exitUnstable || code == exitUndecided) && checked:
			if errs != "" || out == "" {
				t.Fatalf("%q: exit %d, stdout %q, stderr %q: want output and nothing on stderr", args, code, out, errs)
			}
		default:
			t.Fatalf("%q: exit %d, not a documented status; stderr %q", args, code, errs)
		}
	})
}
