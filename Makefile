# The README's two commands: `make quickstart` and `make test`.
GO ?= go

.PHONY: test vet quickstart bench fuzz browser-test js-test

# test: everything CI runs. The MongoDB-compatible test server (FerretDB,
# built from tools/ferretdb), a private PostgreSQL cluster
# (scripts/postgres.sh) and a private Redis (scripts/redis.sh) are started
# once for the whole race-detector pass and stopped afterwards, and again for
# the benchmark pass (the root package's end-to-end tests run a second time
# with PostgreSQL as the Server's store, CHATBOX_TEST_STORE=postgres); the
# churn test and the in-memory 100,000-message paging test (too slow under the race detector) run in their own pass;
# benchmarks run once each so they cannot rot.
test: vet js-test
	cd tools/ferretdb && $(GO) test -count=1 ./...
	cd examples/routers && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	scripts/ferretdb.sh run -- scripts/postgres.sh run -- scripts/redis.sh run -- \
		sh -c '$(GO) test -race -count=1 -timeout 45m ./... && CHATBOX_TEST_STORE=postgres $(GO) test -race -count=1 -timeout 20m .'
	$(GO) test -count=1 -run 'Churn' .
	$(GO) test -count=1 -run TestHundredThousandMessages ./storage/encrypted/
	scripts/ferretdb.sh run -- scripts/postgres.sh run -- scripts/redis.sh run -- $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...
	$(MAKE) browser-test

# browser-test: the e2e module drives Debian's chromium against the real
# server; it is installed when missing. Its accessibility check injects
# axe-core from widget/jstest's dev tools.
browser-test: widget/jstest/node_modules
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	cd e2e && $(GO) vet ./... && $(GO) test -race -count=1 ./...

# js-test: the widget's JavaScript unit tests (node's test runner) and the
# TypeScript check of chatbox.d.ts; npm installs only the pinned dev tools.
js-test: widget/jstest/node_modules
	cd widget/jstest && node --test && npx --no-install tsc -p tsconfig.json

widget/jstest/node_modules: widget/jstest/package.json widget/jstest/package-lock.json
	cd widget/jstest && npm ci --no-audit --no-fund
	touch $@

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	cd tools/ferretdb && $(GO) vet ./...

quickstart:
	$(GO) run ./examples/quickstart

# bench: the hot-path benchmarks with allocation counts.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/ ./internal/engine/ ./broker/memory/ ./ratelimit/ ./internal/registry/ ./storage/memory/

# fuzz: fuzz the frame decoder for a minute (its seed corpus runs in `test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./protocol/
