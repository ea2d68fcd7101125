"""L7 benchmark driver: see tests/bench/l7. Same method as l4.py (pinning, CPU per request from
/proc, medians of alternating rounds); `mode http` with keep-alive on both sides, with and without
`cookie SERVERID insert indirect nocache`, over one server; then the seed-shaped config (Host ACL,
option forwardfor, three servers with cookies and HTTP checks) written as a haproxy.cfg that
HAProxy runs as is and that `hakeeper import` translates for hakeeper: throughput, new connection
per request, idle keep-alive clients (memory, backend connections held) and syscalls per request."""
import json, os, re, resource, selectors, signal, socket, statistics, subprocess, sys, time

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


# ---------------------------------------------------------------------------------------------
# Seed-shaped config: the real deployment, one haproxy.cfg for both proxies.

HOST = "www.abc.com"
SEED_PORT = 18230  # both proxies bind it, one at a time (stop() waits for the previous one to exit)
# Idle keep-alive clients: each holds a client socket and (if the proxy keeps it) a server socket
# in the proxy, so 2 descriptors per client must fit under the per-process open-files limit,
# with room for listeners, checks and logs.
FD_HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
IDLE_N = min(9900, (FD_HARD - 200) // 2)
SEED_MAXCONN = IDLE_N + 50
STRACE_SECONDS = 3  # the syscall phase: one fixed wrk run at 50 connections under strace -c


def seed_haproxy_cfg(frontend_extra="", name="seed-haproxy.cfg"):
    """The seed's frontend/backend shape, written as HAProxy runs it; hakeeper imports this file.
    `frontend_extra`: more lines for the frontend (the stick section's table and rules)."""
    conf = os.path.join(l4.TMP, name)
    servers = "".join(f"  server web{i} 127.0.0.1:{port} cookie {i} check inter 2s\n"
                      for i, port in enumerate(l4.NGINX_PORTS3, 1))
    with open(conf, "w") as f:
        f.write(f"""global
  maxconn {SEED_MAXCONN}
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 50s
  timeout server 50s
  timeout http-keep-alive 50s
frontend main
  bind 127.0.0.1:{SEED_PORT}
  maxconn {SEED_MAXCONN}
  option forwardfor
{frontend_extra}  acl web hdr(host) -i {HOST}
  use_backend webserver if web
  default_backend webserver
backend webserver
  balance roundrobin
  cookie SERVERID insert indirect nocache
  option httpchk GET /
{servers}""")
    return conf


def seed_hakeeper_ron(cfg):
    """`hakeeper import` of the same haproxy.cfg; fails loudly on any import warning (lossy or
    not), then patches only the bench-specific bits."""
    ron = os.path.splitext(cfg)[0] + ".ron"
    r = subprocess.run([l4.HAKEEPER, "import", "--strict", "--haproxy", cfg, "-o", ron], capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        raise SystemExit(f"hakeeper import of {cfg} failed or warned (exit {r.returncode}):\n{r.stderr}")
    with open(ron) as f:
        text = f.read()
    text = patch_ron(text)
    with open(ron, "w") as f:
        f.write(text)
    check = subprocess.run([l4.HAKEEPER, "check", "-c", ron], capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"hakeeper check of the imported config failed:\n{check.stdout}{check.stderr}\n{text}")
    return ron


def patch_ron(text):
    """PATCHED in the imported RON, for the bench only: the global section gets
    `log: (target: "stderr", facility: "local1", level: "err")` (the cfg has no log line; the
    bench runs hakeeper --foreground and wants errors only, as the other configs here) and
    `defaults` gets `log: false`. Nothing else: maxconn, timeouts, ACL, cookie and checks are as
    imported."""
    log = 'log: (target: "stderr", facility: "local1", level: "err"), '
    text, n = re.subn(r"global: \(", "global: (" + log, text, count=1)
    if n != 1:
        raise SystemExit("cannot patch the imported RON's global section:\n" + text)
    text, n = re.subn(r"defaults: \(", "defaults: (log: false, ", text, count=1)
    if n != 1:
        raise SystemExit("cannot patch the imported RON's defaults section:\n" + text)
    return text


def start_seed(name, seed):
    """Starts one proxy on the seed-shaped config; returns (process, pids for CPU time, pids for
    memory and strace: HAProxy's process, hakeeper's worker(s))."""
    if name == "haproxy":
        p = l4.start(["haproxy", "-f", seed["cfg"], "-db"], 1)
        l4.wait_port(SEED_PORT)
        return p, [p.pid], [p.pid]
    p = l4.start([l4.HAKEEPER, "run", "-c", seed["ron"], "--foreground"], 1)
    l4.wait_port(SEED_PORT)
    workers = l4.workers(p.pid)
    if not workers:
        raise SystemExit("no hakeeper worker process found")
    time.sleep(0.3)
    return p, [p.pid] + l4.children(p.pid), workers


def stop(p):
    """Stops one proxy and waits for it to exit, so the next one can bind the same port."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    except ProcessLookupError:
        pass
    time.sleep(0.5)


def wait_servers_up():
    """Both proxies start their servers UP; a check interval later, still answering 200 over
    all three servers (a roundrobin of 3 requests sees 3 different cookies)."""
    seen = set()
    for _ in range(6):
        with socket.create_connection(("127.0.0.1", SEED_PORT), timeout=5) as s:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        if not data.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"seed-shaped proxy answered {data[:200]!r}")
        m = re.search(rb"(?i)set-cookie:\s*SERVERID=(\w+)", data)
        if m:
            seen.add(m.group(1))
    if len(seen) != 3:
        raise SystemExit(f"seed-shaped proxy: cookies seen {seen}, expected 3 servers")


def seed_wrk(conns, seconds, close=False):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-H", f"Host: {HOST}"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{SEED_PORT}/"], capture_output=True, text=True, timeout=seconds + 30).stdout
    r = l4.parse_wrk(out)
    if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
        print(f"wrk reported errors:\n{out}", file=sys.stderr)
    return r


def measure_seed(name, seed):
    """Throughput round: keep-alive at 50 and 400 connections, new connection per request at 50."""
    p, pids, _ = start_seed(name, seed)
    wait_servers_up()
    r = {}
    for label, conns, close in (("ka50", 50, False), ("ka400", 400, False), ("close50", 50, True)):
        c0 = l4.cpu_seconds(pids)
        rps, p50, p99, total = seed_wrk(conns, l4.SECONDS, close)
        c1 = l4.cpu_seconds(pids)
        r[label] = (rps, p50, p99, (c1 - c0) / max(total, 1) * 1e6)
    stop(p)
    return r


def ss_count(filt, pids=None):
    """ESTABLISHED TCP sockets matching the ss filter; with pids, only those these processes own."""
    out = subprocess.run(["ss", "-Htn" + ("p" if pids else ""), "state", "established", filt],
                         capture_output=True, text=True).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    if pids:
        lines = [line for line in lines if any(f"pid={pid}," in line for pid in pids)]
    return len(lines)


def open_idle_clients(port, n, timeout=60):
    """Opens n keep-alive connections; each sends one request and reads the whole response,
    then stays open and idle. At most WINDOW requests in flight. Returns (sockets, answered)."""
    window = 256
    req = f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    socks, answered, opened = [], 0, 0
    end = time.time() + timeout

    def complete(buf):
        h = buf.find(b"\r\n\r\n")
        if h < 0:
            return False
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", buf[:h + 2])
        return m is not None and len(buf) >= h + 4 + int(m.group(1))

    while answered < n and time.time() < end:
        while opened < n and len(sel.get_map()) < window and time.time() < end:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(req)
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, bytearray())
            opened += 1
        for key, _ in sel.select(timeout=1):
            s, buf = key.fileobj, key.data
            try:
                b = s.recv(65536)
            except BlockingIOError:
                continue
            if not b:
                sel.unregister(s)
                raise SystemExit(f"idle client {len(socks)}: proxy closed the connection after {bytes(buf[:200])!r}")
            buf += b
            if complete(buf):
                if not buf.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"idle client: proxy answered {bytes(buf[:200])!r}")
                sel.unregister(s)
                answered += 1
    sel.close()
    return socks, answered


def measure_idle(name, seed):
    """Idle round: fresh proxy, RSS of HAProxy's process / hakeeper's worker(s) before and after
    IDLE_N idle keep-alive clients; client connections to the proxy port and the proxy's (HAProxy's
    process, hakeeper's worker) connections to the three nginx ports counted with ss while idle."""
    p, _, mem_pids = start_seed(name, seed)
    wait_servers_up()
    time.sleep(0.5)
    before = l4.rss_kib(mem_pids)
    backend_filter = "( " + " or ".join(f"dport = :{port}" for port in l4.NGINX_PORTS3) + " )"
    backend_before = ss_count(backend_filter, mem_pids)
    t0 = time.time()
    socks, answered = open_idle_clients(SEED_PORT, IDLE_N)
    opened_in = time.time() - t0
    time.sleep(1.5)
    after = l4.rss_kib(mem_pids)
    held = ss_count(f"( sport = :{SEED_PORT} )")
    backend = ss_count(backend_filter, mem_pids)
    alive = sum(1 for pid in mem_pids if os.path.exists(f"/proc/{pid}"))
    for s in socks:
        s.close()
    print(f"  {name}: {answered}/{IDLE_N} idle clients answered in {opened_in:.1f}s, {held} held, {backend} backend conns "
          f"({backend_before} before), "
          f"RSS {before} -> {after} KiB", file=sys.stderr)
    if held != IDLE_N:
        print(f"  WARNING: {name} holds {held} of the {IDLE_N} idle client connections", file=sys.stderr)
    if answered != IDLE_N or alive != len(mem_pids):
        raise SystemExit(f"{name}: only {answered} of {IDLE_N} idle clients answered (or the proxy died)")
    stop(p)
    return {"answered": answered, "held": held, "backend": backend, "backend_before": backend_before, "before": before, "after": after,
            "per_client": (after - before) / IDLE_N}


def tracer(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def measure_syscalls(name, seed):
    """strace -c -f on HAProxy's process / hakeeper's worker(s) during one fixed wrk run at 50
    keep-alive connections; total syscalls / requests wrk reports."""
    p, _, pids = start_seed(name, seed)
    wait_servers_up()
    out = os.path.join(l4.TMP, f"strace-{name}.txt")
    cmd = ["strace", "-c", "-f", "-o", out]
    for pid in pids:
        cmd += ["-p", str(pid)]
    st = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    l4.PROCS.append(st)
    end = time.time() + 10
    while not all(tracer(pid) == st.pid for pid in pids):
        if time.time() > end or st.poll() is not None:
            raise SystemExit(f"strace did not attach to {pids}")
        time.sleep(0.05)
    _, _, _, total = seed_wrk(50, STRACE_SECONDS)
    st.send_signal(signal.SIGINT)
    try:
        st.wait(timeout=15)
    except subprocess.TimeoutExpired:
        st.kill()
        raise SystemExit("strace did not stop")
    stop(p)
    with open(out) as f:
        calls = parse_strace_c(f.read())
    return {"requests": total, "syscalls": calls, "per_request": calls / max(total, 1)}


def parse_strace_c(text):
    """Total calls from a strace -c summary (the calls column of its total row)."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if "calls" in line and "syscall" in line)
    col = lines[head].replace("% time", "%time").split().index("calls")
    total = next(line for line in lines[head:] if line.split() and line.split()[-1] == "total")
    return int(total.split()[col])


def seed_main():
    cfg = seed_haproxy_cfg()
    seed = {"cfg": cfg, "ron": seed_hakeeper_ron(cfg)}
    results = {"haproxy": [], "hakeeper": []}
    idle = {"haproxy": [], "hakeeper": []}
    for i in range(l4.ROUNDS):
        for name in (("haproxy", "hakeeper") if i % 2 == 0 else ("hakeeper", "haproxy")):
            print(f"round {i + 1}: {name} seed-shaped", file=sys.stderr)
            results[name].append(measure_seed(name, seed))
            idle[name].append(measure_idle(name, seed))
    sys_ = {}
    for name in ("haproxy", "hakeeper"):
        print(f"syscalls: {name} under strace", file=sys.stderr)
        sys_[name] = measure_syscalls(name, seed)

    def row(label, a, b, fmt=".1f"):
        print(f"| {label} | {a:{fmt}} | {b:{fmt}} | {f'{b / a:.2f}' if a else 'n/a'} |")

    def med(d, name, f):
        return statistics.median(f(r) for r in d[name])

    print(f"\nSeed-shaped config (Host ACL, option forwardfor, 3 servers roundrobin, cookie insert, httpchk "
          f"inter 2s), {l4.ROUNDS} rounds x {l4.SECONDS}s, medians; same pinning\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    for key, tag in (("ka50", "50 conns, keep-alive"), ("ka400", "400 conns, keep-alive")):
        for label, idx in (("req/s", 0), ("CPU us/request", 3), ("p50 us", 1), ("p99 us", 2)):
            row(f"{label}, {tag}, seed-shaped", med(results, "haproxy", lambda r: r[key][idx]),
                med(results, "hakeeper", lambda r: r[key][idx]))
    for label, idx in (("req/s", 0), ("CPU us/request", 3)):
        row(f"{label}, 50 conns, new connection per request, seed-shaped",
            med(results, "haproxy", lambda r: r["close50"][idx]), med(results, "hakeeper", lambda r: r["close50"][idx]))

    print(f"\nIdle keep-alive clients, seed-shaped: N = {IDLE_N} clients (open-files hard limit {FD_HARD}), "
          f"one request each then idle; RSS of HAProxy's process / hakeeper's worker, medians of {l4.ROUNDS} rounds\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    for label, key, fmt in (("idle clients answered", "answered", ".0f"), ("client connections held (ss)", "held", ".0f"),
                            ("backend connections held before the clients (ss)", "backend_before", ".0f"),
                            ("backend connections held with N idle clients (ss, to the 3 servers)", "backend", ".0f"),
                            ("RSS before, KiB", "before", ".0f"), ("RSS with N idle clients, KiB", "after", ".0f"),
                            ("KiB per idle client", "per_client", ".2f")):
        row(label, med(idle, "haproxy", lambda r: r[key]), med(idle, "hakeeper", lambda r: r[key]), fmt)

    print(f"\nSyscalls per keep-alive request, seed-shaped: strace -c -f on HAProxy's process / hakeeper's worker, "
          f"one {STRACE_SECONDS}s wrk run at 50 connections (strace slows both; counts, not speed)\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    row("requests (wrk)", sys_["haproxy"]["requests"], sys_["hakeeper"]["requests"], ".0f")
    row("syscalls (strace -c total)", sys_["haproxy"]["syscalls"], sys_["hakeeper"]["syscalls"], ".0f")
    row("syscalls per request", sys_["haproxy"]["per_request"], sys_["hakeeper"]["per_request"], ".2f")


# ---------------------------------------------------------------------------------------------
# Stick tables (issue #18): the tracking cost on the seed-shaped config, and table memory.

# HAProxy's rate-limit recipe with a threshold never reached: every request is tracked in the
# table and served, so the difference with the plain seed-shaped config is the tracking cost.
STICK_FRONTEND = """  stick-table type ip size 100k expire 30s store http_req_rate(10s)
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000 }
"""
STICK_KEYS = 100_000
# One stats-socket / ctl line holds many `;`-separated commands; both proxies get the same
# lines, kept under hakeeper's ctl line limit (4096 bytes; HAProxy's is its bufsize, 16384).
STICK_LINE_MAX = 4000


def measure_stick(name, cfgs):
    """One round: keep-alive at 50 connections on the plain seed-shaped config, then on the same
    config with the stick table and its rules."""
    r = {}
    for label in ("plain", "stick"):
        p, pids, _ = start_seed(name, cfgs[label])
        wait_servers_up()
        c0 = l4.cpu_seconds(pids)
        rps, p50, p99, total = seed_wrk(50, l4.SECONDS)
        c1 = l4.cpu_seconds(pids)
        stop(p)
        r[label] = (rps, p50, p99, (c1 - c0) / max(total, 1) * 1e6)
    return r


def stick_mem_cfgs():
    """A frontend with `stick-table type ip size 200k store http_req_rate(10s)` for both proxies.
    HAProxy gets `stats socket … level admin`; hakeeper imports the file without that line (its
    runtime API is `hakeeper ctl`) and gets `ctl_socket` patched in. `expire 10m` keeps the
    entries for the time of the measurement in both."""
    sock = {"haproxy": os.path.join(l4.TMP, "haproxy-stats.sock"), "hakeeper": os.path.join(l4.TMP, "hakeeper-ctl.sock")}
    body = f"""defaults
  mode http
  timeout connect 5s
  timeout client 50s
  timeout server 50s
frontend fe_mem
  bind 127.0.0.1:{SEED_PORT}
  stick-table type ip size 200k expire 10m store http_req_rate(10s)
  http-request track-sc0 src
  default_backend webserver
backend webserver
  server web1 127.0.0.1:{l4.NGINX_PORTS3[0]}
"""
    cfg = os.path.join(l4.TMP, "stick-mem-haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(f"global\n  maxconn 1000\n  nbthread 1\n  stats socket {sock['haproxy']} level admin\n" + body)
    plain = os.path.join(l4.TMP, "stick-mem.cfg")
    with open(plain, "w") as f:
        f.write("global\n  maxconn 1000\n  nbthread 1\n" + body)
    ron = seed_hakeeper_ron(plain)
    with open(ron) as f:
        text = f.read()
    text, n = re.subn(r"global: \(", f'global: (ctl_socket: "{sock["hakeeper"]}", ', text, count=1)
    if n != 1:
        raise SystemExit("cannot patch ctl_socket into the imported RON:\n" + text)
    with open(ron, "w") as f:
        f.write(text)
    return {"cfg": cfg, "ron": ron}, sock


def socket_line(path, line):
    """Sends one command line to a Unix stream socket and reads the answer until the peer closes
    (HAProxy's non-interactive stats socket and hakeeper's ctl socket both answer so)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode(errors="replace")
            out += b


def stick_lines():
    """STICK_KEYS distinct IPv4 keys from 198.18.0.0/15 (RFC 2544's benchmarking range), as
    `set table fe_mem key K data.http_req_rate 1` commands joined with `;` into lines."""
    lines, cur = [], ""
    for i in range(STICK_KEYS):
        ip = socket.inet_ntoa((0xC6120000 + i).to_bytes(4, "big"))
        cmd = f"set table fe_mem key {ip} data.http_req_rate 1"
        if cur and len(cur) + 2 + len(cmd) > STICK_LINE_MAX:
            lines.append(cur)
            cur = ""
        cur = f"{cur}; {cmd}" if cur else cmd
    lines.append(cur)
    return lines


def table_used(name, path):
    """Entries in table fe_mem, read from `show table` (HAProxy: its header line; hakeeper: the
    JSON answer of its ctl socket)."""
    if name == "haproxy":
        out = socket_line(path, "show table")
        m = re.search(r"# table: fe_mem, type: ip, size:(\d+), used:(\d+)", out)
        if not m:
            raise SystemExit(f"HAProxy's show table: {out!r}")
        return int(m.group(2))
    out = json.loads(socket_line(path, "show table"))
    tables = [t for t in out.get("Tables", []) if t["name"] == "fe_mem"]
    if not tables:
        raise SystemExit(f"hakeeper's show table: {out!r}")
    return tables[0]["used"]


def fill(name, path, lines):
    t0 = time.time()
    for line in lines:
        out = socket_line(path, line)
        if name == "haproxy":
            if out.strip():  # HAProxy answers nothing to a successful `set table`
                raise SystemExit(f"HAProxy refused a set table line: {out[:300]!r}")
        else:
            reply = json.loads(out)
            errors = [r for r in reply.get("Batch", [reply]) if "Error" in r]
            if errors:
                raise SystemExit(f"hakeeper refused a set table line: {errors[:3]}")
    return time.time() - t0


def measure_stick_mem(name, cfg, sock, lines):
    """Fresh proxy: RSS of HAProxy's process / hakeeper's worker before and after STICK_KEYS
    entries set over the stats / ctl socket in the same batched lines; the count checked with
    `show table` before RSS is read."""
    p, _, mem_pids = start_seed(name, cfg)
    l4.wait_port(SEED_PORT)
    end = time.time() + 10
    while not os.path.exists(sock[name]) and time.time() < end:
        time.sleep(0.05)
    time.sleep(0.5)
    before_used = table_used(name, sock[name])
    before = l4.rss_kib(mem_pids)
    seconds = fill(name, sock[name], lines)
    used = table_used(name, sock[name])
    time.sleep(0.5)
    after = l4.rss_kib(mem_pids)
    stop(p)
    if before_used != 0 or used != STICK_KEYS:
        raise SystemExit(f"{name}: table fe_mem holds {used} entries after the fill ({before_used} before), expected {STICK_KEYS}")
    print(f"  {name}: {used} entries set in {seconds:.1f}s, RSS {before} -> {after} KiB", file=sys.stderr)
    return {"used": used, "before": before, "after": after, "fill_s": seconds,
            "per_entry": (after - before) * 1024 / STICK_KEYS}


def stick_main():
    plain_cfg = seed_haproxy_cfg()
    stick_cfg = seed_haproxy_cfg(STICK_FRONTEND, "stick-haproxy.cfg")
    cfgs = {"plain": {"cfg": plain_cfg, "ron": seed_hakeeper_ron(plain_cfg)},
            "stick": {"cfg": stick_cfg, "ron": seed_hakeeper_ron(stick_cfg)}}
    mem_cfg, sock = stick_mem_cfgs()
    lines = stick_lines()
    results = {"haproxy": [], "hakeeper": []}
    mem = {"haproxy": [], "hakeeper": []}
    for i in range(l4.ROUNDS):
        for name in (("haproxy", "hakeeper") if i % 2 == 0 else ("hakeeper", "haproxy")):
            print(f"round {i + 1}: {name} stick table tracking", file=sys.stderr)
            results[name].append(measure_stick(name, cfgs))
            print(f"round {i + 1}: {name} stick table memory", file=sys.stderr)
            mem[name].append(measure_stick_mem(name, mem_cfg, sock, lines))

    def row(label, a, b, fmt=".1f"):
        print(f"| {label} | {a:{fmt}} | {b:{fmt}} | {f'{b / a:.2f}' if a else 'n/a'} |")

    def med(d, name, f):
        return statistics.median(f(r) for r in d[name])

    print(f"\nStick table tracking, seed-shaped config plus `stick-table type ip size 100k expire 30s store "
          f"http_req_rate(10s)`, `http-request track-sc0 src`, `http-request deny deny_status 429 if "
          f"{{ sc_http_req_rate(0) gt 1000000 }}` (never denies), imported by `hakeeper import`; 50 keep-alive "
          f"connections, {l4.ROUNDS} rounds x {l4.SECONDS}s, medians; same pinning\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    for label, idx in (("req/s", 0), ("CPU us/request", 3), ("p50 us", 1), ("p99 us", 2)):
        row(f"{label}, 50 conns, keep-alive, with track-sc0", med(results, "haproxy", lambda r: r["stick"][idx]),
            med(results, "hakeeper", lambda r: r["stick"][idx]))
    for label, idx in (("req/s", 0), ("CPU us/request", 3)):
        row(f"{label}, 50 conns, keep-alive, same config without the table (same rounds)",
            med(results, "haproxy", lambda r: r["plain"][idx]), med(results, "hakeeper", lambda r: r["plain"][idx]))
    row("tracking cost, CPU us/request (with - without)",
        med(results, "haproxy", lambda r: r["stick"][3] - r["plain"][3]),
        med(results, "hakeeper", lambda r: r["stick"][3] - r["plain"][3]), ".2f")

    print(f"\nStick table memory: `stick-table type ip size 200k store http_req_rate(10s)`, {STICK_KEYS} distinct keys "
          f"set over the stats socket (HAProxy) / ctl socket (hakeeper) in {len(lines)} lines of `;`-joined `set table` "
          f"commands; RSS of HAProxy's process / hakeeper's worker, medians of {l4.ROUNDS} rounds\n")
    print(f"| figure | HAProxy {l4.haproxy_version()} | hakeeper | ratio hakeeper/HAProxy |")
    print("|---|---|---|---|")
    for label, key, fmt in (("entries (show table)", "used", ".0f"), ("RSS before, KiB", "before", ".0f"),
                            (f"RSS with {STICK_KEYS} entries, KiB", "after", ".0f"),
                            ("bytes per entry", "per_entry", ".0f"), ("fill time, s", "fill_s", ".2f")):
        row(label, med(mem, "haproxy", lambda r: r[key]), med(mem, "hakeeper", lambda r: r[key]), fmt)


SECTIONS = ("basic", "seed", "stick")


def only():
    """`--only SECTION` or BENCH_ONLY=SECTION: that section alone; default every section."""
    want = os.environ.get("BENCH_ONLY")
    if "--only" in sys.argv:
        i = sys.argv.index("--only")
        want = sys.argv[i + 1] if i + 1 < len(sys.argv) else ""
    if want and want not in SECTIONS:
        raise SystemExit(f"--only {want!r}: one of {', '.join(SECTIONS)}")
    return (want,) if want else SECTIONS


def main():
    sections = only()
    l4.raise_fd_limit()  # the idle clients are opened by this process
    l4.backends()
    if "basic" in sections:
        basic_main()
    if "seed" in sections:
        seed_main()
    if "stick" in sections:
        stick_main()


def basic_main():
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
