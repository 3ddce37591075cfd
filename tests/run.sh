#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests use as real peers (Dovecot as IMAP/POP mailbox
# servers, HAProxy as a PROXY-protocol balancer, OpenLDAP slapd and PostgreSQL 15 as directory stores), builds,
# runs every test project, and ends with one line "N passed, N failed". Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
[ -x /usr/sbin/dovecot ] || packages+=(dovecot-imapd dovecot-pop3d)
command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)
[ -x /usr/sbin/slapd ] && command -v ldapmodify >/dev/null 2>&1 || packages+=(slapd ldap-utils)
[ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql)
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # slapd's postinst asks for an admin password only when debconf may ask: noninteractive skips it (the tests
  # run their own slapd from a temp folder, never the system instance).
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

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
