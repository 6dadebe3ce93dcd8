package dataio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
)

// npyMagic opens every .npy file (NEP 1, "A simple file format for NumPy arrays").
const npyMagic = "\x93NUMPY"

// npyHeader is what a .npy header says about the array that follows it.
type npyHeader struct {
	descr   string // the dtype, e.g. "<f8"
	fortran bool   // column-major data
	shape   []int
}

// check checks the header against the layout the caller takes and the
// dtype against those read, and that dataLen bytes follow the header, as
// many as the shape needs: an array's shape and item size, from the header
// alone, before any data is read or allocated. The Array returned has no
// Data.
func (h npyHeader) check(layout Layout, dataLen int64) (Array, int, error) {
	if err := layout.check(h.shape); err != nil {
		return Array{}, 0, err // the shape is 1-D or 2-D from here on
	}
	size, err := npyItemSize(h.descr)
	if err != nil {
		return Array{}, 0, err
	}
	a := Array{Rows: h.shape[0], Cols: 1, OneD: len(h.shape) == 1}
	if !a.OneD {
		a.Cols = h.shape[1]
	}
	shape := npyShape(h.shape)
	if a.Rows == 0 || a.Cols == 0 {
		return Array{}, 0, newErr(ErrShape, "empty array of shape %s", shape)
	}
	// dataLen = Rows·Cols·size, checked by division so that no product of
	// claimed dimensions can overflow.
	sz := int64(size)
	if dataLen%sz != 0 || dataLen/sz%int64(a.Cols) != 0 || dataLen/sz/int64(a.Cols) != int64(a.Rows) {
		return Array{}, 0, newErr(ErrFormat, "shape %s of %s needs %s bytes of data, the file has %d",
			shape, h.descr, npyNeed(a.Rows, a.Cols, size), dataLen)
	}
	return a, size, nil
}

// DecodeNPY decodes a NumPy .npy file: an array of the given layout, of
// float64 or float32 (either byte order), in C or Fortran order, with at
// least one entry, all finite.
//
// npyio's own header parser slices the header at fixed offsets and panics on
// any header that is not laid out exactly as NumPy writes it (no final
// newline, keys in another order) or sizes its allocation from the claimed
// shape alone. So the header is parsed and checked here, the size of the data
// is checked against the shape, and npyio decodes the data behind a
// canonical header.
func DecodeNPY(b []byte, layout Layout) (Array, error) {
	h, data, err := parseNPYHeader(b)
	if err != nil {
		return Array{}, err
	}
	a, size, err := h.check(layout, int64(len(data)))
	if err != nil {
		return Array{}, err
	}
	return h.decode(a, size, data)
}

// decode decodes the data of the array a that check returned for h: size
// bytes an entry, as many as a holds.
func (h npyHeader) decode(a Array, size int, data []byte) (Array, error) {
	flat, err := npyDecode(h.descr, size, data)
	if err != nil {
		return Array{}, err
	}
	a.Data = flat
	if h.fortran && !a.OneD {
		a.Data = make([]float64, len(flat))
		for j := 0; j < a.Cols; j++ {
			for i := 0; i < a.Rows; i++ {
				a.Data[i*a.Cols+j] = flat[j*a.Rows+i]
			}
		}
	}
	for k, v := range a.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Array{}, notFinite(v, k/a.Cols, k%a.Cols, a.OneD)
		}
	}
	return a, nil
}

// notFinite is the error for the entry v at [i, j], or at [i] of a 1-D array.
func notFinite(v float64, i, j int, oneD bool) *Error {
	if oneD {
		return newErr(ErrNotFinite, "%v at [%d]", v, i)
	}
	return newErr(ErrNotFinite, "%v at [%d, %d]", v, i, j)
}

// npyNeed is rows·cols·size as a decimal string, exact even beyond int64.
func npyNeed(rows, cols, size int) string {
	hi, lo := bits.Mul64(uint64(rows), uint64(cols))
	if hi != 0 || lo > math.MaxInt64/uint64(size) {
		return fmt.Sprintf("%d·%d·%d", rows, cols, size)
	}
	return strconv.FormatUint(lo*uint64(size), 10)
}

// npyDecode decodes len(data)/size floats through npyio, behind a canonical
// one-dimensional C-order header that npyio parses safely.
func npyDecode(descr string, size int, data []byte) ([]float64, error) {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", descr, len(data)/size)
	// Version 1.0: a 10-byte preamble, then the dictionary padded with spaces
	// and ended by '\n' so that the data starts at a multiple of 64 bytes.
	pad := 63 - (10+len(dict))%64
	hdr := []byte(npyMagic + "\x01\x00")
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(dict)+pad+1))
	hdr = append(append(append(hdr, dict...), bytes.Repeat([]byte{' '}, pad)...), '\n')
	r, err := npy.NewReader(bytes.NewReader(append(hdr, data...)))
	if err != nil {
		return nil, newErr(ErrFormat, "decoding the data: %v", err)
	}
	if size == 4 {
		var f32 []float32
		if err := r.Read(&f32); err != nil {
			return nil, newErr(ErrFormat, "decoding the data: %v", err)
		}
		out := make([]float64, len(f32))
		for i, v := range f32 {
			out[i] = float64(v)
		}
		return out, nil
	}
	var f64 []float64
	if err := r.Read(&f64); err != nil {
		return nil, newErr(ErrFormat, "decoding the data: %v", err)
	}
	return f64, nil
}

// npyItemSize accepts float64 and float32 in either byte order and names
// anything else.
func npyItemSize(descr string) (int, error) {
	switch descr {
	case "<f8", ">f8":
		return 8, nil
	case "<f4", ">f4":
		return 4, nil
	}
	return 0, newErr(ErrDtype, "%s; want float64 or float32 (convert with a.astype(numpy.float64))", npyDescribe(descr))
}

// npyDescribe names a dtype string for an error message.
func npyDescribe(descr string) string {
	kinds := map[byte]string{
		'b': "boolean", 'i': "signed integer", 'u': "unsigned integer", 'f': "floating point",
		'c': "complex", 'm': "timedelta", 'M': "datetime", 'O': "Python object",
		'S': "byte string", 'a': "byte string", 'U': "unicode string", 'V': "raw data",
	}
	s := strings.TrimLeft(descr, "<>|=")
	if s == "" {
		return strconv.Quote(descr)
	}
	kind, ok := kinds[s[0]]
	if !ok {
		return strconv.Quote(descr)
	}
	if n, err := strconv.Atoi(s[1:]); err == nil {
		unit := "bytes"
		if n == 1 {
			unit = "byte"
		}
		return fmt.Sprintf("%q (%s, %d %s)", descr, kind, n, unit)
	}
	return fmt.Sprintf("%q (%s)", descr, kind)
}

// npyShape writes a shape as Python does: "()", "(3,)", "(3, 4)".
func npyShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(shape) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// parseNPYHeader checks the magic string, the version and the header
// dictionary, and returns the header and the bytes after it.
func parseNPYHeader(b []byte) (npyHeader, []byte, error) {
	start, hlen, err := npyPreamble(b, int64(len(b)))
	if err != nil {
		return npyHeader{}, nil, err
	}
	text := b[start : start+hlen]
	if hlen == 0 || text[hlen-1] != '\n' {
		return npyHeader{}, nil, newErr(ErrFormat, "malformed .npy header: it does not end with a newline")
	}
	h, err := parseNPYDict(string(text))
	if err != nil {
		return npyHeader{}, nil, err
	}
	return h, b[start+hlen:], nil
}

// npyPreamble checks the magic string and the version in the first bytes b
// of a .npy file of total bytes, and returns where the header dictionary
// starts and its length, which the file is long enough to hold. b needs
// npyPreambleLen bytes, or all of a shorter file.
func npyPreamble(b []byte, total int64) (start, hlen int, err error) {
	if !bytes.HasPrefix(b, []byte(npyMagic)) {
		return 0, 0, newErr(ErrFormat, "not a .npy file (no \\x93NUMPY magic string)")
	}
	if len(b) < 10 {
		return 0, 0, newErr(ErrFormat, "truncated .npy header")
	}
	major, minor := b[6], b[7]
	var claimed uint64 // the header length the preamble states
	switch major {
	case 1:
		start, claimed = 10, uint64(binary.LittleEndian.Uint16(b[8:10]))
	case 2, 3:
		if len(b) < 12 {
			return 0, 0, newErr(ErrFormat, "truncated .npy header")
		}
		start, claimed = 12, uint64(binary.LittleEndian.Uint32(b[8:12]))
	default:
		return 0, 0, newErr(ErrFormat, "unsupported .npy format version %d.%d", major, minor)
	}
	if claimed > uint64(total-int64(start)) {
		return 0, 0, newErr(ErrFormat, "truncated .npy header: it claims %d bytes, the file has %d after the preamble", claimed, total-int64(start))
	}
	return start, int(claimed), nil
}

// npyPreambleLen is the length of the longest preamble (versions 2 and 3):
// the magic string, the version and a 4-byte header length.
const npyPreambleLen = 12

// parseNPYDict parses the header dictionary, a Python literal such as
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// with exactly these three keys, in any order.
func parseNPYDict(text string) (npyHeader, error) {
	p := &pyLit{s: text}
	var h npyHeader
	seen := map[string]bool{}
	p.space()
	if !p.eat('{') {
		return h, p.fail("want '{'")
	}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok {
			return h, p.fail("want a quoted key or '}'")
		}
		if seen[key] {
			return h, p.fail("duplicate key %q", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return h, p.fail("want ':' after %q", key)
		}
		p.space()
		switch key {
		case "descr":
			if h.descr, ok = p.str(); !ok {
				if p.peek() == '[' {
					return h, newErr(ErrDtype, "structured dtype; want float64 or float32")
				}
				return h, p.fail("'descr' must be a quoted dtype string")
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return h, p.fail("'fortran_order' must be True or False")
			}
		case "shape":
			if h.shape, ok = p.tuple(); !ok {
				return h, p.fail("'shape' must be a tuple of non-negative integers")
			}
		default:
			return h, p.fail("unexpected key %q", key)
		}
		p.space()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return h, p.fail("want ',' or '}'")
		}
	}
	p.space()
	if p.i != len(p.s) {
		return h, p.fail("unexpected text after '}'")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, newErr(ErrFormat, "malformed .npy header: no %q key", k)
		}
	}
	return h, nil
}

// pyLit scans the small part of Python's literal syntax a .npy header uses.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) fail(format string, args ...any) error {
	return newErr(ErrFormat, "malformed .npy header at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *pyLit) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyLit) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyLit) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *pyLit) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str scans a quoted string without escapes.
func (p *pyLit) str() (string, bool) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", false
	}
	end := strings.IndexAny(p.s[p.i+1:], string(q)+"\\\n")
	if end < 0 || p.s[p.i+1+end] != q {
		return "", false
	}
	s := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return s, true
}

// tuple scans a tuple of non-negative integers: (), (3,), (3, 4) or (3, 4,);
// Python 2's long suffix (3L) is accepted, as old NumPy wrote it.
func (p *pyLit) tuple() ([]int, bool) {
	if !p.eat('(') {
		return nil, false
	}
	var dims []int
	for {
		p.space()
		if p.eat(')') { // "()", or after a comma: "(3,)", "(3, 4,)"
			return dims, true
		}
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil {
			return nil, false
		}
		dims = append(dims, d)
		p.i = j
		p.eat('L')
		p.space()
		if p.eat(')') { // (3) is an integer in Python, not a tuple
			return dims, len(dims) != 1
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}
