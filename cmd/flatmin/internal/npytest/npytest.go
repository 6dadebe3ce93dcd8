// Package npytest builds NumPy .npy files byte by byte for tests, valid or
// not: the magic string, the version, the header length, the header
// dictionary and the payload, each as the test says, whatever the header
// claims.
package npytest

import (
	"encoding/binary"
	"math"
)

// Magic opens every .npy file.
const Magic = "\x93NUMPY"

// File assembles a .npy file of format version major.0: the magic string,
// the version, the header length (2 bytes in version 1, 4 after), the
// header dictionary ended by '\n', and the payload.
func File(major byte, dict string, payload []byte) []byte {
	b := []byte(Magic)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)+1))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dict)+1))
	}
	b = append(append(b, dict...), '\n')
	return append(b, payload...)
}

// Dict is the header dictionary NumPy writes for a C-order array of dtype
// descr and shape, a Python tuple such as "(2, 3)", "(3,)" or "()".
func Dict(descr, shape string) string {
	return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
}

// F8 encodes values as float64 in the given byte order.
func F8(order binary.AppendByteOrder, v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = order.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// F4 encodes values as float32 in the given byte order.
func F4(order binary.AppendByteOrder, v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = order.AppendUint32(b, math.Float32bits(x))
	}
	return b
}
