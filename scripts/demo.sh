#!/usr/bin/env bash
# `make demo`: Larum end to end on this machine, no container runtime needed.
#
#   a local control plane (etcd + kube-apiserver, `larum-local-cluster`)
#   -> the Helm chart installed into it (CRDs, ServiceAccounts, RBAC, gossip key)
#   -> larum-operator and 3 larum-engine replicas run as local processes with the
#      chart's ServiceAccount tokens and the arguments the chart gives them
#   -> examples/kubernetes/ applied (AlertRoute + webhook Secret, Silence, InhibitRule)
#   -> Debian's Prometheus with an always-firing rule, sending to the 3 engines
#   -> a local webhook receiver that prints every notification.
#
# Environment: DEMO_EXIT_AFTER_NOTIFICATION=1 stops after the first notification (exit
# 0; exit 1 if none within DEMO_TIMEOUT seconds, default 120). LARUM_BIN_DIR: where
# larum-engine, larum-operator and larum-local-cluster are (default: build them).
# DEMO_KEEP=1 keeps the work directory (logs) on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOLS=${LARUM_CLUSTER_TOOLS:-$ROOT/.cache/cluster-tools}/bin
KUBECTL=$TOOLS/kubectl
HELM=$TOOLS/helm
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
NS=larum-system
TIMEOUT=${DEMO_TIMEOUT:-120}

for tool in "$KUBECTL" "$HELM" "$TOOLS/kube-apiserver" "$TOOLS/etcd"; do
  [[ -x $tool ]] || { echo "demo: $tool missing: run make cluster-tools" >&2; exit 1; }
done
[[ -x $PROMETHEUS ]] || { echo "demo: $PROMETHEUS missing: apt-get install prometheus" >&2; exit 1; }

if [[ -z ${LARUM_BIN_DIR:-} ]]; then
  cargo build -q -p larum-engine -p larum-operator -p larum-chart-tests --bin larum-engine --bin larum-operator --bin larum-local-cluster
  LARUM_BIN_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/debug
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/larum-demo.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -z ${DEMO_KEEP:-} ]]; then rm -rf "$WORK"; else echo "demo: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "== [${SECONDS}s] $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "demo: a process exited while waiting for $what (logs: $WORK)" >&2; tail -n 20 "$WORK"/*.log >&2 || true; exit 1; }
    done
    if ((SECONDS > deadline)); then echo "demo: timed out waiting for $what (logs: $WORK)" >&2; tail -n 20 "$WORK"/*.log >&2 || true; exit 1; fi
    sleep 0.5
  done
}

say "starting the control plane (logs and files in $WORK)"
"$LARUM_BIN_DIR/larum-local-cluster" --kubeconfig "$WORK/kubeconfig" >"$WORK/cluster.log" 2>&1 &
PIDS+=($!)
wait_for 120 "kube-apiserver" test -s "$WORK/kubeconfig"
export KUBECONFIG=$WORK/kubeconfig
k() { "$KUBECTL" "$@"; }

say "installing the chart (release larum in $NS)"
k create namespace "$NS" >/dev/null
"$HELM" install larum charts/larum --namespace "$NS" --kubeconfig "$KUBECONFIG" >"$WORK/helm.log"
k wait --for=condition=Established crd --all --timeout=60s >/dev/null

# Tokens of the chart's ServiceAccounts: the processes run with exactly its RBAC.
sa_kubeconfig() {
  local token; token=$(k create token "$1" -n "$NS" --duration=12h)
  python3 - "$KUBECONFIG" "$token" "$WORK/$1.kubeconfig" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["users"][0]["user"] = {"token": sys.argv[2]}
json.dump(c, open(sys.argv[3], "w"))
PY
  echo "$WORK/$1.kubeconfig"
}
OP_KC=$(sa_kubeconfig larum-operator)
ENGINE_KC=$(sa_kubeconfig larum-engine)

# The operator's config and args as the chart renders them.
"$HELM" template larum charts/larum --namespace "$NS" >"$WORK/rendered.yaml"
python3 - "$WORK" <<'PY'
import sys, yaml
work = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{work}/rendered.yaml")) if d]
def find(kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
open(f"{work}/operator-config.yaml", "w").write(find("Secret", "larum-operator-config")["stringData"]["config.yaml"])
for kind, name, container, out in [("Deployment", "larum-operator", "operator", "operator.args"),
                                   ("StatefulSet", "larum-engine", "engine", "engine.args")]:
    c = next(c for c in find(kind, name)["spec"]["template"]["spec"]["containers"] if c["name"] == container)
    open(f"{work}/{out}", "w").write("\n".join(c["args"]) + "\n")
PY

# The engines' ports, known before they start: the EndpointSlices below name them.
declare -a WEB CLU
for i in 0 1 2; do WEB[$i]=$(free_port); CLU[$i]=$(free_port); done

# Without a kubelet nothing writes the headless Service's EndpointSlices, so the demo
# does, one per replica. The API server refuses loopback IPs in them, so they carry DNS
# names, which the operator resolves to loopback through a private /etc/hosts (needs
# root for the mount namespace; otherwise LOADED stays Unknown).
OP_WRAP=()
ENGINE_SVC=$(sed -n 's|^--engine-service=.*/||p' "$WORK/operator.args")
PORT_NAME=$(sed -n 's|^--engine-port-name=||p' "$WORK/operator.args")
if [[ $(id -u) == 0 ]] && command -v unshare >/dev/null; then
  printf '127.0.0.1 localhost\n' >"$WORK/hosts"
  for i in 0 1 2; do
    host="larum-engine-$i.$ENGINE_SVC.$NS.demo.test"
    printf '127.0.0.1 %s\n' "$host" >>"$WORK/hosts"
    cat <<YAML | k apply -f - >/dev/null
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $ENGINE_SVC-$i
  namespace: $NS
  labels: {kubernetes.io/service-name: $ENGINE_SVC}
addressType: FQDN
endpoints: [{addresses: ["$host"], conditions: {ready: true}}]
ports: [{name: $PORT_NAME, port: ${WEB[$i]}, protocol: TCP}]
YAML
  done
  OP_WRAP=(unshare -m --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$WORK/hosts")
  LOADED_NOTE="LOADED becomes True once all 3 replicas run the config (EndpointSlices written by the demo)."
else
  LOADED_NOTE="LOADED stays Unknown here: without a kubelet nothing writes EndpointSlices (the demo
writes them only when run as root, to resolve their names in a private mount namespace)."
fi

say "starting larum-operator"
OP_PORT=$(free_port)
mapfile -t OP_ARGS < <(sed -e "s|^--config=.*|--config=$WORK/operator-config.yaml|" \
                           -e "s|^--listen-address=.*|--listen-address=127.0.0.1:$OP_PORT|" \
                           -e "s|^--log-format=.*|--log-format=text|" "$WORK/operator.args")
POD_NAME=larum-operator-0 RUST_LOG=info "${OP_WRAP[@]}" "$LARUM_BIN_DIR/larum-operator" "${OP_ARGS[@]}" \
  --kubeconfig="$OP_KC" >"$WORK/operator.log" 2>&1 &
PIDS+=($!)
wait_for 60 "the operator's first config Secret" k get secret larum-engine-config -n "$NS"

say "starting 3 larum-engine replicas"
k get secret larum-cluster-key -n "$NS" -o go-template='{{.data.key | base64decode}}' >"$WORK/cluster-key"
for i in 0 1 2; do
  # The StatefulSet's args; peer DNS names and listen addresses moved to loopback.
  mapfile -t ARGS < <(sed -E \
      -e "s|^--cluster.peer=larum-engine-([0-9]+)\..*|--cluster.peer=PEER\1|" \
      -e 's|\$\(POD_IP\)|127.0.0.1|; s|\$\(POD_NAME\)|larum-engine-'"$i"'|' \
      -e "s|^--web.listen-address=.*|--web.listen-address=127.0.0.1:${WEB[$i]}|" \
      -e "s|^--cluster.listen-address=.*|--cluster.listen-address=127.0.0.1:${CLU[$i]}|" \
      -e "s|^--cluster.advertise-address=.*|--cluster.advertise-address=127.0.0.1:${CLU[$i]}|" \
      -e "s|^--storage.path=.*|--storage.path=$WORK/engine-$i|" \
      -e "s|^--cluster.key-file=.*|--cluster.key-file=$WORK/cluster-key|" \
      -e "s|^--cluster.settle-timeout=.*|--cluster.settle-timeout=5s|" \
      -e "s|^--log.format=.*|--log.format=logfmt|" \
      "$WORK/engine.args" | sed -e "s|PEER0|127.0.0.1:${CLU[0]}|; s|PEER1|127.0.0.1:${CLU[1]}|; s|PEER2|127.0.0.1:${CLU[2]}|")
  KUBECONFIG=$ENGINE_KC "$LARUM_BIN_DIR/larum-engine" "${ARGS[@]}" >"$WORK/engine-$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do wait_for 60 "larum-engine-$i ready" curl -fsS "http://127.0.0.1:${WEB[$i]}/-/ready"; done

say "starting the webhook receiver"
HOOK_PORT=$(free_port)
python3 -u - "$HOOK_PORT" >"$WORK/webhook.log" 2>&1 <<'PY' &
import http.server, json, sys, time
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        alerts = ", ".join(f'{a["labels"].get("alertname")}({a["status"]})' for a in body.get("alerts", []))
        print(f'notification: at={time.strftime("%H:%M:%S")} receiver={body.get("receiver")} status={body.get("status")} alerts=[{alerts}]', flush=True)
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY
PIDS+=($!)

say "applying examples/kubernetes/"
sed "s|http://127.0.0.1:8099/alerts|http://127.0.0.1:$HOOK_PORT/alerts|" examples/kubernetes/alertroute.yaml | k apply -f - >/dev/null
k apply -f examples/kubernetes/silence.yaml -f examples/kubernetes/inhibitrule.yaml >/dev/null
wait_for 30 "AlertRoute team-a accepted" bash -c \
  "'$KUBECTL' get alertroute team-a -n team-a -o jsonpath='{.status.conditions[?(@.type==\"Accepted\")].status}' | grep -qx True"

if [[ ${#OP_WRAP[@]} -gt 0 ]]; then
  wait_for 30 "AlertRoute team-a loaded on 3 replicas" bash -c \
    "'$KUBECTL' get alertroute team-a -n team-a -o jsonpath='{.status.conditions[?(@.type==\"Loaded\")].status}' | grep -qx True"
fi
wait_for 30 "Silence noisy-during-maintenance active" bash -c \
  "'$KUBECTL' get silence noisy-during-maintenance -n team-a -o jsonpath='{.status.state}' | grep -qx active"

say "starting Prometheus with an always-firing rule"
PROM_PORT=$(free_port)
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 1s
rule_files: ["$ROOT/examples/kubernetes/prometheus-rules.yaml"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:${WEB[0]}", "127.0.0.1:${WEB[1]}", "127.0.0.1:${WEB[2]}"]
YAML
# A short resend delay: the first send can happen before Prometheus has the engines'
# addresses, and would otherwise be repeated only after a minute.
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --rules.alert.resend-delay=5s >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

cat <<EOF_INFO

Larum demo is running:
  engines (API/UI)   http://127.0.0.1:${WEB[0]}/  http://127.0.0.1:${WEB[1]}/  http://127.0.0.1:${WEB[2]}/
  amtool             amtool --alertmanager.url=http://127.0.0.1:${WEB[0]} alert query
  operator metrics   http://127.0.0.1:$OP_PORT/metrics
  Prometheus         http://127.0.0.1:$PROM_PORT/alerts
  kubectl            KUBECONFIG=$KUBECONFIG $KUBECTL get alertroutes,silences,inhibitrules -A
  logs               $WORK/*.log
$LOADED_NOTE
Notifications received by the webhook (team-a's AlertRoute) follow; Ctrl-C stops everything.

EOF_INFO

if [[ ${DEMO_EXIT_AFTER_NOTIFICATION:-} == 1 ]]; then
  wait_for "$TIMEOUT" "a notification at the webhook" grep -q '^notification:' "$WORK/webhook.log"
  grep '^notification:' "$WORK/webhook.log"
  # What the engine holds: DemoNoisy is there, muted by the Silence.
  wait_for 30 "DemoNoisy at the engine" bash -c "curl -fsS http://127.0.0.1:${WEB[0]}/api/v2/alerts | grep -q DemoNoisy"
  curl -fsS "http://127.0.0.1:${WEB[0]}/api/v2/alerts" | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print("alert %s: %s" % (a["labels"]["alertname"], a["status"]["state"]))'
  k get alertroutes,silences,inhibitrules -A
  exit 0
fi
tail -n +1 -f "$WORK/webhook.log"
