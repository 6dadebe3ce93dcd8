package golden

import (
	"testing"

	"github.com/flatmin/flatmin/property"
)

// TestVerifyReport pins the `flatmin verify --json` report for the default
// seed and case count: any change in a check, a generator, a tolerance or a
// margin shows up here as a reviewed diff.
func TestVerifyReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole ledger")
	}
	rep, err := property.RunLedger(property.Options{Checks: 1000}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "verify_report", rep)
}
