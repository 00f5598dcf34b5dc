# The README's two commands: `make quickstart` and `make test`.
GO ?= go

.PHONY: test vet quickstart bench fuzz browser-test

# test: everything CI runs. The MongoDB-compatible test server (FerretDB,
# built from tools/ferretdb) and a private PostgreSQL cluster
# (scripts/postgres.sh) are started for the whole race-detector pass and
# stopped afterwards; the churn test and the in-memory 100,000-message
# paging test (too slow under the race detector) run in their own pass;
# benchmarks run once each so they cannot rot.
test: vet
	cd tools/ferretdb && $(GO) test -count=1 ./...
	scripts/ferretdb.sh run -- scripts/postgres.sh run -- $(GO) test -race -count=1 -timeout 45m ./...
	$(GO) test -count=1 -run 'Churn' .
	$(GO) test -count=1 -run TestHundredThousandMessages ./storage/encrypted/
	scripts/ferretdb.sh run -- scripts/postgres.sh run -- $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...
	$(MAKE) browser-test

# browser-test: the e2e module drives Debian's chromium against the real
# server; it is installed when missing.
browser-test:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	cd e2e && $(GO) vet ./... && $(GO) test -race -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	cd tools/ferretdb && $(GO) vet ./...

quickstart:
	$(GO) run ./examples/quickstart

# bench: the hot-path benchmarks with allocation counts.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/ ./router/ ./broker/memory/ ./ratelimit/ ./session/ ./storage/memory/

# fuzz: fuzz the frame decoder for a minute (its seed corpus runs in `test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./protocol/
