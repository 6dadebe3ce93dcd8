package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/flatmin/flatmin/cmd/flatmin/internal/dataio"
	"github.com/flatmin/flatmin/theory"
)

// row is one quantity a command reports: its JSON key, its value (an int, a
// float64, a bool, or nil when it does not apply) and what it is.
type row struct {
	key   string
	value any
	doc   string
}

// jsonValue encodes what JSON cannot: NaN (undefined) as null, ±Inf as
// "inf" and "-inf".
func jsonValue(v any) any {
	f, ok := v.(float64)
	switch {
	case !ok:
		return v
	case math.IsNaN(f):
		return nil
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return f
}

// writeJSON writes the rows as one JSON object, keys in row order.
func writeJSON(w io.Writer, rows []row) error {
	var b bytes.Buffer
	b.WriteString("{")
	for i, r := range rows {
		k, err := marshal(r.key)
		if err != nil {
			return err
		}
		v, err := marshal(jsonValue(r.value))
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  %s: %s", k, v)
	}
	b.WriteString("\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeTable writes the header, the rows as an aligned table, and, when a
// value is missing, the note saying why.
func writeTable(w io.Writer, header string, rows []row, missingNote string) error {
	fmt.Fprint(w, header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	missing := false
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.key, tableValue(r.value), r.doc)
		missing = missing || r.value == nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing && missingNote != "" {
		_, err := fmt.Fprintf(w, "\n(-: %s)\n", missingNote)
		return err
	}
	return nil
}

// tableValue formats a value for the table, floats to 10 significant digits.
func tableValue(v any) string {
	switch x := jsonValue(v).(type) {
	case nil:
		if v == nil {
			return "-"
		}
		return "undefined"
	case float64:
		return strconv.FormatFloat(x, 'g', 10, 64)
	default: // an int, a bool, or "inf"
		return fmt.Sprint(x)
	}
}

// inputs are the files a command reads (input.go): Q or K, and e unless
// residPath is "", and what is read of them.
type inputs struct {
	gradsPath, residPath string
	gramPath             string         // --gram, instead of gradsPath
	src                  *dataio.Stream // Q or K, open until loadGram
	n, p                 int            // p = 0: unknown (--gram without --params)
	k                    []float64      // K = 2^kExp·k, row-major n x n, after loadGram
	kExp                 int
	asym                 float64   // max|K - Kᵀ|/max|K| of a --gram
	e                    []float64 // nil without residuals
}

// blame prefixes a theory error with the file its argument came from (Q:
// the gradients, e: the residuals), or with --lr for a learning rate out of
// range for the data, so the one line on stderr names it. The
// file takes the place of the argument's name ("e.npy: zero loss: ...", not
// "e.npy: e: zero loss: ..."), which stays where it locates an entry
// ("q.npy: Q[3, 7]: ...").
func (in inputs) blame(err error) error {
	if err == nil {
		return nil
	}
	path := in.matrixPath()
	var ie *theory.InputError
	if !errors.As(err, &ie) {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case ie.Arg == "e" && in.residPath != "":
		path = in.residPath
	case ie.Arg == "eta": // a learning rate the data's scale cannot carry
		path = "--lr"
	}
	if ie.Row >= 0 {
		return fmt.Errorf("%s: %w", path, err)
	}
	if ie.Detail == "" {
		return fmt.Errorf("%s: %w", path, ie.Err)
	}
	return fmt.Errorf("%s: %w: %s", path, ie.Err, ie.Detail)
}
