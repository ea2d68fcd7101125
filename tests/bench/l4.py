"""L4 benchmark driver: see tests/bench/l4. Loopback only; every process it starts is killed at exit.

Pinning (2 cores): the load generator alone on CPU 0, the proxy and the backends on CPU 1, so the
proxies compete for the same CPU and the ratio means something. Proxy CPU time per request comes
from /proc/PID/stat (utime+stime) before and after each round.
"""
import atexit, os, re, signal, socket, statistics, subprocess, sys, tempfile, time, json, resource

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 10
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HAKEEPER = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "hakeeper")
TMP = tempfile.mkdtemp(prefix="hakeeper-bench-")
PROCS = []
CLK = os.sysconf("SC_CLK_TCK")

NGINX_PORT, IPERF_PORT = 18100, 18101
# Three more nginx server blocks, same 64-byte body: the backend of three servers of l7's
# seed-shaped config.
NGINX_PORTS3 = (18111, 18112, 18113)
PORTS = {"haproxy": (18200, 18201), "hakeeper": (18300, 18301)}
# A frontend with rules (issue "TCP content switching"): a `tcp-request connection reject` and a
# `use_backend` on two ACLs (source network, destination port), all evaluated for every connection.
RULES_PORTS = {"haproxy": 18202, "hakeeper": 18302}


def cleanup():
    for p in PROCS:
        try:
            os.killpg(p.pid, signal.SIGKILL) if p.poll() is None else None
        except (ProcessLookupError, PermissionError):
            pass
    subprocess.run(["rm", "-rf", TMP])


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def raise_fd_limit():
    # Each proxied connection takes two descriptors in the proxy; use all the hard limit allows.
    # (Where the hard limit is 20,000, as in some sandboxes, IDLE below is sized to fit.)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start(cmd, cpu, **kw):
    p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, start_new_session=True, preexec_fn=raise_fd_limit,
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(TMP, "stderr.log"), "a"), **kw)
    PROCS.append(p)
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK


def rss_kib(pids, field="VmRSS"):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total


def workers(pid):
    """The hakeeper worker process(es) under supervisor `pid` (titled `hakeeper: worker`),
    waited for up to 5 s: the supervisor spawns its children after it has read the config."""
    end = time.time() + 5
    while True:
        found = []
        for c in children(pid):
            try:
                with open(f"/proc/{c}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0] == b"hakeeper: worker":
                found.append(c)
        if found or time.time() > end:
            return found
        time.sleep(0.05)


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except OSError:
                pass
    return out


def backends():
    conf = os.path.join(TMP, "nginx.conf")
    servers = "".join(f"""  server {{ listen 127.0.0.1:{port} backlog=4096; location / {{ return 200 "{'x' * 63}\\n"; }} }}\n"""
                      for port in (NGINX_PORT,) + NGINX_PORTS3)
    with open(conf, "w") as f:
        f.write(f"""daemon off; worker_processes 1; pid {TMP}/nginx.pid; error_log {TMP}/nginx.err;
events {{ worker_connections 30000; }}
worker_rlimit_nofile 65536;
http {{ access_log off; keepalive_requests 100000000;
{servers} }}
""")
    start(["nginx", "-c", conf, "-p", TMP], 1)
    start(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(IPERF_PORT)], 1)
    for port in (NGINX_PORT,) + NGINX_PORTS3:
        wait_port(port)
    wait_port(IPERF_PORT)


def start_haproxy():
    port, bulk = PORTS["haproxy"]
    conf = os.path.join(TMP, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""global
  maxconn {MAXCONN}
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 50s
  timeout server 50s
listen l4
  bind 127.0.0.1:{port}
  balance roundrobin
  server s1 127.0.0.1:{NGINX_PORT}
listen bulk
  bind 127.0.0.1:{bulk}
  server s1 127.0.0.1:{IPERF_PORT}
frontend rules
  bind 127.0.0.1:{RULES_PORTS['haproxy']}
  acl blocked src 192.0.2.0/24
  acl local src 127.0.0.0/8
  acl l4port dst_port {RULES_PORTS['haproxy']}
  tcp-request connection reject if blocked
  use_backend l4be if local l4port
  default_backend l4be
backend l4be
  balance roundrobin
  server s1 127.0.0.1:{NGINX_PORT}
""")
    p = start(["haproxy", "-f", conf, "-db"], 1)
    wait_port(port)
    return [p.pid]


def start_hakeeper():
    port, bulk = PORTS["hakeeper"]
    conf = os.path.join(TMP, "hakeeper.ron")
    with open(conf, "w") as f:
        f.write(f"""(
  global: (maxconn: {MAXCONN}, nbthread: 1, log: (target: "stderr", facility: "local1", level: "err")),
  defaults: (mode: tcp, log: false, timeout: (connect: "5s", client: "50s", server: "50s")),
  listen: [
    (name: "l4", bind: ["127.0.0.1:{port}"], maxconn: {MAXCONN}, balance: roundrobin,
     servers: [(name: "s1", addr: "127.0.0.1:{NGINX_PORT}")]),
    (name: "bulk", bind: ["127.0.0.1:{bulk}"], maxconn: {MAXCONN}, servers: [(name: "s1", addr: "127.0.0.1:{IPERF_PORT}")]),
  ],
  frontend: [
    (name: "rules", bind: ["127.0.0.1:{RULES_PORTS['hakeeper']}"], maxconn: {MAXCONN}, default_backend: "l4be",
     acls: [(name: "blocked", criterion: "src 192.0.2.0/24"), (name: "local", criterion: "src 127.0.0.0/8"),
            (name: "l4port", criterion: "dst_port {RULES_PORTS['hakeeper']}")],
     tcp_request_connection: ["reject if blocked"],
     use_backend: [(backend: "l4be", cond: "if local l4port")]),
  ],
  backend: [
    (name: "l4be", balance: roundrobin, servers: [(name: "s1", addr: "127.0.0.1:{NGINX_PORT}")]),
  ],
)
""")
    p = start([HAKEEPER, "run", "-c", conf, "--foreground"], 1)
    wait_port(port)
    time.sleep(0.3)
    # The proxy's work is done by the worker; the supervisor and checker idle.
    return [p.pid] + children(p.pid)


def parse_wrk(out):
    """(requests/s, p50 us, p99 us, total requests) from wrk --latency output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(pct):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        v, unit = float(m.group(1)), m.group(2)
        return v * {"us": 1, "ms": 1000, "s": 1e6}[unit]
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, lat(50), lat(99), total


def wrk(port, close):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", "-c50", f"-d{SECONDS}s", "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
    return parse_wrk(out)


def iperf(port):
    out = subprocess.run(["taskset", "-c", "0", "iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(SECONDS), "-J"],
                         capture_output=True, text=True).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


IDLE = min(10000, (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 1500) // 2)
MAXCONN = IDLE + 200


def idle_rss(port, pids, n=IDLE):
    raise_fd_limit()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        socks.append(s)
    time.sleep(2)
    rss = rss_kib(pids)
    for s in socks:
        s.close()
    return rss


def measure(name):
    pids = start_hakeeper() if name == "hakeeper" else start_haproxy()
    port, bulk = PORTS[name]
    r = {}
    for label, close, at in (("keepalive", False, port), ("newconn", True, port), ("rules", True, RULES_PORTS[name])):
        c0 = cpu_seconds(pids)
        rps, p50, p99, total = wrk(at, close)
        c1 = cpu_seconds(pids)
        r[label] = (rps, p50, p99, (c1 - c0) / max(total, 1) * 1e6)
    r["gbps"] = iperf(bulk)
    r["idle_rss_kib"] = idle_rss(port, pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    time.sleep(1.5)
    return r


def main():
    backends()
    results = {"haproxy": [], "hakeeper": []}
    for i in range(ROUNDS):
        for name in (("haproxy", "hakeeper") if i % 2 == 0 else ("hakeeper", "haproxy")):
            print(f"round {i + 1}: {name}", file=sys.stderr)
            results[name].append(measure(name))
    rows = []
    def med(name, f):
        return statistics.median(f(r) for r in results[name])
    figures = [
        ("req/s, new connections", lambda r: r["newconn"][0], True),
        ("req/s, new connections, frontend with 2 ACLs + tcp-request rule", lambda r: r["rules"][0], True),
        ("CPU us/request, new connections, frontend with rules", lambda r: r["rules"][3], False),
        ("req/s, 50 kept connections", lambda r: r["keepalive"][0], True),
        ("CPU us/request, kept connections", lambda r: r["keepalive"][3], False),
        ("CPU us/request, new connections", lambda r: r["newconn"][3], False),
        ("p50 latency us, kept connections", lambda r: r["keepalive"][1], False),
        ("p99 latency us, kept connections", lambda r: r["keepalive"][2], False),
        ("bulk Gbit/s (iperf3)", lambda r: r["gbps"], True),
        (f"RSS KiB, {IDLE} idle connections", lambda r: r["idle_rss_kib"], False),
    ]
    print(f"\nL4 benchmark, {ROUNDS} rounds x {SECONDS}s, medians; load on CPU 0, proxy+backends on CPU 1, nbthread 1\n")
    print(f"| figure | HAProxy {haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    for label, f, higher_better in figures:
        a, b = med("haproxy", f), med("hakeeper", f)
        print(f"| {label} | {a:.1f} | {b:.1f} | {b / a if a else float('nan'):.2f} |")


def haproxy_version():
    out = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "?"


if __name__ == "__main__":
    main()
