#!/usr/bin/env python3
"""Write a CasGateway directory file with N mailboxes for benchmarks (python3 standard library only).

  gen-directory.py --count 100000 --backend-url http://127.0.0.1:9001/ --password-hash 'HASH' --out dir.json

One site "Bench", one mailbox server (--server, default mbx1.contoso.com) at --backend-url, one database
DB01 active on it, and mailboxes user00001@contoso.com ... (at least five digits: user00001, ..., user100000),
display names "User 1" ..., all with the same --password-hash string (written as given). GUIDs are derived
from the names (uuid5), so the same arguments always give the same file.
"""
import argparse
import json
import sys
import uuid

NAMESPACE = uuid.UUID("6f1d3c2a-4b5e-4f60-8a71-9c2d3e4f5a6b")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, required=True, help="number of mailboxes")
    p.add_argument("--backend-url", required=True, help="backendUrl of the mailbox server, e.g. http://127.0.0.1:9001/")
    p.add_argument("--password-hash", required=True, help="passwordHash written for every mailbox, as given")
    p.add_argument("--out", required=True, help="output file ('-' for stdout)")
    p.add_argument("--server", default="mbx1.contoso.com", help="mailbox server FQDN")
    p.add_argument("--domain", default="contoso.com")
    p.add_argument("--version", default="15.2.1544.4", help="server version string")
    args = p.parse_args()
    if args.count < 1:
        sys.exit("--count must be at least 1")

    database = {
        "name": "DB01",
        "guid": str(uuid.uuid5(NAMESPACE, "database:DB01")),
        "copies": [{"server": args.server, "active": True}],
    }
    mailboxes = []
    for i in range(1, args.count + 1):
        address = f"user{i:05d}@{args.domain}"
        mailboxes.append({
            "guid": str(uuid.uuid5(NAMESPACE, "mailbox:" + address)),
            "primarySmtpAddress": address,
            "aliases": [],
            "database": "DB01",
            "displayName": f"User {i}",
            "passwordHash": args.password_hash,
        })
    directory = {
        "sites": [{"name": "Bench"}],
        "servers": [{"fqdn": args.server, "site": "Bench", "version": args.version, "backendUrl": args.backend_url}],
        "databases": [database],
        "mailboxes": mailboxes,
    }
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        json.dump(directory, out, separators=(",", ":"))
        out.write("\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"wrote {args.count} mailboxes (user00001@{args.domain} .. {mailboxes[-1]['primarySmtpAddress']})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
