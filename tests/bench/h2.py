"""HTTP/2 benchmark driver: see tests/bench/h2. Same method as l4.py/l7.py/tls.py (load on CPU 0,
proxy and nginx backends on CPU 1, nbthread 1, CPU per request from /proc, medians of alternating
rounds). One haproxy.cfg with a cleartext `proto h2` bind (prior knowledge) in front of three
nginx servers (roundrobin, 64-byte responses); HAProxy runs it as is and `hakeeper import`
translates it for hakeeper (the import must not warn):
- h2load -c 50 -m 10 for SECONDS (-D): requests/s, proxy CPU us/request (HAProxy's process,
  hakeeper's worker; and all of hakeeper's processes, as l7.py and tls.py count), mean request
  time (h2load prints min/max/mean/sd, no percentiles), failed requests;
- memory per idle HTTP/2 client: RSS of HAProxy's process / hakeeper's worker before and after
  N connections that each made one request (stream 1) and stay open and idle."""
import os, re, selectors, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(__file__))
import l4  # noqa: E402  (shared helpers: processes, backends, /proc readings)
from l7 import patch_ron, stop  # noqa: E402  (RON patch for bench logging; stops one proxy)

PORT = 18250  # both proxies bind it, one at a time (stop() waits for the previous one to exit)
AUTHORITY = "bench.test"
CONNS, STREAMS = 50, 10
# Each idle client holds one socket in the proxy (HTTP/2 multiplexes; the server connections
# are pooled), and this process holds the other end.
IDLE_N = min(5000, (l4.resource.getrlimit(l4.resource.RLIMIT_NOFILE)[1] - 400) // 2)
MAXCONN = IDLE_N + 200


def haproxy_cfg():
    conf = os.path.join(l4.TMP, "h2-haproxy.cfg")
    servers = "".join(f"  server web{i} 127.0.0.1:{port}\n" for i, port in enumerate(l4.NGINX_PORTS3, 1))
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
frontend h2
  bind 127.0.0.1:{PORT} proto h2
  maxconn {MAXCONN}
  default_backend web
backend web
  balance roundrobin
{servers}""")
    return conf


def hakeeper_ron(cfg):
    """`hakeeper import --strict` of the same haproxy.cfg, logging patched as l7.py does."""
    ron = os.path.join(l4.TMP, "h2-hakeeper.ron")
    r = subprocess.run([l4.HAKEEPER, "import", "--strict", "--haproxy", cfg, "-o", ron], capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        raise SystemExit(f"hakeeper import of {cfg} failed or warned (exit {r.returncode}):\n{r.stderr}")
    with open(ron) as f:
        text = patch_ron(f.read())
    if "proto: h2" not in text:
        raise SystemExit(f"the imported config has no `proto: h2` bind:\n{text}")
    with open(ron, "w") as f:
        f.write(text)
    check = subprocess.run([l4.HAKEEPER, "check", "-c", ron], capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"hakeeper check of the imported config failed:\n{check.stdout}{check.stderr}\n{text}")
    return ron


def start(name, conf):
    """Starts one proxy; returns (process, all its pids, the proxy's own: HAProxy's process,
    hakeeper's worker)."""
    if name == "haproxy":
        p = l4.start(["haproxy", "-f", conf["cfg"], "-db"], 1)
        l4.wait_port(PORT)
        return p, [p.pid], [p.pid]
    p = l4.start([l4.HAKEEPER, "run", "-c", conf["ron"], "--foreground"], 1)
    l4.wait_port(PORT)
    workers = l4.workers(p.pid)
    if not workers:
        raise SystemExit("no hakeeper worker process found")
    time.sleep(0.3)
    # CPU: the worker, and all of hakeeper's processes (the supervisor and checker idle).
    return p, [p.pid] + l4.children(p.pid), workers


def duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise SystemExit(f"h2load: cannot read the time {text!r}")
    return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]


def parse_h2load(out):
    """(requests/s, succeeded, failed + errored + timeout, mean request time us) from h2load's
    report."""
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
    t = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if not (rps and req and t):
        raise SystemExit(f"h2load printed no report:\n{out}")
    failed = int(req.group(5)) + int(req.group(6)) + int(req.group(7))
    return float(rps.group(1)), int(req.group(4)), failed, duration_us(t.group(3))


def h2load(seconds):
    cmd = ["taskset", "-c", "0", "h2load", "-c", str(CONNS), "-m", str(STREAMS), "-D", str(seconds),
           f"http://127.0.0.1:{PORT}/"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    return parse_h2load(r.stdout)


def measure(name, conf):
    p, pids, proxy = start(name, conf)
    c0, w0 = l4.cpu_seconds(pids), l4.cpu_seconds(proxy)
    rps, ok, failed, mean_us = h2load(l4.SECONDS)
    c1, w1 = l4.cpu_seconds(pids), l4.cpu_seconds(proxy)
    stop(p)
    return {"rps": rps, "cpu_us": (c1 - c0) / max(ok, 1) * 1e6, "proxy_cpu_us": (w1 - w0) / max(ok, 1) * 1e6,
            "mean_us": mean_us, "failed": failed}


# ---------------------------------------------------------------------------------------------
# Idle HTTP/2 clients: the frames are written by hand (RFC 9113 §3.4 preface, §6.5 SETTINGS,
# §6.2 HEADERS with a static-table field block, RFC 7541 appendix A).

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


# :method GET, :scheme http, :path /, :authority (literal, indexed name 1).
BLOCK = bytes([0x82, 0x86, 0x84, 0x41, len(AUTHORITY)]) + AUTHORITY.encode()
HELLO = PREFACE + frame(0x4, 0, 0) + frame(0x1, 0x4 | 0x1, 1, BLOCK)
SETTINGS_ACK = frame(0x4, 0x1, 0)


class IdleClient:
    """One connection: its request on stream 1, then nothing once the response ended."""

    def __init__(self):
        self.buf = bytearray()
        self.status = None
        self.done = False

    def feed(self, sock, data):
        self.buf += data
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                return
            kind, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self.buf[9:9 + length])
            del self.buf[:9 + length]
            if kind == 0x4 and not flags & 0x1:
                sock.sendall(SETTINGS_ACK)
            elif kind == 0x7:
                raise SystemExit(f"idle client: GOAWAY {payload.hex()}")
            elif kind == 0x3 and stream == 1:
                raise SystemExit(f"idle client: RST_STREAM {payload.hex()}")
            elif kind == 0x1 and stream == 1 and self.status is None:
                # Padding and priority are not used by either proxy; `:status: 200` is static
                # entry 8, which both encode as the indexed field 0x88.
                self.status = payload[:1]
            if kind in (0x0, 0x1) and stream == 1 and flags & 0x1:
                if self.status != b"\x88":
                    raise SystemExit(f"idle client: response status block {self.status!r}, not 200")
                self.done = True


def open_idle_clients(n, timeout=60):
    """Opens n HTTP/2 connections, each answered once and then idle; at most `window` waiting for
    their answer. Returns (sockets, answered)."""
    window = 256
    sel = selectors.DefaultSelector()
    socks, answered, opened = [], 0, 0
    end = time.time() + timeout
    while answered < n and time.time() < end:
        while opened < n and len(sel.get_map()) < window:
            s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            s.sendall(HELLO)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, IdleClient())
            opened += 1
        for key, _ in sel.select(timeout=1):
            s, client = key.fileobj, key.data
            b = s.recv(65536)
            if not b:
                raise SystemExit(f"idle client {len(socks)}: the proxy closed the connection")
            client.feed(s, b)
            if client.done:
                sel.unregister(s)
                answered += 1
    sel.close()
    return socks, answered


def measure_idle(name, conf):
    p, _, mem_pids = start(name, conf)
    time.sleep(0.5)
    before = l4.rss_kib(mem_pids)
    socks, answered = open_idle_clients(IDLE_N)
    time.sleep(1.5)
    after = l4.rss_kib(mem_pids)
    for s in socks:
        s.close()
    stop(p)
    print(f"  {name}: {answered}/{IDLE_N} idle HTTP/2 clients, RSS {before} -> {after} KiB", file=sys.stderr)
    if answered != IDLE_N:
        raise SystemExit(f"{name}: only {answered} of {IDLE_N} idle clients answered")
    return {"answered": answered, "before": before, "after": after, "per_client": (after - before) / IDLE_N}


def main():
    l4.raise_fd_limit()  # the idle clients are opened by this process
    l4.backends()
    cfg = haproxy_cfg()
    conf = {"cfg": cfg, "ron": hakeeper_ron(cfg)}
    load, idle = {"haproxy": [], "hakeeper": []}, {"haproxy": [], "hakeeper": []}
    for i in range(l4.ROUNDS):
        for name in (("haproxy", "hakeeper") if i % 2 == 0 else ("hakeeper", "haproxy")):
            print(f"round {i + 1}: {name}", file=sys.stderr)
            load[name].append(measure(name, conf))
            idle[name].append(measure_idle(name, conf))

    def row(label, d, key, fmt=".1f"):
        a = statistics.median(r[key] for r in d["haproxy"])
        b = statistics.median(r[key] for r in d["hakeeper"])
        print(f"| {label} | {a:{fmt}} | {b:{fmt}} | {f'{b / a:.2f}' if a else 'n/a'} |")

    print(f"\nHTTP/2 benchmark (cleartext `proto h2` bind, 3 nginx servers roundrobin, 64-byte responses, "
          f"the same haproxy.cfg imported by hakeeper), {l4.ROUNDS} rounds x {l4.SECONDS}s, medians; "
          f"h2load on CPU 0, proxy + nginx on CPU 1, nbthread 1\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    tag = f"h2load -c {CONNS} -m {STREAMS}"
    row(f"req/s, {tag}", load, "rps")
    row(f"proxy CPU us/request (HAProxy's process, hakeeper's worker), {tag}", load, "proxy_cpu_us", ".2f")
    row(f"CPU us/request, all of the proxy's processes, {tag}", load, "cpu_us", ".2f")
    row(f"mean request time us, {tag}", load, "mean_us")
    row(f"failed requests, {tag}", load, "failed", ".0f")
    row(f"idle HTTP/2 clients answered (of {IDLE_N})", idle, "answered", ".0f")
    row("RSS before, KiB", idle, "before", ".0f")
    row("RSS with the idle clients, KiB", idle, "after", ".0f")
    row("KiB per idle HTTP/2 client", idle, "per_client", ".2f")


if __name__ == "__main__":
    main()
