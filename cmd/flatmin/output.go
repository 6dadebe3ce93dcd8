package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"reflect"
)

// schemaVersion is the version of the JSON layout of measure and stability.
// A JSON object of either command is, in order:
//
//	schema_version   this number
//	command          "measure" or "stability"
//	flatmin_version  the build, as flatmin --version prints it
//	inputs           {flag: file name as given, or null}, every input flag of the command
//	arguments        {flag: value}, every other flag, in name order: the value given,
//	                 else the default, null for a flag not given whose default is empty or 0
//	...              the quantities, keys in the order of the table
//	spectrum         {"total": n, "eigenvalues": [...]} with --spectrum, else null
//	density          {"eigenvalues": n, "sigma", "x": [...], "density": [...]} with --density, else null
//	verdict          the verdict line, in words
//
// The version changes when a key is renamed or removed or a value changes
// meaning; keys may be added without a change.
const schemaVersion = 1

// inputFlags are the flags that name input files: the JSON lists them under
// "inputs", every other flag under "arguments".
var inputFlags = map[string]bool{"grads": true, "residuals": true, "gram": true}

// object is a JSON object whose keys keep their order; values are encoded
// as in writeJSON (NaN null, ±Inf "inf"). The rows' docs are not written.
type object []row

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, r := range o {
		k, err := marshal(r.key)
		if err != nil {
			return nil, err
		}
		v, err := marshal(jsonValue(r.value))
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s:%s", k, v)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// marshal is json.Marshal without the escaping of <, > and & for HTML:
// the verdict says "η <= 2/λ_1", and the JSON is for programs and people.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// provenance returns the rows that open the JSON of a command: the schema
// version, the command, the build, its input files and its arguments, read
// from its parsed flag set (set: the flags given).
func provenance(fs *flagSet, set map[string]bool) []row {
	var inputs, args object
	fs.VisitAll(func(f *flag.Flag) {
		var v any = f.Value.String()
		if g, ok := f.Value.(flag.Getter); ok {
			v = g.Get()
		}
		if !set[f.Name] && f.DefValue != "false" && reflect.ValueOf(v).IsZero() {
			v = nil // not given, and no default: --lr, --batch, --spectrum, --density
		}
		if inputFlags[f.Name] {
			inputs = append(inputs, row{f.Name, v, ""})
		} else {
			args = append(args, row{f.Name, v, ""})
		}
	})
	return []row{
		{"schema_version", schemaVersion, ""},
		{"command", fs.Name(), ""},
		{"flatmin_version", version(), ""},
		{"inputs", inputs, ""},
		{"arguments", args, ""},
	}
}

// output is what measure and stability print: in the table, a header, the
// rows, the spectrum and the verdict last; in JSON, the provenance, the
// rows, the spectrum and the verdict (the layout of schemaVersion).
type output struct {
	header      string // the table's first lines
	rows        []row
	missingNote string // why a value is "-", for the table
	spectrum    *spectrum
	assessment  assessment // the verdict
}

// write writes the output as a table or, with asJSON, as one JSON object
// opened by provenance.
func (o output) write(w io.Writer, asJSON bool, provenance []row) error {
	if asJSON {
		rows := append(append(append([]row(nil), provenance...), o.rows...), o.spectrum.rows()...)
		return writeJSON(w, append(rows, row{"verdict", o.assessment.sentence(), ""}))
	}
	if err := writeTable(w, o.header, o.rows, o.missingNote); err != nil {
		return err
	}
	if err := o.spectrum.writeText(w); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nverdict: %s\n", o.assessment.sentence())
	return err
}
