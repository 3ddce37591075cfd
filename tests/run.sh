#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests use as real peers (Dovecot as IMAP/POP mailbox
# servers, HAProxy as a PROXY-protocol balancer, SIPp as a VoIP gateway), builds, runs every test project, and ends with one line
# "N passed, N failed". Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
[ -x /usr/sbin/dovecot ] || packages+=(dovecot-imapd dovecot-pop3d)
command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
command -v systemd-analyze >/dev/null 2>&1 || packages+=(systemd)
command -v sipp >/dev/null 2>&1 || packages+=(sip-tester)
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# A real EWS Autodiscover client (ews-javascript-api, from npm) for the Autodiscover tests.
ews_client=tests/CasGateway.EndToEnd/Autodiscover/ews-client
command -v node >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
[ -d "$ews_client/node_modules/ews-javascript-api" ] || npm ci --prefix "$ews_client" --no-audit --no-fund >/dev/null

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
dotnet test CasGateway.sln --configuration Release \
  --logger "trx;LogFilePrefix=tests" --logger "console;verbosity=minimal" \
  --results-directory "$results" || status=$?

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
