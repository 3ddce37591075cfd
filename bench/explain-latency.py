#!/usr/bin/env python3
"""POST /admin/explain for N random mailboxes userNNNNN@contoso.com (bench/gen-directory.py names), then for the
same ones again: round-trip medians and p99 of cold (store asked) and cached lookups, over one keep-alive TLS
connection. The admin is user00001@contoso.com with password "pw" (see bench/directory-scale.sh).

  explain-latency.py PORT N [COUNT=1000000]   (mailboxes in the directory)
"""
import http.client, ssl, json, base64, time, sys, random, statistics
port = int(sys.argv[1]); n = int(sys.argv[2]); count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
auth = "Basic " + base64.b64encode(b"user00001@contoso.com:pw").decode()
def explain(user):
    body = json.dumps({"method": "GET", "url": "https://127.0.0.1/owa/", "headers": {}, "user": user})
    t = time.perf_counter()
    c.request("POST", "/admin/explain", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    dt = (time.perf_counter() - t) * 1000
    if r.status != 200: raise SystemExit(f"{r.status} {data[:300]}")
    return dt, json.loads(data)
explain("user00001@contoso.com")
users = [f"user{random.randint(2, count):05d}@contoso.com" for _ in range(n)]
cold = []; 
for u in users:
    dt, a = explain(u); cold.append(dt)
    assert a["activeServer"] == "mbx1.contoso.com", a
warm = [explain(u)[0] for u in users]
q = lambda xs, p: sorted(xs)[int(len(xs) * p) - 1]
print(f"cold: median {statistics.median(cold):.2f} ms p99 {q(cold, .99):.2f} ms; cached: median {statistics.median(warm):.2f} ms p99 {q(warm, .99):.2f} ms (n={n})")
