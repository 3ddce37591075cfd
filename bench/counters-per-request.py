#!/usr/bin/env python3
"""Per-request runtime figures from a dotnet-counters CSV (System.Runtime, 1 s refresh) taken during a wrk or
h2load run whose output is the second argument: bytes allocated, GCs, thread pool work items, lock contentions and
JIT activity per request, plus GC pause and CPU shares (bench/profile.sh --counters)."""
import re
import sys
from collections import defaultdict

csv_path, load_path = sys.argv[1], sys.argv[2]
rates = defaultdict(list)  # counter -> one value per 1 s interval
for line in open(csv_path).read().splitlines()[1:]:
    parts = line.rsplit(",", 2)
    if len(parts) != 3:
        continue
    head, _kind, value = parts
    name = head.split(",", 2)[2]
    try:
        rates[name].append(float(value))
    except ValueError:
        pass

load = open(load_path).read()
m = re.search(r"Requests/sec:\s+([\d.]+)", load) or re.search(r"finished in [^,]+, ([\d.]+) req/s", load)
if not m:
    sys.exit("counters-per-request.py: no request rate in the load output")
per_second = float(m.group(1))


def mean(name):
    values = rates.get(name)
    return sum(values) / len(values) if values else float("nan")


rows = [
    ("bytes allocated per request", mean("dotnet.gc.heap.total_allocated (By / 1 sec)") / per_second, "{:,.0f}"),
    ("gen0 GCs per 1,000 requests", mean("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen0]") / per_second * 1000, "{:.2f}"),
    ("gen1 GCs per 1,000 requests", mean("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen1]") / per_second * 1000, "{:.2f}"),
    ("gen2 GCs per 1,000 requests", mean("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen2]") / per_second * 1000, "{:.2f}"),
    ("GC pause, % of wall time", mean("dotnet.gc.pause.time (s / 1 sec)") * 100, "{:.1f}"),
    ("thread pool work items per request", mean("dotnet.thread_pool.work_item.count ({work_item} / 1 sec)") / per_second, "{:.2f}"),
    ("lock contentions per 1,000 requests", mean("dotnet.monitor.lock_contentions ({contention} / 1 sec)") / per_second * 1000, "{:.2f}"),
    ("methods JIT-compiled per second", mean("dotnet.jit.compiled_methods ({method} / 1 sec)"), "{:.1f}"),
    ("JIT time, % of wall time", mean("dotnet.jit.compilation.time (s / 1 sec)") * 100, "{:.1f}"),
    ("CPU µs per request (user + system)", (mean("dotnet.process.cpu.time (s / 1 sec)[cpu.mode=user]") + mean("dotnet.process.cpu.time (s / 1 sec)[cpu.mode=system]")) / per_second * 1e6, "{:.1f}"),
]
print(f"{per_second:,.0f} requests/s over {len(rates.get('dotnet.gc.heap.total_allocated (By / 1 sec)', []))} one-second samples\n")
print("| per request | value |\n| --- | ---: |")
for label, value, fmt in rows:
    print(f"| {label} | {fmt.format(value)} |")
