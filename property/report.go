package property

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report is a run of the ledger: what `flatmin verify` prints.
type Report struct {
	Seed    uint64          `json:"seed"`
	Checks  int             `json:"cases_per_check"`
	Claims  []Result        `json:"claims"`
	Errata  []ErratumReport `json:"errata"`
	Summary Summary         `json:"summary"`
}

// ErratumReport is a misprint found, with rapid's minimal counterexample.
type ErratumReport struct {
	ID             string `json:"id"`
	Where          string `json:"where"`
	Printed        string `json:"printed"`
	Corrected      string `json:"corrected"`
	Counterexample string `json:"counterexample"`
}

// Summary counts the claims by status, and the negative controls caught.
type Summary struct {
	Verified       int `json:"verified"`
	Failed         int `json:"failed"`
	NotChecked     int `json:"not_yet_checked"`
	Reproduced     int `json:"reproduced"`
	NotReproduced  int `json:"not_reproduced"`
	Controls       int `json:"controls"`
	ControlsCaught int `json:"controls_caught"`
}

// OK reports whether no checked claim failed.
func (r Report) OK() bool { return r.Summary.Failed == 0 }

// RunLedger runs the claims with the given IDs (all when ids is empty) in
// ledger order. progress, if not nil, is called before each claim.
func RunLedger(opt Options, ids []string, progress func(i, n int, id string)) (Report, error) {
	if opt.Seed == 0 {
		opt.Seed = DefaultSeed
	}
	claims := Claims()
	if len(ids) > 0 {
		claims = claims[:0]
		for _, id := range ids {
			c, ok := Lookup(id)
			if !ok {
				return Report{}, fmt.Errorf("unknown claim ID %q (known: %s)", id, strings.Join(knownIDs(), ", "))
			}
			claims = append(claims, c)
		}
	}
	rep := Report{Seed: opt.Seed, Checks: opt.Checks, Errata: []ErratumReport{}}
	if rep.Checks == 0 {
		rep.Checks = 100 // rapid's default
	}
	for i, c := range claims {
		if progress != nil {
			progress(i, len(claims), c.ID)
		}
		res := Run(c, opt)
		rep.Claims = append(rep.Claims, res)
		switch res.Status {
		case Verified:
			rep.Summary.Verified++
		case Failed:
			rep.Summary.Failed++
		case Reproduced:
			rep.Summary.Reproduced++
		case NotReproduced:
			rep.Summary.NotReproduced++
		default:
			rep.Summary.NotChecked++
		}
		for _, cr := range res.Controls {
			rep.Summary.Controls++
			if cr.Caught {
				rep.Summary.ControlsCaught++
			}
			if cr.Erratum != nil && cr.Caught {
				rep.Errata = append(rep.Errata, ErratumReport{ID: c.ID, Where: cr.Erratum.Where,
					Printed: cr.Erratum.Printed, Corrected: cr.Erratum.Corrected, Counterexample: cr.Counterexample})
			}
		}
	}
	return rep, nil
}

func knownIDs() []string {
	var ids []string
	for _, c := range catalogue {
		ids = append(ids, c.ID)
	}
	return ids
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as the table `flatmin verify` prints.
func (r Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "flatmin verify: seed %d, %d cases per property check\n\n", r.Seed, r.Checks)
	fmt.Fprintf(w, "%-24s %-30s %11s  %-34s %s\n", "ID", "kind of check", "checked", "worst margin", "status")
	for _, c := range r.Claims {
		kind, cases, margin := c.Kind, "-", "-"
		if c.Status != NotChecked {
			cases = fmt.Sprintf("%d/%d", c.Checked, c.Cases)
		}
		if c.Worst != nil {
			margin = fmt.Sprintf("%.3g (%s)", *c.Worst, c.WorstAt)
			if r := []rune(margin); len(r) > 34 {
				margin = string(r[:33]) + "…"
			}
		}
		if kind == "" {
			kind = "(" + c.Planned + ")"
		}
		fmt.Fprintf(w, "%-24s %-30s %11s  %-34s %s\n", c.ID, kind, cases, margin, c.Status)
	}
	fmt.Fprintf(w, "\nchecked: cases decided by an assertion that could fail, of all cases; the others were vacuous (the claim trivially true there), undecided (a tolerance too wide to fail) or skipped (not applicable), and at least 1 in %d must be checked.\n", minCheckedShare)
	fmt.Fprintf(w, "worst margin: 1 - |error|/tolerance for an equality, relative slack for an inequality; >= 0 passes, 0 is at the edge.\n")
	for _, c := range r.Claims {
		if c.Status == Failed {
			fmt.Fprintf(w, "\nFAILED %s: %s\n", c.ID, c.Failure)
		}
		if c.Vacuous+c.Undecided+c.Skipped > 0 {
			fmt.Fprintf(w, "\n%s: %d checked, %d vacuous, %d undecided, %d skipped", c.ID, c.Checked, c.Vacuous, c.Undecided, c.Skipped)
		}
		if len(c.Tallies) > 0 {
			var parts []string
			for _, t := range c.Tallies {
				parts = append(parts, fmt.Sprintf("%s %d", t.Bucket, t.Count))
			}
			fmt.Fprintf(w, "\n%s cases: %s", c.ID, strings.Join(parts, ", "))
		}
	}
	for _, c := range r.Claims {
		for _, f := range c.Findings {
			fmt.Fprintf(w, "\n\n%s %s: %s\n  criterion: %s\n  observed:  %s", c.ID, f.Scale, outcome(f.Reproduced), f.Criterion, f.Observed)
		}
	}
	fmt.Fprintf(w, "\n\nnegative controls caught: %d of %d\n", r.Summary.ControlsCaught, r.Summary.Controls)
	if len(r.Errata) > 0 {
		fmt.Fprintf(w, "\nerrata (misprints of the paper; the ledger checks the corrected form):\n")
		for _, e := range r.Errata {
			fmt.Fprintf(w, "  %s: %s\n    printed:   %s\n    corrected: %s\n    minimal counterexample: %s\n",
				e.ID, e.Where, e.Printed, e.Corrected, e.Counterexample)
		}
	}
	fmt.Fprintf(w, "\n%d verified, %d failed, %d not yet checked; experiments: %d reproduced, %d not reproduced\n",
		r.Summary.Verified, r.Summary.Failed, r.Summary.NotChecked, r.Summary.Reproduced, r.Summary.NotReproduced)
}
