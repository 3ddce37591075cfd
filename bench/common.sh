# Shared by bench/run.sh and bench/profile.sh (sourced, not run): the processes a script starts, stopped on exit
# whatever happens, and the gateway's benchmark command line. Expects log() and KEEP_TMP from the script.

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPNETCORE_ENVIRONMENT=Production
LIB="$BENCH_DIR/benchlib.py"

# The bench's mailbox user (bench/gen-directory.py makes user00001 … user<N>, all with this password) and the Basic
# header every load sends (proxies without authentication pass it on; the demo backend ignores it).
BENCH_USER=${BENCH_USER:-user00001@contoso.com}
BENCH_PASSWORD=${BENCH_PASSWORD:-Bench-Passw0rd!}
AUTH="Authorization: Basic $(printf '%s:%s' "$BENCH_USER" "$BENCH_PASSWORD" | base64 -w0)"

# wait_ready PID URL: at most 60 s for a 200 through URL with $AUTH; fails at once when PID exits first.
wait_ready() {
  local pid=$1 url=$2 i
  for i in $(seq 1 3000); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' -H "$AUTH" "$url" 2>/dev/null || true) == 200 ]] && return 0
    sleep 0.02
  done
  return 1
}

# bench_init PREFIX: a temp folder $TMP, and traps that stop every spawned process (TERM, then KILL after 3 s) and
# remove the folder (unless KEEP_TMP) when the script ends.
bench_init() {
  PIDS=()
  CLEANUP_FILES=()  # files outside $TMP that the script's processes write, removed on exit too
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local rc=$? pid i
  set +e
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for i in $(seq 1 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -f "${CLEANUP_FILES[@]}"
  if (( KEEP_TMP )); then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}

# spawn NAME LOGFILE COMMAND...: starts COMMAND in the background, remembers its pid for cleanup in SPAWNED_PID.
spawn() {
  local name=$1 logfile=$2; shift 2
  "$@" >"$logfile" 2>&1 &
  SPAWNED_PID=$!
  PIDS+=("$SPAWNED_PID")
  log "started $name (pid $SPAWNED_PID)"
}

# The gateway build the scripts run. Default: the Release build output (dotnet build -c Release). GATEWAY_BUILD=publish
# (--published on run.sh, ab.sh and profile.sh) runs what `dotnet publish -c Release` makes of src/CasGateway instead —
# ReadyToRun, as deploy/container ships it — so that start-up and JIT figures are those of what ships.
# GATEWAY_DLL=PATH runs any other build (e.g. a base commit's).
GATEWAY_PUBLISH_DIR="$REPO/src/CasGateway/bin/Release/publish"
gateway_dll() {
  if [[ -n ${GATEWAY_DLL:-} ]]; then echo "$GATEWAY_DLL"
  elif [[ ${GATEWAY_BUILD:-build} == publish ]]; then echo "$GATEWAY_PUBLISH_DIR/CasGateway.dll"
  else echo "$REPO/src/CasGateway/bin/Release/net10.0/CasGateway.dll"; fi
}

# build_gateway LOGFILE: builds the gateway that gateway_dll names (or publishes it, with GATEWAY_BUILD=publish).
build_gateway() {
  local project="$REPO/src/CasGateway/CasGateway.csproj"
  if [[ ${GATEWAY_BUILD:-build} == publish ]]; then
    dotnet publish "$project" -c Release -o "$GATEWAY_PUBLISH_DIR" -v q -nologo --disable-build-servers >"$1" 2>&1
  else
    dotnet build "$project" -c Release -v q -nologo --disable-build-servers >"$1" 2>&1
  fi
}

# gateway_command DLL PORT CONFIG_DIR: sets GATEWAY_CMD to CasGateway's production pipeline on 127.0.0.1:PORT —
# TLS with CONFIG_DIR/cert.pem and key.pem, Basic authentication against CONFIG_DIR/directory.json, a fresh ECDSA
# P-256 identity signing key (CONFIG_DIR/identity-ecdsa.pem), protocol log on ($TMP/gateway-logs, the production settings' file sink), demo mode off — then GATEWAY_EXTRA_ARGS (split on
# spaces). The watched files sit in a folder of their own, as under /etc in a deployment: the gateway's file
# watchers would otherwise wake for every line of the logs written next to them.
gateway_command() {
  local dll=$1 port=$2 conf=$3
  local -a extra
  read -r -a extra <<<"${GATEWAY_EXTRA_ARGS:-}"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$conf/identity-ecdsa.pem" 2>/dev/null)
  GATEWAY_CMD=(dotnet "$dll"
    --contentRoot "$(dirname "$dll")" --environment Production
    --Gateway:Demo:Enabled=false --Gateway:NodeName=cas-bench.contoso.com
    --Gateway:DataPath="$TMP/gateway-data"
    --Gateway:Listeners:Address=127.0.0.1 --Gateway:Listeners:HttpsPort="$port"
    --Gateway:Listeners:Certificates:0:Path="$conf/cert.pem" --Gateway:Listeners:Certificates:0:KeyPath="$conf/key.pem"
    --Gateway:Locator:File:Path="$conf/directory.json"
    --Gateway:Backend:Identity:PrivateKeyPath="$conf/identity-ecdsa.pem"
    --Serilog:WriteTo:File:Args:configure:0:Args:path="$TMP/gateway-logs/casgateway-.json"
    "${extra[@]}")
}
