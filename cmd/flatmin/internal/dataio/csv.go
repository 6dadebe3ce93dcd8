package dataio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// DecodeCSV decodes comma-separated numbers, one sample per line, every line
// with the same number of fields. The first line may be a header, and is
// taken as one only when it is clearly not data: every field non-empty and
// none a number. Fields may be quoted and padded with spaces; blank lines
// and a UTF-8 byte order mark are skipped. A CSV array is always 2-D (a
// single column is n x 1), and must be of the given layout.
func DecodeCSV(b []byte, layout Layout) (Array, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	r.FieldsPerRecord = -1 // field counts are checked below, to say which line
	r.ReuseRecord = true
	r.TrimLeadingSpace = true
	var a Array
	firstLine := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Array{}, newErr(ErrFormat, "line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
			}
			return Array{}, newErr(ErrFormat, "%v", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of spaces, as blank as an empty one (which csv skips)
		}
		line, _ := r.FieldPos(0)
		if firstLine == 0 {
			firstLine = line
			a.Cols = len(rec)
			if isHeader(rec) {
				continue
			}
		}
		if len(rec) != a.Cols {
			return Array{}, newErr(ErrShape, "ragged rows: line %d has %d fields, line %d has %d", line, len(rec), firstLine, a.Cols)
		}
		for j, cell := range rec {
			v, err := parseCell(cell)
			if err != nil {
				err.Detail = "line " + strconv.Itoa(line) + ", column " + strconv.Itoa(j+1) + ": " + err.Detail
				return Array{}, err
			}
			a.Data = append(a.Data, v)
		}
		a.Rows++
	}
	if a.Rows == 0 {
		return Array{}, newErr(ErrShape, "no data rows")
	}
	if err := layout.check([]int{a.Rows, a.Cols}); err != nil {
		return Array{}, err
	}
	return a, nil
}

// isHeader says whether a first line is a header: every field non-empty
// and none of them a number or starting with one ("1 2 3" and "1;2;3" are
// data written with the wrong delimiter).
func isHeader(rec []string) bool {
	for _, cell := range rec {
		f := otherFields(cell)
		if len(f) == 0 {
			return false
		}
		if _, err := strconv.ParseFloat(f[0], 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return false
		}
	}
	return true
}

// otherFields splits a field at the delimiters other than ',' that numbers
// are written with: spaces, tabs and semicolons.
func otherFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
}

// parseCell parses one field as a finite float64.
func parseCell(cell string) (float64, *Error) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, newErr(ErrNotNumber, "empty field")
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange): // only overflow: underflow rounds to 0 or a subnormal
		return 0, newErr(ErrNotFinite, "%q overflows float64", s)
	case err != nil:
		hint := ""
		if f := otherFields(s); len(f) > 1 {
			if _, err := strconv.ParseFloat(f[0], 64); err == nil {
				hint = " (the delimiter is ','; with numpy.savetxt pass delimiter=',')"
			}
		}
		return 0, newErr(ErrNotNumber, "%q%s", s, hint)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, newErr(ErrNotFinite, "%v", v)
	}
	return v, nil
}
