package dataio

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// member is one array of a .npz archive built by npzBytes.
type member struct {
	name    string // the member's name, e.g. "Q.npy"
	file    []byte // its bytes, a .npy file
	deflate bool   // compressed (numpy.savez_compressed) or stored (numpy.savez)
}

// npzBytes is a .npz archive (a zip file) of the members, as numpy.savez and
// numpy.savez_compressed write them.
func npzBytes(t testing.TB, members ...member) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, m := range members {
		method := zip.Store
		if m.deflate {
			method = zip.Deflate
		}
		w, err := z.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.file); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encodeNPY is the .npy file of the row-major n x p matrix x as descr ("<f8",
// ">f4", ...) in C or Fortran order.
func encodeNPY(x []float64, n, p int, descr string, fortran bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		order = binary.BigEndian
	}
	var payload []byte
	put := func(v float64) {
		if descr[1:] == "f4" {
			payload = order.AppendUint32(payload, math.Float32bits(float32(v)))
		} else {
			payload = order.AppendUint64(payload, math.Float64bits(v))
		}
	}
	if fortran {
		for j := range p {
			for i := range n {
				put(x[i*p+j])
			}
		}
	} else {
		for _, v := range x {
			put(v)
		}
	}
	f := "False"
	if fortran {
		f = "True"
	}
	return npyFile(1, fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%d, %d), }", descr, f, n, p), payload)
}

// readAll reads every block of s, w columns at a time, into a row-major
// matrix of the selected rows.
func readAll(s *Stream, w int) ([]float64, error) {
	sel := s.selected()
	out := make([]float64, sel*s.Cols)
	block := make([]float64, sel*w)
	c := 0
	for {
		got, err := s.Next(block, w)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for r := range sel {
			copy(out[r*s.Cols+c:r*s.Cols+c+got], block[r*got:(r+1)*got])
		}
		c += got
	}
}

// float32Matrix is a random n x p matrix of float32-exact entries, so that
// every dtype holds it exactly.
func float32Matrix(r *rand.Rand, n, p int) []float64 {
	x := make([]float64, n*p)
	for i := range x {
		x[i] = float64(float32(r.NormFloat64()))
	}
	return x
}

// TestStream: every dtype (float64 and float32, either byte order), order
// (C and Fortran) and container (.npy, a stored and a deflated .npz member,
// .csv), read in blocks of 1, 2, 3 and all columns, with every row or a
// selection, gives the matrix written, bit for bit.
func TestStream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, p = 5, 7
	x := float32Matrix(r, n, p)
	dir := t.TempDir()
	var paths []string
	for _, descr := range []string{"<f8", ">f8", "<f4", ">f4"} {
		for _, fortran := range []bool{false, true} {
			file := encodeNPY(x, n, p, descr, fortran)
			base := fmt.Sprintf("%s_%v", map[byte]string{'<': "le", '>': "be"}[descr[0]]+descr[1:], fortran)
			write := func(name string, b []byte) string {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return path
			}
			paths = append(paths,
				write(base+".npy", file),
				write(base+"_stored.npz", npzBytes(t, member{"Q.npy", file, false})),
				write(base+"_deflated.npz", npzBytes(t, member{"e.npy", encodeNPY(x[:n], n, 1, "<f8", false), true}, member{"Q.npy", file, true}))+":Q")
		}
	}
	var csv strings.Builder
	for i := range n {
		for j := range p {
			if j > 0 {
				csv.WriteString(",")
			}
			fmt.Fprintf(&csv, "%.17g", x[i*p+j])
		}
		csv.WriteString("\n")
	}
	paths = append(paths, filepath.Join(dir, "q.csv"))
	if err := os.WriteFile(paths[len(paths)-1], []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		for _, rows := range [][]int{nil, {0, 2, 3}, {4}} {
			want := x
			if rows != nil {
				want = nil
				for _, i := range rows {
					want = append(want, x[i*p:(i+1)*p]...)
				}
			}
			for _, w := range []int{1, 2, 3, p} {
				s, err := OpenStream(path)
				if err != nil {
					t.Fatal(err)
				}
				if s.Rows != n || s.Cols != p {
					t.Fatalf("%s: shape (%d, %d), want (%d, %d)", path, s.Rows, s.Cols, n, p)
				}
				if err := s.Select(rows); err != nil {
					t.Fatal(err)
				}
				got, err := readAll(s, w)
				if err != nil {
					t.Fatalf("%s rows %v w %d: %v", path, rows, w, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s rows %v w %d (-want +got)\n%s", filepath.Base(path), rows, w, diff)
				}
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

// streamBytes opens a .npy file held in b as a Stream.
func streamBytes(b []byte) (*Stream, error) {
	return openNPYStream(bytes.NewReader(b), int64(len(b)))
}

// TestStreamLikeDecode: on the files of TestDecodeNPY and on bad ones, a
// Stream reads what DecodeNPY decodes as a Matrix, or fails with the same
// message: the header, dtype, shape and length checks are shared.
func TestStreamLikeDecode(t *testing.T) {
	files := [][]byte{
		nil, []byte("PK\x03\x04"), []byte(npyMagic + "\x01"), []byte(npyMagic + "\x02\x00\x10\x00"),
		npyFile(4, "{}", nil),
		append([]byte(npyMagic+"\x02\x00\xff\xff\xff\xff"), "{}\n"...),
		npyFile(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }", f8(le, 1)),
		npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8(le, 1, 2, 3)),
		npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", f8(le, 1, 2, 3, 4, 5)),
		npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", nil),
		npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", f8(le, 1)),
		npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", f8(le, 1, 2, 3, 4, math.NaN(), 6)),
		npyFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4(le, 1, 4, 2, float32(math.Inf(-1)), 3, 6)),
	}
	for _, c := range npyCases {
		files = append(files, c.file)
	}
	for k, b := range files {
		want, werr := DecodeNPY(b, Matrix)
		s, err := streamBytes(b)
		var got []float64
		if err == nil {
			got, err = readAll(s, 2)
			s.Close()
		}
		switch {
		case werr != nil && err != nil:
			if !strings.HasSuffix(err.Error(), werr.Error()) {
				t.Errorf("file %d: stream says %q, DecodeNPY %q", k, err, werr)
			}
		case werr != nil || err != nil:
			t.Errorf("file %d: stream error %v, DecodeNPY error %v", k, err, werr)
		case !cmp.Equal(want.Data, got):
			t.Errorf("file %d: stream read %v, DecodeNPY %v", k, got, want.Data)
		}
	}
}

// TestNPZ: arrays are picked by name (with or without .npy), the only one
// without a name; ReadFile reads a vector from an archive; the errors name
// what is wrong in one line.
func TestNPZ(t *testing.T) {
	q := encodeNPY([]float64{1, 2, 3, 4, 5, 6}, 2, 3, "<f8", false)
	e := npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8(le, 0.5, -1))
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	both := write("both.npz", npzBytes(t, member{"Q.npy", q, false}, member{"e.npy", e, true}))
	one := write("one.NPZ", npzBytes(t, member{"arr_0.npy", q, true}))
	for _, path := range []string{both + ":Q", both + ":Q.npy", one} {
		s, err := OpenStream(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := readAll(s, 2)
		s.Close()
		if err != nil || !cmp.Equal(got, []float64{1, 2, 3, 4, 5, 6}) {
			t.Errorf("%s: %v %v", path, got, err)
		}
	}
	a, err := ReadFile(both+":e", Vector)
	if err != nil || !cmp.Equal(a.Data, []float64{0.5, -1}) || !a.OneD {
		t.Errorf("ReadFile e: %v %v", a, err)
	}

	many := make([]member, 10)
	for i := range many {
		many[i] = member{fmt.Sprintf("a%d.npy", i), e, false}
	}
	trunc := npzBytes(t, member{"Q.npy", q, true})
	for _, tc := range []struct {
		path string
		kind error
		msg  string
	}{
		{both, ErrNoArray, "the archive holds 2 arrays (Q, e): name one as FILE.npz:NAME"},
		{both + ":K", ErrNoArray, `"K"; the archive holds Q, e`},
		{write("many.npz", npzBytes(t, many...)) + ":x", ErrNoArray, "a0, a1, a2, a3, a4, a5, a6, a7, … (10 in all)"},
		{write("empty.npz", npzBytes(t)), ErrNoArray, "the archive holds no array"},
		{write("text.npz", []byte("1,2\n")), ErrFormat, "not a .npz archive (zip: not a valid zip file)"},
		{write("vector.npz", npzBytes(t, member{"e.npy", e, false})), ErrShape, "1-D array of shape (2,); want 2-D (n, p)"},
		{write("trunc.npz", trunc[:len(trunc)/2]), ErrFormat, "not a .npz archive"},
		{filepath.Join(dir, "none.npz") + ":Q", os.ErrNotExist, "none.npz:Q: no such file or directory"},
	} {
		_, err := OpenStream(tc.path)
		checkErr(t, err, tc.kind, tc.msg)
		if !strings.HasPrefix(err.Error(), tc.path+": ") {
			t.Errorf("%q does not name %s", err, tc.path)
		}
	}
	_, err = ReadFile(both+":Q", Vector)
	checkErr(t, err, ErrShape, "2-D array of shape (2, 3); want (n,) or (n, 1)")
}

// TestNPZCorrupt: a deflated member whose data is cut short or corrupted is
// refused by ReadFile (which checks the CRC) and by a Stream, in C order
// (inflated into a temporary file) and in Fortran order (read as inflated).
func TestNPZCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := float32Matrix(r, 40, 30)
	dir := t.TempDir()
	for _, fortran := range []bool{false, true} {
		file := encodeNPY(x, 40, 30, "<f8", fortran)
		// The member's bytes claim the full size; the data is short.
		short := npzBytes(t, member{"Q.npy", file[:len(file)-100], true})
		// Patch the sizes the archive records to the full length: the
		// inflated data then ends before the size the archive claims.
		short = bytes.ReplaceAll(short, binary.LittleEndian.AppendUint32(nil, uint32(len(file)-100)), binary.LittleEndian.AppendUint32(nil, uint32(len(file))))
		path := filepath.Join(dir, fmt.Sprintf("short_%v.npz", fortran))
		if err := os.WriteFile(path, short, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(path, Matrix)
		if err == nil {
			t.Errorf("fortran %v: ReadFile read a truncated member", fortran)
		}
		s, err := OpenStream(path)
		if err == nil {
			_, err = readAll(s, 7)
			s.Close()
		}
		var e *Error
		if !errors.As(err, &e) || strings.Contains(err.Error(), "\n") {
			t.Errorf("fortran %v: stream of a truncated member: %v, want a one-line *Error", fortran, err)
		}
	}
}

// TestStreamMemory: streaming a float32 n x p file (C and Fortran order)
// in blocks of 512 columns allocates a few blocks, never anything near the
// n·p·8 bytes of the float64 matrix: the bound is 4 blocks and buffers,
// a sixteenth of n·p·8 here. A header claiming a huge shape is refused
// after reading a few hundred bytes.
func TestStreamMemory(t *testing.T) {
	const n, p, w = 64, 1 << 16, 512
	r := rand.New(rand.NewPCG(5, 6))
	x := float32Matrix(r, n, p)
	dir := t.TempDir()
	for _, fortran := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("q_%v.npy", fortran))
		if err := os.WriteFile(path, encodeNPY(x, n, p, "<f4", fortran), 0o600); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := OpenStream(path)
		if err != nil {
			t.Fatal(err)
		}
		block := make([]float64, n*w)
		sum := 0.0
		for {
			got, err := s.Next(block, w)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			sum += block[got-1]
		}
		s.Close()
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		limit := uint64(4 * s.ColumnBytes() * w)
		if whole := uint64(n * p * 8); limit > whole/16 {
			t.Fatalf("the test's bound %d is not far below n·p·8 = %d", limit, whole)
		}
		if alloc > limit {
			t.Errorf("fortran %v: streaming allocated %d bytes, more than %d (4 blocks); n·p·8 = %d", fortran, alloc, limit, n*p*8)
		}
		t.Logf("fortran %v: %d bytes allocated to stream %d (float32 %d x %d); sum %v", fortran, alloc, n*p*4, n, p, sum)

		// The control: reading the file whole, as ReadFile does, breaks
		// the bound.
		runtime.ReadMemStats(&before)
		if _, err := ReadFile(path, Matrix); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if whole := after.TotalAlloc - before.TotalAlloc; whole <= limit {
			t.Errorf("fortran %v: ReadFile allocated %d bytes, within the bound %d: the bound does not tell streaming from reading whole", fortran, whole, limit)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := streamBytes(npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", f4(le, 1)))
	runtime.ReadMemStats(&after)
	checkErr(t, err, ErrFormat, "needs 1099511627776·1099511627776·4 bytes of data, the file has 4")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<16 {
		t.Errorf("%d bytes allocated to refuse a huge claimed shape", alloc)
	}
}
