#!/usr/bin/env bash
# `make images-oci`: the larum-engine and larum-operator images without a container daemon.
#
#   scripts/images-oci.sh [engine|operator]...   build the images (default: both) into
#                                               .cache/images/larum-{engine,operator}.tar
#   scripts/images-oci.sh --print [IMAGE]...     print, one JSON object a line, the cargo
#                                               command and scripts/oci-image.py's arguments
#                                               without building (tests/chart/tests/images.rs)
#
# Each image is one static binary built exactly as images/*.Dockerfile builds it
# (`cargo build --release --locked --target x86_64-unknown-linux-musl -p PKG --bin BIN`,
# then `strip --strip-debug`),
# assembled by scripts/oci-image.py into an OCI image-layout tar (loadable with
# `ctr -n k8s.io images import`, `skopeo copy oci-archive:...`, `crane push`, `docker load`).
# User, entrypoint, cmd, ports, workdir and labels come from images/IMAGE.image.json, the
# one place they are written down; tests/chart/tests/images.rs compares that file with the
# Dockerfile and with the archive's image config.
#
# What the image holds besides the binary, and why (nothing else is in it):
#  - /etc/ssl/certs/ca-certificates.crt (Debian's ca-certificates, from this machine):
#    reqwest and kube use rustls-platform-verifier and lettre uses rustls-native-certs;
#    on Linux both read the system's CA certificates (the file above is the first path
#    openssl-probe tries). reqwest's Client::build() fails outright when that finds no
#    certificate, even for a client that only speaks plain HTTP, so both binaries need it:
#    the engine for every receiver and its gossip state sync, the operator for reading
#    the replicas' /metrics. (kube's in-cluster client uses the service account's ca.crt.)
#  - /etc/passwd and /etc/group with the non-root user 65532 (nonroot) and its home, a
#    world-writable /tmp (both by scripts/oci-image.py --user), and the engine's workdir
#    /alertmanager owned by that user (the default --storage.path; the chart mounts a volume
#    there).
#  - No time zone data: jiff is built with tzdb-bundle-always, so a missing
#    /usr/share/zoneinfo falls back to the database compiled into the binary (jiff prefers
#    the system copy when there is one, as in the distroless image of the Dockerfiles); no
#    /etc/localtime means the local zone is UTC, as in distroless. chrono (through kube's
#    CEL support) only reads /etc/localtime for its Local zone and also falls back to UTC.
#  - No /etc/nsswitch.conf: musl's resolver reads /etc/hosts and /etc/resolv.conf only
#    (the kubelet mounts both).
#
# IMAGE_REGISTRY and IMAGE_TAG name the images like `make images` (default
# ghcr.io/larum-dev/larum-engine:<appVersion of charts/larum>, what the chart pulls by
# default). Re-running is cheap: cargo does nothing when no source changed and an archive
# whose inputs (binary, files, arguments, oci-image.py) are unchanged is not rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
CARGO=${CARGO:-cargo}
PYTHON=${PYTHON:-python3}
IMAGE_REGISTRY=${IMAGE_REGISTRY:-ghcr.io/larum-dev}
IMAGE_TAG=${IMAGE_TAG:-$(sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/larum/Chart.yaml)}
OUT_DIR=${IMAGE_OUT_DIR:-.cache/images}
CA_CERTS=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}

print_only=false
if [ "${1:-}" = "--print" ]; then
  print_only=true
  shift
fi
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(engine operator)

# spec IMAGE: images/IMAGE.image.json as NUL-separated fields: package, bin, path of the
# binary in the image, repository, workdir, user, then scripts/oci-image.py's config flags.
spec() {
  "$PYTHON" - "images/$1.image.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
out = [s["package"], s["bin"], s["path"], s["repository"], s["workdir"], s["user"]]
out += ["--user", s["user"]]
for a in s["entrypoint"]:
    out += ["--entrypoint", a]
for a in s["cmd"]:
    out += ["--cmd", a]
for p in s["ports"]:
    out += ["--port", p]
if s["workdir"]:
    out += ["--workdir", s["workdir"]]
for k, v in s["labels"].items():
    out += ["--label", f"{k}={v}"]
sys.stdout.write("".join(a + "\0" for a in out))
EOF
}

# json_array ARGS...: the arguments as a JSON array.
json_array() {
  "$PYTHON" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
}

target_dir=""
for image in "${images[@]}"; do
  [ -f "images/$image.image.json" ] || { echo "images-oci: no images/$image.image.json" >&2; exit 2; }
  mapfile -d '' -t s < <(spec "$image")
  [ ${#s[@]} -ge 6 ] || { echo "images-oci: cannot read images/$image.image.json" >&2; exit 2; }
  package=${s[0]} bin=${s[1]} path=${s[2]} repository=${s[3]} workdir=${s[4]} user=${s[5]}
  config_args=("${s[@]:6}")
  ref="$IMAGE_REGISTRY/$repository:$IMAGE_TAG"
  out="$OUT_DIR/$repository.tar"
  cargo_cmd=(cargo build --release --locked --target "$TARGET" -p "$package" --bin "$bin")
  # The release profile keeps line tables (debug = 1, for profiling): 85% of the binary's
  # 190 MB. The image gets a copy without them; the symbols stay, so backtraces still
  # name functions. The Dockerfiles strip the same way.
  strip_cmd=(strip --strip-debug)

  if $print_only; then
    printf '{"image": "%s", "ref": "%s", "out": "%s", "cargo": %s, "strip": %s, "config": %s}\n' \
      "$image" "$ref" "$out" "$(json_array "${cargo_cmd[@]}")" "$(json_array "${strip_cmd[@]}")" \
      "$(json_array "${config_args[@]}")"
    continue
  fi

  # The same command as the Dockerfile's (cargo_cmd), through $CARGO.
  start=$(date +%s)
  "$CARGO" "${cargo_cmd[@]:1}"
  echo "images-oci: $bin built in $(($(date +%s) - start)) s"
  if [ -z "$target_dir" ]; then
    target_dir=$("$CARGO" metadata --format-version 1 --no-deps \
      | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  fi
  binary="$target_dir/$TARGET/release/$bin"

  # Static: no program interpreter, no shared library.
  if readelf -lW "$binary" | grep -q 'INTERP' || readelf -dW "$binary" | grep -q '(NEEDED)'; then
    echo "images-oci: $binary is dynamically linked:" >&2
    readelf -dW "$binary" | grep '(NEEDED)' >&2 || true
    exit 1
  fi
  mkdir -p "$OUT_DIR/bin"
  stripped="$OUT_DIR/bin/$bin"
  "${strip_cmd[@]}" -o "$stripped" "$binary"
  if [ ! -s "$CA_CERTS" ]; then
    echo "images-oci: $CA_CERTS missing (apt-get install ca-certificates, or set CA_CERTS)" >&2
    exit 1
  fi

  args=(--ref "$ref" --out "$out" "${config_args[@]}"
    --file "$stripped=$path:0755"
    --file "$CA_CERTS=/etc/ssl/certs/ca-certificates.crt:0644")
  if [ -n "$workdir" ]; then
    args+=(--mkdir "$workdir:0755:${user%%:*}:${user##*:}")
  fi

  # Skip the (seconds-long, gzip -9) assembly when nothing that goes into it changed.
  mkdir -p "$OUT_DIR"
  stamp="$OUT_DIR/.$repository.inputs"
  inputs=$( { printf '%s\n' "${args[@]}"; sha256sum scripts/oci-image.py "$stripped" "$CA_CERTS"; } | sha256sum)
  if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
    echo "images-oci: $out unchanged"
  else
    rm -f "$stamp"
    "$PYTHON" scripts/oci-image.py "${args[@]}"
    echo "$inputs" >"$stamp"
  fi

  # The archive's own copy of the binary runs, and the sizes.
  "$PYTHON" - "$out" "$path" <<'EOF'
import gzip, io, json, os, subprocess, sys, tarfile, tempfile
archive, path = sys.argv[1], sys.argv[2]
with tarfile.open(archive) as tar:
    index = json.load(tar.extractfile("index.json"))
    blob = lambda d: tar.extractfile("blobs/sha256/" + d["digest"].split(":")[1]).read()
    manifest = json.loads(blob(index["manifests"][0]))
    layers = [gzip.decompress(blob(l)) for l in manifest["layers"]]
uncompressed = sum(len(l) for l in layers)
with tempfile.TemporaryDirectory() as tmp:
    exe = os.path.join(tmp, os.path.basename(path))
    with tarfile.open(fileobj=io.BytesIO(layers[-1])) as lt:
        with open(exe, "wb") as f:
            f.write(lt.extractfile(path.lstrip("/")).read())
    os.chmod(exe, 0o755)
    version = subprocess.run([exe, "--version"], check=True, capture_output=True, text=True).stdout.strip()
name = index["manifests"][0]["annotations"]["io.containerd.image.name"]
print(f"images-oci: {name}: {archive} {os.path.getsize(archive) / 1e6:.1f} MB "
      f"({uncompressed / 1e6:.1f} MB uncompressed); {path} --version: {version}")
EOF
done
