"""TLS benchmark driver: see tests/bench/tls. Same method as l4.py/l7.py (load on CPU 0, proxy
and nginx backend on CPU 1, nbthread 1, CPU per request from /proc, medians of alternating
rounds), one TLS bind in `mode http` in front of one nginx server, for an ECDSA P-256 and an
RSA-2048 certificate in turn:
- full handshakes per second: a new connection per request, resumption disabled in the client
  (tests/bench/tls_load.rs `full`), TLS 1.3 and TLS 1.2 (the TLS 1.2 client offers X25519 first,
  as OpenSSL's and browsers' do; a second TLS 1.2 row offers P-384 first, rustls' default order,
  which hakeeper follows and HAProxy overrides with its own);
- resumed handshakes per second: a new connection per request, each client resuming its own
  session (`resume`), TLS 1.3;
- keep-alive HTTPS requests (64 B responses, 50 connections; wrk, OpenSSL client);
- memory per idle TLS client: RSS of HAProxy's process / hakeeper's worker before and after N
  clients that each made one request and stay open (`idle`)."""
import os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(__file__))
import l4  # noqa: E402  (shared helpers: processes, backends, wrk parsing, /proc readings)
from l7 import stop  # noqa: E402  (stops one proxy and waits for it to exit)

PORTS = {"haproxy": 18443, "hakeeper": 18543}
SNI = "bench.test"
LOAD = os.environ.get("TLS_LOAD", "")  # path of the built tls_load client (set by tests/bench/tls)
CONNS = 50
IDLE_N = min(5000, (l4.resource.getrlimit(l4.resource.RLIMIT_NOFILE)[1] - 200) // 2)
MAXCONN = IDLE_N + 200


def make_certs():
    """A self-signed certificate per key type, chain and key in one PEM as HAProxy's `crt` takes."""
    certs = {}
    for kind, args in (("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]), ("rsa", ["-newkey", "rsa:2048"])):
        key, crt, pem = (os.path.join(l4.TMP, f"{kind}.{ext}") for ext in ("key", "crt", "pem"))
        subprocess.run(["openssl", "req", "-x509", *args, "-nodes", "-keyout", key, "-out", crt, "-days", "30",
                        "-subj", f"/CN={SNI}", "-addext", f"subjectAltName=DNS:{SNI}"], check=True, capture_output=True)
        with open(pem, "w") as out:
            for part in (crt, key):
                with open(part) as f:
                    out.write(f.read())
        certs[kind] = pem
    return certs


def start_haproxy(pem):
    conf = os.path.join(l4.TMP, "haproxy-tls.cfg")
    with open(conf, "w") as f:
        f.write(f"""global
  maxconn {MAXCONN}
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 50s
  timeout server 50s
  timeout http-keep-alive 50s
listen tls
  bind 127.0.0.1:{PORTS['haproxy']} ssl crt {pem} alpn http/1.1
  maxconn {MAXCONN}
  balance roundrobin
  server s1 127.0.0.1:{l4.NGINX_PORT}
""")
    p = l4.start(["haproxy", "-f", conf, "-db"], 1)
    l4.wait_port(PORTS["haproxy"])
    return p, [p.pid], [p.pid]


def start_hakeeper(pem):
    conf = os.path.join(l4.TMP, "hakeeper-tls.ron")
    with open(conf, "w") as f:
        f.write(f"""(
  global: (maxconn: {MAXCONN}, nbthread: 1, log: (target: "stderr", facility: "local1", level: "err")),
  defaults: (mode: http, log: false, timeout: (connect: "5s", client: "50s", server: "50s", http_keep_alive: "50s")),
  listen: [
    (name: "tls", bind: [(addr: "127.0.0.1:{PORTS['hakeeper']}", ssl: (crt: ["{pem}"], alpn: ["http/1.1"]))],
     maxconn: {MAXCONN}, balance: roundrobin,
     servers: [(name: "s1", addr: "127.0.0.1:{l4.NGINX_PORT}")]),
  ],
)
""")
    check = subprocess.run([l4.HAKEEPER, "check", "-c", conf], capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"hakeeper check failed:\n{check.stdout}{check.stderr}")
    p = l4.start([l4.HAKEEPER, "run", "-c", conf, "--foreground"], 1)
    l4.wait_port(PORTS["hakeeper"])
    workers = l4.workers(p.pid)
    if not workers:
        raise SystemExit("no hakeeper worker process found")
    time.sleep(0.3)
    return p, [p.pid] + l4.children(p.pid), workers


def load(mode, port, seconds, version="TLS13"):
    """Runs tls_load on CPU 0; returns (requests, errors, resumed, seconds)."""
    cmd = ["taskset", "-c", "0", LOAD, mode, f"127.0.0.1:{port}", SNI, str(CONNS), str(seconds), version]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0 or not r.stdout.startswith("mode="):
        raise SystemExit(f"tls_load failed ({r.returncode}): {r.stdout}{r.stderr}")
    kv = dict(part.split("=") for part in r.stdout.split())
    if r.stderr.strip():
        print(f"  tls_load: {r.stderr.strip()}", file=sys.stderr)
    return int(kv["requests"]), int(kv["errors"]), int(kv["resumed"]), float(kv["seconds"])


def wrk(port, seconds):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", "--latency", f"https://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    return l4.parse_wrk(out)


def idle(port, pids):
    before = l4.rss_kib(pids)
    p = subprocess.Popen(["taskset", "-c", "0", LOAD, "idle", f"127.0.0.1:{port}", SNI, str(IDLE_N), "0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=l4.raise_fd_limit)
    line = p.stdout.readline().split()
    if len(line) < 2 or line[0] != "ready":
        p.kill()
        raise SystemExit(f"idle clients: {line}")
    time.sleep(1.5)
    after = l4.rss_kib(pids)
    p.stdin.close()
    p.wait(timeout=30)
    return int(line[1]), before, after


def measure(name, pem):
    p, pids, mem_pids = start_hakeeper(pem) if name == "hakeeper" else start_haproxy(pem)
    port = PORTS[name]
    r = {}
    for label, mode, version in (("full13", "full", "TLS13"), ("full12", "full", "TLS12"), ("full12p384", "full", "TLS12-P384"),
                                 ("resume13", "resume", "TLS13")):
        c0 = l4.cpu_seconds(pids)
        n, errors, resumed, secs = load(mode, port, l4.SECONDS, version)
        c1 = l4.cpu_seconds(pids)
        r[label] = (n / secs, (c1 - c0) / max(n, 1) * 1e6, errors, resumed / max(n, 1))
    c0 = l4.cpu_seconds(pids)
    rps, p50, p99, total = wrk(port, l4.SECONDS)
    c1 = l4.cpu_seconds(pids)
    r["ka50"] = (rps, (c1 - c0) / max(total, 1) * 1e6, p50, p99)
    answered, before, after = idle(port, mem_pids)
    r["idle"] = (answered, before, after, (after - before) / max(answered, 1))
    stop(p)
    return r


def main():
    if not LOAD or not os.path.exists(LOAD):
        raise SystemExit("TLS_LOAD must name the built tls_load client (run tests/bench/tls)")
    l4.raise_fd_limit()
    l4.backends()
    certs = make_certs()
    print(f"\nTLS benchmark, {l4.ROUNDS} rounds x {l4.SECONDS}s, medians; load on CPU 0 (tests/bench/tls_load.rs, "
          f"{CONNS} clients; wrk for keep-alive), proxy + nginx on CPU 1, nbthread 1, 64-byte responses")
    for kind in ("ecdsa", "rsa"):
        results = {"haproxy": [], "hakeeper": []}
        for i in range(l4.ROUNDS):
            for name in (("haproxy", "hakeeper") if i % 2 == 0 else ("hakeeper", "haproxy")):
                print(f"round {i + 1}: {name} {kind}", file=sys.stderr)
                results[name].append(measure(name, certs[kind]))

        def med(name, key, idx):
            return statistics.median(r[key][idx] for r in results[name])

        def row(label, key, idx, fmt=".1f"):
            a, b = med("haproxy", key, idx), med("hakeeper", key, idx)
            print(f"| {label} | {a:{fmt}} | {b:{fmt}} | {f'{b / a:.2f}' if a else 'n/a'} |")

        tag = "ECDSA P-256" if kind == "ecdsa" else "RSA-2048"
        print(f"\n{tag} certificate\n")
        print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
        print("|---|---|---|---|")
        for key, what in (("full13", "full handshakes, TLS 1.3"), ("full12", "full handshakes, TLS 1.2"),
                          ("full12p384", "full handshakes, TLS 1.2, client offering P-384 first"),
                          ("resume13", "resumed handshakes, TLS 1.3")):
            row(f"{what}: connections/s", key, 0)
            row(f"{what}: proxy CPU us/connection", key, 1)
            row(f"{what}: errors", key, 2, ".0f")
            row(f"{what}: share resumed", key, 3, ".2f")
        row("keep-alive HTTPS, 50 conns: req/s", "ka50", 0)
        row("keep-alive HTTPS, 50 conns: proxy CPU us/request", "ka50", 1)
        row("keep-alive HTTPS, 50 conns: p99 us", "ka50", 3)
        row(f"idle TLS clients answered (of {IDLE_N})", "idle", 0, ".0f")
        row("RSS before, KiB", "idle", 1, ".0f")
        row("RSS with the idle clients, KiB", "idle", 2, ".0f")
        row("KiB per idle TLS client", "idle", 3, ".2f")


if __name__ == "__main__":
    main()
