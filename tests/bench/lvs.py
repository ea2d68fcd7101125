"""LVS data-plane benchmark driver: see tests/bench/lvs. Root only; every namespace, nft table and
process it makes is removed at exit (atexit, SIGTERM, SIGINT), processes by PID.

Lab (192.0.2.0/24, one bridge in a namespace of its own, as a switch):
  cl   192.0.2.66/26, default via 192.0.2.65 (the LB)                 client: wrk, iperf3 -c
  lb   192.0.2.65/26 and 192.0.2.1/26, VIP 192.0.2.100/32, forwarding on, no redirects
  rs1-3 192.0.2.11-13/26, default via 192.0.2.1, VIP on lo with arp_ignore/arp_announce
       (keepalived's DR real servers), nginx on :80 (64-byte body naming the server),
       iperf3 -s on rs1:5201
Modes, in a different order each round:
  direct  the client talks to rs1 over the segment (on-link routes both ways): no LB at all
  nat     `lvs: (kind: nat)`: DNAT in the LB's kernel, replies routed back through it
  dr      `lvs: (kind: dr, interface: "eth0")`: the LB rewrites the destination MAC, the real
          servers answer the client directly (on-link route to the client's network)
  proxy   the same listens as `mode tcp` (hakeeper's user-space proxy, one worker thread)
Each mode: `web` VIP:80 over rs1-3 (roundrobin, checks every 2 s) and `bulk` VIP:5201 to rs1:5201
(no check: a TCP check would be taken by iperf3 as a test). Load: wrk with `Connection: close`
(a new connection per request, 50 at a time) and one iperf3 stream, each SECONDS long.

CPU: all namespaces share one kernel, so the host's busy time (user+nice+system+irq+softirq of
all CPUs, /proc/stat) is read around each load run; the LB's cost in a mode is that minus the
direct mode's in the same round. Pinning as tests/bench/l4: client on CPU 0, real servers and
hakeeper on CPU 1 (the kernel's packet work runs where the sender runs, mostly).
"""
import atexit, json, os, re, signal, statistics, subprocess, sys, tempfile, time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 5
MODES = ("direct", "nat", "dr", "proxy")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
HAKEEPER = os.path.join(TARGET, "release", "hakeeper")
TMP = tempfile.mkdtemp(prefix="hakeeper-bench-lvs-")
PREFIX = f"hkb{os.getpid()}"
NAMESPACES = []
PROCS = []
CLK = os.sysconf("SC_CLK_TCK")
VIP = "192.0.2.100"
RS = {"rs1": "192.0.2.11", "rs2": "192.0.2.12", "rs3": "192.0.2.13"}
CLIENT_NET, SERVER_NET = "192.0.2.64/26", "192.0.2.0/26"


def ns(host):
    return f"{PREFIX}-{host}"


def sh(args, timeout=10, check=True):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and out.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: {out.stderr.strip()}")
    return out


def ip(host, *args, check=True):
    return sh(["ip", "-n", ns(host)] + list(args), check=check)


def nsexec(host, *args, timeout=10, check=True):
    return sh(["ip", "netns", "exec", ns(host)] + list(args), timeout=timeout, check=check)


def sysctl(host, key, value):
    nsexec(host, "sh", "-c", f"echo {value} > /proc/sys/{key.replace('.', '/')}")


def stop(p, within=10):
    """SIGTERM to `p` (`ip netns exec` and taskset exec it: the PID is the program's; for
    hakeeper the supervisor, which stops its children, as systemd's KillMode=mixed does), SIGKILL
    to its process group after `within` seconds; whether it left in time."""
    if p.poll() is not None:
        return True
    try:
        os.kill(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    try:
        p.wait(timeout=within)
        return True
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=5)
        return False


def cleanup():
    for p in reversed(PROCS):
        try:
            stop(p, 5)
        except Exception:
            pass
    # Deleting a namespace takes its interfaces, bridge and nft tables with it.
    for n in reversed(NAMESPACES):
        subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=10)
    subprocess.run(["rm", "-rf", TMP])


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def start(host, cmd, cpu, log):
    p = subprocess.Popen(["ip", "netns", "exec", ns(host), "taskset", "-c", str(cpu)] + cmd, start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(TMP, log), "a"))
    PROCS.append(p)
    return p


def host(name):
    n = ns(name)
    sh(["ip", "netns", "add", n])
    NAMESPACES.append(n)
    ip(name, "link", "set", "lo", "up")


def lab():
    host("sw")
    ip("sw", "link", "add", "br0", "type", "bridge")
    ip("sw", "link", "set", "br0", "up")
    addrs = {"cl": ["192.0.2.66/26"], "lb": ["192.0.2.65/26", "192.0.2.1/26", f"{VIP}/32"]}
    addrs.update({r: [f"{a}/26"] for r, a in RS.items()})
    for i, (h, a) in enumerate(addrs.items()):
        host(h)
        ip("sw", "link", "add", f"p-{h}", "type", "veth", "peer", "name", "eth0", "address", f"02:00:00:00:07:{i + 1:02x}",
           "netns", ns(h))
        ip("sw", "link", "set", f"p-{h}", "master", "br0", "up")
        ip(h, "link", "set", "eth0", "up")
        for cidr in a:
            ip(h, "addr", "add", cidr, "dev", "eth0")
        # Short connections by the ten thousand: ports and TIME_WAIT must not run out.
        sysctl(h, "net.ipv4.ip_local_port_range", "1024 65000")
        sysctl(h, "net.ipv4.tcp_tw_reuse", "1")
    ip("cl", "route", "add", "default", "via", "192.0.2.65")
    sysctl("lb", "net.ipv4.ip_forward", "1")
    # NAT forwards out of the interface the packet came in by: no ICMP redirects.
    for k in ("all", "default", "eth0"):
        sysctl("lb", f"net.ipv4.conf.{k}.send_redirects", "0")
    for r in RS:
        ip(r, "route", "add", "default", "via", "192.0.2.1")
        for k in ("all", "eth0"):
            sysctl(r, f"net.ipv4.conf.{k}.arp_ignore", "1")
            sysctl(r, f"net.ipv4.conf.{k}.arp_announce", "2")
            sysctl(r, f"net.ipv4.conf.{k}.accept_redirects", "0")
        ip(r, "addr", "add", f"{VIP}/32", "dev", "lo")


def servers():
    for r in RS:
        d = os.path.join(TMP, r)
        os.makedirs(d)
        body = (r + " " + "x" * 64)[:63]
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/nginx.err;
events {{ worker_connections 20000; }}
worker_rlimit_nofile 65536;
http {{ access_log off; server {{ listen 80 backlog=4096; location / {{ return 200 "{body}\\n"; }} }} }}
""")
        start(r, ["nginx", "-c", conf, "-p", d], 1, f"{r}.log")
    start("rs1", ["iperf3", "-s", "-p", "5201"], 1, "iperf3.log")
    for r, a in RS.items():
        if not wait(lambda: nsexec("lb", "curl", "-s", "-m", "1", f"http://{a}/", check=False).stdout.startswith(r), 10):
            raise SystemExit(f"nginx in {r} never answered")
    if not wait(lambda: ":5201 " in nsexec("rs1", "ss", "-ltnH", check=False).stdout, 10):
        raise SystemExit("iperf3 in rs1 never listened")


def wait(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def routes(mode):
    """On-link routes between the client's and the servers' networks: both ways for direct (the
    LB is not on the path), servers to client for DR (replies go straight to the client)."""
    cl = "replace" if mode == "direct" else "del"
    ip("cl", "route", cl, SERVER_NET, "dev", "eth0", check=cl == "replace")
    rs = "replace" if mode in ("direct", "dr") else "del"
    for r in RS:
        ip(r, "route", rs, CLIENT_NET, "dev", "eth0", check=rs == "replace")


def config(mode):
    check = 'check: (inter: "2s", rise: 1, fall: 2)'
    web = ", ".join(f'(name: "{r}", addr: "{a}:80", {check})' for r, a in RS.items())
    lvs = {"nat": "lvs: (kind: nat), ", "dr": 'lvs: (kind: dr, interface: "eth0"), ', "proxy": ""}[mode]
    path = os.path.join(TMP, f"{mode}.ron")
    with open(path, "w") as f:
        f.write(f"""(
  global: (maxconn: 20000, nbthread: 1, log: (target: "stderr", facility: "local1", level: "err")),
  defaults: (mode: tcp, log: false, timeout: (connect: "5s", client: "50s", server: "50s")),
  listen: [
    (name: "web", bind: ["{VIP}:80"], {lvs}maxconn: 20000, balance: roundrobin, servers: [{web}]),
    (name: "bulk", bind: ["{VIP}:5201"], {lvs}maxconn: 20000, servers: [(name: "rs1", addr: "{RS['rs1']}:5201")]),
  ],
)
""")
    out = sh([HAKEEPER, "check", "-c", path], check=False)
    if out.returncode != 0:
        raise SystemExit(f"hakeeper check {mode}: {out.stdout}{out.stderr}")
    return path


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


def proc_cpu(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime, stime, and cutime, cstime: the `nft` runs vrrpd has reaped.
            total += sum(int(x) for x in fields[11:15])
        except OSError:
            pass
    return total / CLK


def host_cpu():
    """Busy seconds of all CPUs: user+nice+system+irq+softirq (not idle, iowait, steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK


def served():
    """Which real servers six requests to the VIP reach (from the client)."""
    names = []
    for _ in range(6):
        out = nsexec("cl", "curl", "-s", "-m", "1", f"http://{VIP}/", check=False).stdout
        names.append(out.split(" ")[0] if out else "")
    return names


def start_hakeeper(mode):
    p = start("lb", [HAKEEPER, "run", "--foreground", "-c", config(mode)], 1, f"hakeeper-{mode}.log")
    # Up when the VIP balances over all three (the checks have run, the tables or listeners are
    # there); in LVS modes the kernel must do it: nft table present, nothing listening on :80.
    if not wait(lambda: p.poll() is None and sorted(set(served())) == sorted(RS), 15):
        raise SystemExit(f"{mode}: the VIP never balanced over rs1-3: {served()}\n{log(mode)}")
    tables = nsexec("lb", "nft", "list", "tables").stdout
    listening = nsexec("lb", "ss", "-ltnH", "sport", "= :80").stdout.strip()
    if mode == "nat" and ("ip hakeeper_lvs" not in tables or listening):
        raise SystemExit(f"nat: not the kernel's: {tables} {listening}")
    if mode == "dr" and ("netdev hakeeper_lvs_dr_eth0" not in tables or listening):
        raise SystemExit(f"dr: not the kernel's: {tables} {listening}")
    if mode == "proxy" and ("hakeeper_lvs" in tables or not listening):
        raise SystemExit(f"proxy: not the proxy's: {tables} {listening}")
    return p


def log(mode):
    try:
        with open(os.path.join(TMP, f"hakeeper-{mode}.log")) as f:
            return f.read()[-3000:]
    except OSError:
        return ""


def stop_hakeeper(p, mode):
    if not stop(p, 10):
        print(f"{mode}: hakeeper did not exit within 10 s of SIGTERM (killed)", file=sys.stderr)
    left = [t for t in nsexec("lb", "nft", "list", "tables").stdout.splitlines() if "hakeeper_lvs" in t]
    if left:
        print(f"{mode}: tables left after SIGTERM: {left} (removed)", file=sys.stderr)
        for line in left:
            nsexec("lb", "nft", "delete", *line.split())


def measured(pids, run):
    h0, p0 = host_cpu(), proc_cpu(pids)
    out = run()
    return out, host_cpu() - h0, proc_cpu(pids) - p0


def wrk(target):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", "-c50", f"-d{SECONDS}s", "-H", "Connection: close", f"http://{target}/"]
    out = nsexec("cl", *cmd, timeout=SECONDS + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    if not m:
        raise SystemExit(f"wrk: {out}")
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or non2xx:
        print(f"wrk to {target}: {errors.group(0) if errors else ''} {non2xx.group(0) if non2xx else ''}", file=sys.stderr)
    return int(m.group(1)), float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def iperf(target):
    out = nsexec("cl", "taskset", "-c", "0", "iperf3", "-c", target, "-p", "5201", "-t", str(SECONDS), "-J",
                 timeout=SECONDS + 30, check=False).stdout
    try:
        r = json.loads(out)["end"]["sum_received"]
    except (ValueError, KeyError):
        raise SystemExit(f"iperf3 to {target}: {out[-2000:]}")
    return r["bytes"], r["bits_per_second"] / 1e9


def measure(mode):
    routes(mode)
    p, pids = None, []
    if mode == "direct":
        web, bulk = RS["rs1"], RS["rs1"]
    else:
        p = start_hakeeper(mode)
        pids = [p.pid] + children(p.pid)
        web, bulk = VIP, VIP
    time.sleep(0.5)
    (conns, rate), c_cpu, c_hk = measured(pids, lambda: wrk(web))
    time.sleep(0.5)
    (nbytes, gbps), b_cpu, b_hk = measured(pids, lambda: iperf(bulk))
    if p:
        stop_hakeeper(p, mode)
    gb = nbytes / 1e9
    return {"rate": rate, "conn_us": c_cpu / conns * 1e6, "hk_conn_us": c_hk / conns * 1e6,
            "gbps": gbps, "s_per_gb": b_cpu / gb, "hk_s_per_gb": b_hk / gb}


def main():
    if os.geteuid() != 0:
        raise SystemExit("tests/bench/lvs needs root (namespaces, nftables)")
    if not os.access(HAKEEPER, os.X_OK):
        raise SystemExit(f"no {HAKEEPER}: cargo build --release -p hakeeper")
    lab()
    servers()
    results = {m: [] for m in MODES}
    for i in range(ROUNDS):
        order = MODES[i % len(MODES):] + MODES[:i % len(MODES)]
        rnd = {}
        for mode in order:
            print(f"round {i + 1}: {mode}", file=sys.stderr)
            rnd[mode] = measure(mode)
        # The LB's cost: what the mode costs the host beyond the same load without a LB, same round.
        for mode in MODES:
            r = rnd[mode]
            r["lb_conn_us"] = r["conn_us"] - rnd["direct"]["conn_us"]
            r["lb_s_per_gb"] = r["s_per_gb"] - rnd["direct"]["s_per_gb"]
            results[mode].append(r)
    table(results)


def table(results):
    def med(mode, key):
        return statistics.median(r[key] for r in results[mode])

    def ratio(a, b):
        return f"{a / b:.2f}" if b > 0 else "n/a"
    rows = [
        ("new connections/s (wrk, `Connection: close`, 50 at a time)", "rate", "{:.0f}"),
        ("host CPU us per connection (all CPUs, user+sys+softirq)", "conn_us", "{:.1f}"),
        ("LB's cost: host CPU us per connection beyond direct", "lb_conn_us", "{:.1f}"),
        ("hakeeper processes' CPU us per connection", "hk_conn_us", "{:.2f}"),
        ("bulk Gbit/s (iperf3, one stream)", "gbps", "{:.2f}"),
        ("host CPU s per GB (all CPUs, user+sys+softirq)", "s_per_gb", "{:.3f}"),
        ("LB's cost: host CPU s per GB beyond direct", "lb_s_per_gb", "{:.3f}"),
        ("hakeeper processes' CPU s per GB", "hk_s_per_gb", "{:.4f}"),
    ]
    print(f"\nLVS data-plane benchmark, {ROUNDS} rounds x {SECONDS}s, medians; client on CPU 0, "
          f"real servers and hakeeper on CPU 1, nbthread 1\n")
    print("| figure | direct (no LB) | LVS NAT | LVS DR | proxy (mode tcp) | NAT/proxy | DR/proxy |")
    print("|---|---|---|---|---|---|---|")
    for label, key, fmt in rows:
        v = {m: med(m, key) for m in MODES}
        d = fmt.format(v["direct"]) if not key.startswith(("lb_", "hk_")) else "-"
        print(f"| {label} | {d} | {fmt.format(v['nat'])} | {fmt.format(v['dr'])} | {fmt.format(v['proxy'])} "
              f"| {ratio(v['nat'], v['proxy'])} | {ratio(v['dr'], v['proxy'])} |")


if __name__ == "__main__":
    main()
