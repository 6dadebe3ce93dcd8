package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Every kind of site is found once, at the right place, and nothing in
// constant declarations, in the values returned beside a non-nil error or
// in math.Inf's constant (its negation is a site).
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

func g(err error) (float64, error) {
	if err != nil {
		return 1, err
	}
	if a := 2; a > 0 {
		return -2, paramErr("a")
	}
	return math.Inf(-1), nil
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
		"p.go:16:9:!=->==", "p.go:19:10:2->1", "p.go:19:15:>->>=", "p.go:19:17:0->1", "p.go:22:18:-->",
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

// An earlier report is read back by mutant ID: a timeout as such, an
// equivalent mutant as a survivor, and partial or foreign lines not at all.
func TestReadReport(t *testing.T) {
	report := `# 4 mutants sampled with seed 1 from ./theory
  1 killed              4.8s  a.go:1:2:+->-  (operator + -> -)
  2 killed (timeout)  900.0s  a.go:3:4:<-><=  (operator < -> <=)
  3 equivalent        120.5s  a.go:5:6:1->2  (constant 1 -> 2) # the reason
  4 SURVIVED           90.0s  a.go:7:8:-->  (negation dropped) (resumed)
  5 killed
  660.6s  a.go:9:9:*->/  (operator * -> /)
`
	got, err := readReport(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]result{
		"a.go:1:2:+->-":  {killed, 4800 * time.Millisecond},
		"a.go:3:4:<-><=": {timedOut, 900 * time.Second},
		"a.go:5:6:1->2":  {survived, 120500 * time.Millisecond},
		"a.go:7:8:-->":   {survived, 90 * time.Second},
	}
	if len(got) != len(want) {
		t.Errorf("read %d mutants, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %+v, want %+v", id, got[id], w)
		}
	}
}

// failingTest names the first failing test of go test's output, or nothing.
func TestFailingTest(t *testing.T) {
	out := "=== RUN   TestA\n--- FAIL: TestA/sub (0.00s)\n--- FAIL: TestA (0.00s)\nFAIL\n"
	if got := failingTest(out); got != " TestA/sub" {
		t.Errorf("failingTest: %q", got)
	}
	if got := failingTest("# pkg\n./a.go:1:1: syntax error\nFAIL\tpkg [build failed]\n"); got != "" {
		t.Errorf("failingTest on a build failure: %q", got)
	}
}

// TestEquivalentListCurrent: every entry of the committed equivalence list
// names a mutation site of today's theory and oracle (the list is keyed by
// line and column, which move when the code does).
func TestEquivalentListCurrent(t *testing.T) {
	t.Chdir("../..")
	all, sources, err := allSites([]string{"./theory", "./oracle"})
	if err != nil {
		t.Fatal(err)
	}
	eq, err := readEquivalent("tools/mutate/equivalent.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(eq) == 0 {
		t.Fatal("the equivalence list is empty")
	}
	if stale := staleEquivalents(all, sources, eq); len(stale) > 0 {
		t.Errorf("stale entries of tools/mutate/equivalent.txt: %q", stale)
	}
}
