# The verbs a person types. Each is one command from the README; CI runs the same ones.
#
#   make conformance                      the suite against the bundled reference provider
#   make conformance SUITE_FLAGS='--provider-url=http://localhost:8080 --strict'
#   make test                             the project's own tests
#   make proof                            the fault-injection table: every fault and what caught it
#   make reference / make consumer        the reference provider and consumer by hand
#   make reference REFERENCE_FLAGS='--fixtures --dev-tls'   … with the suite's fixtures, over TLS

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
	go tool ginkgo $(GINKGO_FLAGS) --junit-report=junit.xml --json-report=report.json --output-dir=$(REPORTS) ./suite -- \
		--summary-md=$(REPORTS)/summary.md --summary-html=$(REPORTS)/summary.html \
		--results-json=$(REPORTS)/results.json --results-junit=$(REPORTS)/results-junit.xml $(SUITE_FLAGS)

proof:
	go test -count=1 -v -run 'TestFaultsAreCaught|TestControlsPassStrict' ./suite/proof | grep -v -E '^(=== |    --- PASS|--- PASS)'

REFERENCE_FLAGS ?=

reference:
	go run ./reference/cmd/provider $(REFERENCE_FLAGS)

consumer:
	go run ./reference/cmd/consumer

vet:
	go vet ./...

fmt:
	gofmt -l -w .

coverage:
	go tool ginkgo --dry-run --no-color ./suite -- --coverage

# Performance, memory and robustness evidence for the reference provider.
#   make bench                                  the shipped provider binary vs a bare net/http server
#                                               under wrk (servers on one core, wrk on the other),
#                                               saturation shown; then the memory check. Exits 1 when
#                                               a goal is missed. Installs wrk (Debian) when missing.
#   make bench BENCH_FLAGS='-d 3s -rounds 7'    longer load measurements (flags of reference/cmd/bench)
#   make bench-go                               Go benchmarks of the hot paths
#   make fuzz FUZZTIME=20s                      each fuzz target of reference/provider in turn

BENCH_FLAGS ?=
BENCH_DIR ?= $(or $(TMPDIR),/tmp)/ccconform-bench
BENCHTIME ?= 1s
FUZZTIME ?= 10s

.PHONY: bench bench-go bench-load bench-memory bench-tools fuzz

bench: bench-load bench-memory

bench-tools:
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)

bench-load: bench-tools
	mkdir -p $(BENCH_DIR)
	go build -o $(BENCH_DIR)/provider ./reference/cmd/provider
	go build -o $(BENCH_DIR)/bench ./reference/cmd/bench
	$(BENCH_DIR)/bench -provider $(BENCH_DIR)/provider $(BENCH_FLAGS)

bench-memory:
	go run ./reference/cmd/bench -memory

bench-go:
	go test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./reference/provider

fuzz:
	go test -run='^$$' -fuzz='^FuzzParseBasic$$' -fuzztime=$(FUZZTIME) ./reference/provider
	go test -run='^$$' -fuzz='^FuzzBearerChallenge$$' -fuzztime=$(FUZZTIME) ./reference/provider
	go test -run='^$$' -fuzz='^FuzzTokenRequest$$' -fuzztime=$(FUZZTIME) ./reference/provider
	go test -run='^$$' -fuzz='^FuzzBearerRequest$$' -fuzztime=$(FUZZTIME) ./reference/provider

speed:
	go test -count=1 -v -run 'TestSuiteSpeed' ./suite/proof | grep -E 'speed_test|^(ok|FAIL|---)'
