#!/usr/bin/env python3
"""Helpers for bench/run.sh (python3 standard library only).

Subcommands:
  free-ports N                      print N distinct free TCP ports on 127.0.0.1, one per line
  ticks PID...                      utime+stime clock ticks of each PID with all its descendants
  rss PID                           VmRSS in kB of PID and all its descendants
  parse-wrk FILE                    wrk --latency output -> JSON
  parse-h2load FILE LOGFILE         h2load output and its --log-file -> JSON
  record TOOL OUT LOG SCENARIO TARGET ROUND TICKS0 TICKS1 BTICKS0 BTICKS1
                                    parse one load run and print it as one JSON line, with CPU per request
  brief JSONLINE                    one line summary of a record
  count-conns PORT [PID]            established TCP connections towards 127.0.0.1:PORT (owned by PID and its
                                    descendants when given: that proxy's backend connections)
  watch-conns PORT SECONDS [PID]    sample count-conns every 250 ms for SECONDS, print the peak
  report RAW.jsonl META.json OUT_MD OUT_JSON
                                    medians over rounds, ratios, Markdown + JSON, printed to stdout
"""
import json
import os
import re
import socket
import statistics
import sys
import time


# ---------------------------------------------------------------- processes

def _proc_stat(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read().decode("ascii", "replace")
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    return rest  # rest[0] = state (field 3), rest[1] = ppid (field 4), rest[11] = utime, rest[12] = stime


def _tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(_proc_stat(name)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [int(root)]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def ticks(root):
    total = 0
    for pid in _tree(root):
        try:
            rest = _proc_stat(pid)
            total += int(rest[11]) + int(rest[12])
        except (OSError, ValueError, IndexError):
            pass
    return total


def rss_kb(root):
    total = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total


def _socket_inodes(root):
    inodes = set()
    for pid in _tree(root):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    return inodes


def count_conns(port, pid=None):
    """Established TCP sockets whose remote end is 127.0.0.1:port, owned by pid (and its descendants) when given:
    the proxy's side of its backend connections, not other proxies' idle pools."""
    # IPv4, and IPv4-mapped IPv6 (.NET connects with dual-mode sockets: ::ffff:127.0.0.1 in /proc/net/tcp6).
    wants = {"/proc/net/tcp": f"0100007F:{int(port):04X}",
             "/proc/net/tcp6": f"0000000000000000FFFF00000100007F:{int(port):04X}"}
    owned = _socket_inodes(pid) if pid else None
    n = 0
    for table, want in wants.items():
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    # parts[2] = remote address, parts[3] = state (01 = ESTABLISHED), parts[9] = inode
                    if parts[2] == want and parts[3] == "01" and (owned is None or parts[9] in owned):
                        n += 1
        except OSError:
            pass
    return n


# ---------------------------------------------------------------- parsing

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot parse duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    out = {"tool": "wrk", "ok": False}
    m = re.search(r"^\s*50%\s+(\S+)", text, re.M)
    if m:
        out["p50_ms"] = _ms(m.group(1))
    m = re.search(r"^\s*99%\s+(\S+)", text, re.M)
    if m:
        out["p99_ms"] = _ms(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        out["requests"] = int(m.group(1))
        out["seconds"] = _ms(m.group(2) + m.group(3)) / 1000.0
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    out["errors"] = errors
    out["ok"] = all(k in out for k in ("rps", "requests", "p50_ms", "p99_ms")) and out["requests"] > 0
    return out


def _percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def parse_h2load(path, log_path):
    text = open(path, encoding="utf-8", errors="replace").read()
    out = {"tool": "h2load", "ok": False}
    m = re.search(r"finished in ([\d.]+)(us|ms|s|m), ([\d.]+) req/s", text)
    if m:
        out["seconds"] = _ms(m.group(1) + m.group(2)) / 1000.0
        out["rps"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        total, started, done, succeeded, failed, errored, timeout = (int(x) for x in m.groups())
        out["requests"] = succeeded
        out["errors"] = failed + errored + timeout
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out["errors"] = out.get("errors", 0) + int(m.group(3)) + int(m.group(4))
    m = re.search(r"Application protocol: (\S+)", text)
    if m:
        out["protocol"] = m.group(1)
    durations = []
    try:
        with open(log_path) as f:
            for line in f:
                parts = line.split("\t")
                if len(parts) >= 3 and parts[1].startswith("2"):
                    durations.append(int(parts[2]) / 1000.0)  # microseconds -> ms
    except OSError:
        pass
    durations.sort()
    if durations:
        out["p50_ms"] = _percentile(durations, 0.50)
        out["p99_ms"] = _percentile(durations, 0.99)
    out["ok"] = all(k in out for k in ("rps", "requests", "p50_ms", "p99_ms")) and out["requests"] > 0
    return out


# ---------------------------------------------------------------- report

TARGET_LABELS = {
    "direct": "backend direct",
    "nginx": "nginx",
    "haproxy": "HAProxy",
    "bare-yarp": "bare YARP",
    "gateway": "CasGateway",
}
ORDER = ["gateway", "bare-yarp", "nginx", "haproxy", "direct"]
REFERENCES = ["nginx", "haproxy", "bare-yarp", "direct"]


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(v, digits=2):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def report(raw_path, meta_path, out_md, out_json):
    meta = json.load(open(meta_path))
    runs = [json.loads(line) for line in open(raw_path) if line.strip()]
    extras = []
    if os.path.exists(meta.get("extras_file", "")):
        extras = [json.loads(line) for line in open(meta["extras_file"]) if line.strip()]
    scenarios = meta["scenarios"]  # list of {id, title}
    targets = [t for t in ORDER if t in meta["targets"]]

    summary = {}
    for sc in scenarios:
        summary[sc["id"]] = {}
        for t in targets:
            rs = [r for r in runs if r["scenario"] == sc["id"] and r["target"] == t and r.get("ok")]
            failed = [r for r in runs if r["scenario"] == sc["id"] and r["target"] == t and not r.get("ok")]
            if not rs:
                note = failed[0].get("note") if failed else None
                summary[sc["id"]][t] = {"rounds": 0, "failed_rounds": len(failed), "note": note}
                continue
            summary[sc["id"]][t] = {
                "rounds": len(rs),
                "failed_rounds": len(failed),
                "rps": _median([r["rps"] for r in rs]),
                "p50_ms": _median([r["p50_ms"] for r in rs]),
                "p99_ms": _median([r["p99_ms"] for r in rs]),
                "cpu_s_per_req": _median([r.get("cpu_s_per_req") for r in rs]),
                "backend_cpu_s_per_req": _median([r.get("backend_cpu_s_per_req") for r in rs]),
                "errors": sum(r.get("errors", 0) for r in rs),
                "protocol": rs[0].get("protocol"),
                "note": rs[0].get("note"),
            }

    ratios = {}
    for sc in scenarios:
        ratios[sc["id"]] = {}
        s = summary[sc["id"]]
        for t in targets:
            if t == "direct" or not s.get(t, {}).get("rounds"):
                continue
            ratios[sc["id"]][t] = {}
            for ref in REFERENCES:
                if ref == t or not s.get(ref, {}).get("rounds"):
                    continue
                ratios[sc["id"]][t][ref] = {
                    "rps": _ratio(s[t]["rps"], s[ref]["rps"]),
                    "p99": _ratio(s[t]["p99_ms"], s[ref]["p99_ms"]),
                    "cpu_per_req": _ratio(s[t]["cpu_s_per_req"], s[ref]["cpu_s_per_req"]),
                }

    lines = []
    lines.append(f"### {meta['mode']} run, {meta['date']}")
    lines.append("")
    lines.append(f"Machine: {meta['machine']}. {meta['load']}. Median of {meta['rounds']} round(s); "
                 f"targets interleaved within each round.")
    lines.append("")
    for sc in scenarios:
        s = summary[sc["id"]]
        lines.append(f"#### {sc['title']}")
        lines.append("")
        lines.append("| target | req/s | p50 ms | p99 ms | CPU µs/request (target process) | errors |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for t in targets:
            row = s.get(t, {})
            label = TARGET_LABELS[t]
            if row.get("note"):
                label += f" ({row['note']})"
            if not row.get("rounds"):
                lines.append(f"| {label} | n/a | n/a | n/a | n/a | failed |")
                continue
            cpu = row["cpu_s_per_req"] * 1e6 if row["cpu_s_per_req"] is not None else None
            lines.append(f"| {label} | {_fmt(row['rps'])} | {_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | "
                         f"{_fmt(cpu)} | {row['errors']} |")
        lines.append("")
        r = ratios[sc["id"]]
        if r:
            lines.append("Ratios, each cell *req/s ratio · p99 ratio · CPU-per-request ratio* "
                         "(req/s above 1 is better; p99 and CPU below 1 are better):")
            lines.append("")
            lines.append("| proxy | vs nginx | vs HAProxy | vs bare YARP | vs direct |")
            lines.append("| --- | --- | --- | --- | --- |")
            for t in targets:
                if t not in r:
                    continue
                cells = []
                for ref in REFERENCES:
                    v = r[t].get(ref)
                    if v is None:
                        cells.append("—")
                    else:
                        cells.append(" · ".join(_fmt(v[k]) for k in ("rps", "p99", "cpu_per_req")))
                lines.append(f"| {TARGET_LABELS[t]} | " + " | ".join(cells) + " |")
            lines.append("")

    if extras:
        lines.append("#### Start-up, idle connections, backend connections")
        lines.append("")
        lines.append(f"| target | start-up to first proxied request ms | idle TLS keep-alive connections held "
                     f"| RSS before MB | RSS after MB | KB RSS per idle connection | "
                     f"peak backend connections at {meta.get('busy_clients', '?')} busy clients |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        by_target = {}
        for e in extras:
            by_target.setdefault(e["target"], {}).update(e)
        for t in targets:
            e = by_target.get(t)
            if not e:
                continue
            idle = e.get("idle") or {}
            before = idle.get("rss_before_kb")
            after = idle.get("rss_after_kb")
            lines.append(
                f"| {TARGET_LABELS[t]} | {_fmt(e.get('startup_ms'))} | "
                f"{idle.get('held', 'not measured') if idle else 'not measured'} | "
                f"{_fmt(before / 1024 if before else None)} | {_fmt(after / 1024 if after else None)} | "
                f"{_fmt(idle.get('kb_per_conn'))} | {e.get('peak_backend_conns', 'n/a') if t != 'direct' else '—'} |")
        lines.append("")
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    if meta.get("notes"):
        lines.append("")

    md = "\n".join(lines)
    with open(out_md, "w") as f:
        f.write(md + "\n")
    with open(out_json, "w") as f:
        json.dump({"meta": meta, "summary": summary, "ratios": ratios, "extras": extras, "runs": runs},
                  f, indent=2)
    print(md)


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "free-ports":
        socks, ports = [], []
        for _ in range(int(args[0])):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
        for s in socks:
            s.close()
        print("\n".join(str(p) for p in ports))
    elif cmd == "ticks":
        print(" ".join(str(ticks(pid)) for pid in args))
    elif cmd == "rss":
        print(rss_kb(args[0]))
    elif cmd == "parse-wrk":
        print(json.dumps(parse_wrk(args[0])))
    elif cmd == "parse-h2load":
        print(json.dumps(parse_h2load(args[0], args[1])))
    elif cmd == "record":
        tool, out, log, scenario, target, rnd = args[:6]
        t0, t1, b0, b1 = (int(x) for x in args[6:10])
        rec = parse_wrk(out) if tool == "wrk" else parse_h2load(out, log)
        hz = os.sysconf("SC_CLK_TCK")
        rec.update({"scenario": scenario, "target": target, "round": int(rnd)})
        if rec.get("requests"):
            rec["cpu_s_per_req"] = (t1 - t0) / hz / rec["requests"]
            rec["backend_cpu_s_per_req"] = (b1 - b0) / hz / rec["requests"]
        print(json.dumps(rec))
    elif cmd == "brief":
        r = json.loads(args[0])
        print(f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['errors']}")
    elif cmd == "count-conns":
        print(count_conns(args[0], args[1] if len(args) > 1 else None))
    elif cmd == "watch-conns":
        end = time.monotonic() + float(args[1])
        pid = args[2] if len(args) > 2 else None
        peak = 0
        while time.monotonic() < end:
            peak = max(peak, count_conns(args[0], pid))
            time.sleep(0.25)
        print(peak)
    elif cmd == "report":
        report(*args[:4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
