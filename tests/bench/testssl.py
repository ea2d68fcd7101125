"""testssl.sh side by side: see tests/bench/testssl. Both proxies get the bind of tests/bench/tls
(one certificate, `alpn http/1.1`, nothing else set), so that the comparison is of defaults."""
import json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(__file__))
import l4  # noqa: E402
import tls  # noqa: E402

RANK = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def scan(name, pem):
    p, _, _ = tls.start_hakeeper(pem) if name == "hakeeper" else tls.start_haproxy(pem)
    out = os.path.join(l4.TMP, f"testssl-{name}.json")
    cmd = ["testssl", "--quiet", "--warnings", "off", "--color", "0", "--jsonfile", out, "--ip", "one",
           f"127.0.0.1:{tls.PORTS[name]}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    tls.stop(p)
    if not os.path.exists(out):
        raise SystemExit(f"testssl produced no report for {name} (exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    with open(out) as f:
        findings = json.load(f)
    return {f["id"]: (f.get("severity", "INFO"), f.get("finding", "")) for f in findings}, r.stdout


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in ("ecdsa", "rsa") else "rsa"
    l4.backends()
    pem = tls.make_certs()[kind]
    ha, ha_text = scan("haproxy", pem)
    hk, hk_text = scan("hakeeper", pem)
    worse, differ = [], []
    for key in sorted(set(ha) | set(hk)):
        a = ha.get(key, ("(absent)", ""))
        b = hk.get(key, ("(absent)", ""))
        if a != b:
            differ.append((key, a, b))
            if RANK.get(b[0], 0) > RANK.get(a[0], 0):
                worse.append(key)
    print(f"\ntestssl.sh against one TLS bind ({kind} certificate, alpn http/1.1, defaults otherwise), "
          f"HAProxy {l4.haproxy_version()} and hakeeper, same run\n")
    print(f"findings: HAProxy {len(ha)}, hakeeper {len(hk)}; differing {len(differ)}; "
          f"rated worse for hakeeper: {len(worse)} {worse}\n")
    print("| id | HAProxy severity: finding | hakeeper severity: finding |")
    print("|---|---|---|")
    for key, a, b in differ:
        def cell(x):
            return f"{x[0]}: {x[1]}".replace("|", "/")[:160]
        print(f"| {key}{' **worse**' if key in worse else ''} | {cell(a)} | {cell(b)} |")
    sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
