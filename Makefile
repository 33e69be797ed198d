# dhcp_failover_exporter — build and test.
GO        ?= go
PROMTOOL  ?= promtool
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 60s
BINARY    := dhcp_failover_exporter
PKG       := github.com/dhcpfailover/dhcp_failover_exporter
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X github.com/prometheus/common/version.Version=$(VERSION) \
             -X github.com/prometheus/common/version.Revision=$(REVISION) \
             -X github.com/prometheus/common/version.Branch=main

# Fuzz targets as package:FuzzName; `make fuzz` runs each for $(FUZZTIME).
FUZZ_TARGETS ?= failover:FuzzDecode failover:FuzzStream failover:FuzzPair \
                omapi:FuzzReadMessage kea:FuzzParseStatusGet kea:FuzzParseLeaseStats leases:FuzzParser leases:FuzzDHCPDConf \
                peer:FuzzReassembly peer:FuzzPacket dhcpsapi:FuzzWinDecode

.PHONY: all build build-windows test vet staticcheck windows-check unit lint-metrics fuzz bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BINARY) .

build-windows:
	GOOS=windows GOARCH=amd64 $(GO) build -ldflags "$(LDFLAGS)" -o $(BINARY).exe .

# The test command of the README and of CI.
test: vet staticcheck windows-check unit lint-metrics

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }

staticcheck:
	$(STATICCHECK) ./...

# Unit tests first; then the tests that run real servers in real time
# (dhcpd, Kea, Prometheus, Alertmanager), one package at a time so that they
# do not compete with each other for a small machine's cores.
REALTIME_PKGS := ./integration ./e2e
unit:
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e /integration -e /e2e)
	$(GO) test -race -count=1 -timeout 20m -p 1 $(REALTIME_PKGS)

# The Windows build, and vet of every package that is not Linux-only test
# tooling (namespace harness, integration and end-to-end tests).
windows-check:
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) vet $$($(GO) list ./... | grep -v -e /integration -e /internal/netnstest -e /e2e)

# A scrape of the demo must pass `promtool check metrics` with no output.
lint-metrics: build
	./scripts/lint-demo-metrics.sh ./$(BINARY) $(PROMTOOL)

# A run that fails without writing a crasher to testdata/fuzz is the
# fuzzing engine giving up on a stalled worker (golang/go#56238 on a loaded
# machine), not a finding: it is run once more. A crasher always fails.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== fuzz $$pkg $$name ($(FUZZTIME))"; \
		before=$$(ls $$pkg/testdata/fuzz/$$name 2>/dev/null | wc -l); \
		if ! $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 2; then \
			after=$$(ls $$pkg/testdata/fuzz/$$name 2>/dev/null | wc -l); \
			if [ "$$after" != "$$before" ]; then echo "fuzz: $$pkg $$name found a crasher (testdata/fuzz/$$name)"; exit 1; fi; \
			echo "fuzz: $$pkg $$name failed without a crasher; running it once more"; \
			$(GO) test ./$$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 2; \
		fi; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -f $(BINARY) $(BINARY).exe
