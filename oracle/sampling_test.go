package oracle

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flatmin/flatmin/theory"
)

// TestMomentsClosedForms: the batch moments at small n and B. With
// replacement C1 = 1 - 1/B, C2 = 1/(Bn): n = 4, B = 2 gives 1/2 and 1/8.
// Without, C1 = (B-1)n/(B(n-1)) and C2 = (n-B)/(Bn(n-1)): n = 5, B = 2
// gives 5/8 and 3/40. n = 1 is C1 = 0, C2 = 1 either way (one sample:
// every batch is it). Each computed moment is within two roundings (2u
// relative) of its exact value, and the constant written here within one
// (3u in all).
func TestMomentsClosedForms(t *testing.T) {
	for _, c := range []struct {
		s      Sampling
		n, b   int
		c1, c2 float64
	}{
		{WithReplacement, 4, 2, 0.5, 0.125},
		{WithReplacement, 1, 1, 0, 1},
		{WithReplacement, 1, 3, 2.0 / 3, 1.0 / 3},
		{WithReplacement, 3, 4, 0.75, 1.0 / 12},
		{WithoutReplacement, 5, 2, 0.625, 3.0 / 40},
		{WithoutReplacement, 1, 1, 0, 1},
		{WithoutReplacement, 2, 1, 0, 0.5},
		{WithoutReplacement, 4, 4, 1, 0},
	} {
		m, err := c.s.Moments(c.n, c.b)
		if err != nil {
			t.Errorf("%v, n = %d, B = %d: %v", c.s, c.n, c.b, err)
			continue
		}
		if !(math.Abs(m.C1-c.c1) <= 3*unitRoundoff*c.c1) || !(math.Abs(m.C2-c.c2) <= 3*unitRoundoff*c.c2) {
			t.Errorf("%v, n = %d, B = %d: %+v, want C1 = %v, C2 = %v", c.s, c.n, c.b, m, c.c1, c.c2)
		}
	}
}

// TestMomentsErrors: n < 1, B < 1, B > n without replacement and an
// unknown sampling are refused, each naming its argument.
func TestMomentsErrors(t *testing.T) {
	for _, c := range []struct {
		s     Sampling
		n, b  int
		kind  error
		where string
	}{
		{WithReplacement, 0, 1, theory.ErrEmpty, "n: "},
		{WithoutReplacement, -1, 1, theory.ErrEmpty, "n: "},
		{WithReplacement, 3, 0, theory.ErrParam, "B: "},
		{WithoutReplacement, 3, -2, theory.ErrParam, "B: "},
		{WithoutReplacement, 3, 4, theory.ErrParam, "B: "},
		{WithoutReplacement, 1, 2, theory.ErrParam, "B: "},
		{Sampling(2), 3, 1, theory.ErrParam, "sampling: "},
		{Sampling(-1), 3, 1, theory.ErrParam, "sampling: "},
	} {
		_, err := c.s.Moments(c.n, c.b)
		if !errors.Is(err, c.kind) || !strings.HasPrefix(err.Error(), c.where) {
			t.Errorf("%v, n = %d, B = %d: %v, want %v on %q", c.s, c.n, c.b, err, c.kind, c.where)
		}
	}
	// B = n without replacement is allowed (GD), and B > n with replacement.
	if _, err := WithoutReplacement.Moments(3, 3); err != nil {
		t.Errorf("B = n = 3 without replacement: %v", err)
	}
}

// TestNames: the samplings and verdicts print as words, unknown values as
// their number, and a verdict marshals to JSON as its word.
func TestNames(t *testing.T) {
	for _, c := range []struct {
		got  string
		want string
	}{
		{WithReplacement.String(), "with replacement"},
		{WithoutReplacement.String(), "without replacement"},
		{Sampling(5).String(), "Sampling(5)"},
		{Stable.String(), "stable"},
		{Unstable.String(), "unstable"},
		{Undecided.String(), "undecided"},
		{Verdict(7).String(), "Verdict(7)"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	b, err := json.Marshal(map[string]Verdict{"v": Unstable})
	if err != nil || string(b) != `{"v":"unstable"}` {
		t.Errorf("JSON of Unstable: %s, %v", b, err)
	}
}

// TestDecide: stable for η <= Lo (the end included: η* >= Lo is proven),
// unstable for η > Hi (η = Hi may be η* itself, which is stable),
// undecided between.
func TestDecide(t *testing.T) {
	iv := Interval{Value: 2, Lo: 1, Hi: 3}
	for _, c := range []struct {
		eta  float64
		want Verdict
	}{{0.5, Stable}, {1, Stable}, {math.Nextafter(1, 2), Undecided}, {2, Undecided}, {3, Undecided}, {math.Nextafter(3, 4), Unstable}, {10, Unstable}} {
		if got := iv.Decide(c.eta); got != c.want {
			t.Errorf("η = %v in [1, 3]: %v, want %v", c.eta, got, c.want)
		}
	}
}

// TestAround: the exact path's interval is v ± 1e-12|v|, for either sign
// of v, and an infinite v is its own interval.
func TestAround(t *testing.T) {
	for _, v := range []float64{2, -2} {
		iv := around(v)
		if iv.Value != v || iv.Lo != v-2e-12 || iv.Hi != v+2e-12 {
			t.Errorf("around(%v) = %+v, want %v ± 2e-12", v, iv, v)
		}
	}
	for _, v := range []float64{math.Inf(1), math.Inf(-1)} {
		if iv := around(v); iv.Value != v || iv.Lo != v || iv.Hi != v {
			t.Errorf("around(%v) = %+v", v, iv)
		}
	}
}
