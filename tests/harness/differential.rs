//! The differential suite of issue #9: one haproxy.cfg from `tests/differential/` runs under the
//! real HAProxy and, imported with `hakeeper import`, under hakeeper, on the same loopback
//! backends; the same requests go to both and their outcomes are compared (see
//! [`differential_script`](super::differential_script) for the file format).

use super::differential_backends::Backend;
use super::differential_client::{play, Outcome};
use super::differential_compare::{compare, known_differences};
use super::differential_haproxy::{binary as haproxy_binary, listening, Haproxy};
use super::differential_script::{parse, substitute, Case};
use super::process::{free_port, run_cli, wait_until, Appliance, TempDir};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn cases_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/differential"))
}

/// Reads and parses `tests/differential/FILE`.
pub fn load(file: &str) -> Case {
    let path = cases_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The ports of one proxy, by placeholder (`FE_x`, `STATS`).
fn own_ports(case: &Case) -> HashMap<String, u16> {
    case.placeholders.iter().filter(|p| p.starts_with("FE_") || *p == "STATS").map(|p| (p.clone(), free_port())).collect()
}

fn fronts(ports: &HashMap<String, u16>) -> HashMap<String, SocketAddr> {
    ports.iter().filter_map(|(p, port)| p.strip_prefix("FE_").map(|f| (f.to_string(), SocketAddr::from(([127, 0, 0, 1], *port))))).collect()
}

/// Runs the case in `file` under both proxies; panics on any difference that
/// KNOWN-DIFFERENCES.md does not list. Returns the number of requests compared (0 when the test
/// is skipped for lack of haproxy outside CI).
pub fn run_case(file: &str) -> usize {
    let Some(haproxy_bin) = haproxy_binary(file) else { return 0 };
    let case = load(file);
    let started = Instant::now();
    let dir = TempDir::new(&format!("differential-{}", file.trim_end_matches(".cfg")));

    let backends: HashMap<String, Backend> =
        case.placeholders.iter().filter_map(|p| Backend::for_placeholder(p).map(|b| (p.clone(), b))).collect();
    // Both proxies log here; nothing reads it.
    let log_sink = UdpSocket::bind("127.0.0.1:0").expect("bind log sink");
    let log_addr = log_sink.local_addr().expect("log sink addr");
    let (hap_ports, hk_ports) = (own_ports(&case), own_ports(&case));
    let cfg_for = |ports: &HashMap<String, u16>| {
        substitute(&case.text, |p| {
            if let Some(b) = backends.get(p) {
                b.addr().to_string()
            } else if let Some(port) = ports.get(p) {
                format!("127.0.0.1:{port}")
            } else if let Some(port) = p.strip_prefix("PORTOF_").and_then(|f| ports.get(&format!("FE_{f}"))) {
                port.to_string()
            } else if p == "LOG" {
                log_addr.to_string()
            } else if p == "DIR" {
                cases_dir().canonicalize().expect("cases dir").display().to_string()
            } else {
                panic!("{file}: unknown placeholder @{p}@")
            }
        })
    };
    std::fs::write(dir.file("haproxy.cfg"), cfg_for(&hap_ports)).expect("write haproxy.cfg");
    std::fs::write(dir.file("for-import.cfg"), cfg_for(&hk_ports)).expect("write cfg for import");
    let ron = dir.file("hakeeper.ron");
    let (code, _, warnings) = run_cli(
        &["import", "--haproxy", &dir.file("for-import.cfg").display().to_string(), "-o", &ron.display().to_string()],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{file}: hakeeper import failed:\n{warnings}");
    if !warnings.is_empty() {
        eprintln!("{file}: import said:\n{warnings}");
    }

    let mut haproxy = Haproxy::start(&haproxy_bin, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hakeeper = Appliance::start(&ron, &dir.file("hakeeper.log"));
    hakeeper.wait_for_children(&["worker"], Duration::from_secs(10));
    let ready =
        wait_until(Duration::from_secs(10), || hap_ports.values().chain(hk_ports.values()).all(|p| listening(*p)) || haproxy.exited());
    assert!(
        ready && !haproxy.exited(),
        "{file}: the proxies are not both listening\nhaproxy log:\n{}\nhakeeper log:\n{}",
        haproxy.log_text(),
        hakeeper.log_text()
    );
    // hakeeper's worker may still be starting: its listeners queue connections meanwhile, but
    // give it a moment so that timing-sensitive steps (queues, held connections) start even.
    std::thread::sleep(Duration::from_millis(200 + case.settle_ms));

    let from_haproxy = play(&case.steps, &fronts(&hap_ports));
    let from_hakeeper = play(&case.steps, &fronts(&hk_ports));
    let known_text = std::fs::read_to_string(cases_dir().join("KNOWN-DIFFERENCES.md")).unwrap_or_default();
    let known = known_differences(&known_text);
    let diffs = compare(&from_haproxy, &from_hakeeper, &case.errorfile_codes);
    let listed = |id: &str| known.contains(&(file.to_string(), id.to_string()));
    let (accepted, failing): (Vec<_>, Vec<_>) = diffs.iter().partition(|d| listed(&d.id));
    for d in &accepted {
        eprintln!("{file} {}: known difference: {}", d.id, d.fields.join("; "));
    }
    for (_, id) in known.iter().filter(|(f, _)| f == file) {
        if !diffs.iter().any(|d| &d.id == id) {
            eprintln!("{file} {id}: listed in KNOWN-DIFFERENCES.md but both proxies now agree; remove the entry");
        }
    }
    if !failing.is_empty() {
        let report: Vec<String> = failing.iter().map(|d| format!("  {} {}:\n    {}", file, d.id, d.fields.join("\n    "))).collect();
        panic!(
            "{file}: {} of {} requests differ between HAProxy and hakeeper (not in KNOWN-DIFFERENCES.md):\n{}\n\nall outcomes:\n{}\nhaproxy log:\n{}\nhakeeper log:\n{}",
            failing.len(),
            case.request_count(),
            report.join("\n"),
            table(&from_haproxy, &from_hakeeper),
            tail(&haproxy.log_text()),
            tail(&hakeeper.log_text())
        );
    }
    eprintln!("{file}: {} requests compared in {:?}, {} known differences", from_haproxy.len(), started.elapsed(), accepted.len());
    eprintln!("{}", table(&from_haproxy, &from_hakeeper));
    drop(log_sink);
    from_haproxy.len()
}

/// Side-by-side summary of every request, for failure messages.
fn table(a: &[(String, Outcome)], b: &[(String, Outcome)]) -> String {
    a.iter().zip(b).map(|((id, x), (_, y))| format!("  {id:>5}  haproxy {}  |  hakeeper {}\n", x.brief(), y.brief())).collect()
}

/// The last lines of a log, enough to see why without burying the differences.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
