#!/usr/bin/env bash
# Installs what the tests need, from the package registries only:
#  - Debian's prometheus-alertmanager (Alertmanager 0.25 and amtool: the reference validator),
#  - Debian's prometheus (a real Prometheus sending alerts in the end-to-end tests),
#  - upstream amtool and alertmanager v0.34.0 built from the Go module proxy (optional
#    reference; tests use them when present),
#  - kube-apiserver, etcd, kubectl, helm, the kubelet, kube-proxy, the controller
#    manager, the scheduler and CoreDNS built from the Go module proxy (`make
#    cluster-tools`, modules tests/cluster and tests/coredns) for the Kubernetes tests,
#    and the test node's images (scripts/node-images.sh), with Debian's containerd, runc,
#    CNI plugins, iptables and conntrack for that node,
#  - aiosmtpd from PyPI in .cache/smtp-venv (the SMTP server of the e-mail tests),
#  - musl-tools, ca-certificates and rustup's x86_64-unknown-linux-musl target for
#    `make images-oci`.
# Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
# The cluster partition test (engine/tests/cluster_partition.rs) uses `ip netns`; the DNS
# test uses `unshare` (util-linux, always there on Debian).
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# `make demo` and its test (tests/chart/tests/demo.rs): curl, python3 with PyYAML.
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
python3 -c 'import yaml' >/dev/null 2>&1 || need_apt+=(python3-yaml)
# `make images-oci` (scripts/images-oci.sh, checked by tests/chart/tests/images.rs): musl-gcc
# for the C parts (ring, jemalloc) of the static binaries, Debian's CA certificates for the
# images, binutils' readelf to check the binaries are static.
command -v musl-gcc >/dev/null 2>&1 || need_apt+=(musl-tools)
[ -s /etc/ssl/certs/ca-certificates.crt ] || need_apt+=(ca-certificates)
command -v readelf >/dev/null 2>&1 || need_apt+=(binutils)
# The single-node cluster of the node tests (larum-kube-harness Node, tests/kube-harness/
# tests/node.rs): containerd (with ctr), runc, the CNI plugins in /usr/lib/cni, and
# iptables and conntrack for kube-proxy.
command -v containerd >/dev/null 2>&1 || need_apt+=(containerd)
[ -x /usr/sbin/runc ] || command -v runc >/dev/null 2>&1 || need_apt+=(runc)
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
[ -x /usr/sbin/iptables ] || command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
[ -x /usr/sbin/conntrack ] || command -v conntrack >/dev/null 2>&1 || need_apt+=(conntrack)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
echo "install-test-deps: amtool at $(command -v amtool)"
echo "install-test-deps: prometheus at $(command -v prometheus)"

# The Rust standard library for the images' static binaries (`make images-oci`).
if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi

if [ -x scripts/upstream-alertmanager.sh ] && command -v go >/dev/null 2>&1; then
  scripts/upstream-alertmanager.sh || echo "install-test-deps: upstream v0.34.0 build failed; tests use Debian's amtool only" >&2
fi

# The real Kubernetes of the end-to-end tests (larum-kube-harness), then the images the
# test node imports (pause, CoreDNS, webhook-sink).
scripts/cluster-tools.sh
scripts/node-images.sh

# aiosmtpd (PyPI): the real SMTP server of the e-mail integration tests
# (engine/tests/notify_email.rs), in a venv under .cache so the system Python stays as it is.
if ! .cache/smtp-venv/bin/python -c 'import aiosmtpd' >/dev/null 2>&1; then
  if python3 -m venv .cache/smtp-venv >/dev/null 2>&1; then
    .cache/smtp-venv/bin/pip install --quiet --disable-pip-version-check aiosmtpd
  else
    # No venv module: install for the user instead.
    rm -rf .cache/smtp-venv
    python3 -c 'import aiosmtpd' >/dev/null 2>&1 \
      || python3 -m pip install --quiet --user --break-system-packages aiosmtpd \
      || python3 -m pip install --quiet --user aiosmtpd
  fi
fi
echo "install-test-deps: aiosmtpd ready"
