package property

import "testing"

// Fuzz targets for the Section 3 claims (see fuzz_test.go), for example
//
//	go test ./property -run XXX -fuzz FuzzThm33 -fuzztime 30s
func FuzzLemma32(f *testing.F)               { fuzzClaim(f, "lemma-3.2") }
func FuzzThm33(f *testing.F)                 { fuzzClaim(f, "thm-3.3") }
func FuzzProp34(f *testing.F)                { fuzzClaim(f, "prop-3.4") }
func FuzzThm36(f *testing.F)                 { fuzzClaim(f, "thm-3.6") }
func FuzzLemma37(f *testing.F)               { fuzzClaim(f, "lemma-3.7") }
func FuzzGDStability(f *testing.F)           { fuzzClaim(f, "gd-stability") }
func FuzzSec33Noise(f *testing.F)            { fuzzClaim(f, "sec-3.3-noise") }
func FuzzExtWithoutReplacement(f *testing.F) { fuzzClaim(f, "ext-without-replacement") }
