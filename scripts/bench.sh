#!/usr/bin/env bash
# Benchmarks (`make bench`): builds release binaries, runs the criterion benches briefly,
# then the load generator against larum-engine and Debian's Alertmanager 0.25, one after
# the other, with the same configs on the same machine. Prints a table and appends a
# dated section to BENCHMARKS.md. Traffic goes to 127.0.0.1 only.
#
# Knobs (environment):
#   BENCH_TARGETS      targets to measure, default "larum alertmanager"
#   BENCH_MODES        measurements, default "ingest rss flush ingest-silences ingest-inhibit"
#   BENCH_CRITERION    0 skips the criterion benches (default 1)
#   BENCH_APPEND       0 only prints, does not append to BENCHMARKS.md (default 1)
#   BENCH_CLUSTER      0 skips the cluster benchmark (3 replicas on loopback; default 1)
#   BENCH_DURATION     ingest duration (default 15s)
#   BENCH_CONNECTIONS  keep-alive connections (default 4)
#   BENCH_BATCH        alerts per request (default 100)
#   BENCH_ALERTS       alerts for the RSS and flush runs (default 100000)
#   BENCH_SILENCES     active silences created before the ingest-silences run (default 10000)
#   BENCH_SOURCES      firing source alerts posted before the ingest-inhibit run (default 10000)
#   BENCH_PORT         first port tried for the target (default 29093)
#   BENCH_RECEIVER_PORT first port tried for the loadgen's webhook receiver (default 29193)
#   ALERTMANAGER_BIN   reference binary (default /usr/bin/prometheus-alertmanager)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGETS=${BENCH_TARGETS:-larum alertmanager}
MODES=${BENCH_MODES:-ingest rss flush ingest-silences ingest-inhibit}
DURATION=${BENCH_DURATION:-15s}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
BATCH=${BENCH_BATCH:-100}
ALERTS=${BENCH_ALERTS:-100000}
SILENCES=${BENCH_SILENCES:-10000}
SOURCES=${BENCH_SOURCES:-10000}
PORT_BASE=${BENCH_PORT:-29093}
RECEIVER_PORT_BASE=${BENCH_RECEIVER_PORT:-29193}
AM_BIN=${ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LARUM_BIN=$TARGET_DIR/release/larum-engine
LOADGEN=$TARGET_DIR/release/loadgen

WORK=$(mktemp -d /tmp/larum-bench.XXXXXX)
TARGET_PID=""

stop_target() {
  if [ -n "$TARGET_PID" ] && kill -0 "$TARGET_PID" 2>/dev/null; then
    kill -TERM "$TARGET_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$TARGET_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$TARGET_PID" 2>/dev/null || true
    wait "$TARGET_PID" 2>/dev/null || true
  fi
  TARGET_PID=""
}

cleanup() {
  stop_target
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port FIRST: the first free port from FIRST on.
pick_port() {
  local p=$1
  while ! port_free "$p"; do
    p=$((p + 1))
    [ "$p" -lt $(($1 + 100)) ] || { log "no free port from $1 on"; return 1; }
  done
  echo "$p"
}

PORT=$(pick_port "$PORT_BASE")
RECEIVER_PORT=$(pick_port "$RECEIVER_PORT_BASE")
BASE=http://127.0.0.1:$PORT

# ---- configs (the same for both targets) ----
cat >"$WORK/ingest.yml" <<'EOF'
# Ingestion and memory: alerts are stored and grouped; the receiver has no integrations.
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: blackhole
EOF
cat >"$WORK/inhibit.yml" <<'EOF'
# Ingest with one inhibit rule: firing `Source` alerts mute the posted alerts of their team.
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: blackhole
inhibit_rules:
  - source_matchers: [alertname="Source"]
    target_matchers: [alertname="LoadgenHighRequestLatency"]
    equal: [team]
EOF
cat >"$WORK/flush.yml" <<EOF
# Flush: every alert is its own group and is delivered to the load generator's receiver.
route:
  receiver: sink
  group_by: ['...']
  group_wait: 1s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$RECEIVER_PORT/flush
        send_resolved: false
EOF

# ---- build ----
log "building release binaries"
$CARGO build --release -p larum-engine -p larum-loadgen

# ---- criterion ----
CRITERION_OUT=$WORK/criterion.txt
: >"$CRITERION_OUT"
if [ "${BENCH_CRITERION:-1}" != 0 ]; then
  log "criterion benches (short runs)"
  for b in fingerprint route dispatch silence_match inhibit; do
    if ! $CARGO bench -p larum-engine --bench "$b" -- --warm-up-time 1 --measurement-time 3 \
      --output-format bencher >"$WORK/criterion-$b.txt" 2>"$WORK/criterion-$b.log"; then
      log "criterion bench $b failed:"
      tail -n 20 "$WORK/criterion-$b.log" >&2
      echo "test $b ... failed" >>"$CRITERION_OUT"
    fi
    grep -E '^test ' "$WORK/criterion-$b.txt" | tee -a "$CRITERION_OUT" || true
  done
fi

# ---- targets ----

# start_target NAME CONFIG LOG: starts a fresh process, waits for /-/ready; sets TARGET_PID.
start_target() {
  local name=$1 config=$2 logfile=$3 storage
  storage=$(mktemp -d "$WORK/storage.XXXXXX")
  PORT=$(pick_port "$PORT_BASE") || return 1
  BASE=http://127.0.0.1:$PORT
  case $name in
    alertmanager)
      "$AM_BIN" --config.file="$config" --web.listen-address="127.0.0.1:$PORT" \
        --storage.path="$storage" --cluster.listen-address= >"$logfile" 2>&1 &
      ;;
    larum)
      local extra=()
      local help
      help=$("$LARUM_BIN" --help 2>&1 || true)
      grep -q -- '--storage.path' <<<"$help" && extra+=("--storage.path=$storage")
      grep -q -- '--cluster.listen-address' <<<"$help" && extra+=("--cluster.listen-address=")
      "$LARUM_BIN" --config.file="$config" --web.listen-address="127.0.0.1:$PORT" \
        "${extra[@]}" >"$logfile" 2>&1 &
      ;;
  esac
  TARGET_PID=$!
  for _ in $(seq 1 300); do
    kill -0 "$TARGET_PID" 2>/dev/null || break
    if curl -sf --noproxy '*' -o /dev/null --max-time 1 "$BASE/-/ready"; then
      # Still ours (not another process that took the port first)?
      sleep 0.2
      kill -0 "$TARGET_PID" 2>/dev/null && return 0
      break
    fi
    sleep 0.1
  done
  log "$name did not become ready; its log:"
  tail -n 20 "$logfile" >&2 || true
  stop_target
  return 1
}

# measure NAME MODE OUTDIR
measure() {
  local name=$1 mode=$2 out=$3 config=$WORK/ingest.yml args=()
  case $mode in
    ingest) args=(--duration "$DURATION") ;;
    ingest-silences) args=(--duration "$DURATION" --silences "$SILENCES") ;;
    ingest-inhibit) config=$WORK/inhibit.yml; args=(--duration "$DURATION" --inhibit-sources "$SOURCES") ;;
    rss) args=(--alerts "$ALERTS") ;;
    flush) config=$WORK/flush.yml; args=(--alerts "$ALERTS" --listen "127.0.0.1:$RECEIVER_PORT") ;;
  esac
  if ! start_target "$name" "$config" "$out/$mode.log"; then
    printf '{"status":"not available: %s did not start"}\n' "$name" >"$out/$mode.json"
    return 0
  fi
  log "$name: $mode (pid $TARGET_PID, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  # The receiver must not be what runs out of descriptors: raise the load generator's
  # own limit where allowed (the target keeps the machine's limit).
  (ulimit -n 65536 2>/dev/null || true; exec "$LOADGEN" "${mode%%-*}" --url "$BASE" --pid "$TARGET_PID" --connections "$CONNECTIONS" \
    --batch "$BATCH" --out "$out/$mode.json" "${args[@]}" >"$out/$mode.stdout") ||
    printf '{"status":"not available: loadgen failed"}\n' >"$out/$mode.json"
  stop_target
}

display_name() {
  case $1 in
    larum) echo "larum-engine $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" ;;
    alertmanager) "$AM_BIN" --version 2>&1 | head -n1 | sed -E 's/^alertmanager, version ([^ ]+).*/Alertmanager \1/' ;;
  esac
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for t in $TARGETS; do
  mkdir -p "$WORK/$t"
  for m in $MODES; do
    measure "$t" "$m" "$WORK/$t"
  done
done

# ---- cluster (3 larum-engine replicas on loopback, release build) ----
CLUSTER_OUT=$WORK/cluster.txt
: >"$CLUSTER_OUT"
if [ "${BENCH_CLUSTER:-1}" != 0 ]; then
  log "cluster benchmark (3 replicas, then an empty replica catching up)"
  if $CARGO test --release -p larum-engine --test cluster_bench -- --ignored --nocapture --test-threads=1 \
    >"$WORK/cluster-bench.log" 2>&1; then
    grep -E '^\|' "$WORK/cluster-bench.log" >>"$CLUSTER_OUT" || true
  else
    log "cluster benchmark failed:"; tail -n 20 "$WORK/cluster-bench.log" >&2
  fi
  if $CARGO test --release -p larum-engine --test cluster_state an_empty_replica -- --nocapture \
    >"$WORK/cluster-catchup.log" 2>&1; then
    took=$(grep -oE 'ready after [^ ]+' "$WORK/cluster-catchup.log" | head -n1 | cut -d' ' -f3)
    echo "| empty replica ready with 10,000 silences + 100,000 log entries from a peer (process start to ready) | $took |" >>"$CLUSTER_OUT"
  else
    log "cluster catch-up measurement failed:"; tail -n 20 "$WORK/cluster-catchup.log" >&2
  fi
fi

# ---- report ----
TABLE=$("$LOADGEN" report --candidate "$(display_name larum)=$WORK/larum" \
  --reference "$(display_name alertmanager)=$WORK/alertmanager")

details() {
  for t in $TARGETS; do
    for m in $MODES; do
      [ -f "$WORK/$t/$m.json" ] || continue
      printf '%s %s: %s\n' "$t" "$m" "$(jq -c . "$WORK/$t/$m.json" 2>/dev/null || cat "$WORK/$t/$m.json")"
    done
  done
}

# criterion_vs_upstream: Markdown rows of the muting benches next to upstream's figures.
criterion_vs_upstream() {
  awk '
    / bench: / {
      name = $2; v = $0; sub(/.* bench: */, "", v); sub(/ ns\/iter.*/, "", v); gsub(/,/, "", v)
      up = ""
      if (name ~ /^silence_match\//) up = "about 22"
      else if (name == "inhibit/1_rule_10000_sources") up = "about 104"
      else if (name ~ /^inhibit\//) up = "(no counterpart)"
      if (up != "") printf "| %s | %.2f | %s |\n", name, v / 1000, up
    }' "$CRITERION_OUT"
}

SECTION=$(
  echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r); load average before: $LOAD_BEFORE."
  echo "Versions: $(display_name larum), $(display_name alertmanager), $(rustc --version 2>/dev/null || echo 'rustc ?')."
  echo "Load: $DURATION of ingest over $CONNECTIONS keep-alive connections, batches of $BATCH alerts of 412 bytes; $ALERTS alerts for the RSS and flush runs; $SILENCES silences and $SOURCES inhibition sources for the muting runs. Measurements: $MODES."
  echo
  echo "$TABLE"
  if [ -s "$CRITERION_OUT" ]; then
    echo
    echo "Criterion (short runs, median per iteration). For comparison, upstream published about"
    echo "22 µs for one alert against 10,000 silences of which 100 match, and about 104 µs for"
    echo "one alert against 1 inhibit rule with 10,000 firing source alerts, on its hardware"
    echo "(its own versions of the silence_match and inhibit benches):"
    echo
    echo '```'
    cat "$CRITERION_OUT"
    echo '```'
    MUTING_ROWS=$(criterion_vs_upstream)
    if [ -n "$MUTING_ROWS" ]; then
      echo
      echo "| criterion bench | larum-engine µs | upstream published µs (its hardware) |"
      echo "|---|---|---|"
      echo "$MUTING_ROWS"
    fi
  fi
  if [ -s "$CLUSTER_OUT" ]; then
    echo
    echo "Cluster (larum-engine only; 3 replicas on loopback with upstream's gossip defaults):"
    echo
    cat "$CLUSTER_OUT"
  fi
  echo
  echo "<details><summary>Raw results</summary>"
  echo
  echo '```'
  details
  echo '```'
  echo
  echo "</details>"
)

echo
echo "$SECTION"
if [ "${BENCH_APPEND:-1}" != 0 ]; then
  printf '\n%s\n' "$SECTION" >>"$ROOT/BENCHMARKS.md"
  log "appended to BENCHMARKS.md"
fi
