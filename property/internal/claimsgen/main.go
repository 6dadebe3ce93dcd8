// Command claimsgen writes CLAIMS.md, the claims catalogue, from the ledger
// of package property (property.WriteCatalogue). go generate ./property runs
// it; .ci/run runs it again and fails if the committed file differs.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/flatmin/flatmin/property"
)

func main() {
	out := flag.String("out", "CLAIMS.md", "file to write")
	flag.Parse()
	var b bytes.Buffer
	if err := property.WriteCatalogue(&b); err != nil {
		fmt.Fprintln(os.Stderr, "claimsgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "claimsgen:", err)
		os.Exit(1)
	}
}
