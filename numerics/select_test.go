package numerics

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	a, b, c := &impl{name: "avx512"}, &impl{name: "avx2"}, &impl{name: "generic"}
	have := []*impl{a, b, c}
	for _, tc := range []struct {
		want string
		got  *impl
		note string
	}{
		{"", a, ""},
		{"avx512", a, ""},
		{"avx2", b, ""},
		{"generic", c, ""},
		{"AVX2", a, `FLATMIN_NUMERICS="AVX2" ignored`},
		{"sse2", a, "(avx512, avx2, generic); running avx512"},
	} {
		got, note := choose(have, tc.want)
		if got != tc.got || (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
			t.Errorf("choose(%q) = %s, %q; want %s, a note with %q", tc.want, got.name, note, tc.got.name, tc.note)
		}
	}
	// The generic twin alone, as with purego: a SIMD name is ignored.
	if got, note := choose([]*impl{c}, "avx2"); got != c || !strings.Contains(note, "(generic); running generic") {
		t.Errorf("choose(generic only, avx2) = %s, %q", got.name, note)
	}
}

// TestImplementation runs the implementation EnvImpl chose at start-up, the
// best one when it is unset.
func TestImplementation(t *testing.T) {
	name, ignored := Implementation()
	if name != active.name {
		t.Fatalf("Implementation() = %s, active is %s", name, active.name)
	}
	t.Logf("running %s %s", name, ignored)
}
