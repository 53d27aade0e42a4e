# kirobar — `make test` runs every test, including the real-client
# end-to-end tests (Claude Code, Codex CLI) once .ci/setup installed them.

GO        ?= go
CLIENTS   ?= $(CURDIR)/.ci/clients
export KIROBAR_CLIENTS = $(CLIENTS)
PKGS      := ./...
FUZZTIME  ?= 30s

.PHONY: all test vet fmt-check unit cross build bench fuzz clean setup

all: build

test: vet fmt-check cross unit

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -timeout 40m $(PKGS)

# The tray builds for all three desktop OSes; darwin without cgo is headless.
cross:
	GOOS=linux   CGO_ENABLED=0 $(GO) build -o /dev/null .
	GOOS=windows CGO_ENABLED=0 $(GO) build -o /dev/null .
	GOOS=darwin  CGO_ENABLED=0 $(GO) build -o /dev/null .

build:
	$(GO) build -o bin/kirobar .

setup:
	bash .ci/setup

bench:
	$(GO) run ./internal/bench -out bench-report.md

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin bench-report.md
