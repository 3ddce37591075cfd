#!/usr/bin/env python3
"""Ranks the frames of a dotnet-trace speedscope export (dotnet-sampled-thread-time) by busy time.

The sampled-thread-time profile samples every managed thread, blocked or not: each stack ends in CPU_TIME (managed
code running) or UNMANAGED_CODE_TIME (native code: TLS, syscalls, or a wait). Stacks ending in a wait (thread pool
idle, epoll, Monitor/semaphore waits, timers, file watchers) are idle time and left out; the rest is busy time.
Prints the busy share of each cost bucket (tracing, protocol log, cookie, ...), of each module (inclusive), the top frames by inclusive and by exclusive busy time, and the
top frames of CasGateway's own code.

usage: profile-top.py FILE.speedscope.json [--top N]
"""
import collections
import json
import re
import sys

WAIT = re.compile(
    r"LowLevelLifoSemaphore|WaitHandle\.Wait|Monitor\.Wait|SemaphoreSlim\.Wait|WaitForSocketEvents|Thread\.Sleep"
    r"|FileSystemWatcher|ManualResetEventSlim\.Wait|TimerQueue|WaitSubsystem|Interop\+Sys\.Read\(|BackgroundWorkerSink\.Pump"
    r"|Console.*Read|Thread\.Join|GetQueuedCompletionStatus|SpinWait|WaitOne")


# Where busy time goes: the first bucket that matches, walking the stack from the running frame towards the root.
BUCKETS = [
    ("runtime suspension (GC, tiering: PollGC)", re.compile(r"PollGC|GCHeap|GarbageCollect")),
    ("protocol log (Serilog, ProtocolLogWriter)", re.compile(r"^Serilog|ProtocolLogWriter")),
    ("tracing (OpenTelemetry, Activity)", re.compile(r"^OpenTelemetry(?!.*Metrics)|System\.Diagnostics\.Activity|DiagnosticListener|DiagnosticSource!.*Propagat|HostingApplicationDiagnostics\.(Start|Stop)Activity")),
    ("metrics", re.compile(r"Metrics|System\.Diagnostics\.Metrics|Histogram|Counter`1|GatewayMetrics")),
    ("backend cookie (Data Protection)", re.compile(r"DataProtection|BackendCookie")),
    ("identity header (HMAC)", re.compile(r"GatewayIdentityCodec|IdentityJsonContext")),
    ("credential cache", re.compile(r"PasswordVerifier|PasswordSignIn|FailedLoginLimiter|InMemoryFailedLoginStore|BasicAuthenticationHandler")),
    ("body counting", re.compile(r"CasGateway!.*Counting")),
    ("circuit breaker (Polly)", re.compile(r"^Polly")),
    ("other CasGateway", re.compile(r"^CasGateway")),
    ("TLS (SslStream, OpenSSL)", re.compile(r"SslStream|OpenSsl|Interop\+Ssl|System\.Net\.Security")),
    ("sockets", re.compile(r"System\.Net\.Sockets|Kestrel\.Transport")),
    ("HTTP client", re.compile(r"System\.Net\.Http")),
    ("YARP", re.compile(r"^Yarp")),
    ("Kestrel / ASP.NET Core", re.compile(r"^Microsoft\.AspNetCore|System\.IO\.Pipelines")),
    ("JIT / tiering", re.compile(r"TieredCompilation|CallCountingManager")),
]


def bucket(real):
    for frame in reversed(real):
        for name, pattern in BUCKETS:
            if pattern.search(frame):
                return name
    return "other (runtime, thread pool)"


def short(name, width=150):
    name = re.sub(r"\(.*\)$", "()", name)
    return name if len(name) <= width else name[: width - 1] + "…"


def module(name):
    return name.split("!", 1)[0] if "!" in name else name


def main(argv):
    path = argv[1]
    top = int(argv[argv.index("--top") + 1]) if "--top" in argv else 30
    doc = json.load(open(path))
    frames = [f["name"] for f in doc["shared"]["frames"]]
    incl = collections.Counter()
    excl = collections.Counter()
    mods = collections.Counter()
    buckets = collections.Counter()
    busy = idle = 0.0
    for prof in doc["profiles"]:
        stack, last = [], None
        for ev in prof["events"]:
            at = ev["at"]
            if stack and last is not None and at > last:
                dt = at - last
                leaf = frames[stack[-1]]
                real = [frames[i] for i in stack if frames[i] not in ("CPU_TIME", "UNMANAGED_CODE_TIME", "Threads", "")
                        and not frames[i].startswith(("Thread (", "Process64 ", "()"))]
                # epoll_wait shows as an unresolved native frame right under the socket engine's event loop.
                if ((leaf == "UNMANAGED_CODE_TIME" and (not real or any(WAIT.search(f) for f in real[-3:])))
                        or (len(real) >= 2 and real[-1] == "?!?" and "SocketAsyncEngine.EventLoop" in real[-2])):
                    idle += dt
                elif leaf in ("CPU_TIME", "UNMANAGED_CODE_TIME") and real:
                    busy += dt
                    excl[real[-1] + (" [native]" if leaf == "UNMANAGED_CODE_TIME" else "")] += dt
                    buckets[bucket(real)] += dt
                    for f in set(real):
                        incl[f] += dt
                    for m in set(module(f) for f in real):
                        mods[m] += dt
            last = at
            if ev["type"] == "O":
                stack.append(ev["frame"])
            elif stack:
                stack.pop()
    if busy == 0:
        print("no busy samples")
        return 1
    sys.stdout.reconfigure(errors="replace")
    print(f"busy {busy / 1000:.1f} s of thread time, idle {idle / 1000:.1f} s (left out)\n")

    def table(title, counter, n, pred=lambda _: True, cut=short):
        print(f"## {title}\n")
        print("| % busy | frame |\n| ---: | --- |")
        for name, v in [kv for kv in counter.most_common() if pred(kv[0])][:n]:
            print(f"| {v / busy * 100:5.1f} | {cut(name)} |")
        print()

    table("buckets (first match from the running frame up)", buckets, len(BUCKETS) + 1, cut=str)
    table("modules, inclusive", mods, top)
    table("frames, inclusive", incl, top)
    table("frames, exclusive", excl, top)
    table("CasGateway frames, inclusive", incl, top, lambda f: f.startswith("CasGateway"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
