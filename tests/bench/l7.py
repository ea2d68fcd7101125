"""L7 benchmark driver: see tests/bench/l7. Same method as l4.py (pinning, CPU per request from
/proc, medians of alternating rounds); `mode http` with keep-alive on both sides, with and without
`cookie SERVERID insert indirect nocache`."""
import os, signal, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(__file__))
import l4  # noqa: E402  (shared helpers: processes, backends, wrk parsing, /proc readings)

PORTS = {"haproxy": 18210, "hakeeper": 18310}


def start_haproxy(cookie):
    conf = os.path.join(l4.TMP, "haproxy-http.cfg")
    ck = "  cookie SERVERID insert indirect nocache\n" if cookie else ""
    sc = " cookie 1" if cookie else ""
    with open(conf, "w") as f:
        f.write(f"""global
  maxconn {l4.MAXCONN}
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 50s
  timeout server 50s
  timeout http-keep-alive 50s
listen l7
  bind 127.0.0.1:{PORTS['haproxy']}
  balance roundrobin
{ck}  server s1 127.0.0.1:{l4.NGINX_PORT}{sc}
""")
    p = l4.start(["haproxy", "-f", conf, "-db"], 1)
    l4.wait_port(PORTS["haproxy"])
    return [p.pid]


def start_hakeeper(cookie):
    conf = os.path.join(l4.TMP, "hakeeper-http.ron")
    ck = 'cookie: (name: "SERVERID", mode: insert, indirect: true, nocache: true),' if cookie else ""
    sc = ', cookie: "1"' if cookie else ""
    with open(conf, "w") as f:
        f.write(f"""(
  global: (maxconn: {l4.MAXCONN}, nbthread: 1, log: (target: "stderr", facility: "local1", level: "err")),
  defaults: (mode: http, log: false, timeout: (connect: "5s", client: "50s", server: "50s", http_keep_alive: "50s")),
  listen: [
    (name: "l7", bind: ["127.0.0.1:{PORTS['hakeeper']}"], maxconn: {l4.MAXCONN}, balance: roundrobin, {ck}
     servers: [(name: "s1", addr: "127.0.0.1:{l4.NGINX_PORT}"{sc})]),
  ],
)
""")
    p = l4.start([l4.HAKEEPER, "run", "-c", conf, "--foreground"], 1)
    l4.wait_port(PORTS["hakeeper"])
    time.sleep(0.3)
    return [p.pid] + l4.children(p.pid)


def wrk(port, conns):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{conns}", f"-d{l4.SECONDS}s", "--latency", f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return l4.parse_wrk(out)


def measure(name, cookie):
    pids = start_hakeeper(cookie) if name == "hakeeper" else start_haproxy(cookie)
    r = {}
    for conns in (50, 400):
        c0 = l4.cpu_seconds(pids)
        rps, p50, p99, total = wrk(PORTS[name], conns)
        c1 = l4.cpu_seconds(pids)
        r[conns] = (rps, p50, p99, (c1 - c0) / max(total, 1) * 1e6)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    time.sleep(1.5)
    return r


def main():
    l4.backends()
    print(f"\nL7 benchmark, {l4.ROUNDS} rounds x {l4.SECONDS}s, medians; load on CPU 0, proxy+backend on CPU 1, nbthread 1, 64-byte responses\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    for cookie in (False, True):
        results = {"haproxy": [], "hakeeper": []}
        for i in range(l4.ROUNDS):
            for name in (("haproxy", "hakeeper") if i % 2 == 0 else ("hakeeper", "haproxy")):
                print(f"round {i + 1}: {name} cookie={cookie}", file=sys.stderr)
                results[name].append(measure(name, cookie))
        tag = "cookie insert" if cookie else "no cookie"
        for conns in (50, 400):
            for label, idx in (("req/s", 0), ("CPU us/request", 3), ("p50 us", 1), ("p99 us", 2)):
                a = statistics.median(r[conns][idx] for r in results["haproxy"])
                b = statistics.median(r[conns][idx] for r in results["hakeeper"])
                print(f"| {label}, {conns} conns, {tag} | {a:.1f} | {b:.1f} | {b / a if a else float('nan'):.2f} |")


if __name__ == "__main__":
    main()
