package dataio

import (
	"math"
	"path/filepath"
	"testing"
)

// TestWriteNPYRoundTrip: what WriteNPY writes, ReadFile reads back bit for bit.
func TestWriteNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	q := []float64{1, -2.5, 3e-300, 4, 0x1p-1074, math.Copysign(0, -1)} // -0.0 in Go source is +0
	for _, tc := range []struct {
		name       string
		rows, cols int
		wantCols   int
		layout     Layout
	}{{"q.npy", 2, 3, 3, Matrix}, {"e.npy", 6, 0, 1, Vector}} {
		path := filepath.Join(dir, tc.name)
		if err := WriteNPY(path, q, tc.rows, tc.cols); err != nil {
			t.Fatal(err)
		}
		a, err := ReadFile(path, tc.layout)
		if err != nil {
			t.Fatal(err)
		}
		if a.Rows != tc.rows || a.Cols != tc.wantCols {
			t.Fatalf("%s: shape %s, want %d x %d", tc.name, a.Shape(), tc.rows, tc.wantCols)
		}
		for i, v := range a.Data {
			if math.Float64bits(v) != math.Float64bits(q[i]) {
				t.Fatalf("%s[%d] = %v, want %v", tc.name, i, v, q[i])
			}
		}
	}
}
