package property

import "testing"

func FuzzLemmaC1(f *testing.F) { fuzzClaim(f, "lemma-c1") }
func FuzzThm21(f *testing.F)   { fuzzClaim(f, "thm-2.1") }
func FuzzProp24(f *testing.F)  { fuzzClaim(f, "prop-2.4") }
