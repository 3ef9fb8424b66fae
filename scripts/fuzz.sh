#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 600) each with cargo-fuzz (nightly,
# libFuzzer). New corpus entries stay in fuzz/corpus/<target>/ (only seed-* and crash-*
# files are committed); a crash stops the run and leaves its input in fuzz/artifacts/.
# Needs: rustup toolchain install nightly; cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-600}"
targets="${FUZZ_TARGETS:-config matchers alerts silence template gossip}"
# FUZZ_TARGET_DIR puts the (large) fuzz build elsewhere than fuzz/target.
extra=()
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then extra=(--target-dir "$FUZZ_TARGET_DIR"); fi
for target in $targets; do
    echo "== fuzz target $target for ${seconds}s"
    cargo +nightly fuzz run "${extra[@]}" --sanitizer none --debug-assertions "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
done
