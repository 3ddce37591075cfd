#!/usr/bin/env bash
# The directory stores at scale (issue 18; results in docs/benchmarks.md, "Directory at scale"): a directory of
# MAILBOXES mailboxes (bench/gen-directory.py) imported with `directory import` into SQLite and into a private
# PostgreSQL cluster, LDAP_MAILBOXES of them loaded into a private OpenLDAP slapd with slapadd, and the 5-mailbox
# File store as the baseline. For each store the gateway (Release build) is started on it and measured:
#   - start: from spawning the process to the first proxied request answered (GET /owa/ with Basic, 200 from the
#     backend, a python3 HTTP server on loopback);
#   - RSS after start and after the lookups;
#   - resolve latency: bench/explain-latency.py (POST /admin/explain over one keep-alive TLS connection, LOOKUPS
#     random mailboxes cold, then the same ones again cached).
# Everything runs on 127.0.0.1 in one temp folder; every process started is stopped and the folder removed on exit.
#
#   bench/directory-scale.sh [file] [sqlite] [postgres] [ldap]      (default: all four, in that order)
#   MAILBOXES=1000000 LDAP_MAILBOXES=100000 LOOKUPS=2000 KEEP_TMP=0
#   GATEWAY_DIR=src/CasGateway/bin/Release/net10.0   (build first: dotnet build src/CasGateway -c Release)
# Needs: python3, openssl, curl, bc, /usr/bin/time, postgresql (15), slapd + ldap-utils.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
KEEP_TMP=${KEEP_TMP:-0}
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"

MAILBOXES=${MAILBOXES:-1000000}
LDAP_MAILBOXES=${LDAP_MAILBOXES:-100000}
LOOKUPS=${LOOKUPS:-2000}
GATEWAY_DIR=$(cd "${GATEWAY_DIR:-$BENCH_DIR/../src/CasGateway/bin/Release/net10.0}" && pwd)
DLL="$GATEWAY_DIR/CasGateway.dll"
PG_BIN=/usr/lib/postgresql/15/bin
stores=("$@"); (( ${#stores[@]} )) || stores=(file sqlite postgres ldap)
[[ -f "$DLL" ]] || { echo "no $DLL: dotnet build src/CasGateway -c Release" >&2; exit 1; }

bench_init casgw-dirscale
pg_data=""
# The PostgreSQL cluster is stopped by pg_ctl (it runs detached), then everything else by bench_cleanup.
cleanup() {
  local rc=$?
  [[ -n "$pg_data" ]] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1
  (exit "$rc"); bench_cleanup
}
trap cleanup EXIT
chmod 755 "$TMP"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# The gateway's TLS certificate, also the LDAP servers' (and the CA the gateway trusts for them).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/identity-ecdsa.pem" 2>/dev/null)

# The mailbox server: answers every request with 200 and a small body.
backend_port=$(free_port)
spawn backend "$TMP/backend.log" python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        body = b"{\"server\":\"mbx1.contoso.com\"}"
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body))); self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$backend_port"

hash=$(echo pw | dotnet "$DLL" hash-password)
directory() { # COUNT FILE
  [[ -f "$2" ]] || python3 "$BENCH_DIR/gen-directory.py" --count "$1" --backend-url "http://127.0.0.1:$backend_port/" --password-hash "$hash" --out "$2"
}

# measure NAME COUNT SETTINGS...: starts the gateway with SETTINGS, prints the start time, RSS and resolve latency.
measure() {
  local name=$1 count=$2; shift 2
  local port; port=$(free_port)
  local start; start=$(date +%s.%N)
  spawn "gateway ($name)" "$TMP/gateway-$name.log" dotnet "$DLL" --contentRoot "$GATEWAY_DIR" --environment Production \
    --Gateway:Demo:Enabled=false --Gateway:DataPath="$TMP/data-$name" \
    --Gateway:Listeners:Address=127.0.0.1 --Gateway:Listeners:HttpsPort="$port" \
    --Gateway:Listeners:Certificates:0:Path="$TMP/cert.pem" --Gateway:Listeners:Certificates:0:KeyPath="$TMP/key.pem" \
    --Gateway:Backend:Identity:PrivateKeyPath="$TMP/identity-ecdsa.pem" \
    --Gateway:Health:AdminUsers:0=user00001@contoso.com --Serilog:MinimumLevel:Default=Warning \
    --Serilog:WriteTo:File:Args:configure:0:Args:path="$TMP/logs-$name/gw-.json" "$@"
  local pid=$SPAWNED_PID code="" deadline=$(( $(date +%s) + 180 ))
  until [[ "$code" == 200 ]]; do
    kill -0 "$pid" 2>/dev/null || { tail -30 "$TMP/gateway-$name.log" >&2; return 1; }
    (( $(date +%s) < deadline )) || { log "$name: no proxied answer within 180 s"; tail -30 "$TMP/gateway-$name.log" >&2; return 1; }
    code=$(curl -sk -o /dev/null -w '%{http_code}' -u user00001@contoso.com:pw "https://127.0.0.1:$port/owa/" || true)
    [[ "$code" == 200 ]] || sleep 0.02
  done
  local started; started=$(echo "$(date +%s.%N) - $start" | bc)
  local rss; rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  local latency; latency=$(python3 "$BENCH_DIR/explain-latency.py" "$port" "$LOOKUPS" "$count")
  local after; after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  printf '| %s | %s | %.2f s | %d MB | %s | %d MB |\n' "$name" "$count" "$started" $(( rss / 1024 )) "$latency" $(( after / 1024 )) | tee -a "$TMP/results.md"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

timed() { # LABEL COMMAND...: runs COMMAND, prints its wall time and peak RSS
  /usr/bin/time -f "| $1 | %e s wall, %U s user, %S s system, peak RSS %M KB |" -a -o "$TMP/imports.md" "${@:2}" >/dev/null
  tail -1 "$TMP/imports.md"
}

for store in "${stores[@]}"; do
  case $store in
  file)
    python3 "$BENCH_DIR/gen-directory.py" --count 5 --backend-url "http://127.0.0.1:$backend_port/" --password-hash "$hash" --out "$TMP/small.json"
    measure "File (5 mailboxes)" 5 --Gateway:Locator:Kind=File --Gateway:Locator:File:Path="$TMP/small.json"
    ;;
  sqlite)
    directory "$MAILBOXES" "$TMP/dir.json"
    timed "directory import, SQLite, $MAILBOXES mailboxes" dotnet "$DLL" directory import "$TMP/dir.json" "--Gateway:Locator:Sql:ConnectionString=Data Source=$TMP/dir.db"
    log "SQLite database: $(du -sh "$TMP"/dir.db* | tr '\n' ' ')"
    measure "Sql Sqlite" "$MAILBOXES" --Gateway:Locator:Kind=Sql "--Gateway:Locator:Sql:ConnectionString=Data Source=$TMP/dir.db"
    ;;
  postgres)
    directory "$MAILBOXES" "$TMP/dir.json"
    pg_port=$(free_port); mkdir -p "$TMP/pg"; chown postgres "$TMP/pg"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$TMP/pg/data" -U postgres --auth-local=peer --auth-host=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    pg_data="$TMP/pg/data"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pg_data" -w -t 30 -l "$TMP/pg/pg.log" -o "-p $pg_port -k $TMP/pg -c listen_addresses=127.0.0.1" start >/dev/null
    psql "host=127.0.0.1 port=$pg_port user=postgres dbname=postgres" -qc "CREATE DATABASE casgateway"
    pg="Host=127.0.0.1;Port=$pg_port;Database=casgateway;Username=postgres"
    timed "directory import, PostgreSQL, $MAILBOXES mailboxes" dotnet "$DLL" directory import "$TMP/dir.json" --Gateway:Locator:Sql:Provider=PostgreSql "--Gateway:Locator:Sql:ConnectionString=$pg"
    log "PostgreSQL database: $(psql "host=127.0.0.1 port=$pg_port user=postgres dbname=casgateway" -qAtc "SELECT pg_size_pretty(pg_database_size('casgateway'))")"
    measure "Sql PostgreSql" "$MAILBOXES" --Gateway:Locator:Kind=Sql --Gateway:Locator:Sql:Provider=PostgreSql "--Gateway:Locator:Sql:ConnectionString=$pg"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
    pg_data=""
    ;;
  ldap)
    mkdir -p "$TMP/ldap/db"
    # The Exchange attributes the locator reads (the test schema of tests/CasGateway.EndToEnd/DirectoryStores).
    cat >"$TMP/ldap/exchange.schema" <<'EOF'
objectIdentifier ContosoOID 1.3.6.1.4.1.99999
objectIdentifier ContosoAttr ContosoOID:1
objectIdentifier ContosoOC ContosoOID:2
attributetype ( ContosoAttr:1 NAME 'msExchMailboxGuid' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( ContosoAttr:2 NAME 'homeMDB' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( ContosoAttr:3 NAME 'msExchOwningServer' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( ContosoAttr:4 NAME 'proxyAddresses' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( ContosoAttr:5 NAME 'dNSHostName' EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )
attributetype ( ContosoAttr:6 NAME 'msExchServerSite' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( ContosoAttr:7 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( ContosoOC:1 NAME 'contosoExchangeObject' SUP top AUXILIARY
    MAY ( msExchMailboxGuid $ homeMDB $ msExchOwningServer $ proxyAddresses $ dNSHostName $ msExchServerSite $ userPrincipalName ) )
EOF
    cat >"$TMP/ldap/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $TMP/ldap/exchange.schema
pidfile $TMP/ldap/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile $TMP/cert.pem
TLSCertificateKeyFile $TMP/key.pem
database mdb
maxsize 4294967296
suffix "dc=contoso,dc=com"
rootdn "cn=admin,dc=contoso,dc=com"
rootpw adminpw
directory $TMP/ldap/db
index objectClass eq
index mail,proxyAddresses,userPrincipalName,msExchMailboxGuid eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
EOF
    # The same mailboxes as gen-directory.py (names, uuid5 GUIDs), with password "pw".
    python3 - "$LDAP_MAILBOXES" >"$TMP/ldap/base.ldif" <<'EOF'
import base64, sys, uuid
ns = uuid.UUID("6f1d3c2a-4b5e-4f60-8a71-9c2d3e4f5a6b"); s = "dc=contoso,dc=com"; w = sys.stdout.write
w(f"dn: {s}\nobjectClass: dcObject\nobjectClass: organization\ndc: contoso\no: Contoso\n\n")
for ou in ("People", "Servers", "Databases"):
    w(f"dn: ou={ou},{s}\nobjectClass: organizationalUnit\nou: {ou}\n\n")
w(f"dn: cn=MBX1,ou=Servers,{s}\nobjectClass: device\nobjectClass: contosoExchangeObject\ncn: MBX1\ndNSHostName: mbx1.contoso.com\n"
  f"msExchServerSite: cn=Bench,cn=Sites,cn=Configuration,{s}\nserialNumber: Version 15.2 (Build 1544.4)\n\n")
w(f"dn: cn=DB01,ou=Databases,{s}\nobjectClass: applicationProcess\nobjectClass: contosoExchangeObject\ncn: DB01\n"
  f"msExchOwningServer: cn=MBX1,ou=Servers,{s}\n\n")
for i in range(1, int(sys.argv[1]) + 1):
    local = f"user{i:05d}"; address = f"{local}@contoso.com"
    guid = base64.b64encode(uuid.uuid5(ns, "mailbox:" + address).bytes_le).decode()
    w(f"dn: uid={local},ou=People,{s}\nobjectClass: inetOrgPerson\nobjectClass: contosoExchangeObject\nuid: {local}\ncn: User {i}\n"
      f"sn: {local}\nmail: {address}\nproxyAddresses: SMTP:{address}\nuserPrincipalName: {local}@corp.contoso.com\n"
      f"msExchMailboxGuid:: {guid}\nhomeMDB: cn=DB01,ou=Databases,{s}\nuserPassword: pw\n\n")
EOF
    timed "slapadd, $LDAP_MAILBOXES mailboxes" /usr/sbin/slapadd -q -f "$TMP/ldap/slapd.conf" -l "$TMP/ldap/base.ldif"
    log "slapd database: $(du -sh "$TMP/ldap/db" | cut -f1)"
    ldaps_port=$(free_port)
    spawn slapd "$TMP/ldap/slapd.log" /usr/sbin/slapd -d 0 -f "$TMP/ldap/slapd.conf" -h "ldaps://127.0.0.1:$ldaps_port/"
    until (exec 3<>"/dev/tcp/127.0.0.1/$ldaps_port") 2>/dev/null; do sleep 0.05; done
    measure "Ldap (slapd)" "$LDAP_MAILBOXES" --Gateway:Locator:Kind=Ldap \
      --Gateway:Locator:Ldap:Servers:0="ldaps://127.0.0.1:$ldaps_port" --Gateway:Locator:Ldap:TrustedCaPath="$TMP/cert.pem" \
      --Gateway:Locator:Ldap:BindDn=cn=admin,dc=contoso,dc=com --Gateway:Locator:Ldap:BindPassword=adminpw \
      --Gateway:Locator:Ldap:BaseDn=ou=People,dc=contoso,dc=com --Gateway:Locator:Ldap:ConfigurationBaseDn=ou=Servers,dc=contoso,dc=com \
      "--Gateway:Locator:Ldap:MailboxFilter=(objectClass=inetOrgPerson)" "--Gateway:Locator:Ldap:ServerFilter=(objectClass=device)" \
      --Gateway:Locator:Ldap:Attributes:DatabaseGuid=entryUUID --Gateway:Locator:Ldap:Attributes:DisplayName=cn \
      --Gateway:Locator:Ldap:MailboxServers:mbx1.contoso.com:BackendUrl="http://127.0.0.1:$backend_port/"
    ;;
  *) echo "unknown store '$store' (file, sqlite, postgres, ldap)" >&2; exit 2 ;;
  esac
done

echo
echo "| store | mailboxes | start (spawn → first proxied answer) | RSS after start | explain round trip | RSS after lookups |"
echo "|---|---|---|---|---|---|"
cat "$TMP/results.md"
[[ -f "$TMP/imports.md" ]] && { echo; echo "| load | time |"; echo "|---|---|"; cat "$TMP/imports.md"; }
