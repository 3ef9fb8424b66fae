#!/usr/bin/env bash
# Builds the images the test node (larum-kube-harness Node) imports into its containerd,
# from binaries of scripts/cluster-tools.sh, with scripts/oci-image.py (no daemon, no
# base image): .cache/images/{pause,coredns,webhook-sink}.tar, named
#   larum.local/pause:1, larum.local/coredns:<CoreDNS version of tests/coredns/go.mod>,
#   larum.local/webhook-sink:1
# (the names tests/kube-harness/src/node/mod.rs expects). Idempotent: an image is rebuilt
# only when its binary is newer than its archive.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${LARUM_CLUSTER_TOOLS:-$repo_root/.cache/cluster-tools}"
bin="$tools/bin"
out="${LARUM_NODE_IMAGES:-$repo_root/.cache/images}"
coredns_version="$(sed -n 's/^require github.com\/coredns\/coredns \(v[^ ]*\).*/\1/p' \
    "$repo_root/tests/coredns/go.mod")"
coredns_version="${coredns_version#v}"
mkdir -p "$out"

for b in pause coredns webhook-sink; do
    if [[ ! -x "$bin/$b" ]]; then
        echo "node-images: $bin/$b missing: run scripts/cluster-tools.sh first" >&2
        exit 1
    fi
done

# image NAME REF ARGS...: builds $out/NAME.tar unless it is newer than $bin/NAME.
image() {
    local name="$1" ref="$2"
    shift 2
    if [[ -f "$out/$name.tar" && "$out/$name.tar" -nt "$bin/$name" \
        && "$out/$name.tar" -nt "$repo_root/scripts/node-images.sh" ]]; then
        echo "node-images: $ref up to date in $out/$name.tar"
        return
    fi
    python3 "$repo_root/scripts/oci-image.py" --ref "$ref" --out "$out/$name.tar.tmp" "$@"
    mv "$out/$name.tar.tmp" "$out/$name.tar"
    echo "node-images: $ref in $out/$name.tar"
}

# The pod sandbox: holds the pod's namespaces, runs as nobody like upstream's pause.
image pause larum.local/pause:1 --user 65535:65535 --entrypoint /pause \
    --file "$bin/pause=/pause:0755"
# Cluster DNS: non-root on port 1053 (the Service maps 53 to it), Corefile from a ConfigMap.
image coredns "larum.local/coredns:$coredns_version" --user 65532:65532 \
    --entrypoint /coredns --cmd=-conf --cmd=/etc/coredns/Corefile \
    --port 1053/udp --port 1053/tcp --file "$bin/coredns=/coredns:0755"
# The notification receiver of the tests (and, with `get URL`, a client).
image webhook-sink larum.local/webhook-sink:1 --user 65532:65532 \
    --entrypoint /webhook-sink --port 8080/tcp --file "$bin/webhook-sink=/webhook-sink:0755"
