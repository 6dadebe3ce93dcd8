// Package dataio reads the per-sample gradients Q (or their Gram K) and the
// residuals e that `flatmin measure` takes, from NumPy .npy files, arrays of
// NumPy .npz archives or comma-separated .csv files, into a dense row-major
// []float64. Rows are samples. A Stream reads a matrix a block of columns at
// a time, so that an n x p Q is never held whole.
//
// Every entry returned is finite; every failure is an *Error, one line that
// names the file and the problem, and wraps one of the Err* kinds below.
// Locations follow each format's own convention: a .npy entry is named by its
// 0-based NumPy index [row, column], a .csv cell by its 1-based line and
// column, as an editor shows them.
//
// The readers validate instead of recovering: no input, however malformed,
// makes them panic or allocate more than a small multiple of its own size
// (FuzzReadNPY, FuzzReadCSV, FuzzReadNPZ and FuzzStreamNPY check this); a
// Stream allocates a block, whatever the array's size.
package dataio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The kinds of bad input; every *Error wraps one of them (or, for a file that
// cannot be opened, the operating system's error, so that
// errors.Is(err, fs.ErrNotExist) works).
var (
	ErrFormat    = errors.New("malformed file")
	ErrDtype     = errors.New("unsupported dtype")
	ErrShape     = errors.New("wrong shape")
	ErrNotNumber = errors.New("not a number")
	ErrNotFinite = errors.New("not finite")
	ErrFileType  = errors.New("unknown file type")
)

// Error is bad input in a file: which file, what kind of problem, and where.
type Error struct {
	File   string // the path; empty when decoding bytes not read from a file
	Err    error  // one of the Err* kinds, or the operating system's error
	Detail string // where and what, e.g. "line 4 has 3 fields, line 1 has 4"
}

func (e *Error) Error() string {
	msg := e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.File != "" {
		msg = e.File + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Err: kind, Detail: fmt.Sprintf(format, args...)}
}

// Layout is the shape of array a caller takes. The readers check it against
// the shape a file declares (a .npy header) or has (a .csv file, always 2-D)
// and refuse any other with ErrShape, naming the shape found and the one
// wanted: a .npy file before any of its data is decoded.
type Layout int

const (
	// Matrix is a 2-D array (n, p): one row per sample, such as the
	// per-sample gradients Q. A 1-D array is refused, not read as n x 1.
	Matrix Layout = iota
	// Vector is one value per sample, such as the residuals e: a 1-D array
	// (n,), or a 2-D one with one column (n, 1), as a one-column CSV file is.
	Vector
)

// String says what the layout wants, for error messages.
func (l Layout) String() string {
	if l == Vector {
		return "(n,) or (n, 1), one value per sample"
	}
	return "2-D (n, p), one row per sample"
}

// check refuses a shape the layout does not take.
func (l Layout) check(shape []int) *Error {
	switch {
	case len(shape) == 2 && (l == Matrix || shape[1] == 1),
		len(shape) == 1 && l == Vector:
		return nil
	}
	return newErr(ErrShape, "%d-D array of shape %s; want %s", len(shape), npyShape(shape), l)
}

// Array is a numeric array: Rows x Cols entries, row-major, all finite.
// A 1-D array of length n is read as n x 1 with OneD set.
type Array struct {
	Data       []float64
	Rows, Cols int
	OneD       bool
}

// Shape is the array's shape in NumPy's notation: "(n,)" or "(n, p)".
func (a Array) Shape() string {
	if a.OneD {
		return fmt.Sprintf("(%d,)", a.Rows)
	}
	return fmt.Sprintf("(%d, %d)", a.Rows, a.Cols)
}

// ReadFile reads a .npy or .csv file (chosen by its extension, in any case)
// holding an array of the given layout, or an array of a .npz archive:
// "x.npz" for its only array, "x.npz:NAME" for the array saved as NAME
// (numpy.savez(path, NAME=a)); only that array is read.
func ReadFile(path string, layout Layout) (Array, error) {
	a, err := readFile(path, layout)
	if err != nil {
		return Array{}, fileErr(path, err)
	}
	return a, nil
}

func readFile(path string, layout Layout) (Array, error) {
	if file, name, ok := splitNPZ(path); ok {
		f, size, err := openFile(file)
		if err != nil {
			return Array{}, err
		}
		defer f.Close()
		return readNPZArray(f, size, name, layout)
	}
	var decode func([]byte, Layout) (Array, error)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		decode = DecodeNPY
	case ".csv":
		decode = DecodeCSV
	default:
		return Array{}, newErr(ErrFileType, "%s", wantedTypes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Array{}, &Error{Err: unwrapPath(err)}
	}
	return decode(b, layout)
}
