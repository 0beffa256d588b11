# The verbs a person types. Each is one command from the README; CI runs the same ones.
#
#   make conformance                      the suite against the bundled reference provider
#   make conformance SUITE_FLAGS='--provider-url=http://localhost:8080 --strict'
#   make test                             the project's own tests
#   make proof                            the fault-injection table: every fault and what caught it
#   make reference / make consumer        the reference provider and consumer by hand

SHELL := bash
.SHELLFLAGS := -o pipefail -c

GINKGO_FLAGS ?=
SUITE_FLAGS ?=
REPORTS ?= reports

.PHONY: test conformance strict reports proof reference consumer vet fmt coverage

test:
	go test ./...

conformance:
	go tool ginkgo $(GINKGO_FLAGS) ./suite -- $(SUITE_FLAGS)

strict:
	go tool ginkgo $(GINKGO_FLAGS) ./suite -- --strict $(SUITE_FLAGS)

reports:
	mkdir -p $(REPORTS)
	go tool ginkgo $(GINKGO_FLAGS) --junit-report=junit.xml --json-report=report.json --output-dir=$(REPORTS) ./suite -- $(SUITE_FLAGS)

proof:
	go test -count=1 -v -run 'TestFaultsAreCaught|TestControlsPassStrict' ./suite/proof | grep -v -E '^(=== |    --- PASS|--- PASS)'

reference:
	go run ./reference/cmd/provider

consumer:
	go run ./reference/cmd/consumer

vet:
	go vet ./...

fmt:
	gofmt -l -w .

coverage:
	go tool ginkgo --dry-run --no-color ./suite -- --coverage
