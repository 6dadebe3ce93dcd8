package dataio

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// ErrNoArray: a .npz archive has no array of the name asked for, or holds
// several and none was named.
var ErrNoArray = errors.New("no such array")

// splitNPZ splits "x.npz:NAME" into the archive and the array's name, and
// "x.npz" into the archive and "" (any case of the extension). ok is false
// for a path that is not a .npz archive.
func splitNPZ(path string) (file, name string, ok bool) {
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".npz") {
		return path, "", true
	}
	if i := strings.LastIndex(lower, ".npz:"); i >= 0 {
		return path[:i+4], path[i+5:], true
	}
	return "", "", false
}

// npzMember finds the array name in the .npz archive of size bytes that r
// holds: the member NAME.npy that numpy.savez(file, NAME=a) writes (or
// NAME itself), or, for name "", the archive's only member.
func npzMember(r io.ReaderAt, size int64, name string) (*zip.File, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, newErr(ErrFormat, "not a .npz archive (%v)", err)
	}
	var files []*zip.File
	var names []string
	for _, f := range z.File {
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory
		}
		arr := strings.TrimSuffix(f.Name, ".npy")
		if name != "" && (arr == name || f.Name == name) {
			return f, nil
		}
		files, names = append(files, f), append(names, arr)
	}
	if name == "" && len(files) == 1 {
		return files[0], nil
	}
	sort.Strings(names)
	const shown = 8
	list := strings.Join(names[:min(len(names), shown)], ", ")
	if len(names) > shown {
		list += fmt.Sprintf(", … (%d in all)", len(names))
	}
	switch {
	case len(names) == 0:
		return nil, newErr(ErrNoArray, "the archive holds no array")
	case name == "":
		return nil, newErr(ErrNoArray, "the archive holds %d arrays (%s): name one as FILE.npz:NAME", len(names), list)
	}
	return nil, newErr(ErrNoArray, "%q; the archive holds %s", name, list)
}

// deflateRatio bounds how many bytes deflate inflates one byte into (RFC
// 1951: a 258-byte match in as few as 2 bits, 1032:1), so that a member's
// claimed size is checked against its compressed size before any buffer is
// sized from it.
const deflateRatio = 1032

// npzSize is the uncompressed size of a member of an archive of size
// bytes, checked: its compressed bytes lie in the archive, and inflate to at
// most deflateRatio times as many (64 bytes of slack for the stream's end).
func npzSize(f *zip.File, size int64) (int64, error) {
	if f.CompressedSize64 > uint64(size) || f.UncompressedSize64 > deflateRatio*f.CompressedSize64+64 {
		return 0, newErr(ErrFormat, "member %q claims %d bytes from %d compressed in an archive of %d", f.Name, f.UncompressedSize64, f.CompressedSize64, size)
	}
	return int64(f.UncompressedSize64), nil
}

// openNPZStream opens the array name of the .npz archive of size bytes that
// r holds as a Stream: a stored member in place, a deflated one as it is
// inflated (see Stream).
func openNPZStream(r io.ReaderAt, size int64, name string) (*Stream, error) {
	f, err := npzMember(r, size, name)
	if err != nil {
		return nil, err
	}
	total, err := npzSize(f, size)
	if err != nil {
		return nil, err
	}
	switch f.Method {
	case zip.Store:
		base, err := f.DataOffset()
		if err != nil {
			return nil, newErr(ErrFormat, "member %q: %v", f.Name, err)
		}
		if f.CompressedSize64 != f.UncompressedSize64 || base < 0 || base > size || total > size-base {
			return nil, newErr(ErrFormat, "member %q: stored with %d bytes, %d uncompressed, from byte %d of %d",
				f.Name, f.CompressedSize64, f.UncompressedSize64, base, size)
		}
		return openNPYStream(io.NewSectionReader(r, base, total), total)
	case zip.Deflate:
		rc, err := f.Open()
		if err != nil {
			return nil, newErr(ErrFormat, "member %q: %v", f.Name, err)
		}
		s, err := openDeflated(rc, total)
		if err != nil {
			rc.Close()
			return nil, err
		}
		s.closers = append([]func() error{rc.Close}, s.closers...)
		return s, nil
	}
	return nil, newErr(ErrFormat, "member %q: compression method %d; want stored or deflated (numpy.savez or numpy.savez_compressed)", f.Name, f.Method)
}

// openDeflated opens the .npy file of total bytes that rc inflates. Column-
// major data is read from rc as it comes; C-order data is inflated into a
// temporary file first, since its blocks are not in the order of the bytes.
func openDeflated(rc io.Reader, total int64) (*Stream, error) {
	h, hdr, err := readNPYHeader(rc, total)
	if err != nil {
		return nil, err
	}
	s, err := newStream(h, total-hdr)
	if err != nil {
		return nil, err
	}
	if s.colMajor {
		s.seq = rc
		return s, nil
	}
	tmp, err := os.CreateTemp("", "flatmin-*.npy-data")
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("a temporary file to inflate a C-order array into: %w", unwrapPath(err))}
	}
	// Removed at once where the system allows it (the data stays until the
	// file is closed), else on Close.
	removed := os.Remove(tmp.Name()) == nil
	s.closers = append(s.closers, func() error {
		err := tmp.Close()
		if !removed {
			os.Remove(tmp.Name())
		}
		return err
	})
	if _, err := io.CopyN(tmp, rc, total-hdr); err != nil {
		s.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
			return nil, readErr(io.ErrUnexpectedEOF)
		}
		return nil, &Error{Err: fmt.Errorf("inflating a C-order array into a temporary file: %w", unwrapPath(err))}
	}
	s.at, s.off = tmp, 0
	return s, nil
}

// DecodeNPZ decodes the array name ("" for the only one) of a .npz archive
// held in b, as DecodeNPY decodes a .npy file.
func DecodeNPZ(b []byte, name string, layout Layout) (Array, error) {
	return readNPZArray(bytes.NewReader(b), int64(len(b)), name, layout)
}

// readNPZArray reads the array name of the .npz archive of size bytes that r
// holds, whole: its header is checked first, then its data is read as it
// comes (never allocated from a size the archive claims), and its CRC
// checked.
func readNPZArray(r io.ReaderAt, size int64, name string, layout Layout) (Array, error) {
	f, err := npzMember(r, size, name)
	if err != nil {
		return Array{}, err
	}
	total, err := npzSize(f, size)
	if err != nil {
		return Array{}, err
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return Array{}, newErr(ErrFormat, "member %q: compression method %d; want stored or deflated (numpy.savez or numpy.savez_compressed)", f.Name, f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return Array{}, newErr(ErrFormat, "member %q: %v", f.Name, err)
	}
	defer rc.Close()
	h, hdr, err := readNPYHeader(rc, total)
	if err != nil {
		return Array{}, err
	}
	a, sz, err := h.check(layout, total-hdr)
	if err != nil {
		return Array{}, err
	}
	var data bytes.Buffer
	if _, err := data.ReadFrom(io.LimitReader(rc, total-hdr)); err != nil {
		return Array{}, readErr(err)
	}
	if int64(data.Len()) != total-hdr {
		return Array{}, readErr(io.ErrUnexpectedEOF)
	}
	// Reading past the end checks the CRC.
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return Array{}, newErr(ErrFormat, "member %q: more data than its header says, or a bad CRC (%v)", f.Name, err)
	}
	return h.decode(a, sz, data.Bytes())
}
