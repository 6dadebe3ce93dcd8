package theory

import (
	"errors"
	"testing"
)

// An InputError names its argument and, where they apply, the row and the
// column, index 0 included.
func TestInputErrorLocation(t *testing.T) {
	for _, c := range []struct {
		row, col int
		want     string
	}{
		{NoIndex, NoIndex, "e: entry is not finite: NaN"},
		{0, NoIndex, "e[0]: entry is not finite: NaN"},
		{3, NoIndex, "e[3]: entry is not finite: NaN"},
		{0, 0, "e[0, 0]: entry is not finite: NaN"},
		{2, 5, "e[2, 5]: entry is not finite: NaN"},
	} {
		err := inputErr(ErrNotFinite, "e", c.row, c.col, "NaN")
		if got := err.Error(); got != c.want {
			t.Errorf("row %d, col %d: %q, want %q", c.row, c.col, got, c.want)
		}
		if !errors.Is(err, ErrNotFinite) {
			t.Errorf("row %d, col %d: does not unwrap to ErrNotFinite", c.row, c.col)
		}
	}
}
