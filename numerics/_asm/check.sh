#!/bin/sh
# Regenerates numerics/asm_amd64.s and numerics/asm_amd64.go with avo and
# fails if either changes: the committed assembly is what the generator makes.
# Needs the Go module proxy (avo is a dependency of this module only).
set -eu
cd "$(dirname "$0")"
saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT
cp ../asm_amd64.s ../asm_amd64.go "$saved"/
go run . -out ../asm_amd64.s -stubs ../asm_amd64.go -pkg numerics
status=0
for f in asm_amd64.s asm_amd64.go; do
	if ! cmp -s "$saved/$f" "../$f"; then
		echo "numerics/$f is stale: regenerate it with go generate ./numerics" >&2
		diff -u "$saved/$f" "../$f" | head -40 >&2 || true
		status=1
	fi
done
# AVX2 functions must not name the registers only AVX-512 has.
if awk '/^TEXT .*AVX2/ {on=1} /^TEXT .*AVX512/ {on=0} on' ../asm_amd64.s | grep -Eq '\b[XYZ](1[6-9]|2[0-9]|3[01])\b|\bZ[0-9]'; then
	echo "numerics/asm_amd64.s: an AVX2 function uses an AVX-512 register" >&2
	status=1
fi
exit $status
