# dhcp_failover_exporter — build and test.
GO        ?= go
PROMTOOL  ?= promtool
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 60s
BINARY    := dhcp_failover_exporter
PKG       := github.com/dhcpfailover/dhcp_failover_exporter
# The release version is the VERSION file (as in the Prometheus projects);
# revision, branch, user and date are the build's.
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell id -un 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
# SOURCE_DATE_EPOCH (reproducible builds) wins over the current time.
BUILD_DATE ?= $(shell date -u $${SOURCE_DATE_EPOCH:+-d @$$SOURCE_DATE_EPOCH} +%Y%m%d-%H:%M:%S)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -X $(VPKG).Version=$(VERSION) \
             -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) \
             -X '$(VPKG).BuildUser=$(BUILD_USER)' \
             -X $(VPKG).BuildDate=$(BUILD_DATE)

# Release platforms as GOOS/GOARCH[/GOARM]; artefacts are named
# OS-ARCH with armv7 for linux/arm/v7, as promu names them.
PLATFORMS ?= linux/amd64 linux/arm64 linux/arm/v7 windows/amd64
BUILD_DIR   := .build
TARBALL_DIR := .tarballs

# Fuzz targets as package:FuzzName; `make fuzz` runs each for $(FUZZTIME).
FUZZ_TARGETS ?= failover:FuzzDecode failover:FuzzStream failover:FuzzPair \
                omapi:FuzzReadMessage kea:FuzzParseStatusGet kea:FuzzParseLeaseStats kea:FuzzParseRefusals kea:FuzzParseSubnet4List kea:FuzzParseConfig \
                leases:FuzzParser leases:FuzzDHCPDConf isclog:FuzzParseLine \
                peer:FuzzReassembly peer:FuzzPacket peer:FuzzCaptureFile journal:FuzzJournalFile dhcpsapi:FuzzWinDecode dhcpsapi:FuzzWinDecodeServer

.PHONY: all build build-windows test vet staticcheck windows-check unit lint-metrics fuzz bench bench-once clean mixin crossbuild tarball image packaging

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BINARY) .

build-windows:
	GOOS=windows GOARCH=amd64 $(GO) build -ldflags "$(LDFLAGS)" -o $(BINARY).exe .

# The test command of the README and of CI.
test: vet staticcheck windows-check unit lint-metrics packaging

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
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e /integration -e /e2e -e /packaging)
	$(GO) test -race -count=1 -timeout 20m -p 1 $(REALTIME_PKGS)
	$(MAKE) bench-once

# The Windows build, and vet of every package that is not Linux-only test
# tooling (namespace harness, integration and end-to-end tests).
windows-check:
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) vet $$($(GO) list ./... | grep -v -e /integration -e /internal/netnstest -e /internal/rootfs -e /e2e)

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

# Renders the monitoring mixin (mixin/) into alerts/*.rules.yml with
# go-jsonnet; `go test ./mixin` (part of `make unit`) fails when the
# committed output is stale.
mixin:
	$(GO) run ./mixin/gen

# Static release binaries for every platform, in .build/OS-ARCH/.
crossbuild:
	@set -e; for p in $(PLATFORMS); do \
		os=$$(echo $$p | cut -d/ -f1); arch=$$(echo $$p | cut -d/ -f2); arm=$$(echo $$p | cut -d/ -f3 | tr -d v); \
		dir=$$os-$$arch$${arm:+v$$arm}; ext=; [ $$os = windows ] && ext=.exe; \
		echo ">> building $$dir"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
			-o $(BUILD_DIR)/$$dir/$(BINARY)$$ext . ; \
	done

# One tarball per platform, as the Prometheus projects name them:
# .tarballs/dhcp_failover_exporter-VERSION.OS-ARCH.tar.gz, holding the binary,
# LICENSE, README.md, CHANGELOG.md, the example configurations, the alert
# rules, the dashboards, docs/ (which README links) and the mixin's jsonnet
# (mixin/, rendered with any jsonnet; the Go renderer stays in the source).
tarball: crossbuild
	@set -e; mkdir -p $(TARBALL_DIR); for d in $(BUILD_DIR)/*-*/; do \
		plat=$$(basename $$d); name=$(BINARY)-$(VERSION).$$plat; stage=$(BUILD_DIR)/stage/$$name; \
		rm -rf $$stage; mkdir -p $$stage; \
		cp $$d/$(BINARY)* $$stage/; \
		cp LICENSE README.md CHANGELOG.md $$stage/; \
		cp examples/dhcp_failover_exporter.yml $$stage/dhcp_failover_exporter.yml; \
		mkdir -p $$stage/alerts; cp alerts/*.rules.yml $$stage/alerts/; \
		mkdir -p $$stage/examples $$stage/dashboards $$stage/docs; \
		cp -r examples/systemd examples/*.yml $$stage/examples/; \
		cp dashboards/*.json $$stage/dashboards/; \
		cp docs/*.md $$stage/docs/; \
		mkdir -p $$stage/mixin; (cd mixin && find . \( -name '*.libsonnet' -o -name README.md \) -exec cp --parents {} ../$$stage/mixin/ \;); \
		echo ">> $(TARBALL_DIR)/$$name.tar.gz"; \
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$${SOURCE_DATE_EPOCH:-0} \
			-C $(BUILD_DIR)/stage -czf $(TARBALL_DIR)/$$name.tar.gz $$name; \
	done; rm -rf $(BUILD_DIR)/stage
	cd $(TARBALL_DIR) && sha256sum $(BINARY)-$(VERSION).*.tar.gz > sha256sums.txt

# The container image (Dockerfile) from the linux/amd64 release binary,
# with Debian's podman; no base image is pulled.
IMAGE ?= localhost/dhcp_failover_exporter:$(VERSION)
image: $(BUILD_DIR)/linux-amd64/$(BINARY)
	cp /etc/ssl/certs/ca-certificates.crt $(BUILD_DIR)/ca-certificates.crt
	podman build --pull=never --layers=false -t $(IMAGE) .

$(BUILD_DIR)/linux-amd64/$(BINARY):
	$(MAKE) crossbuild PLATFORMS=linux/amd64

# The shipped artefacts checked with the tools a user runs: the tarballs
# (--version, --config.check of the example), the container image (podman),
# the systemd units (systemd-analyze verify), the example Prometheus
# configurations (promtool check config).
packaging: tarball
	$(GO) test -count=1 -v -timeout 15m ./packaging

# Every benchmark, then scripts/bench.sh: the scale benchmarks summarised
# and the real binary at 1,000 relationships (scripts/bench.d/), each
# figure beside its anchor. Figures are printed, never asserted.
BENCH_PKGS = $$($(GO) list ./... | grep -v -e /integration -e /e2e -e /packaging)
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_PKGS)
	GO=$(GO) ./scripts/bench.sh

# Each benchmark once (-benchtime=1x), so that `make unit` (CI) keeps them
# compiling and running without spending a benchmark's time.
bench-once:
	$(GO) test -run '^$$' -bench . -benchtime=1x -count=1 $(BENCH_PKGS)

clean:
	rm -rf $(BINARY) $(BINARY).exe $(BUILD_DIR) $(TARBALL_DIR)
