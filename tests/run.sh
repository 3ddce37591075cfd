#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests use as real peers (Dovecot as IMAP/POP mailbox
# servers, Postfix as their SMTP transport, swaks, HAProxy as a PROXY-protocol balancer, OpenLDAP slapd and PostgreSQL
# 15 as directory stores, SIPp as a VoIP gateway, Redis, Chromium, promtool, kubectl), builds, runs every test project, and ends with one
# line "N passed, N failed". Exits non-zero on any failure, on a test hung for 10 minutes (a dump is written), and
# when the tests left a server process or a casgw-test-* folder behind (each is listed).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
[ -x /usr/lib/dovecot/imap ] || packages+=(dovecot-imapd)
[ -x /usr/lib/dovecot/pop3 ] || packages+=(dovecot-pop3d)
# SMTP tests: Postfix as the mailbox servers' transport, delivering over Dovecot's LMTP; swaks (with TLS) as a client.
[ -x /usr/lib/dovecot/lmtp ] || packages+=(dovecot-lmtpd)
[ -x /usr/sbin/postfix ] || packages+=(postfix)
command -v swaks >/dev/null 2>&1 || packages+=(swaks)
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || packages+=(libnet-ssleay-perl)
command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)
[ -x /usr/sbin/slapd ] && command -v ldapmodify >/dev/null 2>&1 || packages+=(slapd ldap-utils)
[ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql)
# Several nodes: Redis for the shared key ring, failed-login counts and throttling windows.
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
# deploy/ checks: promtool (alert rules), kubectl (kustomize), systemd-analyze (the unit).
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
command -v systemd-analyze >/dev/null 2>&1 || packages+=(systemd)
# Headless Chromium and its driver for the browser sign-in tests (Selenium drives /usr/bin/chromedriver).
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || packages+=(chromium chromium-driver fonts-dejavu-core)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v sipp >/dev/null 2>&1 || packages+=(sip-tester)
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # slapd's postinst asks for an admin password only when debconf may ask: noninteractive skips it (the tests
  # run their own slapd from a temp folder, never the system instance).
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# A real EWS Autodiscover client (ews-javascript-api, from npm) for the Autodiscover tests.
ews_client=tests/CasGateway.EndToEnd/Autodiscover/ews-client
command -v node >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
[ -d "$ews_client/node_modules/ews-javascript-api" ] || npm ci --prefix "$ews_client" --no-audit --no-fund >/dev/null
# Servers the tests start as real peers; any left running after the run is a test that did not clean up.
peers='dovecot|haproxy|slapd|postgres|redis-server|chromium|chrome|chromedriver|master'
tmp="${TMPDIR:-/tmp}"
leftovers() {
  # This user's peer processes (postfix's "master" only with its own -c config), and test folders.
  ps -u "$(id -u)" -o pid=,comm=,args= | awk -v peers="^($peers)\$" '$2 ~ peers && ($2 != "master" || /postfix/) { print "process " $1 ": " substr($0, index($0, $3)) }'
  find "$tmp" -maxdepth 1 -name 'casgw-test-*' -printf 'folder %p\n' 2>/dev/null
}
before="$(leftovers | sort)"

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
dotnet test CasGateway.sln --configuration Release \
  --blame-hang-timeout 10m --blame-hang-dump-type mini \
  --logger "trx;LogFilePrefix=tests" --logger "console;verbosity=minimal" \
  --results-directory "$results" || status=$?

passed=0
failed=0
# The benchmark projects are not in the solution; building them here keeps them from rotting unnoticed (each one that
# does not build counts as a failure).
for project in bench/Micro bench/AllocTop bench/BareYarp; do
  if ! dotnet build "$project" --configuration Release -v q -nologo >"$results/bench-build.log" 2>&1; then
    tail -20 "$results/bench-build.log"
    echo "$project does not build"
    failed=$((failed + 1))
    status=1
  fi
done
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

left="$(comm -13 <(printf '%s\n' "$before") <(leftovers | sort) | sed '/^$/d')"
if [ -n "$left" ]; then
  echo "The tests left these behind:"
  echo "$left"
  status=1
fi

echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
