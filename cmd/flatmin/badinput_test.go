package main

import (
	"encoding/binary"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/npytest"
)

var le = binary.LittleEndian

// npyBytes is a version 1.0 .npy file of dtype descr and shape (a Python
// tuple) with the given payload, whether or not they agree.
func npyBytes(descr, shape string, payload []byte) []byte {
	return npytest.File(1, npytest.Dict(descr, shape), payload)
}

// f8File is a float64 .npy file of the given shape and entries.
func f8File(shape string, v ...float64) []byte {
	return npyBytes("<f8", shape, npytest.F8(le, v...))
}

// badInputFiles are the files of TestBadInput, by name; each case reads a
// few. q.npy and e.npy are good: Q is 3 x 2 of rank 2, e has nonzero loss.
var badInputFiles = map[string][]byte{
	"q.npy":      f8File("(3, 2)", 1, 0, 0, 1, 1, 1),
	"e.npy":      f8File("(3,)", 0.5, -1, 2),
	"q_f32.npy":  npyBytes("<f4", "(3, 2)", npytest.F4(le, 1, 0, 0, 1, 1, 1)),
	"e_col.csv":  []byte("0.5\n-1\n2\n"),
	"empty.npy":  nil,
	"empty.csv":  nil,
	"header.csv": []byte("g1,g2\n"),
	"short.npy":  npyBytes("<f8", "(3, 2)", npytest.F8(le, 1, 0, 0, 1, 1, 1)[:44]),
	"hdr.npy":    f8File("(3, 2)", 1, 0, 0, 1, 1, 1)[:20],
	"text.npy":   []byte("1,2\n3,4\n"),
	"i4.npy":     npyBytes("<i4", "(3, 2)", make([]byte, 24)),
	"f2.npy":     npyBytes("<f2", "(3, 2)", make([]byte, 12)),
	"b1.npy":     npyBytes("|b1", "(3,)", []byte{1, 0, 1}),
	"scalar.npy": f8File("()", 1),
	"q3d.npy":    f8File("(3, 2, 1)", 1, 0, 0, 1, 1, 1),
	"q1d.npy":    f8File("(3,)", 1, 2, 3),
	"e3d.npy":    f8File("(3, 1, 1)", 0.5, -1, 2),
	"e2col.npy":  f8File("(3, 2)", 1, 2, 3, 4, 5, 6),
	"e4.npy":     f8File("(4,)", 1, 2, 3, 4),
	"qnan.npy":   f8File("(3, 2)", 1, 0, math.NaN(), 1, 1, 1),
	"einf.npy":   f8File("(3,)", 1, 2, math.Inf(1)),
	"ezero.npy":  f8File("(3,)", 0, 0, 0),
	"qzero.npy":  f8File("(3, 2)", 0, 0, 0, 0, 0, 0),
	"huge.npy":   f8File("(1099511627776, 1099511627776)", 1),
	"ehuge.npy":  f8File("(1099511627776,)", 1),
	"ragged.csv": []byte("1,0\n0,1\n1\n"),
	"semi.csv":   []byte("1;0\n0;1\n1;1\n"),
	"word.csv":   []byte("1,0\n0,one\n1,1\n"),
	"q.txt":      []byte("1,0\n"),
	// Grams (--gram): K of q.npy, [[1, 0, 1], [0, 1, 1], [1, 1, 2]], and bad ones.
	"k.npy":      f8File("(3, 3)", 1, 0, 1, 0, 1, 1, 1, 1, 2),
	"k32.npy":    f8File("(3, 2)", 1, 0, 0, 1, 1, 1),
	"k1d.npy":    f8File("(9,)", 1, 0, 1, 0, 1, 1, 1, 1, 2),
	"knan.npy":   f8File("(3, 3)", 1, 0, 1, math.NaN(), 1, 1, 1, 1, 2),
	"kasym.npy":  f8File("(3, 3)", 1, 0, 1, 0, 1, 1, 1, 1.5, 2),
	"kindef.npy": f8File("(3, 3)", 1, 0, 1, 0, 1, 1, 1, 1, 1),
	"kzero.npy":  f8File("(3, 3)", 0, 0, 0, 0, 0, 0, 0, 0, 0),
	"k4.npy":     f8File("(4, 4)", 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1),
}

// TestBadInput runs measure and stability on bad files and checks the exact
// message, one line on stderr, and the exit status: 1 for bad data, with
// nothing on stdout. A header that claims a huge array is refused without
// allocating for it.
func TestBadInput(t *testing.T) {
	t.Chdir(t.TempDir()) // so that the messages name the files as given
	for name, b := range badInputFiles {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir("dir.npy", 0o700); err != nil {
		t.Fatal(err)
	}
	const notNPY = `malformed file: not a .npy file (no \x93NUMPY magic string)`
	for _, tc := range []struct {
		name, grads, resid string
		want               string // stderr after "flatmin <command>: ", "" for success
	}{
		{"good", "q.npy", "e.npy", ""},
		{"float32 and a CSV column are read", "q_f32.npy", "e_col.csv", ""},
		{"missing grads", "none.npy", "e.npy", "none.npy: no such file or directory"},
		{"missing residuals", "q.npy", "none.csv", "none.csv: no such file or directory"},
		{"a directory", "dir.npy", "e.npy", "dir.npy: is a directory"},
		{"unknown extension", "q.txt", "e.npy", "q.txt: unknown file type: want a .npy, .npz or .csv file"},
		{"empty .npy", "empty.npy", "e.npy", "empty.npy: " + notNPY},
		{"empty .csv", "q.npy", "empty.csv", "empty.csv: wrong shape: no data rows"},
		{"header-only .csv", "header.csv", "e.npy", "header.csv: wrong shape: no data rows"},
		{"CSV text in a .npy", "text.npy", "e.npy", "text.npy: " + notNPY},
		{"truncated data", "short.npy", "e.npy", "short.npy: malformed file: shape (3, 2) of <f8 needs 48 bytes of data, the file has 44"},
		{"truncated header", "hdr.npy", "e.npy", "hdr.npy: malformed file: truncated .npy header: it claims 60 bytes, the file has 10 after the preamble"},
		{"int32", "i4.npy", "e.npy", `i4.npy: unsupported dtype: "<i4" (signed integer, 4 bytes); want float64 or float32 (convert with a.astype(numpy.float64))`},
		{"float16", "f2.npy", "e.npy", `f2.npy: unsupported dtype: "<f2" (floating point, 2 bytes); want float64 or float32 (convert with a.astype(numpy.float64))`},
		{"bool residuals", "q.npy", "b1.npy", `b1.npy: unsupported dtype: "|b1" (boolean, 1 byte); want float64 or float32 (convert with a.astype(numpy.float64))`},
		{"0-D grads", "scalar.npy", "e.npy", "scalar.npy: wrong shape: 0-D array of shape (); want 2-D (n, p), one row per sample"},
		{"1-D grads", "q1d.npy", "e.npy", "q1d.npy: wrong shape: 1-D array of shape (3,); want 2-D (n, p), one row per sample"},
		{"3-D grads", "q3d.npy", "e.npy", "q3d.npy: wrong shape: 3-D array of shape (3, 2, 1); want 2-D (n, p), one row per sample"},
		{"0-D residuals", "q.npy", "scalar.npy", "scalar.npy: wrong shape: 0-D array of shape (); want (n,) or (n, 1), one value per sample"},
		{"3-D residuals", "q.npy", "e3d.npy", "e3d.npy: wrong shape: 3-D array of shape (3, 1, 1); want (n,) or (n, 1), one value per sample"},
		{"two-column residuals", "q.npy", "e2col.npy", "e2col.npy: wrong shape: 2-D array of shape (3, 2); want (n,) or (n, 1), one value per sample"},
		{"n mismatch", "q.npy", "e4.npy", "e4.npy: 4 residuals, but q.npy has 3 rows (one per sample)"},
		{"NaN", "qnan.npy", "e.npy", "qnan.npy: not finite: NaN at [1, 0]"},
		{"Inf", "q.npy", "einf.npy", "einf.npy: not finite: +Inf at [2]"},
		{"zero loss", "q.npy", "ezero.npy", "ezero.npy: zero loss: the alignment factors divide by L: all residuals are zero"},
		{"zero gradients", "qzero.npy", "e.npy", "qzero.npy: zero Gram matrix: all per-sample gradients are zero"},
		{"huge claimed grads", "huge.npy", "e.npy", "huge.npy: malformed file: shape (1099511627776, 1099511627776) of <f8 needs 1099511627776·1099511627776·8 bytes of data, the file has 8"},
		{"huge claimed residuals", "q.npy", "ehuge.npy", "ehuge.npy: malformed file: shape (1099511627776,) of <f8 needs 8796093022208 bytes of data, the file has 8"},
		{"huge claimed 2-D residuals", "q.npy", "huge.npy", "huge.npy: wrong shape: 2-D array of shape (1099511627776, 1099511627776); want (n,) or (n, 1), one value per sample"},
		{"ragged CSV", "ragged.csv", "e.npy", "ragged.csv: wrong shape: ragged rows: line 3 has 1 fields, line 1 has 2"},
		{"semicolon CSV", "semi.csv", "e.npy", `semi.csv: not a number: line 1, column 1: "1;0" (the delimiter is ','; with numpy.savetxt pass delimiter=',')`},
		{"word in CSV", "word.csv", "e.npy", `word.csv: not a number: line 2, column 2: "one"`},
		{"good Gram", "k.npy", "e.npy", ""},
		{"Gram not square", "k32.npy", "e.npy", "k32.npy: wrong shape: a Gram matrix is square (n, n), this one is (3, 2)"},
		{"1-D Gram", "k1d.npy", "e.npy", "k1d.npy: wrong shape: 1-D array of shape (9,); want 2-D (n, p), one row per sample"},
		{"NaN in the Gram", "knan.npy", "e.npy", "knan.npy: not finite: NaN at [1, 0]"},
		// max|K - Kᵀ|/max|K| = 0.25 and λ_n(K) = 1 - √2 = -0.138·Tr(K), beyond the
		// limits of float32 rounding of 2^30 terms (0.0398 and -0.0199).
		{"asymmetric Gram", "kasym.npy", "e.npy", "kasym.npy: not a Gram matrix: |K[2, 1] - K[1, 2]|/max|K| = 0.25, more asymmetric than the 0.0398 that float32 rounding of p = 2^30 parameters (give --params P for yours) allows (see flatmin measure --help)"},
		{"indefinite Gram", "kindef.npy", "e.npy", "kindef.npy: not a Gram matrix: its smallest eigenvalue is -0.138·Tr(K), more negative than the -0.0199·Tr(K) that float32 rounding of p = 2^30 parameters (give --params P for yours) allows (see flatmin measure --help)"},
		{"zero Gram", "kzero.npy", "e.npy", "kzero.npy: zero Gram matrix: all per-sample gradients are zero"},
		{"residuals and Gram disagree", "k4.npy", "e.npy", "e.npy: 3 residuals, but k4.npy has 4 rows (one per sample)"},
	} {
		matrix := "--grads"
		if strings.HasPrefix(tc.grads, "k") { // the k*.npy files are Grams
			matrix = "--gram"
		}
		for _, cmd := range [][]string{
			{"measure", matrix, tc.grads, "--residuals", tc.resid, "--lr", "0.1", "--batch", "2"},
			{"stability", matrix, tc.grads, "--residuals", tc.resid, "--lr", "0.1", "--batch", "2"},
		} {
			if cmd[0] == "stability" && tc.name == "zero loss" {
				continue // the oracle assumes e = 0: stability reports the loss, 0
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			code, out, errs := runCmd(cmd...)
			runtime.ReadMemStats(&after)
			if tc.want == "" {
				if code != 0 || errs != "" {
					t.Errorf("%s, %s: exit %d, stderr %q; want success", tc.name, cmd[0], code, errs)
				}
				continue
			}
			if want := "flatmin " + cmd[0] + ": " + tc.want + "\n"; code != 1 || out != "" || errs != want {
				t.Errorf("%s, %s: exit %d, stdout %q, stderr\n%q\nwant exit 1, nothing on stdout, stderr\n%q", tc.name, cmd[0], code, out, errs, want)
			}
			// The inputs are tiny: reading them and failing allocates
			// kilobytes, whatever their headers claim.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("%s, %s: %d bytes allocated to refuse a tiny file", tc.name, cmd[0], alloc)
			}
		}
	}
}
