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

.PHONY: test conformance strict reports proof reference consumer vet fmt coverage speed

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

# Performance, memory and robustness evidence for the reference provider.
#   make bench                                  Go benchmarks, loopback load vs a bare server, memory check
#   make bench BENCH_FLAGS='-d 5s -rounds 5'    longer load measurements (flags of reference/cmd/bench)
#   make fuzz FUZZTIME=20s                      each fuzz target of reference/provider in turn

BENCH_FLAGS ?=
BENCHTIME ?= 1s
FUZZTIME ?= 10s

.PHONY: bench bench-go bench-load bench-memory fuzz

bench: bench-go bench-load bench-memory

bench-go:
	go test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./reference/provider

bench-load:
	go run ./reference/cmd/bench $(BENCH_FLAGS)

bench-memory:
	go run ./reference/cmd/bench -memory

fuzz:
	go test -run='^$$' -fuzz='^FuzzParseBasic$$' -fuzztime=$(FUZZTIME) ./reference/provider
	go test -run='^$$' -fuzz='^FuzzBearerChallenge$$' -fuzztime=$(FUZZTIME) ./reference/provider
	go test -run='^$$' -fuzz='^FuzzTokenRequest$$' -fuzztime=$(FUZZTIME) ./reference/provider
	go test -run='^$$' -fuzz='^FuzzBearerRequest$$' -fuzztime=$(FUZZTIME) ./reference/provider

speed:
	go test -count=1 -v -run 'TestSuiteSpeed' ./suite/proof | grep -E 'speed_test|^(ok|FAIL|---)'
