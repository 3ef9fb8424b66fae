#!/usr/bin/env bash
# Builds the real Kubernetes of the end-to-end tests from the Go module proxy into
# .cache/cluster-tools/bin (or $LARUM_CLUSTER_TOOLS/bin):
#  - module tests/cluster (pinned in its go.mod), one `go build` so packages are shared:
#    kube-apiserver, etcd, kubectl, helm, and for the single-node cluster (larum-kube-harness
#    Node) kubelet, kube-controller-manager, kube-scheduler, kube-proxy;
#  - from the same module, static (CGO_ENABLED=0): pause (the pod sandbox) and webhook-sink
#    (the test receiver), which scripts/node-images.sh turns into images;
#  - module tests/coredns: CoreDNS with the plugins the cluster DNS needs, static.
# Idempotent: skips the build when every binary is there and was built from the same
# go.mod/go.sum/mains (hash kept in bin/.stamp). Runs niced: it takes a while.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo_root/tests/cluster"
out="${LARUM_CLUSTER_TOOLS:-$repo_root/.cache/cluster-tools}"
bin="$out/bin"
tools=(kube-apiserver etcd kubectl helm kubelet kube-controller-manager kube-scheduler kube-proxy
    pause webhook-sink coredns)
coredns_src="$repo_root/tests/coredns"

if ! command -v go >/dev/null 2>&1; then
    echo "cluster-tools: 'go' is not on PATH; install Go (>= 1.26) first" >&2
    exit 1
fi

stamp="$(cat "$src"/go.mod "$src"/go.sum "$src"/cmd/*/main.go \
    "$coredns_src"/go.mod "$coredns_src"/go.sum "$coredns_src"/main.go | sha256sum | cut -d' ' -f1)"
complete=1
for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || complete=0; done
if [[ $complete == 1 && -f "$bin/.stamp" && "$(cat "$bin/.stamp")" == "$stamp" ]]; then
    echo "cluster-tools: up to date in $bin"
    exit 0
fi

k8s_version="$(cd "$src" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
helm_version="$(cd "$src" && go list -m -f '{{.Version}}' helm.sh/helm/v3)"
major="${k8s_version#v}"; minor="${major#*.}"; major="${major%%.*}"; minor="${minor%%.*}"
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=$major"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=$major"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=$helm_version"

echo "cluster-tools: building Kubernetes $k8s_version (kube-apiserver, kubelet, ...), etcd, kubectl, helm ($helm_version), CoreDNS, pause and webhook-sink into $bin (takes a while)..."
mkdir -p "$bin"
rm -f "$bin/.stamp"
start=$(date +%s)
(cd "$src" && nice -n 19 go build -buildvcs=false -trimpath -ldflags "$ldflags" -o "$bin/" \
    ./cmd/kube-apiserver ./cmd/etcd ./cmd/kubectl helm.sh/helm/v3/cmd/helm \
    ./cmd/kubelet ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kube-proxy)
# The two image payloads: static, no libc in their images.
(cd "$src" && CGO_ENABLED=0 nice -n 19 go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$bin/" \
    ./cmd/pause ./cmd/webhook-sink)
(cd "$coredns_src" && CGO_ENABLED=0 nice -n 19 go build -buildvcs=false -trimpath -ldflags "-s -w" \
    -o "$bin/coredns" .)
echo "$stamp" >"$bin/.stamp"
echo "cluster-tools: built in $(( $(date +%s) - start ))s:"
for t in "${tools[@]}"; do echo "  $bin/$t"; done
