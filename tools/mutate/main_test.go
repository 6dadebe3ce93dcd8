package main

import (
	"slices"
	"testing"
)

// Every kind of site is found once, at the right place, and nothing in
// constant declarations.
func TestSites(t *testing.T) {
	src := []byte(`package p

import "math"

const n = 2

func f(a, b float64) float64 {
	a += 1
	if a < b && b != 0 {
		return -math.Sqrt(a * b)
	}
	return math.Abs(a - 2)
}
`)
	got, err := sites("p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID())
		mutated := string(src[:m.Start]) + m.Replace + string(src[m.End:])
		if mutated == string(src) {
			t.Errorf("%s changes nothing", m.ID())
		}
	}
	want := []string{
		"p.go:8:4:+=->-=", "p.go:8:7:1->2",
		"p.go:9:11:&&->||", "p.go:9:7:<-><=", "p.go:9:16:!=->==", "p.go:9:19:0->1",
		"p.go:10:10:-->", "p.go:10:11:math.Sqrt->", "p.go:10:23:*->/",
		"p.go:12:9:math.Abs->", "p.go:12:20:-->+", "p.go:12:22:2->1",
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("sites:\n got %q\nwant %q", ids, want)
	}
}

// A -test value splits into stages at ";", flags (a value joined by "=") apart from packages, and
// an empty stage is dropped.
func TestParseStages(t *testing.T) {
	got := parseStages("-short ./a ./b; -run=X ./c ;")
	if len(got) != 2 ||
		!slices.Equal(got[0].flags, []string{"-short"}) || !slices.Equal(got[0].pkgs, []string{"./a", "./b"}) ||
		!slices.Equal(got[1].flags, []string{"-run=X"}) || !slices.Equal(got[1].pkgs, []string{"./c"}) {
		t.Errorf("parseStages: %+v", got)
	}
}
