package dataio

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadNPY: any bytes decode, as a Matrix and as a Vector, to a valid
// array of that layout or to a one-line *Error, never a panic, and the array
// is no larger than the bytes can hold (so a header claiming a huge shape
// cannot make the reader allocate for it).
func FuzzReadNPY(f *testing.F) {
	for _, c := range npyCases {
		f.Add(c.file)
	}
	for _, name := range []string{"q.npy", "q_f32.npy", "q_fortran.npy", "q_be.npy", "e.npy", "e_col.npy"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, layout := range []Layout{Matrix, Vector} {
			a, err := DecodeNPY(b, layout)
			// Every entry takes at least 4 bytes (float32).
			checkDecoded(t, a, err, layout, len(b)/4)
		}
	})
}

// FuzzReadCSV is FuzzReadNPY for CSV.
func FuzzReadCSV(f *testing.F) {
	for _, c := range csvCases {
		f.Add([]byte(c.file))
	}
	f.Add(readTestdata(f, "q.csv"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, layout := range []Layout{Matrix, Vector} {
			a, err := DecodeCSV(b, layout)
			// Every entry takes at least one byte (a digit).
			checkDecoded(t, a, err, layout, len(b))
		}
	})
}

// readTestdata reads a file that make_npy.py wrote with NumPy.
func readTestdata(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// checkDecoded checks a decoder's result: an *Error on one line, or a
// non-empty Rows x Cols array of the layout, of at most maxLen finite entries.
func checkDecoded(t *testing.T, a Array, err error, layout Layout, maxLen int) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("error %q (%T): want a one-line *Error", err, err)
		}
		return
	}
	if a.Rows < 1 || a.Cols < 1 || len(a.Data) != a.Rows*a.Cols || len(a.Data) > maxLen || (a.OneD && a.Cols != 1) ||
		(layout == Matrix && a.OneD) || (layout == Vector && a.Cols != 1) {
		t.Fatalf("array %s with %d entries from %d-entry input", a.Shape(), len(a.Data), maxLen)
	}
	for k, v := range a.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("entry %d is %v", k, v)
		}
	}
}
