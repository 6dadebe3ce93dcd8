# flatmin: make targets. `make test` is what CI runs (see .ci/run).
GO       ?= go
FUZZTIME ?= 30s

.PHONY: all test verify fuzz bench bench-openblas bench-openblas-avx2 asm asm-check mnist mnist-check golden-update lint

all: lint test

# The README's test command.
test:
	$(GO) test ./...

# The main job: run the claims ledger on its embedded defaults.
verify:
	$(GO) run ./cmd/flatmin verify

# Run every fuzz target in turn for FUZZTIME each (go test -fuzz takes one
# target at a time). Targets are listed from the test files themselves.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME); \
		done; \
	done

# Kernel benchmarks against gonum (BENCHMARKS.md). Each -cpu value runs on
# its own with GOMAXPROCS to match: with b.Loop the first sample runs before
# -cpu takes effect. About ten minutes (gonum's Gram at n = 1000 is slow).
bench:
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -count 6 -cpu 1 ./numerics
	GOMAXPROCS=2 $(GO) test -run '^$$' -bench '(Gemm|Gram)$$/.*/impl=flatmin|(Dot|Axpy|Nrm2)/n=1e7/impl=flatmin' -count 6 -cpu 2 ./numerics

# The same sizes against OpenBLAS in a cgo module of its own; needs
# apt-get install -y libopenblas-dev. Cooperlake is its best kernel here.
bench-openblas:
	cd bench/openblas && GOMAXPROCS=1 env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Cooperlake $(GO) test -run '^$$' -bench . -count 6 -cpu 1

# The AVX2+FMA path (forced, also on an AVX-512 machine) against OpenBLAS's
# Haswell kernels, one core and two, and the FMA peak of one core
# (BENCHMARKS.md, "AVX2+FMA path").
bench-openblas-avx2:
	cd bench/openblas && GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -count 6 ./peak
	cd bench/openblas && GOMAXPROCS=1 FLATMIN_NUMERICS=avx2 OPENBLAS_CORETYPE=Haswell $(GO) test -run '^$$' -bench '(Gemm|Gram)$$' -count 6 -cpu 1
	cd bench/openblas && GOMAXPROCS=2 FLATMIN_NUMERICS=avx2 OPENBLAS_CORETYPE=Haswell $(GO) test -run '^$$' -bench '(Gemm|Gram)$$' -count 6 -cpu 2

# Regenerate the assembly with avo (numerics/_asm is a module of its own),
# and check that regenerating changes nothing.
asm:
	cd numerics/_asm && $(GO) run . -out ../asm_amd64.s -stubs ../asm_amd64.go -pkg numerics

asm-check:
	sh numerics/_asm/check.sh

# Regenerate the embedded MNIST subset from the GoMNIST module (needs the
# module proxy), and check that regenerating changes no byte.
mnist:
	$(GO) generate ./fixtures/mnist

mnist-check:
	sh fixtures/mnist/check.sh

# Rewrite the golden files; review the diff before committing.
golden-update:
	$(GO) test ./golden -update

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags purego ./numerics
	GOARCH=arm64 $(GO) vet ./numerics
