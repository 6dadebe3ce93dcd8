package dataio

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// checkOneLine fails t unless err is nil or a one-line *Error.
func checkOneLine(t *testing.T, err error) {
	var e *Error
	if err != nil && (!errors.As(err, &e) || strings.Contains(err.Error(), "\n")) {
		t.Fatalf("error %q (%T): want a one-line *Error", err, err)
	}
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

// FuzzStreamNPY: a Stream reads any bytes as DecodeNPY decodes them as a
// Matrix: both fail (each with a one-line *Error), or both give the same
// matrix; the blocks are read 3 columns at a time, some rows selected.
func FuzzStreamNPY(f *testing.F) {
	for _, c := range npyCases {
		f.Add(c.file, uint8(0))
	}
	for _, name := range []string{"q.npy", "q_f32.npy", "q_fortran.npy", "q_be.npy"} {
		f.Add(readTestdata(f, name), uint8(5))
	}
	f.Fuzz(func(t *testing.T, b []byte, every uint8) {
		want, werr := DecodeNPY(b, Matrix)
		s, err := streamBytes(b)
		if err == nil {
			defer s.Close()
			err = s.Select(everyKth(s.Rows, int(every)))
		}
		var got []float64
		if err == nil {
			got, err = readAll(s, 3)
		}
		checkOneLine(t, err)
		switch {
		case werr == nil && err != nil && len(b) > maxNPYHeader:
			// A header longer than a Stream reads, which DecodeNPY reads.
		case errors.Is(werr, ErrNotFinite) && err == nil && every > 1:
			// The NaN or Inf is in a row the selection leaves out: a
			// Stream reads and checks only the rows selected.
		case (werr == nil) != (err == nil):
			t.Fatalf("stream error %v, DecodeNPY error %v", err, werr)
		case err == nil && !cmp.Equal(selectRows(want, everyKth(s.Rows, int(every))), got):
			t.Fatalf("stream read %v, DecodeNPY %v", got, want.Data)
		}
	})
}

// FuzzReadNPZ: any bytes read as a .npz archive, by ReadFile's decoder and
// by a Stream, give a valid array or a one-line *Error, never a panic, and
// the two agree on the matrix when both read one; nothing is allocated
// beyond what the bytes hold (a deflated member inflates at most 1032-fold).
func FuzzReadNPZ(f *testing.F) {
	q := readTestdata(f, "q.npy")
	e := readTestdata(f, "e.npy")
	qf := readTestdata(f, "q_fortran.npy")
	f.Add(npzBytes(f, member{"Q.npy", q, false}), "")
	f.Add(npzBytes(f, member{"Q.npy", qf, true}), "Q")
	f.Add(npzBytes(f, member{"Q.npy", q, true}, member{"e.npy", e, false}), "e")
	f.Add(npzBytes(f, member{"Q.npy", q, false}, member{"e.npy", e, true}), "Q")
	f.Add([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), "")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		for _, layout := range []Layout{Matrix, Vector} {
			a, err := DecodeNPZ(b, name, layout)
			checkDecoded(t, a, err, layout, 1032*len(b)/4+1)
		}
		want, werr := DecodeNPZ(b, name, Matrix)
		s, err := openNPZStream(bytes.NewReader(b), int64(len(b)), name)
		var got []float64
		if err == nil {
			got, err = readAll(s, 3)
			s.Close()
		}
		checkOneLine(t, err)
		if werr == nil && err == nil && !cmp.Equal(want.Data, got) {
			t.Fatalf("stream read %v, DecodeNPZ %v", got, want.Data)
		}
		// A stored member's CRC is not checked by a Stream, so a Stream may
		// read what DecodeNPZ refuses; never the other way round.
		if werr == nil && err != nil {
			t.Fatalf("stream error %v, DecodeNPZ read %s", err, want.Shape())
		}
	})
}

// everyKth is the rows 0, k, 2k, … of n (every row for k = 0).
func everyKth(n, k int) []int {
	if k == 0 {
		return nil
	}
	var rows []int
	for i := 0; i < n; i += k {
		rows = append(rows, i)
	}
	return rows
}

// selectRows is a's rows, row-major (all of them for rows = nil).
func selectRows(a Array, rows []int) []float64 {
	if rows == nil {
		return a.Data
	}
	var out []float64
	for _, i := range rows {
		out = append(out, a.Data[i*a.Cols:(i+1)*a.Cols]...)
	}
	return out
}
