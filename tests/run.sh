#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests use as real peers (Dovecot as IMAP/POP mailbox
# servers, Postfix as their SMTP transport, swaks, HAProxy as a PROXY-protocol balancer), builds, runs every test project, and ends with one line
# "N passed, N failed". Exits non-zero on any failure.
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
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
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
