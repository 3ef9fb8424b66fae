# Larum: the two commands are `make run` and `make test`.

CARGO ?= cargo
LISTEN ?= 127.0.0.1:9093
CONFIG ?= examples/larum.yml
STORAGE ?= .cache/run-data/

.PHONY: run test build lint fmt test-deps clean cluster-tools

## Build and start the engine on the example config (Ctrl-C stops it).
run:
	$(CARGO) build -p larum-engine
	@echo "larum-engine: http://$(LISTEN)/ (config $(CONFIG)); health: http://$(LISTEN)/-/healthy"
	./target/debug/larum-engine --config.file=$(CONFIG) --web.listen-address=$(LISTEN) --storage.path=$(STORAGE)

## Run every test (unit, integration, differential against Alertmanager's amtool).
test:
	$(CARGO) test --workspace --no-fail-fast

build:
	$(CARGO) build --workspace

## Benchmarks (not part of `make test`): criterion benches, then the load generator against
## larum-engine and Debian's Alertmanager 0.25; appends the results to BENCHMARKS.md.
.PHONY: bench
bench:
	scripts/bench.sh

## Write the operator's CustomResourceDefinitions into crds/ (a test fails when they are stale).
.PHONY: crds
crds:
	$(CARGO) run -q -p larum-operator -- crds --dir crds
## Fuzz every parser (config, matchers, alert and silence JSON, templates, gossip) with cargo-fuzz
## for FUZZ_SECONDS each (default 600); needs the nightly toolchain and cargo-fuzz.
## `make test` replays the committed corpora without nightly (engine/tests/fuzz_corpus.rs).
.PHONY: fuzz
FUZZ_SECONDS ?= 600
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## Formatting and lints.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Install what the tests need (Debian's Alertmanager and amtool, upstream amtool v0.34.0).
test-deps:
	scripts/install-test-deps.sh

## Build kube-apiserver, etcd, kubectl and helm (tests/cluster, pinned Go module) into
## .cache/cluster-tools/bin for the Kubernetes tests; skipped when already built from the same go.mod.
cluster-tools:
	scripts/cluster-tools.sh

clean:
	$(CARGO) clean
