#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests use as real peers (Dovecot as IMAP/POP mailbox
# servers, HAProxy as a PROXY-protocol balancer), builds, runs every test project, and ends with one line
# "N passed, N failed". Exits non-zero on any failure, on a test hung for 10 minutes (a dump is written), and when
# the tests left a server process or a casgw-test-* folder behind (each is listed).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
[ -x /usr/sbin/dovecot ] || packages+=(dovecot-imapd dovecot-pop3d)
command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

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
