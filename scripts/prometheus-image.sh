#!/usr/bin/env bash
# `make prometheus-image`: larum.local/prometheus:<Debian package version> in
# .cache/images/prometheus.tar, from this machine's Debian prometheus package (installed by
# scripts/install-test-deps.sh), without a container daemon: the node tests run it as a pod.
#
# Debian's /usr/bin/prometheus is a Go binary linked dynamically against glibc only, so
# the image holds the binary, the libraries `ldd` lists and the program loader at the
# paths they have here, plus:
#  - /etc/prometheus/prometheus.yml: a minimal config (Prometheus scraping itself), so the
#    image starts as it is; the tests mount their own.
#  - /etc/nsswitch.conf `hosts: files dns`, Debian's order: without the file Go's resolver
#    asks DNS before /etc/hosts.
#  - /prometheus (the TSDB, --storage.tsdb.path) owned by the non-root user 65532, also
#    the workdir; /etc/passwd, /etc/group and /tmp come from scripts/oci-image.py --user.
# Not in it: CA certificates (the tests scrape over plain HTTP; Go reads them only for a
# TLS connection) and the console templates (not used).
#
#   PROMETHEUS=/usr/bin/prometheus      the binary
#   PROMETHEUS_IMAGE=larum.local/prometheus:VERSION   the name (VERSION: the package's
#                                       version with characters a tag cannot hold as '-')
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
OUT_DIR=${IMAGE_OUT_DIR:-.cache/images}
out="$OUT_DIR/prometheus.tar"

if [ ! -x "$PROMETHEUS" ]; then
  echo "prometheus-image: no $PROMETHEUS (scripts/install-test-deps.sh installs Debian's prometheus)" >&2
  exit 1
fi
if [ -z "${PROMETHEUS_IMAGE:-}" ]; then
  version=$(dpkg-query -W -f '${Version}' prometheus)
  # 2.42.0+ds-5+deb12u1 -> 2.42.0-ds-5-deb12u1 (a tag is [A-Za-z0-9_.-]).
  PROMETHEUS_IMAGE="larum.local/prometheus:$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.-' '-')"
fi

stage="$OUT_DIR/prometheus-rootfs"
rm -rf "$stage"
mkdir -p "$stage"
cat >"$stage/prometheus.yml" <<'EOF'
# larum.local/prometheus's default config: Prometheus scrapes itself.
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
EOF
echo 'hosts: files dns' >"$stage/nsswitch.conf"

user=65532:65532
args=(--ref "$PROMETHEUS_IMAGE" --out "$out" --user "$user"
  --entrypoint /usr/bin/prometheus
  --cmd --config.file=/etc/prometheus/prometheus.yml --cmd --storage.tsdb.path=/prometheus
  --port 9090/tcp --workdir /prometheus
  --label org.opencontainers.image.title=prometheus
  --label "org.opencontainers.image.version=$(dpkg-query -W -f '${Version}' prometheus)"
  --file "$PROMETHEUS=/usr/bin/prometheus:0755"
  --file "$stage/prometheus.yml=/etc/prometheus/prometheus.yml:0644"
  --file "$stage/nsswitch.conf=/etc/nsswitch.conf:0644"
  --mkdir "/prometheus:0755:${user%%:*}:${user##*:}")

# The shared libraries and the loader, e.g.
#   libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
#   /lib64/ld-linux-x86-64.so.2 (0x...)
# each copied (symbolic links followed) to the path the binary or the loader looks for.
libs=()
while read -r first arrow path _; do
  if [ "$arrow" = "=>" ]; then
    [ -n "$path" ] && [ "${path:0:1}" = / ] && libs+=("$path")
  elif [ "${first:0:1}" = / ]; then
    libs+=("$first")
  fi
done < <(ldd "$PROMETHEUS")
if [ ${#libs[@]} -eq 0 ]; then
  echo "prometheus-image: ldd $PROMETHEUS lists nothing to copy" >&2
  exit 1
fi
for lib in "${libs[@]}"; do
  args+=(--file "$lib=$lib:0755")
done

mkdir -p "$OUT_DIR"
stamp="$OUT_DIR/.prometheus.inputs"
inputs=$( { printf '%s\n' "${args[@]}"; sha256sum scripts/oci-image.py "$PROMETHEUS" "$stage"/* "${libs[@]}"; } | sha256sum)
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  echo "prometheus-image: $out unchanged"
else
  rm -f "$stamp"
  "$PYTHON" scripts/oci-image.py "${args[@]}"
  echo "$inputs" >"$stamp"
fi
rm -rf "$stage"

# The image's own files run: its loader, its libraries, its binary (no chroot needed).
"$PYTHON" - "$out" <<'EOF'
import gzip, io, json, os, subprocess, sys, tarfile, tempfile
archive = sys.argv[1]
with tarfile.open(archive) as tar:
    index = json.load(tar.extractfile("index.json"))
    blob = lambda d: tar.extractfile("blobs/sha256/" + d["digest"].split(":")[1]).read()
    manifest = json.loads(blob(index["manifests"][0]))
    layer = gzip.decompress(blob(manifest["layers"][0]))
with tempfile.TemporaryDirectory() as root:
    with tarfile.open(fileobj=io.BytesIO(layer)) as lt:
        members = [m for m in lt.getmembers() if m.isfile()]
        for m in members:
            dest = os.path.join(root, m.name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as f:
                f.write(lt.extractfile(m).read())
            os.chmod(dest, m.mode)
    loader = next(m.name for m in members if os.path.basename(m.name).startswith("ld-linux"))
    libdirs = sorted({os.path.join(root, os.path.dirname(m.name)) for m in members if ".so" in m.name})
    version = subprocess.run(
        [os.path.join(root, loader), "--library-path", ":".join(libdirs),
         os.path.join(root, "usr/bin/prometheus"), "--version"],
        check=True, capture_output=True, text=True,
    )
name = index["manifests"][0]["annotations"]["io.containerd.image.name"]
first = (version.stdout or version.stderr).splitlines()[0]
print(f"prometheus-image: {name}: {archive} {os.path.getsize(archive) / 1e6:.1f} MB "
      f"({len(layer) / 1e6:.1f} MB uncompressed); {first}")
EOF
