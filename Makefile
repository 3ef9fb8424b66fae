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

## Run every test (unit, integration, differential against Alertmanager's amtool, and
## Larum installed with helm on a real Kubernetes node from the images built here).
test: test-images
	$(CARGO) test --workspace --no-fail-fast

## The image archives the node tests load (.cache/images): Larum's own (`make images-oci`),
## Prometheus', and the node's pause, CoreDNS and webhook-sink images when `make
## cluster-tools` has built their binaries (without them the node tests say what is missing,
## and fail under CI or LARUM_REQUIRE_ALL).
.PHONY: test-images
test-images: images-oci prometheus-image
	@if [ -x .cache/cluster-tools/bin/coredns ]; then scripts/node-images.sh; \
	else echo "test-images: no node binaries (make cluster-tools): node images not built"; fi

## Larum on a real single-node Kubernetes cluster, installed as the README says: the node
## in its own network namespace (etcd, API server, containerd, kubelet, kube-proxy, CoreDNS),
## the images of `make images-oci` imported, `helm install` of charts/larum, Prometheus and a
## webhook sink as pods, examples/kubernetes/ applied. Prints KUBECONFIG=<path> and `node
## ready`; Ctrl-C removes everything. Needs root.
.PHONY: node
node: cluster-tools test-images
	$(CARGO) build -q -p larum-chart-tests --bin larum-node-install
	./target/debug/larum-node-install

build:
	$(CARGO) build --workspace

## Benchmarks (not part of `make test`): criterion benches, then the load generator against
## larum-engine and Debian's Alertmanager 0.25; appends the results to BENCHMARKS.md.
.PHONY: bench
bench:
	scripts/bench.sh

## Operator benchmark (not part of `make test`): time from `kubectl apply` of a changed
## AlertRoute to `Loaded=True` on 3 engine replicas (release build, real kube-apiserver).
.PHONY: bench-operator
bench-operator:
	$(CARGO) build --release -p larum-engine
	$(CARGO) test --release -p larum-operator --test e2e_loaded_latency -- --ignored --nocapture

## Write the operator's CustomResourceDefinitions into crds/ and the chart's copy in
## charts/larum/crds/ (tests fail when either is stale).
.PHONY: crds
crds:
	$(CARGO) run -q -p larum-operator -- crds --dir crds
	cp crds/*.yaml charts/larum/crds/
	$(CARGO) run -q -p larum-chart-tests --bin larum-crd-reference -- crds docs/crd-reference.md

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

## Build kube-apiserver, etcd, kubectl, helm, the kubelet, kube-proxy, the controller manager,
## the scheduler, CoreDNS and the pause/webhook-sink binaries (tests/cluster and tests/coredns,
## pinned Go modules) into .cache/cluster-tools/bin for the Kubernetes tests, then the test
## node's images into .cache/images; skipped when already built from the same sources.
cluster-tools:
	scripts/cluster-tools.sh
	scripts/node-images.sh

clean:
	$(CARGO) clean

## Container images with Docker or Podman (BuildKit): images/engine.Dockerfile and
## images/operator.Dockerfile, static musl binaries on distroless/static, non-root.
## Without a daemon use `make images-oci` (same binaries and image settings; what CI builds).
## IMAGE_REGISTRY/IMAGE_TAG name them as charts/larum expects.
.PHONY: images
IMAGE_REGISTRY ?= ghcr.io/larum-dev
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/larum/Chart.yaml)
DOCKER ?= docker
images:
	$(DOCKER) build -f images/engine.Dockerfile -t $(IMAGE_REGISTRY)/larum-engine:$(IMAGE_TAG) .
	$(DOCKER) build -f images/operator.Dockerfile -t $(IMAGE_REGISTRY)/larum-operator:$(IMAGE_TAG) .

## The same images without a container daemon: static x86_64 musl release binaries
## assembled by scripts/oci-image.py into OCI archives .cache/images/larum-engine.tar and
## larum-operator.tar (`ctr images import`, `skopeo copy oci-archive:...`, `crane push`).
## Settings in images/*.image.json; see scripts/images-oci.sh.
.PHONY: images-oci
images-oci:
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) IMAGE_TAG=$(IMAGE_TAG) CARGO=$(CARGO) scripts/images-oci.sh

## larum.local/prometheus:<Debian version> from Debian's /usr/bin/prometheus (for the
## node tests) into .cache/images/prometheus.tar.
.PHONY: prometheus-image
prometheus-image:
	scripts/prometheus-image.sh

## Lint the Helm chart (charts/larum) with the default and the everything-on values.
.PHONY: chart-lint
chart-lint:
	.cache/cluster-tools/bin/helm lint --strict charts/larum
	.cache/cluster-tools/bin/helm lint --strict charts/larum -f charts/larum/ci/everything-on.yaml

## A local demo: control plane, operator, 3 engines, the examples/ resources, Prometheus
## with an always-firing rule and a webhook receiver that prints what it gets (Ctrl-C stops).
.PHONY: demo
demo:
	scripts/demo.sh

## docs/crd-reference.md from crds/*.yaml (a test fails when it is stale).
.PHONY: crd-reference
crd-reference:
	$(CARGO) run -q -p larum-chart-tests --bin larum-crd-reference -- crds docs/crd-reference.md
