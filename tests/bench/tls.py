"""TLS handshake benchmark (run by hand, not in CI): full handshakes per second that HAProxy 2.6
(OpenSSL) and hakeeper (rustls + aws-lc-rs) complete on the same RSA-2048 certificate, one proxy
thread each pinned to CPU 1, the client (CLIENTS concurrent `openssl s_time -new`, no resumption, 4 by default) pinned to CPU 0.
Rounds alternate between the two; medians are printed with their ratio.

    python3 tests/bench/tls.py [HAKEEPER_BINARY] [SECONDS_PER_ROUND] [ROUNDS] [VERSION_FLAG] [CLIENTS]

VERSION_FLAG is passed to s_time (`-tls1_3` by default; `-tls1_2` for TLS 1.2)."""
import os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

HK = sys.argv[1] if len(sys.argv) > 1 else "target/release/hakeeper"
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
VERSION = sys.argv[4] if len(sys.argv) > 4 else "-tls1_3"
CLIENTS = int(sys.argv[5]) if len(sys.argv) > 5 else 4
PORTS = {"haproxy": 28443, "hakeeper": 28444}
BACKEND = 28445


def run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def wait_port(port):
    end = time.time() + 10
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} not listening")


def tree(pid):
    """`pid` and its descendants."""
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            for c in open(f"/proc/{pid}/task/{task}/children").read().split():
                out += tree(int(c))
    except OSError:
        pass
    return out


def cpu(pid):
    """CPU seconds used so far by `pid` and its descendants."""
    total = 0
    for p in tree(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def rate(port):
    """Handshakes per second of CLIENTS concurrent s_time processes, added up."""
    cmd = ["taskset", "-c", "0", "openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(SECS), VERSION]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(CLIENTS)]
    total = 0.0
    for p in procs:
        out, _ = p.communicate(timeout=SECS + 30)
        m = re.search(r"(\d+) connections in (\d+) real seconds", out)
        if not m:
            raise SystemExit(f"s_time said:\n{out}")
        total += int(m.group(1)) / float(m.group(2))
    return total


def main():
    tmp = tempfile.mkdtemp(prefix="hk-tls-bench-")
    procs = []
    try:
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "2",
             "-subj", "/CN=bench.test"], tmp)
        pem = os.path.join(tmp, "site.pem")
        with open(pem, "w") as f:
            f.write(open(os.path.join(tmp, "c.pem")).read() + open(os.path.join(tmp, "k.pem")).read())
        backend = socket.socket()
        backend.bind(("127.0.0.1", BACKEND))
        backend.listen(1024)
        cfg = os.path.join(tmp, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:{PORTS['haproxy']} ssl crt {pem}
  default_backend be
backend be
  server s1 127.0.0.1:{BACKEND}
""")
        ron = os.path.join(tmp, "hakeeper.ron")
        with open(ron, "w") as f:
            f.write(f"""(
  global: (user: "nobody", nbthread: 1, maxconn: 4000),
  defaults: (mode: tcp, log: false, timeout: (connect: "5s", client: "10s", server: "10s")),
  frontend: [(name: "fe", bind: [(addr: "127.0.0.1:{PORTS['hakeeper']}", ssl: (crt: ["{pem}"]))], default_backend: "be")],
  backend: [(name: "be", servers: [(name: "s1", addr: "127.0.0.1:{BACKEND}")])],
)
""")
        log = open(os.path.join(tmp, "log"), "w")
        procs.append(subprocess.Popen(["taskset", "-c", "1", "haproxy", "-f", cfg, "-db"], stdout=log, stderr=log))
        procs.append(subprocess.Popen(["taskset", "-c", "1", HK, "run", "-c", ron, "--foreground"], stdout=log, stderr=log))
        try:
            for p in PORTS.values():
                wait_port(p)
        except SystemExit:
            log.flush()
            print(open(os.path.join(tmp, "log")).read())
            raise
        rates = {"haproxy": [], "hakeeper": []}
        per_cpu = {"haproxy": [], "hakeeper": []}
        pids = {"haproxy": procs[0].pid, "hakeeper": procs[1].pid}
        for _ in range(ROUNDS):
            for name in ("haproxy", "hakeeper"):
                before = cpu(pids[name])
                r = rate(PORTS[name])
                used = cpu(pids[name]) - before
                rates[name].append(r)
                # Handshakes per second of the proxy's own CPU: what the server side costs,
                # whichever side (client or proxy) bounds the rate on this 2-core machine.
                per_cpu[name].append(r * SECS / used if used > 0 else 0.0)
        med = {k: statistics.median(v) for k, v in rates.items()}
        eff = {k: statistics.median(v) for k, v in per_cpu.items()}
        print(f"full handshakes ({VERSION}, RSA-2048, {CLIENTS} clients, median of {ROUNDS} x {SECS}s):")
        print(f"  per second:            haproxy {med['haproxy']:.0f}  hakeeper {med['hakeeper']:.0f}  ratio {med['hakeeper'] / med['haproxy']:.2f}")
        print(f"  per proxy CPU second:  haproxy {eff['haproxy']:.0f}  hakeeper {eff['hakeeper']:.0f}  ratio {eff['hakeeper'] / eff['haproxy']:.2f}")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
