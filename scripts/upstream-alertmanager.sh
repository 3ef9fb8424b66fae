#!/usr/bin/env bash
# Build upstream Alertmanager v0.34.0 (`amtool` and `alertmanager`) into
# <repo>/.cache/upstream/bin, for differential tests against the reference.
# Idempotent: a binary that is already there (at the right version) is kept.
set -euo pipefail

VERSION="${UPSTREAM_ALERTMANAGER_VERSION:-v0.34.0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${LARUM_UPSTREAM_BIN:-$repo_root/.cache/upstream/bin}"
mkdir -p "$bin_dir"

if ! command -v go >/dev/null 2>&1; then
    echo "upstream-alertmanager: 'go' is not on PATH; install Go (>= 1.23) first" >&2
    exit 1
fi

# Tells whether $1 is present and reports version $VERSION.
have_version() {
    local bin="$1"
    [[ -x "$bin" ]] || return 1
    "$bin" --version 2>&1 | grep -q "version ${VERSION#v} "
}

ldflags="-X github.com/prometheus/common/version.Version=${VERSION#v} -X github.com/prometheus/common/version.Branch=release -X github.com/prometheus/common/version.Revision=$VERSION"

for cmd in amtool alertmanager; do
    target="$bin_dir/$cmd"
    if have_version "$target"; then
        echo "upstream-alertmanager: $cmd $VERSION already at $target"
        continue
    fi
    echo "upstream-alertmanager: building $cmd $VERSION (this can take several minutes)..."
    if ! GOBIN="$bin_dir" go install -trimpath -ldflags "$ldflags" \
        "github.com/prometheus/alertmanager/cmd/$cmd@$VERSION"; then
        if [[ "$cmd" != alertmanager ]]; then
            exit 1
        fi
        # The module as published lacks the built web UI (ui/app/dist, embedded with
        # go:embed), so `go install` of cmd/alertmanager fails. Build it from a copy of
        # the module source with a placeholder UI instead.
        echo "upstream-alertmanager: go install failed; building from a copy of the module with a placeholder UI"
        src="$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/alertmanager@$VERSION" \
            | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
        if [[ -z "$src" || ! -d "$src" ]]; then
            echo "upstream-alertmanager: cannot locate the module source of alertmanager $VERSION" >&2
            exit 1
        fi
        work="$(mktemp -d)"
        trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
        cp -R "$src/." "$work/"
        chmod -R u+w "$work"
        mkdir -p "$work/ui/app/dist"
        printf '<!doctype html><title>Alertmanager</title><p>UI not built.</p>\n' >"$work/ui/app/dist/index.html"
        (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "$target" ./cmd/alertmanager)
    fi
    echo "upstream-alertmanager: built $target"
done

echo "upstream-alertmanager: binaries in $bin_dir:"
for cmd in amtool alertmanager; do
    echo "  $bin_dir/$cmd ($("$bin_dir/$cmd" --version 2>&1 | head -1))"
done
