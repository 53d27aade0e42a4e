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
# Vetting every package (tests included) for windows and darwin keeps
# `make test` working for contributors on those systems too.
cross:
	GOOS=linux   CGO_ENABLED=0 $(GO) build -o /dev/null .
	GOOS=windows CGO_ENABLED=0 $(GO) build -o /dev/null .
	GOOS=darwin  CGO_ENABLED=0 $(GO) build -o /dev/null .
	GOOS=windows CGO_ENABLED=0 $(GO) vet ./...
	GOOS=darwin  CGO_ENABLED=0 $(GO) vet ./...

build:
	$(GO) build -o bin/kirobar .

setup:
	bash .ci/setup

bench:
	$(GO) run ./cmd/kirobench -out bench-report.md $(BENCHFLAGS)

# Runs every fuzz target in the repository for FUZZTIME each. A crasher
# is written to the package's testdata/fuzz/<Target>/; committed, it runs
# as a regression test in every `go test` (as do the seed corpora there).
# FUZZMINTIME bounds the minimisation of each new input, which otherwise
# takes up to a minute of the fuzzing time with large seeds.
FUZZMINTIME ?= 5s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
	  done || exit 1; \
	done

clean:
	rm -rf bin bench-report.md
