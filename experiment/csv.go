package experiment

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
)

// The tidy CSV: one header row of the csv struct tags of Record (or
// FeatureNorm), in field order, then one row per value. Integers are written
// in decimal, floats in the shortest form that reads back to the same float64
// (strconv 'g', -1), NaN as NaN and infinities as +Inf and -Inf. Reading back
// what was written gives the same values bit for bit, except that every NaN
// reads back as math.NaN().

// WriteRecords writes rs to w as a tidy CSV with a header row.
func WriteRecords(w io.Writer, rs []Record) error { return writeTable(w, rs) }

// ReadRecords reads a CSV written by WriteRecords. The header names the
// columns: their order is free, every column of Record must be present, and
// columns Record does not know are ignored.
func ReadRecords(r io.Reader) ([]Record, error) { return readTable[Record](r) }

// WriteFeatureNorms writes fs to w as a tidy CSV with a header row.
func WriteFeatureNorms(w io.Writer, fs []FeatureNorm) error { return writeTable(w, fs) }

// ReadFeatureNorms reads a CSV written by WriteFeatureNorms, with the
// same rules as ReadRecords.
func ReadFeatureNorms(r io.Reader) ([]FeatureNorm, error) { return readTable[FeatureNorm](r) }

// Columns returns the CSV column names of Record, FeatureNorm or Tightness,
// in the order they are written.
func Columns[T Record | FeatureNorm | Tightness]() []string {
	cols := columns(reflect.TypeFor[T]())
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return names
}

// column is one CSV column: its name and the index of its struct field.
type column struct {
	name  string
	field int
	kind  reflect.Kind
}

// columns lists the tagged fields of the struct type t.
func columns(t reflect.Type) []column {
	var cols []column
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("csv")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		switch k := f.Type.Kind(); k {
		case reflect.String, reflect.Int, reflect.Uint64, reflect.Float64:
			cols = append(cols, column{name: name, field: i, kind: k})
		default:
			panic(fmt.Sprintf("experiment: csv column %s of %s has unsupported kind %s", name, t, k))
		}
	}
	return cols
}

func formatCell(v reflect.Value, k reflect.Kind) string {
	switch k {
	case reflect.String:
		return v.String()
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	default: // reflect.Float64
		return strconv.FormatFloat(v.Float(), 'g', -1, 64) // NaN, +Inf, -Inf
	}
}

func parseCell(v reflect.Value, k reflect.Kind, s string) error {
	switch k {
	case reflect.String:
		v.SetString(s)
	case reflect.Int:
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(x)
	case reflect.Uint64:
		x, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(x)
	default:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		if math.IsNaN(x) {
			x = math.NaN()
		}
		v.SetFloat(x)
	}
	return nil
}

func writeTable[T any](w io.Writer, rows []T) error {
	cols := columns(reflect.TypeFor[T]())
	cw := csv.NewWriter(w)
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = c.name
	}
	if err := cw.Write(cells); err != nil {
		return err
	}
	for r := range rows {
		v := reflect.ValueOf(&rows[r]).Elem()
		for i, c := range cols {
			cells[i] = formatCell(v.Field(c.field), c.kind)
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func readTable[T any](r io.Reader) ([]T, error) {
	t := reflect.TypeFor[T]()
	cols := columns(t)
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("experiment: empty CSV, no header")
	}
	if err != nil {
		return nil, err
	}
	at := make(map[string]int, len(header)) // column name → position in the file
	for i, name := range header {
		if _, dup := at[name]; dup {
			return nil, fmt.Errorf("experiment: CSV column %q appears twice", name)
		}
		at[name] = i
	}
	pos := make([]int, len(cols))
	for i, c := range cols {
		p, ok := at[c.name]
		if !ok {
			return nil, fmt.Errorf("experiment: CSV lacks column %q of %s", c.name, t.Name())
		}
		pos[i] = p
	}
	var rows []T
	for {
		cells, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		var row T
		v := reflect.ValueOf(&row).Elem()
		for i, c := range cols {
			if err := parseCell(v.Field(c.field), c.kind, cells[pos[i]]); err != nil {
				line, _ := cr.FieldPos(pos[i])
				return nil, fmt.Errorf("experiment: CSV line %d, column %s: %w", line, c.name, err)
			}
		}
		rows = append(rows, row)
	}
}
