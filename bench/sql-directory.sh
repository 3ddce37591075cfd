#!/usr/bin/env bash
# The SQL store at scale (issue 18; results in docs/benchmarks.md): a directory of COUNT mailboxes
# (bench/gen-directory.py) imported into SQLite with `directory import`, then the gateway started on it:
# time to the first /healthz answer, RSS, and explain round trips (bench/explain-latency.py).
#   bench/sql-directory.sh [COUNT=1000000] [LOOKUPS=2000]      needs a built gateway (dotnet build src/CasGateway)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gateway="$here/../src/CasGateway/bin/Debug/net10.0"
count=${1:-1000000}; lookups=${2:-2000}
work=$(mktemp -d /tmp/sqldir.XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
python3 "$here/gen-directory.py" --count "$count" --backend-url http://127.0.0.1:9/ \
  --password-hash "$(echo unused | dotnet "$gateway/CasGateway.dll" hash-password)" --out dir.json
/usr/bin/time -f "import: %e s wall, %U s user, %S s system, max RSS %M KB" \
  dotnet "$gateway/CasGateway.dll" directory import dir.json "--Gateway:Locator:Sql:ConnectionString=Data Source=$work/dir.db"
admin_hash=$(echo pw | dotnet "$gateway/CasGateway.dll" hash-password)
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE mailboxes SET password_hash=? WHERE primary_smtp_address='user00001@contoso.com'\", (sys.argv[2],)); c.commit()" dir.db "$admin_hash"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
start=$(date +%s.%N)
dotnet "$gateway/CasGateway.dll" --contentRoot "$gateway" --Gateway:Locator:Kind=Sql "--Gateway:Locator:Sql:ConnectionString=Data Source=$work/dir.db" \
  --Gateway:Listeners:Address=127.0.0.1 --Gateway:Listeners:HttpsPort=$port --Gateway:Demo:Enabled=false \
  --Gateway:Backend:Identity:SigningKey="$(head -c 32 /dev/urandom | base64)" --Gateway:DataPath="$work/data" \
  --Gateway:Health:AdminUsers:0=user00001@contoso.com --Serilog:MinimumLevel:Default=Warning \
  "--Serilog:WriteTo:File:Args:configure:0:Args:path=$work/logs/gw-.json" > gw.out 2>&1 &
pid=$!
until curl -sk -o /dev/null "https://127.0.0.1:$port/healthz"; do
  kill -0 $pid 2>/dev/null || { cat gw.out; exit 1; }
  sleep 0.05
done
echo "start: $(echo "$(date +%s.%N) - $start" | bc) s to the first /healthz answer; $(grep VmRSS /proc/$pid/status)"
python3 "$here/explain-latency.py" "$port" "$lookups" "$count"
echo "after the lookups: $(grep VmRSS /proc/$pid/status)"
kill -TERM $pid; wait $pid || true
