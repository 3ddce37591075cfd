#!/usr/bin/env bash
# A/B of gateway variants (issue 23): one demo backend, one gateway per variant (each started as bench/run.sh starts
# the gateway, with the variant's environment and arguments added), every variant warmed up, then measured runs
# interleaved A B C A B C ... so that other work on the machine skews every variant alike. Prints req/s and CPU µs per
# request of each run and the medians per variant.
#
#   bench/ab.sh 'before: --Serilog:WriteTo:Console:Name=Batched' 'tracing-off: --Gateway:Telemetry:Tracing=Off'
#   bench/ab.sh --h2 --rounds 4 'gc-default:' 'workstation: DOTNET_gcServer=0'
#   bench/ab.sh --close 'a:' 'b: DOTNET_TieredPGO=0'        # wrk with Connection: close on /healthz (new TLS connections)
#
# A variant is "LABEL: WORDS": WORDS of the form NAME=VALUE are environment variables, DLL=PATH runs another build
# of the gateway (e.g. the base commit built with git archive into /tmp), everything else is appended to the
# gateway's command line. Options: --rounds N (default 3), --duration S (default 5), --warmup S (default 15 per
# variant), --connections N (default 50), --h2, --close, --path P (default /owa/), --no-build, --keep-tmp, --published
# (variants without DLL= run the gateway as `dotnet publish` makes it, ReadyToRun as shipped: see common.sh).
# Never a CI test: nothing asserts on speed.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"
ROUNDS=3 DURATION=5 WARMUP=15 CONNECTIONS=50 H2=0 CLOSE=0 BUILD=1 KEEP_TMP=0 LOAD_PATH=""
VARIANTS=()

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "ab.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --path) LOAD_PATH=$2; shift ;;
    --h2) H2=1 ;;
    --close) CLOSE=1 ;;
    --no-build) BUILD=0 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    --published) GATEWAY_BUILD=publish ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) VARIANTS+=("$1") ;;
  esac
  shift
done
(( ${#VARIANTS[@]} >= 1 && ${#VARIANTS[@]} <= 6 )) || die "give 1 to 6 variants"
for n in "$ROUNDS" "$DURATION" "$WARMUP" "$CONNECTIONS"; do [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"; done
(( ROUNDS >= 1 && ROUNDS <= 20 && DURATION >= 1 && DURATION <= 120 && WARMUP <= 120 )) || die "rounds 1..20, duration 1..120 s, warm-up at most 120 s"
[[ -n $LOAD_PATH ]] || { (( CLOSE )) && LOAD_PATH=/healthz || LOAD_PATH=/owa/; }
for cmd in wrk h2load openssl curl python3; do command -v "$cmd" >/dev/null || die "missing $cmd (bench/run.sh installs it)"; done

bench_init casgw-ab
PY=$(python3 -c 'import sys; print(sys.executable)')
GW_DLL=$(gateway_dll)
BACKEND_DLL="$REPO/src/CasGateway.DemoBackend/bin/Release/net10.0/CasGateway.DemoBackend.dll"

if (( BUILD )); then
  log "building the gateway and the backend (Release)"
  build_gateway "$TMP/build.log" || { tail -30 "$TMP/build.log" >&2; die "gateway build failed"; }
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1
mapfile -t PORTS < <("$PY" "$LIB" free-ports $(( ${#VARIANTS[@]} + 1 )))
BACKEND_PORT=${PORTS[0]}
spawn backend "$TMP/backend.log" dotnet "$BACKEND_DLL" --name mbx1.contoso.com --port "$BACKEND_PORT"
BACKEND_PID=$SPAWNED_PID
wait_ready "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/owa/" || die "the backend did not start"
hash=$(printf '%s\n' "$BENCH_PASSWORD" | dotnet "$GW_DLL" hash-password)
"$PY" "$BENCH_DIR/gen-directory.py" --count 100000 --backend-url "http://127.0.0.1:$BACKEND_PORT/" \
  --password-hash "$hash" --out "$TMP/directory.json" >/dev/null

declare -a LABEL PID URL
for i in "${!VARIANTS[@]}"; do
  spec=${VARIANTS[$i]}
  [[ $spec == *:* ]] || die "a variant is LABEL: WORDS, not: $spec"
  LABEL[i]=${spec%%:*}
  dll=$GW_DLL envs=() args=()
  read -r -a words <<<"${spec#*:}"
  for w in "${words[@]}"; do
    if [[ $w == DLL=* ]]; then dll=${w#DLL=}
    elif [[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then envs+=("$w")
    else args+=("$w"); fi
  done
  conf="$TMP/conf-$i"
  mkdir -p "$conf"
  cp "$TMP/cert.pem" "$TMP/key.pem" "$conf/"
  ln "$TMP/directory.json" "$conf/directory.json"
  port=${PORTS[$(( i + 1 ))]}
  GATEWAY_EXTRA_ARGS="--Gateway:DataPath=$TMP/data-$i --Serilog:WriteTo:File:Args:configure:0:Args:path=$TMP/logs-$i/casgateway-.json ${args[*]}"
  gateway_command "$dll" "$port" "$conf"
  spawn "gateway ${LABEL[i]}" "$TMP/gateway-$i.log" env "${envs[@]}" "${GATEWAY_CMD[@]}"
  PID[i]=$SPAWNED_PID
  URL[i]="https://127.0.0.1:$port"
  wait_ready "${PID[i]}" "${URL[i]}/owa/" || { tail -20 "$TMP/gateway-$i.log" >&2; die "gateway ${LABEL[i]} did not start"; }
done

load() {  # load I SECONDS OUT
  local url="${URL[$1]}$LOAD_PATH"
  if (( CLOSE )); then
    timeout $(( $2 + 30 )) wrk -t2 -c"$CONNECTIONS" -d"$2s" --timeout 10s --latency -H "Connection: close" "$url" >"$3" 2>&1 || true
  elif (( H2 )); then
    timeout $(( $2 + 30 )) h2load -t2 -c"$CONNECTIONS" -m10 -D "$2" --log-file="$3.log" -H "$AUTH" "$url" >"$3" 2>&1 || true
  else
    timeout $(( $2 + 30 )) wrk -t2 -c"$CONNECTIONS" -d"$2s" --timeout 10s --latency -H "$AUTH" "$url" >"$3" 2>&1 || true
  fi
}

log "warm-up ($WARMUP s per variant, HTTP/1.1 and HTTP/2)"
for i in "${!VARIANTS[@]}"; do
  timeout $(( WARMUP + 30 )) wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -H "$AUTH" "${URL[i]}/owa/" >/dev/null 2>&1 || true
  timeout $(( WARMUP + 30 )) h2load -t2 -c"$CONNECTIONS" -m10 -D "$WARMUP" -H "$AUTH" "${URL[i]}/owa/" >/dev/null 2>&1 || true
done

RAW="$TMP/raw.jsonl"
: >"$RAW"
tool=wrk; (( H2 && ! CLOSE )) && tool=h2load
log "load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS round(s) of $DURATION s per variant, $tool $LOAD_PATH"
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!VARIANTS[@]}"; do
    read -r t0 b0 < <("$PY" "$LIB" ticks "${PID[i]}" "$BACKEND_PID")
    load "$i" "$DURATION" "$TMP/out"
    read -r t1 b1 < <("$PY" "$LIB" ticks "${PID[i]}" "$BACKEND_PID")
    line=$("$PY" "$LIB" record "$tool" "$TMP/out" "$TMP/out.log" ab "${LABEL[i]}" "$round" "$t0" "$t1" "$b0" "$b1")
    echo "$line" >>"$RAW"
    log "  round $round ${LABEL[i]}: $("$PY" "$LIB" brief "$line")"
  done
done
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$RAW" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
labels = list(dict.fromkeys(r["target"] for r in rows))
print("| variant | req/s (median) | CPU µs/request (median) | p99 ms (median) | runs | errors |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for label in labels:
    ok = [r for r in rows if r["target"] == label and r.get("ok")]
    if not ok:
        print(f"| {label} | failed | | | 0 | |")
        continue
    med = lambda k: statistics.median(r[k] for r in ok if r.get(k) is not None)
    print(f"| {label} | {med('rps'):,.0f} | {med('cpu_s_per_req') * 1e6:,.1f} | {med('p99_ms'):.2f} | {len(ok)} | {sum(r.get('errors', 0) for r in ok)} |")
EOF
