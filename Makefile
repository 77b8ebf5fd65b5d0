# hookstream — every developer and CI entry point.
# The pinned Node 24 that scripts/setup.sh unpacks (when the machine's node is
# older) and the current nats-server it provisions (scripts/nats-server.sh)
# come first on PATH for every recipe.
SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export PATH := $(ROOT)/.tools/node/bin:$(ROOT)/.tools/nats/bin:$(ROOT)/node_modules/.bin:/usr/sbin:$(PATH)
export npm_config_nodedir := $(ROOT)/.tools/node
# The official Node binary does not read the system CA store (see scripts/setup.sh).
NODE_EXTRA_CA_CERTS ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
export NODE_EXTRA_CA_CERTS
TEST_FILES := 'packages/*/test/**/*.test.ts' 'services/*/test/**/*.test.ts' 'test/**/*.test.ts'
# The pure tests: no nats-server, ClickHouse or browser (integration tests are *.int.test.ts, browser tests *.browser.test.ts).
UNIT_FILES = $(shell find packages services test -name '*.test.ts' -not -name '*.int.test.ts' -not -name '*.browser.test.ts' -not -path '*/node_modules/*')

.PHONY: help setup setup-browser build up down status typecheck lint lint-exports format check-proto test test-unit chaos fuzz bench bench-ingest bench-verify bench-dedup bench-validate bench-deliver bench-analytics bench-console bench-nats bench-efficiency bench-e2e helm-lint clean

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install nats-server, clickhouse-server, Node 24 (if needed) and npm dependencies
	@bash scripts/setup.sh

setup-browser: ## setup, plus Debian's chromium for the console's browser tests
	@bash scripts/setup.sh --with-browser

build: setup ## bundle the web console into packages/console/dist (served by the control service)
	node packages/console/build.ts

up: setup build ## start NATS JetStream, ClickHouse and every service locally (state in .run/)
	@bash scripts/up.sh

down: ## stop what `make up` started
	@bash scripts/down.sh

status: ## show what `make up` started and whether it is healthy
	@bash scripts/status.sh

typecheck: setup ## type-check every package, service, test and benchmark, and the console's browser code
	tsc -p tsconfig.json
	tsc -p packages/console/tsconfig.json

lint: setup ## formatter and linter check (biome), declared dependencies and service boundaries (scripts/check-deps.ts), the public surface of each package (scripts/check-exports.ts), then the type check
	biome check .
	node scripts/check-deps.ts
	node scripts/check-exports.ts
	tsc -p tsconfig.json
	tsc -p packages/console/tsconfig.json

lint-exports: setup ## what make lint's export check runs, plus each package's export counts: fail when a public index (src/index.ts) exports a name nothing outside the package imports (scripts/check-exports.ts)
	node scripts/check-exports.ts --verbose

format: setup ## rewrite files with the formatter
	biome check --write .

check-proto: setup ## fail when the generated gRPC code is stale
	bash scripts/check-proto.sh

test: setup-browser lint helm-lint check-proto build ## lint, type-check, chart, generated code, console bundle, then every test against real servers (and headless Chromium)
	@bash scripts/nats-server.sh version | sed 's/^/[test] /'
	node --test --test-concurrency=1 --test-timeout=180000 $(TEST_FILES)

# One process for every file (--test-isolation=none): the workspace's modules load once, not once per file, which
# is most of the time (about 45 s against 5 s on two busy cores). The pure tests share no global state.
test-unit: setup ## the fast loop: pure tests only (no servers, no browser), in seconds
	node --test --test-isolation=none $(UNIT_FILES)

chaos: setup ## the chaos suites in their long form, one nats-server and a 3-node cluster (600 events each; make test runs 100 and 80)
	CHAOS_EVENTS=600 node --test --test-concurrency=1 --test-timeout=900000 test/chaos/chaos.int.test.ts test/chaos/cluster.int.test.ts

fuzz: setup ## the fuzz suite in its long form (10,000 inputs; make test runs 300); FUZZ_SEED=<n> repeats a run
	FUZZ_RUNS=10000 node --test --test-timeout=900000 test/fuzz/*.test.ts

bench: bench-ingest bench-verify bench-dedup bench-validate bench-deliver bench-analytics bench-console bench-e2e ## every benchmark

bench-ingest: setup ## ingest vs bare node:http vs raw JetStream publish (writes bench/ingest/results/)
	node bench/ingest/run.ts

bench-verify: setup ## verify: bare createHmac vs verifySignature vs the verify service
	node bench/verify/run.ts

bench-dedup: setup ## dedup service vs a bare consume+ack of the same stream, one core each
	node bench/dedup/run.ts

bench-validate: setup ## validate service vs a bare consume+ack of the same stream, one core each
	node bench/validate/run.ts

bench-deliver: setup ## deliver service vs a bare undici POST loop to the same local endpoint
	node bench/deliver/run.ts

bench-analytics: setup ## analytics sink vs a direct ClickHouse batch insert of the same rows
	node bench/analytics/run.ts

bench-console: setup ## the console's JSON API vs gRPC for the same RPCs (ListEndpoints, EndpointHealth, the live feed)
	node bench/console/run.ts

bench-nats: setup ## the pipeline on one nats-server with and without fsync on every write, and on a 3-node R3 cluster (writes bench/e2e/results/nats.json)
	node bench/e2e/nats-compare.ts

bench-efficiency: setup ## CPU per event: the floor, the commit before, one process per stage and combined, in one run (writes bench/e2e/results/latest.json's efficiency)
	node bench/e2e/efficiency.ts

bench-e2e: setup ## the whole pipeline: offered load to saturation, writes bench/e2e/results and latency.png
	node bench/e2e/run.ts

helm-lint: setup ## helm lint --strict and helm template with default, production and kitchen-sink values
	bash scripts/helm.sh lint

clean: down ## remove local state and installed tools
	rm -rf .run node_modules .tools
