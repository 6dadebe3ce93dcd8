package property

import (
	"fmt"
	"io"
	"strings"
)

//go:generate go run ./internal/claimsgen -out ../CLAIMS.md

// WriteCatalogue writes CLAIMS.md, the claims catalogue, from the ledger:
// every claim's ID, where the paper makes it, its statement, the kinds of
// check it asks for, the checks and negative controls registered for it,
// and the misprints of the paper those controls show. It holds only what
// the code states, never what a run found (cases, margins, verdicts), so
// it changes exactly when a claim, check or control does; `flatmin verify`
// prints the rest. .ci/run regenerates it and fails on a difference.
func WriteCatalogue(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`# The claims catalogue

<!-- Generated from the ledger of package property by "go generate ./property"; edit the ledger, not this file. -->

Every claim that flatmin checks in Wu, Wang and Su, *When does SGD favor flat minima? A
quantitative characterization via linear stability* (2022), with the ID that ` + "`flatmin verify`" + `,
the tests (` + "`TestLedger/<ID>/<check>`, `TestControls/<ID>/<control>`" + `) and the code use. For each
claim: the statement as the ledger checks it, the kinds of check it asks for, the checks that
run, and the negative controls, deliberately wrong variants that the same checks must catch.
What a run finds (cases, worst margins, whether an experiment reproduced its figure) is not
here: ` + "`flatmin verify`" + ` prints it.

Kinds of check, strongest first:

`)
	for _, k := range []Kind{Exact, Property, Statistical, Experiment} {
		fmt.Fprintf(&b, "- **%s**: %s.\n", k, k.Describe())
	}

	b.WriteString("\n## Claims\n\n| ID | where | asks for | status |\n|---|---|---|---|\n")
	for _, c := range catalogue {
		status := "checked"
		if !c.Checked() {
			status = string(NotChecked)
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", c.ID, c.ID, paperPart(c.Section), joinKinds(c.Kinds), status)
	}

	for _, c := range catalogue {
		fmt.Fprintf(&b, "\n<a id=\"%s\"></a>\n### `%s` (%s)\n\n%s\n\nAsks for: %s.\n", c.ID, c.ID, paperPart(c.Section), c.Statement, joinKinds(c.Kinds))
		if c.Note != "" {
			fmt.Fprintf(&b, "\nNote, not machine-checkable: %s.\n", c.Note)
		}
		if !c.Checked() {
			b.WriteString("\nNot yet checked: `flatmin verify` reports it as such, never as verified.\n")
		} else {
			b.WriteString("\nChecks:\n\n")
			for _, chk := range c.Checks {
				fmt.Fprintf(&b, "- `%s` (%s%s)\n", chk.Name, chk.Kind, fixedCases(chk.Cases))
			}
		}
		if len(c.Controls) > 0 {
			b.WriteString("\nNegative controls, each of which must fail:\n\n")
			for _, ctl := range c.Controls {
				fmt.Fprintf(&b, "- `%s`: %s", ctl.Name, ctl.Wrong)
				if ctl.Erratum != nil {
					b.WriteString(" (the paper's printed form: see [Errata](#errata))")
				}
				b.WriteString("\n")
			}
		}
	}

	b.WriteString("\n<a id=\"errata\"></a>\n## Errata\n\nMisprints of the paper, each shown by a negative control that asserts the printed form; the ledger checks the corrected one.\n")
	for _, c := range catalogue {
		for _, ctl := range c.Controls {
			if e := ctl.Erratum; e != nil {
				fmt.Fprintf(&b, "\n- [`%s`](#%s), %s (control `%s`)\n  - printed: %s\n  - corrected: %s\n", c.ID, c.ID, e.Where, ctl.Name, e.Printed, e.Corrected)
			}
		}
	}
	for _, c := range catalogue {
		if c.Note != "" {
			fmt.Fprintf(&b, "\nNot machine-checkable, on [`%s`](#%s): %s.\n", c.ID, c.ID, c.Note)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// paperPart names a catalogue row's Section: a number is a section of the
// paper, a letter an appendix, "beyond" an extension the paper does not
// state.
func paperPart(s string) string {
	switch {
	case s == "beyond":
		return "beyond the paper"
	case s != "" && s[0] >= 'A' && s[0] <= 'Z':
		return "Appendix " + s
	default:
		return "Section " + s
	}
}

// fixedCases notes a check that runs a fixed number of cases in place of
// rapid's count (a deterministic computation, a training run).
func fixedCases(n int) string {
	switch {
	case n == 1:
		return ", one case"
	case n > 1:
		return fmt.Sprintf(", %d cases", n)
	}
	return ""
}
