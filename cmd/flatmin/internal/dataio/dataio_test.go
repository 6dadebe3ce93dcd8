package dataio

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/npytest"
	"github.com/google/go-cmp/cmp"
)

// The .npy builders, shared with cmd/flatmin's tests.
var (
	npyFile = npytest.File
	f8      = npytest.F8
	f4      = npytest.F4
)

var le, be = binary.LittleEndian, binary.BigEndian

// m23 is the 2 x 3 matrix [[1, 2, 3], [4, 5, 6]] row-major.
var m23 = Array{Data: []float64{1, 2, 3, 4, 5, 6}, Rows: 2, Cols: 3}

// c23 is m23's payload, little-endian float64 in C order.
var c23 = f8(le, 1, 2, 3, 4, 5, 6)

// npyCases are valid .npy files and what they hold; FuzzReadNPY seeds with them.
var npyCases = []struct {
	name string
	file []byte
	want Array
}{
	{"float64 C order", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", c23), m23},
	{"float64 Fortran order", npyFile(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f8(le, 1, 4, 2, 5, 3, 6)), m23},
	{"float32", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4(le, 1, 2, 3, 4, 5, 6)), m23},
	{"big-endian float64", npyFile(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", f8(be, 1, 2, 3, 4, 5, 6)), m23},
	{"big-endian float32 Fortran", npyFile(1, "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }", f4(be, 1, 4, 2, 5, 3, 6)), m23},
	{"1-D", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8(le, 1, 2, 3)),
		Array{Data: []float64{1, 2, 3}, Rows: 3, Cols: 1, OneD: true}},
	{"1-D Fortran", npyFile(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", f8(le, 1, 2, 3)),
		Array{Data: []float64{1, 2, 3}, Rows: 3, Cols: 1, OneD: true}},
	{"version 2", npyFile(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", c23), m23},
	{"version 3", npyFile(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", c23), m23},
	{"keys in another order, no trailing comma", npyFile(1, "{'shape': (2,3), 'fortran_order': False, 'descr': '<f8'}", c23), m23},
	{"double quotes, spaces, Python 2 longs", npyFile(1, ` { "descr" :"<f8" ,"fortran_order":False,"shape":( 2L , 3L , ) }   `, c23), m23},
}

// layoutOf is the layout that takes a: Vector for a 1-D array, else Matrix.
func layoutOf(a Array) Layout {
	if a.OneD {
		return Vector
	}
	return Matrix
}

func TestDecodeNPY(t *testing.T) {
	for _, tc := range npyCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeNPY(tc.file, layoutOf(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestDecodeNPYErrors(t *testing.T) {
	hdr := func(dict string, payload []byte) []byte { return npyFile(1, dict, payload) }
	f8hdr := func(shape string) string { return npytest.Dict("<f8", shape) }
	good := hdr(f8hdr("(2, 3)"), f8(le, 1, 2, 3, 4, 5, 6))
	for _, tc := range []struct {
		name string
		file []byte
		kind error
		msg  string // a part of the message
		as   Layout // the layout the file is decoded as
	}{
		{"empty file", nil, ErrFormat, "not a .npy file", Matrix},
		{"no magic", []byte("PK\x03\x04 an npz archive"), ErrFormat, "not a .npy file", Matrix},
		{"truncated preamble", []byte(npyMagic + "\x01"), ErrFormat, "truncated .npy header", Matrix},
		{"truncated v2 preamble", []byte(npyMagic + "\x02\x00\x10\x00"), ErrFormat, "truncated .npy header", Matrix},
		{"version 4", npyFile(4, f8hdr("(1,)"), f8(le, 1)), ErrFormat, "version 4.0", Vector},
		{"header longer than the file", good[:40], ErrFormat, "truncated .npy header", Matrix},
		{"v2 header length 4 GiB", append([]byte(npyMagic+"\x02\x00\xff\xff\xff\xff"), "{}\n"...), ErrFormat, "it claims 4294967295 bytes, the file has 3", Matrix},
		{"header without newline", append([]byte(npyMagic+"\x01\x00\x02\x00"), "{}"...), ErrFormat, "does not end with a newline", Matrix},
		{"header not a dict", hdr("['descr', '<f8']", nil), ErrFormat, "want '{'", Matrix},
		{"missing key", hdr("{'descr': '<f8', 'shape': (1,)}", f8(le, 1)), ErrFormat, `no "fortran_order" key`, Vector},
		{"unknown key", hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", nil), ErrFormat, `unexpected key "x"`, Vector},
		{"duplicate key", hdr("{'descr': '<f8', 'descr': '<f8'}", nil), ErrFormat, `duplicate key "descr"`, Matrix},
		{"bad fortran_order", hdr("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}", nil), ErrFormat, "True or False", Vector},
		{"shape not a tuple", hdr(f8hdr("[2, 3]"), nil), ErrFormat, "tuple of non-negative integers", Matrix},
		{"shape (3) is not a tuple", hdr(f8hdr("(3)"), f8(le, 1, 2, 3)), ErrFormat, "tuple of non-negative integers", Matrix},
		{"negative dimension", hdr(f8hdr("(-3,)"), nil), ErrFormat, "tuple of non-negative integers", Vector},
		{"dimension beyond int", hdr(f8hdr("(99999999999999999999,)"), nil), ErrFormat, "tuple of non-negative integers", Vector},
		{"unterminated string", hdr("{'descr: '<f8'}", nil), ErrFormat, "malformed .npy header", Matrix},
		{"text after the dict", hdr(f8hdr("(1,)")+" x", f8(le, 1)), ErrFormat, "after '}'", Vector},
		{"int64", hdr("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", f8(le, 1)), ErrDtype, `"<i8" (signed integer, 8 bytes)`, Vector},
		{"float16", hdr("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", []byte{0, 0}), ErrDtype, `"<f2" (floating point, 2 bytes)`, Vector},
		{"complex128", hdr("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", nil), ErrDtype, "complex", Vector},
		{"object", hdr("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", nil), ErrDtype, "Python object", Vector},
		{"structured", hdr("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", nil), ErrDtype, "structured", Vector},
		{"0-D", hdr(f8hdr("()"), f8(le, 1)), ErrShape, "0-D array of shape (); want 2-D (n, p), one row per sample", Matrix},
		{"3-D", hdr(f8hdr("(1, 2, 1)"), f8(le, 1, 2)), ErrShape, "3-D array of shape (1, 2, 1); want 2-D (n, p), one row per sample", Matrix},
		{"1-D", hdr(f8hdr("(3,)"), f8(le, 1, 2, 3)), ErrShape, "1-D array of shape (3,); want 2-D (n, p), one row per sample", Matrix},
		{"empty rows", hdr(f8hdr("(0, 3)"), nil), ErrShape, "empty array of shape (0, 3)", Matrix},
		{"empty 1-D", hdr(f8hdr("(0,)"), nil), ErrShape, "empty array of shape (0,)", Vector},
		{"data too short", good[:len(good)-1], ErrFormat, "needs 48 bytes of data, the file has 47", Matrix},
		{"data too long", append(good, 0), ErrFormat, "needs 48 bytes of data, the file has 49", Matrix},
		{"huge claimed shape", hdr(f8hdr("(4294967296, 4294967296)"), f8(le, 1)), ErrFormat, "4294967296·4294967296·8 bytes", Matrix},
		{"NaN", hdr(f8hdr("(2, 3)"), f8(le, 1, 2, 3, 4, math.NaN(), 6)), ErrNotFinite, "NaN at [1, 1]", Matrix},
		{"Inf in Fortran order", hdr("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f8(le, 1, 4, 2, math.Inf(-1), 3, 6)), ErrNotFinite, "-Inf at [1, 1]", Matrix},
		{"Inf 1-D", hdr(f8hdr("(3,)"), f8(le, 1, 2, math.Inf(1))), ErrNotFinite, "+Inf at [2]", Vector},
		{"float32 NaN", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4(le, float32(math.NaN()), 1)), ErrNotFinite, "NaN at [0]", Vector},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeNPY(tc.file, tc.as)
			checkErr(t, err, tc.kind, tc.msg)
		})
	}
}

// TestLayouts: a Vector is (n,) or (n, 1), a Matrix is 2-D, in either
// format; any other shape is refused naming the shape found and the one
// wanted, a .npy file's from its header alone (the data here is too short).
func TestLayouts(t *testing.T) {
	npy := func(shape string) []byte {
		return npyFile(1, npytest.Dict("<f8", shape), f8(le, 1))
	}
	for _, tc := range []struct {
		name   string
		file   []byte
		csv    bool
		layout Layout
		msg    string // "" if accepted
	}{
		{"vector (n,)", npy("(1,)"), false, Vector, ""},
		{"vector (n, 1)", npy("(1, 1)"), false, Vector, ""},
		{"vector one-column CSV", []byte("1\n2\n"), true, Vector, ""},
		{"matrix (n, 1)", npy("(1, 1)"), false, Matrix, ""},
		{"vector (n, 2)", npy("(5, 2)"), false, Vector, "2-D array of shape (5, 2); want (n,) or (n, 1), one value per sample"},
		{"vector two-column CSV", []byte("1,2\n"), true, Vector, "2-D array of shape (1, 2); want (n,) or (n, 1), one value per sample"},
		{"vector 0-D", npy("()"), false, Vector, "0-D array of shape (); want (n,) or (n, 1)"},
		{"vector 3-D", npy("(4, 1, 1)"), false, Vector, "3-D array of shape (4, 1, 1); want (n,) or (n, 1)"},
		{"matrix 1-D", npy("(7,)"), false, Matrix, "1-D array of shape (7,); want 2-D (n, p), one row per sample"},
		{"matrix huge 1-D", npy("(1099511627776,)"), false, Matrix, "1-D array of shape (1099511627776,); want 2-D"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decode := DecodeNPY
			if tc.csv {
				decode = DecodeCSV
			}
			_, err := decode(tc.file, tc.layout)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, ErrShape, tc.msg)
		})
	}
}

// checkErr asserts that err is an *Error of the given kind, on one line,
// containing msg.
func checkErr(t *testing.T, err error, kind error, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want an *Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("got kind %v, want %v", e.Err, kind)
	}
	if s := err.Error(); !strings.Contains(s, msg) || strings.Contains(s, "\n") {
		t.Errorf("message %q: want one line containing %q", s, msg)
	}
}

// csvCases are valid .csv files and what they hold; FuzzReadCSV seeds with them.
var csvCases = []struct {
	name, file string
	want       Array
}{
	{"plain", "1,2,3\n4,5,6\n", m23},
	{"header", "a,b,c\n1,2,3\n4,5,6\n", m23},
	{"no final newline, CRLF", "1,2,3\r\n4,5,6", m23},
	{"spaces, quotes, blank lines", " 1 , 2, \"3\"\n\n  \n4,5e0,  6.0  \n \t \n", m23},
	{"byte order mark", "\ufeffx,y,z\n1,2,3\n4,5,6\n", m23},
	{"one column", "g\n1\n-2.5\n", Array{Data: []float64{1, -2.5}, Rows: 2, Cols: 1}},
	{"underflow rounds to zero", "1e-400\n", Array{Data: []float64{0}, Rows: 1, Cols: 1}},
}

func TestDecodeCSV(t *testing.T) {
	for _, tc := range csvCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCSV([]byte(tc.file), layoutOf(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestDecodeCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		kind       error
		msg        string
	}{
		{"empty", "", ErrShape, "no data rows"},
		{"header only", "a,b\n", ErrShape, "no data rows"},
		{"ragged", "1,2,3\n4,5,6\n7,8\n", ErrShape, "line 3 has 2 fields, line 1 has 3"},
		{"ragged after header", "a,b\n1,2\n3,4,5\n", ErrShape, "line 3 has 3 fields, line 1 has 2"},
		{"ragged after blank lines", "\n\n1,2\n\n3\n", ErrShape, "line 5 has 1 fields, line 3 has 2"},
		{"non-numeric cell", "1,2\n3,x\n", ErrNotNumber, `line 2, column 2: "x"`},
		{"header-like line with a number", "a,1\n2,3\n", ErrNotNumber, `line 1, column 1: "a"`},
		{"second header", "a,b\nc,d\n", ErrNotNumber, `line 2, column 1: "c"`},
		{"empty cell", "1,,3\n", ErrNotNumber, "line 1, column 2: empty field"},
		{"space-delimited", "1 2 3\n", ErrNotNumber, "the delimiter is ','"},
		{"semicolon-delimited", "1;2;3\n4;5;6\n", ErrNotNumber, `line 1, column 1: "1;2;3" (the delimiter is ','`},
		{"NaN", "1,2\n3,nan\n", ErrNotFinite, "line 2, column 2: NaN"},
		{"Inf", "1,-Inf\n", ErrNotFinite, "line 1, column 2: -Inf"},
		{"overflow", "1e999\n", ErrNotFinite, `line 1, column 1: "1e999" overflows float64`},
		{"bare quote", "1,2\"3\n", ErrFormat, "line 1, column 4"},
		{"unterminated quote", "1,\"2\n", ErrFormat, "extraneous or missing \" in quoted-field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCSV([]byte(tc.file), Matrix)
			checkErr(t, err, tc.kind, tc.msg)
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("1,2\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.npy")
	_, err := ReadFile(missing, Matrix)
	checkErr(t, err, fs.ErrNotExist, missing+": no such file or directory")
	_, err = ReadFile(filepath.Join(dir, "q.txt"), Matrix)
	checkErr(t, err, ErrFileType, "q.txt: unknown file type: want a .npy, .npz or .csv file")
	_, err = ReadFile(bad, Matrix)
	checkErr(t, err, ErrShape, bad+": wrong shape: ragged rows: line 2 has 1 fields, line 1 has 2")
}

// TestReadNumPyFiles reads the files NumPy wrote (../../testdata/make_npy.py):
// float32, Fortran order, big-endian and CSV copies of Q must read to the
// same matrix, bit for bit, as the float64 C-order file, since Q's entries are
// float32-exact and %.17g round-trips a float64.
func TestReadNumPyFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata")
	want, err := ReadFile(filepath.Join(dir, "q.npy"), Matrix)
	if err != nil {
		t.Fatal(err)
	}
	if want.Rows != 20 || want.Cols != 50 || want.OneD {
		t.Fatalf("q.npy: shape %s, want (20, 50)", want.Shape())
	}
	for _, name := range []string{"q_f32.npy", "q_fortran.npy", "q_be.npy", "q.csv"} {
		got, err := ReadFile(filepath.Join(dir, name), Matrix)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s differs from q.npy (-q.npy +%s)\n%s", name, name, diff)
		}
	}
	e, err := ReadFile(filepath.Join(dir, "e.npy"), Vector)
	if err != nil {
		t.Fatal(err)
	}
	col, err := ReadFile(filepath.Join(dir, "e_col.npy"), Vector)
	if err != nil {
		t.Fatal(err)
	}
	if e.Shape() != "(20,)" || col.Shape() != "(20, 1)" || !cmp.Equal(e.Data, col.Data) {
		t.Errorf("e.npy %s and e_col.npy %s differ", e.Shape(), col.Shape())
	}
}
