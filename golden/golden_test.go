package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// check compares got, encoded as indented JSON, with testdata/<name>.golden,
// or rewrites that file under -update.
func check(t *testing.T, name string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(finite(reflect.ValueOf(got)), "", "  ")
	if err != nil {
		t.Fatalf("encoding %s: %v", name, err)
	}
	data = append(data, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./golden -update to create it)", err)
	}
	if bytes.Equal(want, data) {
		return
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s is not valid JSON: %v", path, err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	var opts []cmp.Option
	if runtime.GOARCH != "amd64" {
		opts = append(opts, cmpopts.EquateApprox(1e-12, 0))
	}
	if diff := cmp.Diff(w, g, opts...); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\nIf the change is intended, run go test ./golden -update and review the diff.", path, diff)
	}
}

// finite converts v to plain JSON-encodable values: structs become maps
// keyed by their JSON names, and NaN and ±Inf become strings.
func finite(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "+Inf"
		case math.IsInf(f, -1):
			return "-Inf"
		}
		return f
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return finite(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = finite(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = finite(v.MapIndex(k))
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		tp := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := tp.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("json"); tag == "-" {
				continue
			} else if tag != "" {
				if n := splitTag(tag); n != "" {
					name = n
				}
			}
			out[name] = finite(v.Field(i))
		}
		return out
	}
	return v.Interface()
}

func splitTag(tag string) string {
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			return tag[:i]
		}
	}
	return tag
}
