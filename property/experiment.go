package property

import (
	"fmt"
	"math"
)

// Finding is what one criterion of an experiment row found on the runs.
type Finding struct {
	Scale      string `json:"scale"` // "quick" (the default run) or "full" (--long)
	Criterion  string `json:"criterion"`
	Observed   string `json:"observed"`
	Reproduced bool   `json:"reproduced"`
}

// Criterion records whether an experiment's criterion, fixed before the
// runs, held on them: value >= threshold when atLeast, value <= threshold
// otherwise (NaN never holds). Its margin is the relative slack, negative
// when the criterion does not hold. It never fails the check: a figure
// that is not reproduced is a finding about the paper.
func (t *T) Criterion(criterion, observed string, value, threshold float64, atLeast bool) {
	held := value >= threshold
	room := value - threshold
	if !atLeast {
		held, room = value <= threshold, threshold-value
	}
	scale := "quick"
	if t.Long() {
		scale = "full"
	}
	t.rec.findings = append(t.rec.findings, Finding{Scale: scale, Criterion: criterion,
		Observed: fmt.Sprintf("%.4g against %.4g; %s", value, threshold, observed), Reproduced: held})
	m := room / math.Abs(threshold)
	if math.IsNaN(m) {
		m = math.Inf(-1)
	}
	t.margin(criterion, m)
}

func outcome(reproduced bool) Status {
	if reproduced {
		return Reproduced
	}
	return NotReproduced
}
