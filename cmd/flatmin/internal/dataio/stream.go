package dataio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// maxNPYHeader bounds the header dictionary a stream reads before it knows
// anything about the array: NumPy writes under 200 bytes for a 2-D float
// array, and by default refuses to read headers over 10000 bytes.
const maxNPYHeader = 1 << 20

// Stream is a 2-D array (n, p) in a file, read a block of columns at a time
// into the row-major n x w blocks that numerics.GramAdd takes: from a .npy
// file, an array of a .npz archive (numpy.savez or numpy.savez_compressed),
// or a .csv file. Its memory is one block and the reading buffer of one
// block (ColumnBytes a column), never the whole array, except for a .csv
// file, which is read whole (CSV is for small data).
//
// How each layout is read:
//   - C order (rows contiguous), in a .npy file or a stored .npz member: one
//     positioned read (ReadAt) of each row's segment of the block, or one
//     read for a run of whole rows when a block spans every column;
//   - Fortran order (columns contiguous), or a single row or column: one
//     read of the block's columns, in place or from a deflated member as it
//     is inflated;
//   - C order in a deflated .npz member, which can only be read from its
//     start: inflated once into a temporary file (in os.TempDir, as large as
//     the array, deleted on Close), then read as a .npy file.
//
// A stored member's CRC is not checked (its blocks are read out of order).
// Entries are float64 or float32 in either byte order (float32 is converted
// to float64 block by block) and must be finite: Next reports the first
// NaN or Inf of a block by its [row, column] in the file (only the rows
// selected are read, and checked).
type Stream struct {
	Rows, Cols int

	path     string      // for errors, as the caller named it
	dtype    npyDtype    // the entries' encoding
	colMajor bool        // columns contiguous: Fortran order, or one row or column
	at       io.ReaderAt // the data from off, or nil when read from seq
	off      int64
	seq      io.Reader // sequential data (a deflated member), when at is nil
	mem      []float64 // a .csv file, row-major, when at and seq are nil
	closers  []func() error

	rows   []int // the rows Next returns, ascending; nil for all
	col    int   // the next column
	raw    []byte
	column []float64 // one column, converted (column-major reads)

	blockMax float64 // the largest |entry| of the last block
}

// npyDtype is one of the dtypes npyItemSize accepts.
type npyDtype struct {
	size int // 8 (float64) or 4 (float32)
	big  bool
}

// dtypeOf is the encoding of a descr npyItemSize has accepted.
func dtypeOf(descr string, size int) npyDtype {
	return npyDtype{size: size, big: strings.HasPrefix(descr, ">")}
}

// convert decodes the len(dst) entries at the start of src. Each dtype has
// a loop of its own, with the byte order's concrete type, so that a float64
// is one load (an interface call a value was most of the time of reading a
// block from the page cache).
func (d npyDtype) convert(dst []float64, src []byte) {
	switch {
	case d.size == 8 && !d.big:
		for i := range dst {
			dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
		}
	case d.size == 8:
		for i := range dst {
			dst[i] = math.Float64frombits(binary.BigEndian.Uint64(src[8*i:]))
		}
	case !d.big:
		for i := range dst {
			dst[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
		}
	default:
		for i := range dst {
			dst[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(src[4*i:])))
		}
	}
}

// OpenStream opens the 2-D array of a .npy file, of a .npz archive (the
// path "x.npz" for an archive of one array, "x.npz:NAME" for the array
// saved as NAME, numpy.savez(path, NAME=a)) or of a .csv file. Every check
// that needs only the header (format, dtype, shape, the file's length
// against the shape) is made here, before anything the size of the array
// is allocated.
func OpenStream(path string) (*Stream, error) {
	s, err := openStream(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	return s, nil
}

func openStream(path string) (*Stream, error) {
	if file, name, ok := splitNPZ(path); ok {
		return openFileStream(path, file, func(r io.ReaderAt, size int64) (*Stream, error) {
			return openNPZStream(r, size, name)
		})
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		return openFileStream(path, path, openNPYStream)
	case ".csv":
		a, err := ReadFile(path, Matrix)
		if err != nil {
			return nil, err
		}
		return &Stream{Rows: a.Rows, Cols: a.Cols, path: path, mem: a.Data}, nil
	}
	return nil, newErr(ErrFileType, "%s", wantedTypes)
}

// wantedTypes is what ReadFile and OpenStream read.
const wantedTypes = "want a .npy, .npz or .csv file"

// openFile opens a file for reading and returns its length; an error is the
// operating system's (fs.ErrNotExist, "is a directory"), unwrapped from
// its *fs.PathError since the *Error names the file.
// openFileStream opens file and the stream open reads from it, which the
// stream closes with itself; path is the name the stream reports.
func openFileStream(path, file string, open func(r io.ReaderAt, size int64) (*Stream, error)) (*Stream, error) {
	f, size, err := openFile(file)
	if err != nil {
		return nil, err
	}
	s, err := open(f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.closers = append(s.closers, f.Close)
	s.path = path
	return s, nil
}

func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &Error{Err: unwrapPath(err)}
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		// Reading a directory fails with the system's own "is a directory".
		_, err = f.Read(make([]byte, 1))
		if err == nil || err == io.EOF {
			err = errors.New("is a directory")
		}
	}
	if err != nil {
		f.Close()
		return nil, 0, &Error{Err: unwrapPath(err)}
	}
	return f, st.Size(), nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileErr sets the file of an *Error (or makes one of another error).
func fileErr(path string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Err: err}
	}
	e.File = path
	return e
}

// openNPYStream opens the .npy file of total bytes that r holds.
func openNPYStream(r io.ReaderAt, total int64) (*Stream, error) {
	h, hdr, err := readNPYHeader(io.NewSectionReader(r, 0, total), total)
	if err != nil {
		return nil, err
	}
	s, err := newStream(h, total-hdr)
	if err != nil {
		return nil, err
	}
	s.at, s.off = r, hdr
	return s, nil
}

// readNPYHeader reads and parses the header of a .npy file of total bytes
// from r, and returns it and its length (where the data starts). It reads
// the preamble, then as many bytes as the preamble says the header has, at
// most maxNPYHeader.
func readNPYHeader(r io.Reader, total int64) (npyHeader, int64, error) {
	pre := make([]byte, min(total, npyPreambleLen))
	if _, err := io.ReadFull(r, pre); err != nil {
		return npyHeader{}, 0, readErr(err)
	}
	start, hlen, err := npyPreamble(pre, total)
	if err != nil {
		return npyHeader{}, 0, err
	}
	if hlen > maxNPYHeader {
		return npyHeader{}, 0, newErr(ErrFormat, "a .npy header of %d bytes: more than the %d read (NumPy writes a few hundred)", hlen, maxNPYHeader)
	}
	b := make([]byte, start+hlen)
	copy(b, pre)
	if len(pre) < len(b) {
		if _, err := io.ReadFull(r, b[len(pre):]); err != nil {
			return npyHeader{}, 0, readErr(err)
		}
	}
	h, _, err := parseNPYHeader(b)
	return h, int64(start + hlen), err
}

// readErr is the error of a read: data that ends too soon is a malformed
// file, anything else the system's error.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newErr(ErrFormat, "the data ends before the shape in its header says")
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Err: unwrapPath(err)}
}

// newStream checks a 2-D header with dataLen bytes of data after it.
func newStream(h npyHeader, dataLen int64) (*Stream, error) {
	a, size, err := h.check(Matrix, dataLen)
	if err != nil {
		return nil, err
	}
	return &Stream{Rows: a.Rows, Cols: a.Cols, dtype: dtypeOf(h.descr, size),
		colMajor: h.fortran || a.Rows == 1 || a.Cols == 1}, nil
}

// Select makes Next return only the given rows, in ascending order, each
// once; it must come before the first Next.
func (s *Stream) Select(rows []int) error {
	if s.col != 0 {
		return fileErr(s.path, errors.New("dataio: Select after Next"))
	}
	for k, i := range rows {
		if i < 0 || i >= s.Rows || (k > 0 && i <= rows[k-1]) {
			return fileErr(s.path, fmt.Errorf("dataio: Select: rows must ascend within [0, %d), got %d at %d", s.Rows, i, k))
		}
	}
	s.rows = append([]int(nil), rows...)
	return nil
}

// selected is the number of rows Next returns.
func (s *Stream) selected() int {
	if s.rows == nil {
		return s.Rows
	}
	return len(s.rows)
}

// row is the row of the file that row r of a block is.
func (s *Stream) row(r int) int {
	if s.rows == nil {
		return r
	}
	return s.rows[r]
}

// ColumnBytes is the memory a column of a block takes: the float64 block
// Next fills and its reading buffer. A caller with a budget of M bytes
// reads blocks of about M/ColumnBytes columns.
func (s *Stream) ColumnBytes() int64 {
	sel := int64(s.selected())
	switch {
	case s.mem != nil:
		return 8 * sel
	case s.colMajor:
		return 8*sel + int64(s.dtype.size)*int64(s.Rows)
	case s.native():
		return 8 * sel
	}
	return 8*sel + int64(s.dtype.size)*sel
}

// Next reads the next w columns (fewer at the end) of the selected rows
// into dst, row-major: dst[r*got+j] is entry [row r, column c+j] for the
// block's first column c. It returns got, or 0 and io.EOF after the last
// column. dst must hold selected rows x w entries.
func (s *Stream) Next(dst []float64, w int) (int, error) {
	if s.col >= s.Cols {
		return 0, io.EOF
	}
	got := min(w, s.Cols-s.col)
	sel := s.selected()
	if w < 1 || len(dst) < sel*got {
		return 0, fileErr(s.path, fmt.Errorf("dataio: Next: %d columns into %d entries for %d rows", w, len(dst), sel))
	}
	dst = dst[:sel*got]
	var err error
	switch {
	case s.mem != nil:
		for r := range sel {
			i := s.row(r)
			copy(dst[r*got:(r+1)*got], s.mem[i*s.Cols+s.col:])
		}
	case s.colMajor:
		err = s.readColumns(dst, got)
	default:
		err = s.readRows(dst, got)
	}
	if err == nil {
		err = s.scan(dst, got)
	}
	if err != nil {
		return 0, fileErr(s.path, err)
	}
	s.col += got
	return got, nil
}

// buffer returns the reading buffer, of n bytes.
func (s *Stream) buffer(n int) []byte {
	if cap(s.raw) < n {
		s.raw = make([]byte, n)
	}
	return s.raw[:n]
}

// readRows reads a block of a C-order array: a positioned read for each
// selected row's segment, or for each run of consecutive whole rows. Native
// float64 (little-endian on a little-endian machine) is read straight into
// dst, with no buffer and no conversion pass.
func (s *Stream) readRows(dst []float64, got int) error {
	size, sel := s.dtype.size, s.selected()
	var raw []byte
	if s.native() {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 8*len(dst))
	} else {
		raw = s.buffer(sel * got * size)
	}
	for r := 0; r < sel; {
		run := 1
		for got == s.Cols && r+run < sel && s.row(r+run) == s.row(r)+run {
			run++
		}
		at := s.off + (int64(s.row(r))*int64(s.Cols)+int64(s.col))*int64(size)
		if _, err := s.at.ReadAt(raw[r*got*size:(r+run)*got*size], at); err != nil {
			return readErr(err)
		}
		r += run
	}
	if !s.native() {
		s.dtype.convert(dst, raw)
	}
	return nil
}

// littleEndian is whether this machine stores a float64 as "<f8" does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// native reports whether the entries are stored as this machine's float64,
// so that a C-order block can be read into its []float64 as bytes.
func (s *Stream) native() bool {
	return littleEndian && s.dtype.size == 8 && !s.dtype.big && !s.colMajor && s.at != nil
}

// readColumns reads a block of a column-major array: its columns are one
// contiguous run of bytes, of every row, from which the selected rows are
// taken.
func (s *Stream) readColumns(dst []float64, got int) error {
	size, n := s.dtype.size, s.Rows
	raw := s.buffer(n * got * size)
	var err error
	if s.at != nil {
		_, err = s.at.ReadAt(raw, s.off+int64(s.col)*int64(n)*int64(size))
	} else {
		_, err = io.ReadFull(s.seq, raw)
	}
	if err != nil {
		return readErr(err)
	}
	if cap(s.column) < n {
		s.column = make([]float64, n)
	}
	column := s.column[:n]
	for j := range got {
		s.dtype.convert(column, raw[j*n*size:])
		for r := range s.selected() {
			dst[r*got+j] = column[s.row(r)]
		}
	}
	return nil
}

// scan reports the first NaN or Inf of a block, in the file's indices, and
// keeps the largest |entry| for BlockMax, in one pass and one comparison an
// entry: the bits of |v| order as |v| does, and ±Inf and NaN are the
// patterns from 0x7ff0000000000000 up.
func (s *Stream) scan(dst []float64, got int) error {
	var top uint64
	for _, v := range dst {
		if u := math.Float64bits(v) &^ (1 << 63); u > top {
			top = u
		}
	}
	if top >= 0x7ff0000000000000 {
		for k, v := range dst {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return notFinite(v, s.row(k/got), s.col+k%got, false)
			}
		}
	}
	s.blockMax = math.Float64frombits(top)
	return nil
}

// BlockMax is the largest |entry| of the block Next last returned.
func (s *Stream) BlockMax() float64 { return s.blockMax }

// Close releases the file, and deletes the temporary file of a deflated
// C-order member.
func (s *Stream) Close() error {
	var first error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}
