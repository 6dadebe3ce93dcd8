package property

import "fmt"

// Every claim that bounds something has a near-edge control: its own
// checks, on the same generator, with every bound of T.AtMost and
// T.AtLeast moved nearEdgeDelta of its size toward the other side (an
// upper bound b to b - δ|b|, a lower one to b + δ|b|). It is caught only
// if some case comes within δ of a bound, which shows that the generator
// reaches the edge where the claim is tight: the other controls (a dropped
// factor 2, a misprint) are caught far from it.
const nearEdgeDelta = 0.05

// boundingClaims are the claims whose checks compare against a bound.
// TestBoundingClaimsListed keeps the list exact.
var boundingClaims = []string{"def-alignment", "thm-2.1", "lemma-2.3", "lemma-3.2", "lemma-e.1",
	"lemma-e.2", "thm-3.3", "prop-3.4", "thm-3.6", "lemma-3.7", "gd-stability", "sec-3.3-noise", "ext-without-replacement"}

// nearEdgeExempt are the claims that bound something without a near-edge
// control, and why.
var nearEdgeExempt = map[string]string{
	"prop-2.4": "statistical: its ε_n budgets are far wider than 5% of the bounds, and each case is a sweep over n and m",
	"prop-d.7": "statistical: its ε_n budgets are far wider than 5% of the bounds, and each case is a sweep over n and m",
}

func init() {
	for _, id := range boundingClaims {
		addControl(id, Control{Name: "near-edge",
			Wrong: fmt.Sprintf("every bound tightened by %g%% of its size", 100*nearEdgeDelta),
			Run:   nearEdge(id)})
	}
}

// nearEdge runs the checks of claim id with its bounds tightened. The
// claim is looked up when the control runs, after every file's init has
// attached its checks.
func nearEdge(id string) func(*T) {
	return func(t *T) {
		c, _ := Lookup(id)
		t.tighten = nearEdgeDelta
		for _, chk := range c.Checks {
			chk.Run(t)
		}
	}
}
