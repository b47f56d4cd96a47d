#!/usr/bin/env bash
# bench/broker-load.sh: run broker-load against enkrypt-broker and the
# reference peer@1.0.2 in the same run, one JSON line per scenario and server.
#
#   bench/broker-load.sh BUILD_DIR
#
# Scenarios (override with the environment):
#   relay: RELAY_PEERS (1000) peers, PAIRS (100) pairs, RELAY_SECONDS (10) s
#   held:  HELD_PEERS (19000) peers held, PAIRS pairs relaying for HELD_SECONDS (5) s
#   churn: CHURN_SECONDS (0 = skip) of reconnects at CHURN_RATE (200) per second
#          with CHURN_PEERS (5000) peers, enkrypt-broker only unless CHURN_REFERENCE=1
# Both servers listen on 127.0.0.1 only; both are stopped by PID at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench/broker-load.sh BUILD_DIR}
broker="$build/broker/enkrypt-broker"
load="$build/bench/broker-load"
node_dir="$here/tests/broker/node"
RELAY_PEERS=${RELAY_PEERS:-1000}
PAIRS=${PAIRS:-100}
RELAY_SECONDS=${RELAY_SECONDS:-10}
HELD_PEERS=${HELD_PEERS:-19000}
HELD_SECONDS=${HELD_SECONDS:-5}
CHURN_SECONDS=${CHURN_SECONDS:-0}
CHURN_RATE=${CHURN_RATE:-200}
CHURN_PEERS=${CHURN_PEERS:-5000}

for f in "$broker" "$load"; do
  [ -x "$f" ] || { echo "broker-load.sh: $f is missing (build first)" >&2; exit 2; }
done
[ -d "$node_dir/node_modules/peer" ] || { echo "broker-load.sh: run scripts/bootstrap (npm peer)" >&2; exit 2; }

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  pid=""
}
trap 'cleanup; rm -rf "$tmp"' EXIT

# start_server ours|reference: sets $pid and $port.
start_server() {
  : > "$tmp/out"
  if [ "$1" = ours ]; then
    # Bench settings: the per-address limits are off because every peer of
    # the load generator comes from 127.0.0.1.
    "$broker" --host 127.0.0.1 --port 0 --log_level warn --max_connections_per_ip 0 \
      --ip_message_rate 0 --concurrent_limit 100000 --alive_timeout 3600000 ${BROKER_FLAGS:-} \
      > "$tmp/out" 2> "$tmp/err" &
  else
    node "$node_dir/ref_server.mjs" '{"concurrent_limit":100000,"alive_timeout":3600000}' \
      > "$tmp/out" 2> "$tmp/err" &
  fi
  pid=$!
  port=""
  for _ in $(seq 150); do
    port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$tmp/out" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "broker-load.sh: $1 did not start" >&2; cat "$tmp/err" >&2; exit 1; }
}

run() { # run SERVER NAME ARGS...
  local server=$1 name=$2; shift 2
  start_server "$server"
  "$load" --host 127.0.0.1 --port "$port" --pid "$pid" --server "$name" "$@"
  cleanup
  sleep 1
}

for s in ours:enkrypt-broker reference:peer@1.0.2; do
  run "${s%%:*}" "${s#*:}" --peers "$RELAY_PEERS" --pairs "$PAIRS" --seconds "$RELAY_SECONDS"
done
for s in ours:enkrypt-broker reference:peer@1.0.2; do
  run "${s%%:*}" "${s#*:}" --peers "$HELD_PEERS" --pairs "$PAIRS" --seconds "$HELD_SECONDS"
done
if [ "$CHURN_SECONDS" != 0 ]; then
  servers="ours:enkrypt-broker"
  [ "${CHURN_REFERENCE:-0}" = 1 ] && servers="$servers reference:peer@1.0.2"
  for s in $servers; do
    run "${s%%:*}" "${s#*:}" --peers "$CHURN_PEERS" --pairs 10 --seconds 2 \
      --churn-seconds "$CHURN_SECONDS" --churn-rate "$CHURN_RATE"
  done
fi
