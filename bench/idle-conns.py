#!/usr/bin/env python3
"""Measure a proxy's RSS per idle keep-alive TLS connection (python3 standard library only).

Opens --count TLS connections (HTTP/1.1 by ALPN) to 127.0.0.1:--port, sends one GET on each and reads the
whole response, then holds them all open and idle. The resident set size of --pid and its descendants
(from /proc/<pid>/status VmRSS) is read before the first connection and again after --settle seconds of
holding; the difference divided by the connections held is printed as JSON.

  idle-conns.py --port 8443 --pid 1234 --count 10000 [--path /owa/] [--header 'Authorization: Basic ...']

Everything is bounded: each connection has --timeout seconds to complete, the whole run --deadline seconds.
"""
import argparse
import asyncio
import json
import os
import resource
import ssl
import sys
import time


def tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read().decode("ascii", "replace")
            ppid = int(data[data.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kb(root):
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total


async def read_response(reader):
    """Reads one HTTP/1.1 response (Content-Length or chunked); returns the status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected: the final empty line
                break
            await reader.readexactly(size + 2)
    return status


async def open_one(args, ctx, request, gate, held, errors):
    async with gate:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, ssl=ctx, server_hostname="localhost"), args.timeout)
            writer.write(request)
            status = await asyncio.wait_for(read_response(reader), args.timeout)
            if status >= 400:
                errors.append(f"HTTP {status}")
            held.append((reader, writer))
        except Exception as e:  # noqa: BLE001 - any failure counts as a connection not held
            errors.append(type(e).__name__ + ": " + str(e)[:100])


async def run(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    extra = "".join(h + "\r\n" for h in args.header)
    request = (f"GET {args.path} HTTP/1.1\r\nHost: localhost:{args.port}\r\n{extra}\r\n").encode("latin-1")

    rss_before = rss_kb(args.pid)
    started = time.monotonic()
    gate = asyncio.Semaphore(args.concurrency)
    held, errors = [], []
    tasks = [asyncio.create_task(open_one(args, ctx, request, gate, held, errors)) for _ in range(args.count)]
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for t in pending:
        t.cancel()
    open_seconds = time.monotonic() - started
    await asyncio.sleep(args.settle)
    rss_after = rss_kb(args.pid)
    result = {
        "requested": args.count,
        "held": len(held),
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:5],
        "open_seconds": round(open_seconds, 2),
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "kb_per_conn": round((rss_after - rss_before) / len(held), 2) if held else None,
    }
    for _, writer in held:
        writer.transport.abort()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="proxy process whose RSS (with descendants) is measured")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--path", default="/owa/")
    p.add_argument("--header", action="append", default=[], help="extra request header, e.g. 'Authorization: Basic x'")
    p.add_argument("--concurrency", type=int, default=64, help="connections being opened at once")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--deadline", type=float, default=300.0)
    p.add_argument("--settle", type=float, default=2.0, help="seconds to hold before measuring")
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.count + 256) if hard != resource.RLIM_INFINITY else args.count + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.count + 64:
        print(f"warning: file descriptor limit {hard} is below {args.count} connections", file=sys.stderr)
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
