#!/usr/bin/env bash
# Start-up and directory memory at scale (issue 23, goals 6 and 7; results in docs/benchmarks.md): the gateway
# started with bench/run.sh's production command line (common.sh gateway_command) on a generated directory of
# COUNT mailboxes, REPEAT times each, against the demo backend:
#   - ms from spawn to the first proxied GET /owa/ answered 200 by the backend (curl polling every 20 ms, as run.sh);
#   - the gateway's CPU seconds (user + system) by then: steadier than wall time on a busy machine;
#   - how long the directory load took (the gateway's "Directory loaded ... in N ms" log line);
#   - VmRSS when that answer came, and again after SETTLE seconds (the heap after start-up garbage was collected).
#
#   bench/startup.sh [COUNTS=5,100000,1000000] [REPEAT=3]       needs Release builds of the gateway and the demo
#                                                                backend (dotnet build -c Release)
#   GATEWAY_EXTRA_ARGS='--Gateway:Locator:Kind=Sql ...'         extra gateway arguments, as in run.sh
#   GATEWAY_ENV='DOTNET_TieredPGO=0 ...'                        environment for the gateway only (A/B of runtime knobs)
#   GATEWAY_BUILD=publish                                       the published gateway (ReadyToRun, as shipped) instead of
#                                                                the build output; GATEWAY_DLL=PATH any other build
#                                                                (common.sh)
# Every process it starts is stopped on exit; every wait is bounded. Never a CI test.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
KEEP_TMP=${KEEP_TMP:-0}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
IFS=, read -r -a COUNTS <<<"${1:-5,100000,1000000}"
REPEAT=${2:-3}
SETTLE=${SETTLE:-5}
PY=$(python3 -c 'import sys; print(sys.executable)')
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); split($0, f, " "); printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

bench_init casgw-startup
dll=$(gateway_dll)
[[ -f $dll ]] || { echo "build the gateway first: dotnet build src/CasGateway -c Release (GATEWAY_BUILD=publish: dotnet publish src/CasGateway -c Release -o $GATEWAY_PUBLISH_DIR)" >&2; exit 1; }
log "gateway: $dll"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1
mapfile -t PORTS < <("$PY" "$BENCH_DIR/benchlib.py" free-ports 2)
BACKEND_PORT=${PORTS[0]} GATEWAY_PORT=${PORTS[1]}
spawn backend "$TMP/backend.log" dotnet "$REPO/src/CasGateway.DemoBackend/bin/Release/net10.0/CasGateway.DemoBackend.dll" \
  --name mbx1.contoso.com --port "$BACKEND_PORT"
for _ in $(seq 1 500); do curl -s -o /dev/null "http://127.0.0.1:$BACKEND_PORT/owa/" && break; sleep 0.02; done
hash=$(printf '%s\n' "$BENCH_PASSWORD" | dotnet "$dll" hash-password)
read -r -a genv <<<"${GATEWAY_ENV:-}"

printf '| mailboxes | run | ms to first proxied request | CPU s by then | directory load ms | RSS then MB | RSS after %s s MB |\n|---:|---:|---:|---:|---:|---:|---:|\n' "$SETTLE"
for count in "${COUNTS[@]}"; do
  conf="$TMP/conf-$count"
  mkdir -p "$conf"
  cp "$TMP/cert.pem" "$TMP/key.pem" "$conf/"
  "$PY" "$BENCH_DIR/gen-directory.py" --count "$count" --backend-url "http://127.0.0.1:$BACKEND_PORT/" \
    --password-hash "$hash" --out "$conf/directory.json" 2>/dev/null
  gateway_command "$dll" "$GATEWAY_PORT" "$conf"
  for run in $(seq 1 "$REPEAT"); do
    rm -rf "$TMP/gateway-logs"
    t0=$(now_ms)
    env "${genv[@]}" "${GATEWAY_CMD[@]}" >"$TMP/gateway-$count-$run.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    ready=""
    for _ in $(seq 1 6000); do
      kill -0 "$pid" 2>/dev/null || break
      code=$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' -H "$AUTH" "https://127.0.0.1:$GATEWAY_PORT/owa/" 2>/dev/null || true)
      if [[ $code == 200 ]]; then ready=$(( $(now_ms) - t0 )); break; fi
      sleep 0.02
    done
    if [[ -z $ready ]]; then
      log "gateway with $count mailboxes did not answer; last lines of its log:"; tail -5 "$TMP/gateway-$count-$run.log" >&2
      kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; continue
    fi
    first=$(rss_mb "$pid") cpu=$(cpu_s "$pid")
    sleep "$SETTLE"
    # "Directory loaded ..." from the gateway's own log file (compact JSON; the production settings log to the file only)
    load=$(cat "$TMP"/gateway-logs/*.json 2>/dev/null | grep -o '"LoadMilliseconds":[0-9.]*' | head -1 | cut -d: -f2 | cut -d. -f1 || true)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$count" "$run" "$ready" "$cpu" "${load:-?}" "$first" "$(rss_mb "$pid")"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -f "$conf/directory.json"
done
