# The verbs a person types. Each is one command from the README; CI runs the same ones.
#
#   make install                          go install ./cmd/ccconform: the ccconform command
#   make conformance                      the suite against the bundled reference provider
#   make conformance SUITE_FLAGS='--provider-url=http://localhost:8080 --strict'
#   make test                             the project's own tests
#   make proof                            the fault-injection table: every fault and what caught it
#   make reference / make consumer        the reference provider and consumer by hand
#   make reference REFERENCE_FLAGS='--fixtures --dev-tls'   … with the suite's fixtures, over TLS
#   make consumer PROVIDER_URL=https://auth.example.com     … the consumer against any provider
#   make test-binary                      the suite as a test binary, bin/suite.test
#   make release-binary GOOS=… GOARCH=…   a release archive in dist/ (the release workflow)
#   make image                            the container image, built by ko, as dist/ccconform-image.tar
#   make image-check                      … where no registry can be reached, and its command run

SHELL := bash
.SHELLFLAGS := -o pipefail -c

GINKGO_FLAGS ?=
SUITE_FLAGS ?=
REPORTS ?= reports

.PHONY: test conformance strict reports proof reference consumer vet fmt coverage speed install test-binary

install:
	go install -buildvcs=auto ./cmd/ccconform

# A test binary built where `go tool ginkgo ./suite` does not write: that command compiles the
# suite to suite/suite.test and deletes it after the run, so a binary left there is lost.
test-binary:
	mkdir -p bin
	go tool ginkgo build -o bin/suite.test ./suite

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

PROVIDER_URL ?=

consumer:
	go run ./reference/cmd/consumer $(if $(PROVIDER_URL),--provider-url=$(PROVIDER_URL))

vet:
	go vet ./...

fmt:
	gofmt -l -w .

coverage:
	go tool ginkgo --dry-run --no-color ./suite -- --coverage

# Releases: the command for one platform (GOOS and GOARCH, as go build takes them), stamped with
# VERSION, in an archive named as the reusable workflow downloads it; and the container image,
# built by ko (tools/go.mod) without a Docker daemon.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOOS ?= $(shell go env GOOS)
GOARCH ?= $(shell go env GOARCH)
LDFLAGS := -s -w -X github.com/ccconform/ccconform/suite.Version=$(VERSION)
RELEASE := ccconform_$(VERSION)_$(GOOS)_$(GOARCH)
KO := go tool -modfile=tools/go.mod ko
KO_DOCKER_REPO ?= ghcr.io/ccconform/ccconform

.PHONY: release-binary image image-push image-check

release-binary:
	rm -rf dist/$(RELEASE) && mkdir -p dist/$(RELEASE)
	CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) go build -trimpath -ldflags '$(LDFLAGS)' -o dist/$(RELEASE)/ ./cmd/ccconform
	cp LICENSE README.md dist/$(RELEASE)/
	if [ "$(GOOS)" = windows ]; then cd dist && zip -qr $(RELEASE).zip $(RELEASE); else tar -C dist -czf dist/$(RELEASE).tar.gz $(RELEASE); fi
	rm -rf dist/$(RELEASE)

image:
	mkdir -p dist
	KO_DOCKER_REPO=$(KO_DOCKER_REPO) GOFLAGS='-ldflags=-X=github.com/ccconform/ccconform/suite.Version=$(VERSION)' \
		$(KO) build --bare --push=false --platform=linux/amd64 --tarball=dist/ccconform-image.tar ./cmd/ccconform

# The image built offline, from a throwaway local registry's empty base, and its command run.
image-check:
	tools/image-check.sh

image-push:
	GOFLAGS='-ldflags=-X=github.com/ccconform/ccconform/suite.Version=$(VERSION)' \
		$(KO) build --bare --platform=linux/amd64,linux/arm64 --tags=$(VERSION) ./cmd/ccconform

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
