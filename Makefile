# Switchboard. `make run` starts everything on the embedded default config;
# `make test` installs what the tests need and runs every test.

GO       ?= go
BIN      := bin/switchboard
# Commands the tests need, and the Debian package that brings each
# (kamailio lives in /usr/sbin, off a user's PATH).
NEEDS    := sipp:sip-tester baresip:baresip-core chromium:chromium xmllint:libxml2-utils svcrack:sipvicious kamailio:kamailio

.PHONY: run build dist test deps deps-debian vet bench fuzz screenshots clean

# The version, commit and build date `switchboard version` prints.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

run: build
	./$(BIN) serve

# dist builds static release binaries (no cgo) for Linux on amd64 and
# arm64 into dist/ (git-ignored), with their SHA-256 sums.
PLATFORMS := linux/amd64 linux/arm64
dist:
	rm -rf dist && mkdir -p dist
	@for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
	  echo "building switchboard $(VERSION) for $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' \
	    -o dist/switchboard-$(VERSION)-$$os-$$arch ./cmd/switchboard || exit 1; done
	cd dist && sha256sum switchboard-* > SHA256SUMS && cat SHA256SUMS

# axe-core, the accessibility rules the browser tests check the widget and
# the console with, comes from the npm registry into .cache (git-ignored).
AXE      := axe-core@4.14.1
AXE_JS   := .cache/axe-core/node_modules/axe-core/axe.min.js

# deps installs what the tests drive: Debian's packages and axe-core.
deps: deps-debian $(AXE_JS)
$(AXE_JS):
	@command -v npm >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	npm install --prefix .cache/axe-core --no-save --no-audit --no-fund --silent $(AXE)

# deps-debian installs the Debian packages the tests drive (SIPp, baresip,
# chromium, xmllint, SIPVicious, Kamailio) when their commands are missing
# from PATH and /usr/sbin.
deps-debian:
	@missing=""; for pair in $(NEEDS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# STATICCHECK is pinned: its findings do not change under the tests' feet.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

test: deps vet
	$(GO) test -race -count=1 -timeout 12m ./...

# bench runs SIPp at rising rates against a started switchboard, wrk on the
# availability API next to nginx, and the Go benchmarks, and prints a table.
# It installs wrk and nginx-light when missing (nginx lives in /usr/sbin).
bench: deps
	@missing=""; for pair in wrk:wrk nginx:nginx-light; do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(GO) run ./tools/sbbench

# screenshots saves the widget's states and the console, as the browser
# tests drive them, into screenshots/ (git-ignored).
screenshots: deps
	rm -rf screenshots && mkdir -p screenshots
	SCREENSHOTS_DIR=$(CURDIR)/screenshots $(GO) test -count=1 -run 'PassAxe|French|Mute|Launcher|Chat|WidgetFollows|Softphone|Supervisor|Holds' ./cmd/switchboard
	@ls screenshots

# fuzz gives each fuzz target a short run; corpora live in testdata/fuzz.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParseDocument -fuzztime=30s ./presence/pidf
	$(GO) test -run='^$$' -fuzz=FuzzParseDocument -fuzztime=30s ./presence/dialoginfo
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=30s ./sip/digestauth
	$(GO) test -run='^$$' -fuzz=FuzzPublish -fuzztime=30s ./sip
	$(GO) test -run='^$$' -fuzz=FuzzCallRequests -fuzztime=30s ./sip
	$(GO) test -run='^$$' -fuzz=FuzzDatagram -fuzztime=30s ./sip
	$(GO) test -run='^$$' -fuzz=FuzzInspect -fuzztime=30s ./sip
	$(GO) test -run='^$$' -fuzz=FuzzSDP -fuzztime=30s ./media
	$(GO) test -run='^$$' -fuzz=FuzzNormalize -fuzztime=30s ./calls
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRecord -fuzztime=30s ./store

clean:
	rm -rf bin dist .cache screenshots
