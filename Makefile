# flatmin: make targets. `make test` is what CI runs (see .ci/run).
GO       ?= go
FUZZTIME ?= 30s

.PHONY: all test verify fuzz bench golden-update lint

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

bench:
	$(GO) test -run '^$$' -bench . -count 5 ./numerics/...

# Rewrite the golden files; review the diff before committing.
golden-update:
	$(GO) test ./golden -update

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
