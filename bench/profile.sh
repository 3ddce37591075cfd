#!/usr/bin/env bash
# CPU profile of the gateway under load (issue 10): starts the demo backend and the gateway exactly as
# bench/run.sh does (Release, TLS, Basic auth against a 100,000-mailbox directory, protocol log on), drives it with
# wrk (HTTP/1.1) or h2load (HTTP/2) on GET /owa/ and records a dotnet-trace sampled-thread-time trace meanwhile, then
# prints the frames with the most samples (inclusive and exclusive) and the share of each component.
#
#   bench/profile.sh                      15 s warm-up, then 20 s of wrk -t2 -c50, traced for the middle 15 s
#   bench/profile.sh --h2                 h2load -t2 -c50 -m10 instead of wrk
#   bench/profile.sh --duration 30 --top 40 --keep-tmp
#   bench/profile.sh --perf               on-CPU samples with Linux perf (the runtime writes /tmp/perf-PID.map)
#   bench/profile.sh --counters           no profiler: the runtime's own counters per request (bytes allocated,
#                                         GCs, thread pool work items, lock contentions) with dotnet-counters
#   bench/profile.sh --bare-yarp ...      the same, of bench/BareYarp (the baseline) instead of the gateway
#   bench/profile.sh --alloc              bytes allocated per request by type (the runtime's allocation ticks,
#                                         read by bench/AllocTop)
#
# Options: --duration S (load, default 20; the trace covers S-5 s), --warmup S (default 15: the JIT's tiering takes
#          that long to settle on 2 busy cores; a shorter warm-up profiles the JIT), --top N (rows, default 30), --h2, --no-build,
#          --keep-tmp (keeps the trace, the speedscope JSON and the logs), --published (the gateway as `dotnet publish`
#          makes it, ReadyToRun as shipped: see common.sh). GATEWAY_EXTRA_ARGS is appended to the
#          gateway's command line, as in run.sh. Needs dotnet-trace (dotnet tool install --global dotnet-trace).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
export PATH="$PATH:$HOME/.dotnet/tools"
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
DURATION=20
WARMUP=15
TOP=30
H2=0
BUILD=1
KEEP_TMP=0
PERF=0
COUNTERS=0
ALLOC=0
BARE=0

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "profile.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --top) TOP=$2; shift ;;
    --h2) H2=1 ;;
    --perf) PERF=1 ;;
    --counters) COUNTERS=1 ;;
    --alloc) ALLOC=1 ;;
    --bare-yarp) BARE=1 ;;
    --no-build) BUILD=0 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    --published) GATEWAY_BUILD=publish ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ $DURATION =~ ^[0-9]+$ ]] && (( DURATION >= 8 && DURATION <= 300 )) || die "duration 8..300 s"
[[ $TOP =~ ^[0-9]+$ && $WARMUP =~ ^[0-9]+$ ]] || die "not a number: $TOP / $WARMUP"
for cmd in wrk h2load openssl curl python3 $( (( PERF )) && echo perf || { (( COUNTERS )) && echo dotnet-counters; } || echo dotnet-trace); do
  command -v "$cmd" >/dev/null || die "missing $cmd (bench/run.sh installs the packages; dotnet tool install --global dotnet-trace)"
done

bench_init casgw-profile

GW_DLL=$(gateway_dll)
BACKEND_DLL="$REPO/src/CasGateway.DemoBackend/bin/Release/net10.0/CasGateway.DemoBackend.dll"

if (( BUILD )); then
  log "building the gateway and the backend (Release)"
  build_gateway "$TMP/build.log" || { tail -30 "$TMP/build.log" >&2; die "gateway build failed"; }
  dotnet build "$REPO/src/CasGateway.DemoBackend/CasGateway.DemoBackend.csproj" -c Release -v q -nologo --disable-build-servers >>"$TMP/build.log" 2>&1 \
    || { tail -30 "$TMP/build.log" >&2; die "backend build failed"; }
  if (( BARE )); then
    dotnet build "$BENCH_DIR/BareYarp/BareYarp.csproj" -c Release -v q -nologo --disable-build-servers >>"$TMP/build.log" 2>&1 \
      || { tail -30 "$TMP/build.log" >&2; die "bare YARP build failed"; }
  fi
fi

# The files the gateway watches in a folder of their own (see gateway_command in common.sh).
CONF="$TMP/gateway-config"
mkdir -p "$CONF"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$CONF/key.pem" -out "$CONF/cert.pem" >/dev/null 2>&1
mapfile -t PORTS < <(python3 "$LIB" free-ports 2)
BACKEND_PORT=${PORTS[0]} GATEWAY_PORT=${PORTS[1]}

spawn backend "$TMP/backend.log" dotnet "$BACKEND_DLL" --name mbx1.contoso.com --port "$BACKEND_PORT"
wait_ready "$SPAWNED_PID" "http://127.0.0.1:$BACKEND_PORT/owa/" || die "the backend did not start"

hash=$(printf '%s\n' "$BENCH_PASSWORD" | dotnet "$GW_DLL" hash-password)
python3 "$BENCH_DIR/gen-directory.py" --count 100000 --backend-url "http://127.0.0.1:$BACKEND_PORT/" \
  --password-hash "$hash" --out "$CONF/directory.json"
gateway_command "$GW_DLL" "$GATEWAY_PORT" "$CONF"
if (( BARE )); then
  GATEWAY_CMD=(dotnet "$BENCH_DIR/BareYarp/bin/Release/net10.0/BareYarp.dll" --port "$GATEWAY_PORT"
    --cert "$CONF/cert.pem" --key "$CONF/key.pem" --backend "http://127.0.0.1:$BACKEND_PORT/")
fi
(( PERF )) && GATEWAY_CMD=(env DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "${GATEWAY_CMD[@]}")
spawn gateway "$TMP/gateway.log" "${GATEWAY_CMD[@]}"
GATEWAY_PID=$SPAWNED_PID
(( PERF )) && CLEANUP_FILES+=("/tmp/perf-$GATEWAY_PID.map" "/tmp/perfinfo-$GATEWAY_PID.map")
URL="https://127.0.0.1:$GATEWAY_PORT/owa/"
wait_ready "$GATEWAY_PID" "$URL" || { tail -20 "$TMP/gateway.log" >&2; die "the gateway did not start"; }

load() {  # load SECONDS: the measured load, bounded by timeout
  if (( H2 )); then
    timeout $(( $1 + 30 )) h2load -t2 -c50 -m10 -D "$1" -H "$AUTH" "$URL"
  else
    timeout $(( $1 + 30 )) wrk -t2 -c50 -d"$1s" -H "$AUTH" "$URL"
  fi
}

log "warm-up ($WARMUP s)"
(( WARMUP == 0 )) || load "$WARMUP" >/dev/null 2>&1 || true
log "load average $(cut -d' ' -f1-3 /proc/loadavg); load for $DURATION s, trace for $(( DURATION - 5 )) s"
read -r c0 _ < <(python3 "$LIB" ticks "$GATEWAY_PID" "$GATEWAY_PID")
load "$DURATION" >"$TMP/load.out" 2>&1 &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
sleep 2
if (( COUNTERS )); then
  timeout $(( DURATION + 60 )) dotnet-counters collect -p "$GATEWAY_PID" --counters System.Runtime --format csv \
    --refresh-interval 1 --duration "00:00:$(printf '%02d' $(( DURATION - 5 )))" -o "$TMP/counters.csv" >"$TMP/trace.log" 2>&1 \
    || { tail -5 "$TMP/trace.log" >&2; die "dotnet-counters failed"; }
elif (( ALLOC )); then
  timeout $(( DURATION + 60 )) dotnet-trace collect -p "$GATEWAY_PID" --providers 'Microsoft-Windows-DotNETRuntime:0x1:5' \
    --duration "00:00:$(printf '%02d' $(( DURATION - 5 )))" -o "$TMP/alloc.nettrace" >"$TMP/trace.log" 2>&1 \
    || { tail -5 "$TMP/trace.log" >&2; die "dotnet-trace failed"; }
elif (( PERF )); then
  timeout $(( DURATION + 60 )) perf record -F 997 -g -p "$GATEWAY_PID" -o "$TMP/perf.data" -- sleep $(( DURATION - 5 )) \
    >"$TMP/trace.log" 2>&1 || { tail -5 "$TMP/trace.log" >&2; die "perf record failed"; }
else
  timeout $(( DURATION + 60 )) dotnet-trace collect -p "$GATEWAY_PID" --profile dotnet-sampled-thread-time \
    --duration "00:00:$(printf '%02d' $(( DURATION - 5 )))" -o "$TMP/gateway.nettrace" >"$TMP/trace.log" 2>&1 \
    || { tail -5 "$TMP/trace.log" >&2; die "dotnet-trace failed"; }
fi
wait "$LOAD_PID" || true
read -r c1 _ < <(python3 "$LIB" ticks "$GATEWAY_PID" "$GATEWAY_PID")
grep -E 'Requests/sec|finished in|requests:' "$TMP/load.out" >&2 || tail -5 "$TMP/load.out" >&2
log "gateway CPU during the load: $(( (c1 - c0) )) ticks (1/100 s, tracing overhead included)"

if (( ALLOC )); then
  rate=$(grep -oE 'Requests/sec: +[0-9.]+|finished in [^,]+, [0-9.]+ req/s' "$TMP/load.out" | grep -oE '[0-9.]+' | tail -1)
  dotnet build "$BENCH_DIR/AllocTop" -c Release -v q -nologo --disable-build-servers >"$TMP/alloctop-build.log" 2>&1 \
    || { tail -20 "$TMP/alloctop-build.log" >&2; die "AllocTop build failed"; }
  dotnet "$BENCH_DIR/AllocTop/bin/Release/net10.0/AllocTop.dll" "$TMP/alloc.nettrace" \
    "$(python3 -c "print(float('$rate') * $(( DURATION - 5 )))")" "$TOP"
  exit 0
fi
if (( COUNTERS )); then
  python3 "$BENCH_DIR/counters-per-request.py" "$TMP/counters.csv" "$TMP/load.out"
  exit 0
fi
if (( PERF )); then
  perf report -i "$TMP/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
  echo
  perf report -i "$TMP/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -"$TOP"
  echo
  perf report -i "$TMP/perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -"$TOP"
  exit 0
fi
timeout 300 dotnet-trace convert --format Speedscope "$TMP/gateway.nettrace" -o "$TMP/gateway" >/dev/null 2>&1 \
  || die "dotnet-trace convert failed"
python3 "$BENCH_DIR/profile-top.py" "$TMP/gateway.speedscope.json" --top "$TOP"
