#!/usr/bin/env bash
# CasGateway benchmark harness (issue 10): the gateway against nginx, HAProxy, bare YARP and the backend direct,
# all on 127.0.0.1, in one run. Prints a table and writes it as Markdown and JSON under bench/results/.
#
#   bench/run.sh --quick     one round, 3 s per target and scenario, 1,000 idle connections (under 3 minutes here, build included)
#   bench/run.sh             full mode: 3 rounds, 15 s per target and scenario, 10,000 idle connections,
#                            5,000 busy clients (about 15 minutes on 2 cores, nearer 20 with the gateway)
#
# Options: --quick | --full, --rounds N, --duration S, --connections N, --idle N, --busy N,
#          --targets LIST (comma separated: direct,nginx,haproxy,bare-yarp,gateway), --no-install, --no-build,
#          --keep-tmp, --published (run the gateway as `dotnet publish` makes it: ReadyToRun, as shipped; see common.sh).
#          Environment variables of the same names in capitals (ROUNDS, DURATION, ...) work too.
# See docs/benchmarks.md for what is measured and how. Never a CI test: nothing here asserts on speed.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"

MODE=full
INSTALL=1
BUILD=1
KEEP_TMP=0
TARGETS_ARG=${TARGETS:-direct,nginx,haproxy,bare-yarp,gateway}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --idle) IDLE_CONNS=$2; shift ;;
    --busy) BUSY_CLIENTS=$2; shift ;;
    --targets) TARGETS_ARG=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    --published) GATEWAY_BUILD=publish ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

if [[ $MODE == quick ]]; then
  : "${ROUNDS:=1}" "${DURATION:=3}" "${WARMUP:=4}" "${IDLE_CONNS:=1000}" "${BUSY_CLIENTS:=1000}" "${BUSY_SECONDS:=2}"
  : "${IDLE_SETTLE:=1}"
else
  # 5,000 TLS connections opened at once overflow the listen backlogs (about 512) and take several seconds of
  # SYN retries to establish: the busy-clients run needs 15 s to reach a steady state.
  : "${ROUNDS:=3}" "${DURATION:=15}" "${WARMUP:=10}" "${IDLE_CONNS:=10000}" "${BUSY_CLIENTS:=5000}" "${BUSY_SECONDS:=15}"
  : "${IDLE_SETTLE:=3}"
fi
: "${CONNECTIONS:=50}"      # client connections, the same for every target and tool
: "${THREADS:=2}"           # wrk / h2load threads (the machine has 2 cores)
: "${H2_STREAMS:=10}"       # h2load concurrent streams per connection, small responses
: "${H2_STREAMS_LARGE:=1}"  # h2load concurrent streams per connection, 1 MB responses (as many in flight as wrk)
: "${HAPROXY_MAXCONN:=9000}"
SMALL_PATH=/owa/
LARGE_PATH='/owa/?download=1048576'
CLOSE_PATH=/healthz  # new connections: the gateway answers it itself, the other proxies forward it to the backend
BACKEND_NAME=mbx1.contoso.com
# Every target gets the same request, with the same Authorization header (the gateway needs it; the others
# forward it and the backend ignores it). start_gateway may change BENCH_AUTH_HEADER before the load starts.
BENCH_AUTH_HEADER=${BENCH_AUTH_HEADER:-$AUTH}

for n in "$ROUNDS" "$DURATION" "$WARMUP" "$IDLE_CONNS" "$BUSY_CLIENTS" "$BUSY_SECONDS" "$CONNECTIONS" "$THREADS" "$H2_STREAMS"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
(( ROUNDS >= 1 && ROUNDS <= 20 && DURATION >= 1 && DURATION <= 300 )) || die "rounds 1..20, duration 1..300 s"
IFS=, read -r -a WANTED <<<"$TARGETS_ARG"
wanted() { local t; for t in "${WANTED[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }

# ------------------------------------------------------------------------------------------------ cleanup
bench_init casgw-bench

# ------------------------------------------------------------------------------------------------ packages
ensure_packages() {
  local missing=() cmd pkg
  local -A need=([nginx]=nginx [haproxy]=haproxy [wrk]=wrk [h2load]=nghttp2-client [openssl]=openssl
                 [curl]=curl [python3]=python3)
  for cmd in "${!need[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}"); done
  (( ${#missing[@]} )) || return 0
  (( INSTALL )) || die "missing packages: ${missing[*]} (run without --no-install, or apt-get install them)"
  local sudo=()
  if (( EUID != 0 )); then command -v sudo >/dev/null || die "missing ${missing[*]} and not root"; sudo=(sudo); fi
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ------------------------------------------------------------------------------------------------ helpers
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_serving PID URL LOGFILE: polls URL (at most 60 s) until it answers 200 with the backend's name in the body.
wait_serving() {
  local pid=$1 url=$2 logfile=$3 i code
  for i in $(seq 1 3000); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "--- $logfile" >&2; tail -20 "$logfile" >&2 || true
      return 1
    fi
    code=$(curl -sk --max-time 2 -o "$TMP/ready.body" -w '%{http_code}' -H "$BENCH_AUTH_HEADER" "$url" 2>/dev/null || true)
    if [[ $code == 200 ]] && grep -q "$BACKEND_NAME" "$TMP/ready.body"; then return 0; fi
    sleep 0.02
  done
  echo "--- $logfile" >&2; tail -20 "$logfile" >&2 || true
  return 1
}

declare -A PID_OF URL_OF STARTUP_MS
TARGETS=()

# register NAME PID URL T0: waits for the first proxied request and records the target.
register() {
  local name=$1 pid=$2 url=$3 t0=$4
  if wait_serving "$pid" "${url}owa/" "$TMP/$name.log"; then
    STARTUP_MS[$name]=$(( $(now_ms) - t0 ))
    PID_OF[$name]=$pid
    URL_OF[$name]=$url
    TARGETS+=("$name")
    log "$name ready at $url in ${STARTUP_MS[$name]} ms"
  else
    log "$name did not come up: left out of the results"
    kill -TERM "$pid" 2>/dev/null || true
    return 1
  fi
}

# ------------------------------------------------------------------------------------------------ targets
start_backend() {
  local t0; t0=$(now_ms)
  spawn backend "$TMP/direct.log" dotnet "$REPO/src/CasGateway.DemoBackend/bin/Release/net10.0/CasGateway.DemoBackend.dll" \
    --name "$BACKEND_NAME" --port "$BACKEND_PORT"
  BACKEND_PID=$SPAWNED_PID
  BACKEND_URL="http://127.0.0.1:$BACKEND_PORT/"
  register direct "$BACKEND_PID" "$BACKEND_URL" "$t0" || die "the backend did not start"
}

start_bare_yarp() {
  local t0; t0=$(now_ms)
  spawn bare-yarp "$TMP/bare-yarp.log" dotnet "$BENCH_DIR/BareYarp/bin/Release/net10.0/BareYarp.dll" \
    --port "$YARP_PORT" --cert "$TMP/cert.pem" --key "$TMP/key.pem" --backend "$BACKEND_URL"
  register bare-yarp "$SPAWNED_PID" "https://127.0.0.1:$YARP_PORT/" "$t0"
}

start_nginx() {
  local dir="$TMP/nginx" user_line="" t0
  mkdir -p "$dir"
  (( EUID == 0 )) && user_line="user root;"
  cat >"$dir/nginx.conf" <<EOF
# Benchmark baseline: TLS termination, HTTP/1.1 with keep-alive to the backend, no access log.
$user_line
daemon off;
worker_processes auto;
worker_rlimit_nofile $NOFILE;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $(( NOFILE - 200 )); }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  # nginx closes a client connection after 1000 requests by default; Kestrel and HAProxy do not.
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  upstream backend {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 512;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      # Stream large responses through memory buffers instead of spooling them to temp files.
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_max_temp_file_size 0;
    }
  }
}
EOF
  t0=$(now_ms)
  spawn nginx "$TMP/nginx.log" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf"
  register nginx "$SPAWNED_PID" "https://127.0.0.1:$NGINX_PORT/" "$t0" || { tail -5 "$dir/error.log" >&2 || true; return 1; }
}

start_haproxy() {
  local t0
  cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/combined.pem"
  cat >"$TMP/haproxy.cfg" <<EOF
# Benchmark baseline: TLS termination, HTTP mode, keep-alive on both sides, no logging.
global
  maxconn $HAPROXY_MAXCONN
  ssl-default-bind-options ssl-min-ver TLSv1.2
  tune.ssl.cachesize 20000
defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  timeout http-request 30s
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT ssl crt $TMP/combined.pem alpn h2,http/1.1
  default_backend be
backend be
  server mbx1 127.0.0.1:$BACKEND_PORT
EOF
  t0=$(now_ms)
  spawn haproxy "$TMP/haproxy.log" haproxy -db -f "$TMP/haproxy.cfg"
  register haproxy "$SPAWNED_PID" "https://127.0.0.1:$HAPROXY_PORT/" "$t0"
}

# start_gateway: CasGateway in Release with its production pipeline: TLS with $TMP/cert.pem / key.pem on
# 127.0.0.1:$GATEWAY_PORT, Basic authentication (PBKDF2 hash, then the gateway's credential cache), anchor, locate
# from a directory of 100,000 mailboxes, signed identity header, forward to $BACKEND_URL, protocol log on (the
# production settings: a compact-JSON file). Demo mode off. Active backend probes stay on, as in production.
start_gateway() {
  local dll hash t0
  dll=$(gateway_dll)
  [[ -f $REPO/src/CasGateway/CasGateway.csproj ]] || return 1
  if (( BUILD )); then
    build_gateway "$TMP/gateway-build.log" || return 1
  fi
  log "gateway: $dll"
  hash=$(printf '%s\n' "$BENCH_PASSWORD" | dotnet "$dll" hash-password) || return 1
  mkdir -p "$TMP/gateway-config"
  cp "$TMP/cert.pem" "$TMP/key.pem" "$TMP/gateway-config/"
  "$PY" "$BENCH_DIR/gen-directory.py" --count 100000 --backend-url "$BACKEND_URL" \
    --password-hash "$hash" --out "$TMP/gateway-config/directory.json" || return 1
  gateway_command "$dll" "$GATEWAY_PORT" "$TMP/gateway-config"
  t0=$(now_ms)
  spawn gateway "$TMP/gateway.log" "${GATEWAY_CMD[@]}" || return 1
  register gateway "$SPAWNED_PID" "https://127.0.0.1:$GATEWAY_PORT/" "$t0"
}

# ------------------------------------------------------------------------------------------------ load
# run_load ROUND SCENARIO TOOL PATH TARGET: one measured run, appended to $RAW as one JSON line.
run_load() {
  local round=$1 scenario=$2 tool=$3 path=$4 target=$5
  local url="${URL_OF[$target]}${path#/}" pid=${PID_OF[$target]}
  local out="$TMP/run.out" h2log="$TMP/run.h2log" t0 t1 b0 b1
  if [[ $tool == h2load && $target == direct ]]; then
    # The backend listens in cleartext and Kestrel speaks no h2c there: no direct HTTP/2 baseline.
    printf '{"scenario":"%s","target":"direct","round":%d,"ok":false,"note":"cleartext HTTP/1.1 only, no h2c"}\n' \
      "$scenario" "$round" >>"$RAW"
    return 0
  fi
  rm -f "$out" "$h2log"
  read -r t0 b0 < <("$PY" "$LIB" ticks "$pid" "$BACKEND_PID")
  if [[ $tool == wrk ]]; then
    timeout $(( DURATION + 30 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
      -H "$BENCH_AUTH_HEADER" "$url" >"$out" 2>&1 || true
  elif [[ $tool == wrk-close ]]; then
    # One request per connection: every request is a new TCP connection and TLS handshake (the server closes).
    timeout $(( DURATION + 30 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
      -H "$BENCH_AUTH_HEADER" -H "Connection: close" "$url" >"$out" 2>&1 || true
  else
    local streams=$H2_STREAMS
    [[ $path == "$LARGE_PATH" ]] && streams=$H2_STREAMS_LARGE
    timeout $(( DURATION + 30 )) h2load -t"$THREADS" -c"$CONNECTIONS" -m"$streams" -D "$DURATION" \
      --log-file="$h2log" -H "$BENCH_AUTH_HEADER" "$url" >"$out" 2>&1 || true
  fi
  read -r t1 b1 < <("$PY" "$LIB" ticks "$pid" "$BACKEND_PID")
  "$PY" "$LIB" record "${tool%-close}" "$out" "$h2log" "$scenario" "$target" "$round" "$t0" "$t1" "$b0" "$b1" >>"$RAW"
  local last; last=$(tail -1 "$RAW")
  if [[ $last == *'"ok": false'* ]]; then
    log "  $scenario $target: FAILED"; tail -5 "$out" >&2 || true
  else
    log "  $scenario $target: $("$PY" "$LIB" brief "$last")"
  fi
}

# warm_up TARGET: JIT and pools warm before the first measured run (small responses over both protocols).
warm_up() {
  local target=$1 url=${URL_OF[$1]}
  timeout $(( WARMUP + 30 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -H "$BENCH_AUTH_HEADER" "${url}owa/" >/dev/null 2>&1 || true
  if [[ $target != direct ]]; then
    timeout $(( WARMUP + 30 )) h2load -t"$THREADS" -c"$CONNECTIONS" -m"$H2_STREAMS" -D "$WARMUP" -H "$BENCH_AUTH_HEADER" "${url}owa/" >/dev/null 2>&1 || true
  fi
}

# ------------------------------------------------------------------------------------------------ main
START=$(now_ms)
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
ensure_packages
# The interpreter itself, not a version-manager shim: it is called several times per measured run.
PY=$(python3 -c 'import sys; print(sys.executable)')
# Raise the open-file limit as far as allowed: every process started below inherits it.
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited ]] && NOFILE=65536
(( NOFILE <= 65536 )) || NOFILE=65536
ulimit -n "$NOFILE"
(( NOFILE >= IDLE_CONNS + 500 )) || log "warning: ulimit -n $NOFILE is tight for $IDLE_CONNS idle connections"
(( HAPROXY_MAXCONN < NOFILE / 2 )) || HAPROXY_MAXCONN=$(( NOFILE / 2 - 100 ))

if (( BUILD )); then
  log "building the backend and bare YARP (Release)"
  # The two projects share nothing: build them side by side.
  dotnet build "$REPO/src/CasGateway.DemoBackend/CasGateway.DemoBackend.csproj" -c Release -v q -nologo --disable-build-servers >"$TMP/build-backend.log" 2>&1 &
  build_backend=$!
  dotnet build "$BENCH_DIR/BareYarp/BareYarp.csproj" -c Release -v q -nologo --disable-build-servers >"$TMP/build-yarp.log" 2>&1 &
  build_yarp=$!
  wait "$build_backend" || { tail -30 "$TMP/build-backend.log" >&2; die "backend build failed"; }
  wait "$build_yarp" || { tail -30 "$TMP/build-yarp.log" >&2; die "bare YARP build failed"; }
fi

log "self-signed certificate (ECDSA P-256) in $TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1

mapfile -t PORTS < <("$PY" "$LIB" free-ports 5)
BACKEND_PORT=${PORTS[0]} NGINX_PORT=${PORTS[1]} HAPROXY_PORT=${PORTS[2]} YARP_PORT=${PORTS[3]} GATEWAY_PORT=${PORTS[4]}

RESULTS="$BENCH_DIR/results"
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$TMP/raw.jsonl"
EXTRAS="$TMP/extras.jsonl"
: >"$RAW"; : >"$EXTRAS"

# Start-up to first proxied request: one target at a time, so start-ups do not compete for the CPU.
start_backend
wanted nginx && { start_nginx || true; }
wanted haproxy && { start_haproxy || true; }
wanted bare-yarp && { start_bare_yarp || true; }
if wanted gateway; then
  if start_gateway; then :; else log "gateway not started (start_gateway not implemented or failed): no gateway row"; fi
fi
# Keep the table's order stable whatever the start order; direct only when asked for.
ORDERED=()
for t in gateway bare-yarp nginx haproxy direct; do
  [[ -n ${PID_OF[$t]:-} ]] && wanted "$t" && ORDERED+=("$t")
done
TARGETS=("${ORDERED[@]}")
for t in direct nginx haproxy bare-yarp gateway; do
  [[ -n ${PID_OF[$t]:-} ]] && wanted "$t" && printf '{"target":"%s","startup_ms":%d}\n' "$t" "${STARTUP_MS[$t]}" >>"$EXTRAS"
done
# Interleave in a fixed order A B C ... within each round.
LOAD_ORDER=()
for t in direct nginx haproxy bare-yarp gateway; do [[ " ${TARGETS[*]} " == *" $t "* ]] && LOAD_ORDER+=("$t"); done

# Idle keep-alive TLS connections, on the freshly started proxies (before any load inflates their heaps).
for t in nginx bare-yarp gateway; do
  [[ " ${TARGETS[*]} " == *" $t "* ]] || continue
  port=${URL_OF[$t]##*:}; port=${port%/}
  log "idle connections: $IDLE_CONNS to $t"
  idle=$(timeout 600 "$PY" "$BENCH_DIR/idle-conns.py" --port "$port" --pid "${PID_OF[$t]}" --count "$IDLE_CONNS" \
           --header "$BENCH_AUTH_HEADER" --deadline 300 --settle "$IDLE_SETTLE" 2>"$TMP/idle-$t.err") || idle=""
  if [[ -n $idle ]]; then
    log "  $t: $idle"
    printf '{"target":"%s","idle":%s}\n' "$t" "$idle" >>"$EXTRAS"
  else
    log "  $t: idle-connection measurement failed"; tail -3 "$TMP/idle-$t.err" >&2 || true
  fi
  sleep 1
done

log "warm-up (${WARMUP} s per target and tool)"
for t in "${LOAD_ORDER[@]}"; do warm_up "$t"; done

SCENARIOS=("h1-small wrk $SMALL_PATH" "h1-1mb wrk $LARGE_PATH" "h2-small h2load $SMALL_PATH" "h2-1mb h2load $LARGE_PATH"
           "h1-close wrk-close $CLOSE_PATH")
for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  for sc in "${SCENARIOS[@]}"; do
    read -r scenario tool path <<<"$sc"
    for t in "${LOAD_ORDER[@]}"; do run_load "$round" "$scenario" "$tool" "$path" "$t"; done
  done
done

# Backend connections the proxy holds while BUSY_CLIENTS client connections hammer it.
for t in "${LOAD_ORDER[@]}"; do
  [[ $t == direct ]] && continue
  log "backend connections at $BUSY_CLIENTS busy clients: $t"
  "$PY" "$LIB" watch-conns "$BACKEND_PORT" "$(( BUSY_SECONDS + 1 ))" "${PID_OF[$t]}" >"$TMP/peak" &
  watcher=$!
  timeout $(( BUSY_SECONDS + 60 )) wrk -t"$THREADS" -c"$BUSY_CLIENTS" -d"${BUSY_SECONDS}s" --timeout 10s \
    -H "$BENCH_AUTH_HEADER" "${URL_OF[$t]}owa/" >"$TMP/busy-$t.out" 2>&1 || true
  wait "$watcher" || true
  peak=$(cat "$TMP/peak" 2>/dev/null || echo 0)
  [[ $peak =~ ^[0-9]+$ ]] || peak=0
  log "  $t: peak $peak backend connections"
  printf '{"target":"%s","peak_backend_conns":%d}\n' "$t" "$peak" >>"$EXTRAS"
done

# ------------------------------------------------------------------------------------------------ report
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)
mem_gb=$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)
os_name=$(. /etc/os-release && echo "$PRETTY_NAME")
versions="nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), HAProxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'), \
.NET $(dotnet --version), YARP $(sed -n 's/.*Yarp.ReverseProxy" Version="\([^"]*\)".*/\1/p' "$REPO/Directory.Packages.props"), \
$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), h2load $(h2load --version 2>&1 | head -1 | awk '{print $NF}')"
export MODE ROUNDS DURATION CONNECTIONS THREADS H2_STREAMS H2_STREAMS_LARGE IDLE_CONNS BUSY_CLIENTS BUSY_SECONDS EXTRAS STAMP
export MACHINE="$(nproc) cores ($cpu_model), ${mem_gb} GB RAM, $os_name, kernel $(uname -r)"
export VERSIONS="$versions" TARGET_LIST="${TARGETS[*]}" LOAD_AT_START
GATEWAY_RAN="$(gateway_dll)"
export GATEWAY_RAN="${GATEWAY_RAN#"$REPO"/}"  # relative to the repository when it is inside it
"$PY" - "$TMP/meta.json" <<'EOF'
import json, os, sys, time
e = os.environ
meta = {
    "mode": e["MODE"],
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "machine": e["MACHINE"],
    "rounds": int(e["ROUNDS"]),
    "load": (f"wrk {e['THREADS']} threads × {e['CONNECTIONS']} keep-alive connections; h2load {e['THREADS']} threads × "
             f"{e['CONNECTIONS']} connections × {e['H2_STREAMS']} streams (small) or × {e['H2_STREAMS_LARGE']} (1 MB); "
             f"{e['DURATION']} s per target and scenario; "
             f"load generator, proxy and backend share the same cores"),
    "targets": e["TARGET_LIST"].split(),
    "busy_clients": int(e["BUSY_CLIENTS"]),
    "idle_connections": int(e["IDLE_CONNS"]),
    "extras_file": e["EXTRAS"],
    "scenarios": [
        {"id": "h1-small", "title": "HTTP/1.1 keep-alive over TLS (wrk), small response: GET /owa/ (≈0.6 KB JSON)"},
        {"id": "h1-1mb", "title": "HTTP/1.1 keep-alive over TLS (wrk), 1 MB response: GET /owa/?download=1048576"},
        {"id": "h2-small", "title": "HTTP/2 over TLS (h2load), small response: GET /owa/"},
        {"id": "h2-1mb", "title": "HTTP/2 over TLS (h2load), 1 MB response: GET /owa/?download=1048576"},
        {"id": "h1-close", "title": "New connections: HTTP/1.1 over TLS with Connection: close (wrk), GET /healthz — req/s = new TLS connections/s"},
    ],
    "notes": [
        "Versions: " + e["VERSIONS"] + ".",
        "Gateway build: " + e["GATEWAY_RAN"] + " (the published one is ReadyToRun, as shipped; see --published).",
        "Load average when the run started: " + e["LOAD_AT_START"] + " (other work on the machine skews absolute "
        "figures; the ratios, measured interleaved in the same run, are what to compare).",
        "backend direct = the demo backend itself, cleartext HTTP/1.1 (it serves no TLS and no h2c); "
        "its CPU column is the backend's own CPU per request.",
        "CPU µs/request = utime+stime of the target process and its children (/proc/<pid>/stat) during the run "
        "÷ requests completed; the backend's CPU is not included for the proxies.",
        "KB RSS per idle connection = (VmRSS after holding the connections − VmRSS before) ÷ connections held, "
        "each connection having made one request first; nginx counts master + workers.",
    ],
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
EOF

MD="$RESULTS/bench-$MODE-$STAMP.md"
JSON="$RESULTS/bench-$MODE-$STAMP.json"
echo
"$PY" "$LIB" report "$RAW" "$TMP/meta.json" "$MD" "$JSON"
cp "$MD" "$RESULTS/latest.md"
cp "$JSON" "$RESULTS/latest.json"
echo
log "wrote $MD and $JSON (also latest.md / latest.json); total $(( ($(now_ms) - START) / 1000 )) s"
