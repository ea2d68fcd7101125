//! End-to-end, as root: `packaging/build` makes the .deb and the .rpm; lintian finds no error in
//! the .deb; the .rpm holds the expected files, scriptlets and metadata; the .deb installs a
//! service that runs from its own unit's command lines, keeps a changed conffile on upgrade, and
//! `dpkg --purge` leaves the machine as it was. The shipped rsyslog snippet files hakeeper's
//! local1 lines, and only those, in their own log.

#[path = "packaging/commands.rs"]
mod commands;
mod harness;
#[path = "packaging/installed.rs"]
mod installed;
#[path = "packaging/snapshot.rs"]
mod snapshot;

use commands::{have, run, run_command};
use harness::process::{in_ci, require_root, wait_until, TempDir};
use installed::{dpkg_field, dpkg_status, expand_command, unit_values, PurgeOnDrop, Service, DPKG_TIMEOUT, PACKAGE};
use snapshot::Snapshot;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// First run on a fresh machine: `cargo install` of cargo-deb (about 2 min on 2 busy cores) plus
/// the release build (about 5 min).
const BUILD_TIMEOUT: Duration = Duration::from_secs(45 * 60);
/// The listener of the shipped default config (etc/hakeeper.ron).
const DEFAULT_LISTENER: &str = "127.0.0.1:48066";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example_files() -> Vec<String> {
    let dir = workspace().join("examples");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(!names.is_empty(), "{} is empty", dir.display());
    names
}

/// Skips (false) outside CI when a tool is missing; fails under CI=true, where tests/install-deps
/// must have installed it.
fn require_tools(test: &str, tools: &[(&str, &str)]) -> bool {
    let missing: Vec<String> =
        tools.iter().filter(|(cmd, _)| !have(cmd)).map(|(cmd, pkg)| format!("{cmd} (Debian package {pkg})")).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(!in_ci(), "{test} needs {} and CI=true: failing instead of skipping", missing.join(", "));
    eprintln!("skipping {test}: missing {}", missing.join(", "));
    false
}

#[derive(Clone)]
struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
}

/// Runs packaging/build once for all the tests of this file; a failed build fails each of them.
fn packages() -> Packages {
    static BUILT: Mutex<Option<Result<Packages, String>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    built.get_or_insert_with(build).clone().unwrap_or_else(|e| panic!("{e}"))
}

fn build() -> Result<Packages, String> {
    let mut cmd = Command::new(workspace().join("packaging/build"));
    // The variables cargo sets for this test describe the test, not the build the script starts.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || key.starts_with("CARGO_MANIFEST_")
            || key == "CARGO_CRATE_NAME"
            || key == "CARGO_PRIMARY_PACKAGE"
            || key == "CARGO_TARGET_TMPDIR"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let start = Instant::now();
    let ran = run_command(cmd, BUILD_TIMEOUT);
    eprintln!("packaging/build took {:.0} s", start.elapsed().as_secs_f64());
    if !ran.ok() {
        return Err(format!("packaging/build exited {}\nstdout:\n{}\nstderr:\n{}", ran.code, ran.stdout, ran.stderr));
    }
    let lines: Vec<&str> = ran.stdout.lines().collect();
    let path = |suffix: &str| {
        lines
            .iter()
            .rev()
            .find(|l| l.ends_with(suffix))
            .map(PathBuf::from)
            .ok_or(format!("packaging/build printed no {suffix} path:\n{}", ran.stdout))
    };
    Ok(Packages { deb: path(".deb")?, rpm: path(".rpm")? })
}

#[test]
fn deb_has_no_lintian_errors() {
    if !require_root("deb_has_no_lintian_errors")
        || !require_tools("deb_has_no_lintian_errors", &[("lintian", "lintian"), ("dpkg-deb", "dpkg")])
    {
        return;
    }
    let deb = packages().deb;
    let deb = deb.to_str().expect("utf8 path");
    let lint = run("lintian", &["--display-info", "--pedantic", deb], Duration::from_secs(300));
    eprintln!("lintian:\n{}{}", lint.stdout, lint.stderr);
    let errors: Vec<&str> = lint.stdout.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
    assert!(lint.ok(), "lintian exited {}: {}", lint.code, lint.stderr);

    let info = run("dpkg-deb", &["--info", deb], Duration::from_secs(30)).expect_ok().stdout;
    for expected in ["Package: hakeeper", &format!("Version: {VERSION}-1"), "Depends: adduser", "Section: net"] {
        assert!(info.contains(expected), "dpkg-deb --info lacks {expected:?}:\n{info}");
    }
    let control = TempDir::new("deb-control");
    run("dpkg-deb", &["--control", deb, control.path.to_str().expect("utf8")], Duration::from_secs(30)).expect_ok();
    let conffiles = std::fs::read_to_string(control.file("conffiles")).expect("the .deb has conffiles");
    for expected in ["/etc/hakeeper/hakeeper.ron", "/etc/rsyslog.d/49-hakeeper.conf", "/etc/logrotate.d/hakeeper"] {
        assert!(conffiles.lines().any(|l| l == expected), "{expected} is not a conffile:\n{conffiles}");
    }
}

#[test]
fn rpm_lists_the_expected_files_and_metadata() {
    if !require_root("rpm_lists_the_expected_files_and_metadata")
        || !require_tools("rpm_lists_the_expected_files_and_metadata", &[("rpm", "rpm")])
    {
        return;
    }
    let rpm_path = packages().rpm;
    let rpm = rpm_path.to_str().expect("utf8 path");
    let query = |flags: &[&str]| -> String {
        let mut args = vec!["-qp"];
        args.extend_from_slice(flags);
        args.push(rpm);
        run("rpm", &args, Duration::from_secs(60)).expect_ok().stdout
    };

    let mut expected: Vec<String> = [
        "/etc/hakeeper",
        "/etc/hakeeper/hakeeper.ron",
        "/etc/logrotate.d/hakeeper",
        "/etc/rsyslog.d/49-hakeeper.conf",
        "/etc/sysconfig/hakeeper",
        "/usr/lib/systemd/system/hakeeper.service",
        "/usr/sbin/hakeeper",
        "/usr/share/bash-completion/completions/hakeeper",
        "/usr/share/doc/hakeeper",
        "/usr/share/doc/hakeeper/README.md",
        "/usr/share/doc/hakeeper/examples",
        "/usr/share/fish/vendor_completions.d/hakeeper.fish",
        "/usr/share/licenses/hakeeper",
        "/usr/share/licenses/hakeeper/copyright",
        "/usr/share/man/man5/hakeeper.ron.5.gz",
        "/usr/share/man/man8/hakeeper.8.gz",
        "/usr/share/zsh/site-functions/_hakeeper",
        "/var/lib/hakeeper",
        "/var/lib/hakeeper/empty",
    ]
    .map(String::from)
    .into();
    expected.extend(example_files().iter().map(|f| format!("/usr/share/doc/hakeeper/examples/{f}")));
    expected.sort();
    let listed: Vec<String> = query(&["-l"]).lines().map(String::from).collect();
    assert_eq!(listed, expected, "rpm -qpl");

    let info = query(&["-i"]);
    eprintln!("rpm -qpi:\n{info}");
    for (field, value) in
        [("Name", "hakeeper"), ("Version", VERSION), ("Release", "1"), ("License", "Apache-2.0"), ("Architecture", "x86_64")]
    {
        let found = info.lines().find_map(|l| l.strip_prefix(field).and_then(|r| r.trim_start().strip_prefix(':'))).map(str::trim);
        assert_eq!(found, Some(value), "rpm -qpi field {field}:\n{info}");
    }

    // The long description (cargo-generate-rpm could not write one).
    let description = info.split_once("Description :").map(|(_, d)| d.trim()).unwrap_or_default();
    assert!(description.lines().count() >= 5 && description.contains("hakeeper import"), "rpm -qpi Description:\n{info}");
    assert_eq!(query(&["-L"]).trim(), "/usr/share/licenses/hakeeper/copyright", "rpm -qpL: the license file is marked");

    let url = info.lines().find_map(|l| l.strip_prefix("URL").and_then(|r| r.trim_start().strip_prefix(':'))).map(str::trim);
    assert!(url.is_some_and(|u| u.starts_with("https://")), "rpm -qpi URL:\n{info}");

    let configs: Vec<String> = query(&["-c"]).lines().map(String::from).collect();
    assert_eq!(
        configs,
        ["/etc/hakeeper/hakeeper.ron", "/etc/logrotate.d/hakeeper", "/etc/rsyslog.d/49-hakeeper.conf", "/etc/sysconfig/hakeeper"],
        "rpm -qpc"
    );
    let dump = query(&["--dump"]);
    let mode = dump.lines().find(|l| l.starts_with("/usr/sbin/hakeeper ")).and_then(|l| l.split_whitespace().nth(4)).map(String::from);
    assert_eq!(mode.as_deref(), Some("0100755"), "mode of /usr/sbin/hakeeper:\n{dump}");

    // The scriptlets are the files' contents (the spec reads them from packaging/rpm).
    let scripts = query(&["--scripts"]);
    for expected in [
        "useradd -r -g hakeeper",
        "install -d -o root -g root -m 0755 /var/lib/hakeeper",
        "disable --now hakeeper.service",
        "hakeeper ctl -c \"$CONFIG\" upgrade",
    ] {
        assert!(scripts.contains(expected), "rpm scriptlets lack {expected:?}:\n{scripts}");
    }
    for script in ["pre.sh", "post.sh", "preun.sh", "postun.sh"] {
        let path = workspace().join("packaging/rpm").join(script);
        run("sh", &["-n", path.to_str().expect("utf8")], Duration::from_secs(10)).expect_ok();
    }
    let requires = query(&["-R"]);
    assert!(requires.lines().any(|l| l.trim() == "/usr/sbin/useradd"), "rpm -qpR:\n{requires}");
}

#[test]
fn deb_installs_a_working_service_and_purge_leaves_no_trace() {
    let test = "deb_installs_a_working_service_and_purge_leaves_no_trace";
    let tools = [("dpkg", "dpkg"), ("dpkg-deb", "dpkg"), ("man", "man-db"), ("systemd-analyze", "systemd"), ("adduser", "adduser")];
    if !require_root(test) || !require_tools(test, &tools) {
        return;
    }
    let deb = packages().deb;
    assert_eq!(dpkg_status(), "", "package {PACKAGE} is already known to dpkg: run `dpkg --purge {PACKAGE}` first");
    assert!(nix::unistd::User::from_name("hakeeper").ok().flatten().is_none(), "a user hakeeper already exists: remove it first");
    let before = Snapshot::take();
    let guard = PurgeOnDrop::new();

    let install = run("dpkg", &["-i", deb.to_str().expect("utf8")], DPKG_TIMEOUT).expect_ok();
    eprintln!("dpkg -i:\n{}{}", install.stdout, install.stderr);
    assert_eq!(dpkg_status(), "installed");
    check_installed_files();
    check_user_and_chroot();
    check_unit_and_run_the_service();

    // An upgrade keeps a conffile the operator changed.
    let conffile = Path::new("/etc/hakeeper/hakeeper.ron");
    let mut changed = std::fs::read_to_string(conffile).expect("read conffile");
    changed.push_str("// changed by the operator\n");
    std::fs::write(conffile, &changed).expect("change conffile");
    let next = TempDir::new("deb-upgrade");
    let upgrade = rebuilt_with_revision(&deb, &next, "2");
    run("dpkg", &["-i", upgrade.to_str().expect("utf8")], DPKG_TIMEOUT).expect_ok();
    assert_eq!(dpkg_field("Version"), format!("{VERSION}-2"));
    assert_eq!(std::fs::read_to_string(conffile).expect("read conffile"), changed, "the upgrade replaced a changed conffile");

    // Removal keeps conffiles and the user; purge takes everything.
    run("dpkg", &["--remove", PACKAGE], DPKG_TIMEOUT).expect_ok();
    assert!(!Path::new("/usr/sbin/hakeeper").exists(), "binary left after remove");
    assert!(conffile.exists(), "dpkg --remove deleted the conffile");
    assert_eq!(dpkg_status(), "config-files");
    let purge = run("dpkg", &["--purge", PACKAGE], DPKG_TIMEOUT).expect_ok();
    eprintln!("dpkg --purge:\n{}{}", purge.stdout, purge.stderr);
    assert_eq!(dpkg_status(), "", "dpkg still knows {PACKAGE} after purge");
    drop(guard);
    let after = Snapshot::take();
    let diff = before.diff(&after);
    assert!(diff.is_empty(), "the machine differs after purge:\n{}", diff.join("\n"));

    // A `hakeeper` user that existed before the package is used, not adopted: purge leaves it.
    run("useradd", &["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "hakeeper"], DPKG_TIMEOUT).expect_ok();
    let own_user = scopeguard_user();
    let guard = PurgeOnDrop::new();
    run("dpkg", &["-i", deb.to_str().expect("utf8")], DPKG_TIMEOUT).expect_ok();
    assert_eq!(dpkg_status(), "installed");
    run("dpkg", &["--purge", PACKAGE], DPKG_TIMEOUT).expect_ok();
    drop(guard);
    assert!(nix::unistd::User::from_name("hakeeper").ok().flatten().is_some(), "purge deleted a user the package did not create");
    assert!(nix::unistd::Group::from_name("hakeeper").ok().flatten().is_some(), "purge deleted a group the package did not create");
    drop(own_user);
}

/// Deletes the test's own `hakeeper` user and group when dropped.
fn scopeguard_user() -> impl Drop {
    struct User;
    impl Drop for User {
        fn drop(&mut self) {
            let _ = std::process::Command::new("userdel").arg("hakeeper").status();
            let _ = std::process::Command::new("groupdel").arg("hakeeper").status();
        }
    }
    User
}

fn check_installed_files() {
    let version = run("/usr/sbin/hakeeper", &["--version"], Duration::from_secs(10)).expect_ok();
    assert_eq!(version.stdout.trim(), format!("hakeeper {VERSION}"));
    run("/usr/sbin/hakeeper", &["check", "-c", "/etc/hakeeper/hakeeper.ron"], Duration::from_secs(10)).expect_ok();
    let conffiles = dpkg_field("Conffiles");
    assert!(conffiles.contains("/etc/hakeeper/hakeeper.ron"), "dpkg conffiles:\n{conffiles}");
    assert!(conffiles.contains("/etc/default/hakeeper"), "dpkg conffiles:\n{conffiles}");
    for f in example_files() {
        let path = format!("/usr/share/doc/hakeeper/examples/{f}");
        assert!(Path::new(&path).is_file(), "{path} missing");
        if f.ends_with(".ron") {
            // Examples name interfaces this host may lack: warnings, not errors.
            run("/usr/sbin/hakeeper", &["check", "-c", &path], Duration::from_secs(10)).expect_ok();
        }
    }
    // DEBIAN/md5sums: dpkg can verify every installed file (silence means all match).
    let verify = run("dpkg", &["--verify", PACKAGE], Duration::from_secs(30));
    assert!(verify.ok() && verify.stdout.trim().is_empty(), "dpkg --verify:\n{}{}", verify.stdout, verify.stderr);
    let md5sums = std::fs::read_to_string(format!("/var/lib/dpkg/info/{PACKAGE}.md5sums")).expect("the package has md5sums");
    assert!(md5sums.contains("usr/sbin/hakeeper") && !md5sums.contains("etc/hakeeper/hakeeper.ron"), "md5sums:\n{md5sums}");
    for path in [
        "/usr/share/doc/hakeeper/copyright",
        "/usr/share/doc/hakeeper/changelog.Debian.gz",
        "/usr/share/bash-completion/completions/hakeeper",
        "/usr/share/zsh/vendor-completions/_hakeeper",
        "/usr/share/fish/vendor_completions.d/hakeeper.fish",
        "/etc/rsyslog.d/49-hakeeper.conf",
        "/etc/logrotate.d/hakeeper",
    ] {
        assert!(Path::new(path).is_file(), "{path} missing");
    }
    let man = |args: &[&str]| {
        let mut cmd = Command::new("man");
        cmd.args(args).env("MANWIDTH", "80").env("LC_ALL", "C.UTF-8").env_remove("MANPAGER").env_remove("PAGER");
        run_command(cmd, Duration::from_secs(30)).expect_ok()
    };
    let page = man(&["-P", "cat", "hakeeper"]);
    assert!(page.stdout.contains("SYNOPSIS") && page.stdout.contains("hakeeper"), "man hakeeper:\n{}{}", page.stdout, page.stderr);
    // `man 5 hakeeper.ron` finds the reference. Contents are read with -l from the installed files:
    // a page looked up by name may come from man-db's cache of an earlier install (same mtime).
    let found = man(&["-w", "5", "hakeeper.ron"]);
    assert_eq!(found.stdout.trim(), "/usr/share/man/man5/hakeeper.ron.5.gz", "man -w 5 hakeeper.ron");
    let render = |page: &str| {
        let rendered = man(&["--warnings", "-P", "cat", "-l", page]);
        assert!(rendered.stderr.trim().is_empty(), "man --warnings -l {page}:\n{}", rendered.stderr);
        rendered.stdout
    };
    let commands = render("/usr/share/man/man8/hakeeper.8.gz");
    assert!(commands.contains("hakeeper.ron(5)") && !commands.contains("hakeeper-check(8)"), "hakeeper(8):\n{commands}");
    assert!(commands.contains("SIGUSR2") && commands.contains("upgrade"), "hakeeper(8) does not document the binary upgrade:\n{commands}");
    // An upgrade re-executes the new binary in place: postinst runs it, and prerm stops the
    // service only on removal (not on upgrade).
    let script = |name: &str| std::fs::read_to_string(format!("/var/lib/dpkg/info/{PACKAGE}.{name}")).unwrap_or_default();
    let postinst = script("postinst");
    assert!(postinst.contains("/usr/sbin/hakeeper ctl -c \"$CONFIG\" upgrade"), "postinst:\n{postinst}");
    let prerm = script("prerm");
    assert!(!prerm.contains("deb-systemd-invoke stop") || prerm.contains("\"$1\" = remove"), "prerm stops on upgrade:\n{prerm}");
    let homepage = dpkg_field("Homepage");
    assert!(homepage.starts_with("https://"), "Homepage: {homepage:?}");
    let reference = render("/usr/share/man/man5/hakeeper.ron.5.gz");
    for field in ["worker_crash_limit", "expect_status_range", "v3_checksum_pseudo_header"] {
        assert!(reference.contains(field), "hakeeper.ron(5) lacks {field}:\n{reference}");
    }
}

fn check_user_and_chroot() {
    let user = nix::unistd::User::from_name("hakeeper").ok().flatten().expect("user hakeeper exists");
    let group = nix::unistd::Group::from_name("hakeeper").ok().flatten().expect("group hakeeper exists");
    assert_eq!(user.gid, group.gid, "hakeeper's primary group");
    assert!(user.uid.as_raw() < 1000, "hakeeper is not a system user: uid {}", user.uid);
    assert!(user.shell.to_string_lossy().ends_with("nologin"), "shell {:?}", user.shell);
    let chroot = Path::new("/var/lib/hakeeper/empty");
    let meta = std::fs::metadata(chroot).expect("the chroot directory exists");
    assert!(meta.is_dir());
    assert_eq!((meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777), (0, 0, 0o755), "owner and mode of {}", chroot.display());
    assert_eq!(std::fs::read_dir(chroot).expect("read chroot").count(), 0, "the chroot is not empty");
}

/// systemd is not PID 1 here: verify the unit, then run its ExecStartPre and ExecStart lines.
fn check_unit_and_run_the_service() {
    let unit_path = "/usr/lib/systemd/system/hakeeper.service";
    let verify = run("systemd-analyze", &["verify", unit_path], Duration::from_secs(60));
    assert!(verify.ok() && verify.stderr.trim().is_empty(), "systemd-analyze verify:\n{}{}", verify.stdout, verify.stderr);
    let unit = std::fs::read_to_string(unit_path).expect("read unit");
    // CONFIG comes from the unit's default, overridable in /etc/default/hakeeper.
    let pre = unit_values(&unit, "ExecStartPre");
    assert_eq!(pre.len(), 1, "ExecStartPre:\n{unit}");
    assert_eq!(expand_command(&unit, &pre[0]), "/usr/sbin/hakeeper check -c /etc/hakeeper/hakeeper.ron");
    assert!(unit_values(&unit, "ExecReload").iter().any(|v| v == "/bin/kill -HUP $MAINPID"), "ExecReload:\n{unit}");
    assert_eq!(unit_values(&unit, "Restart"), ["on-failure"]);
    assert!(!unit_values(&unit, "LimitNOFILE").is_empty(), "LimitNOFILE:\n{unit}");
    assert!(unit_values(&unit, "NoNewPrivileges").is_empty(), "NoNewPrivileges would break the children's privilege dropping");
    let bounding = unit_values(&unit, "CapabilityBoundingSet").join(" ");
    for cap in
        ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_SETPCAP", "CAP_KILL"]
    {
        assert!(bounding.split_whitespace().any(|c| c == cap), "CapabilityBoundingSet lacks {cap}");
    }

    let pre = expand_command(&unit, &unit_values(&unit, "ExecStartPre").remove(0));
    let words: Vec<&str> = pre.split_whitespace().collect();
    run(words[0], &words[1..], Duration::from_secs(10)).expect_ok();

    let start = unit_values(&unit, "ExecStart");
    assert_eq!(start.len(), 1, "ExecStart:\n{unit}");
    let start = expand_command(&unit, &start[0]);
    assert_eq!(start, "/usr/sbin/hakeeper run -c /etc/hakeeper/hakeeper.ron --foreground");
    // An operator's choice in /etc/default/hakeeper reaches the command line.
    let defaults = Path::new("/etc/default/hakeeper");
    let shipped = std::fs::read_to_string(defaults).expect("read /etc/default/hakeeper");
    std::fs::write(defaults, format!("{shipped}CONFIG=/etc/hakeeper/other.ron\nEXTRAOPTS=\"--pidfile /run/hk.pid\"\n"))
        .expect("edit defaults");
    let chosen = expand_command(&unit, &unit_values(&unit, "ExecStart")[0]);
    std::fs::write(defaults, &shipped).expect("restore defaults");
    assert_eq!(chosen, "/usr/sbin/hakeeper run -c /etc/hakeeper/other.ron --foreground --pidfile /run/hk.pid");
    let logs = TempDir::new("deb-service");
    let mut service = Service::start(&start, &logs.file("service.log"));
    let children = service.wait_for_children(&["worker", "checker", "vrrpd"], Duration::from_secs(10));
    let listening = wait_until(Duration::from_secs(5), || TcpStream::connect(DEFAULT_LISTENER).is_ok());
    assert!(listening, "nothing accepts on {DEFAULT_LISTENER}\nlog:\n{}", service.log_text());
    let user = nix::unistd::User::from_name("hakeeper").ok().flatten().expect("user hakeeper");
    let worker = children.iter().find(|(role, _)| role == "worker").map(|(_, pid)| *pid).expect("a worker");
    let status = std::fs::read_to_string(format!("/proc/{worker}/status")).expect("worker status");
    let uid_line = format!("Uid:\t{0}\t{0}\t{0}\t{0}", user.uid);
    assert!(status.lines().any(|l| l == uid_line), "worker does not run as hakeeper:\n{status}");
    let root = std::fs::read_link(format!("/proc/{worker}/root")).expect("worker root");
    assert_eq!(root, Path::new("/var/lib/hakeeper/empty"), "worker chroot");
    let took = service.stop(Duration::from_secs(5));
    assert!(took.is_some(), "the service did not stop within 5 s of SIGTERM\nlog:\n{}", service.log_text());
}

/// The same package with another Debian revision: a real upgrade path (prerm upgrade, unpack over
/// the installed version, postinst configure with the old version) without a second build.
fn rebuilt_with_revision(deb: &Path, dir: &TempDir, revision: &str) -> PathBuf {
    let tree = dir.file("tree");
    let tree_s = tree.to_str().expect("utf8");
    run("dpkg-deb", &["-R", deb.to_str().expect("utf8"), tree_s], Duration::from_secs(60)).expect_ok();
    let control_path = tree.join("DEBIAN/control");
    let control = std::fs::read_to_string(&control_path).expect("read control");
    let old = format!("Version: {VERSION}-1\n");
    assert!(control.contains(&old), "control:\n{control}");
    std::fs::write(&control_path, control.replace(&old, &format!("Version: {VERSION}-{revision}\n"))).expect("write control");
    let out = dir.file("upgrade.deb");
    run("dpkg-deb", &["--root-owner-group", "-b", tree_s, out.to_str().expect("utf8")], Duration::from_secs(120)).expect_ok();
    out
}

#[test]
fn rsyslog_snippet_files_hakeeper_local1_lines_only_and_logrotate_accepts_its_config() {
    let test = "rsyslog_snippet_files_hakeeper_local1_lines_only_and_logrotate_accepts_its_config";
    if !require_root(test) || !require_tools(test, &[("rsyslogd", "rsyslog"), ("logrotate", "logrotate")]) {
        return;
    }
    let etc = workspace().join("etc");
    let dir = TempDir::new("rsyslog");
    let log = dir.file("hakeeper.log");
    let rest = dir.file("rest.log");
    let snippet = std::fs::read_to_string(etc.join("rsyslog-hakeeper.conf")).expect("read snippet");
    assert!(snippet.contains("\"/var/log/hakeeper.log\""), "snippet writes elsewhere:\n{snippet}");
    std::fs::write(dir.file("snippet.conf"), snippet.replace("/var/log/hakeeper.log", log.to_str().expect("utf8"))).expect("write snippet");
    let port = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("free udp port").port();
    let config = dir.file("rsyslog.conf");
    std::fs::write(
        &config,
        format!(
            "global(workDirectory=\"{d}\")\nmodule(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\ninclude(file=\"{d}/snippet.conf\")\n*.* action(type=\"omfile\" file=\"{r}\")\n",
            d = dir.path.display(),
            r = rest.display()
        ),
    )
    .expect("write rsyslog.conf");
    run("rsyslogd", &["-N1", "-f", config.to_str().expect("utf8")], Duration::from_secs(30)).expect_ok();

    let rsyslogd = Rsyslogd::start(&config, &dir.file("rsyslogd.pid"));
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let send = |line: &str| {
        let _ = sender.send_to(line.as_bytes(), ("127.0.0.1", port));
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    // What hakeeper's roles send (RFC 3164, facility local1 = 17, severity info = 6: <142>).
    let filed = wait_until(Duration::from_secs(10), || {
        send("<142>Nov 25 10:00:00 hakeeper-worker[42]: Connect from 127.0.0.1:5000 to 127.0.0.1:80 (web/TCP)");
        std::thread::sleep(Duration::from_millis(100));
        read(&log).contains("hakeeper-worker[42]: Connect from")
    });
    assert!(filed, "rsyslogd did not file a hakeeper local1 line in {}; rest:\n{}", log.display(), read(&rest));
    send("<142>Nov 25 10:00:01 otherdaemon[7]: local1 but not hakeeper");
    send("<134>Nov 25 10:00:02 hakeeper[8]: local0, not local1");
    let others = wait_until(Duration::from_secs(10), || {
        let r = read(&rest);
        r.contains("local1 but not hakeeper") && r.contains("local0, not local1")
    });
    assert!(others, "other lines did not reach the catch-all log:\n{}", read(&rest));
    drop(rsyslogd);
    {
        // Debian's logs are root:adm 0640; a new /var/log/hakeeper.log must be too.
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&log).expect("hakeeper.log metadata");
        let adm = nix::unistd::Group::from_name("adm").ok().flatten().expect("group adm");
        assert_eq!((meta.mode() & 0o777, meta.uid(), meta.gid()), (0o640, 0, adm.gid.as_raw()), "hakeeper.log mode and owner");
    }
    let filed = read(&log);
    assert!(!filed.contains("not hakeeper") && !filed.contains("local0"), "hakeeper.log got foreign lines:\n{filed}");
    assert!(!read(&rest).contains("Connect from"), "`stop` did not keep hakeeper's lines out of the other logs");

    let state = dir.file("logrotate.state");
    let logrotate = run(
        "logrotate",
        &["--debug", "--state", state.to_str().expect("utf8"), etc.join("logrotate-hakeeper").to_str().expect("utf8")],
        Duration::from_secs(30),
    );
    let text = format!("{}{}", logrotate.stdout, logrotate.stderr);
    assert!(logrotate.ok() && !text.contains("error"), "logrotate --debug:\n{text}");
    assert!(text.contains("/var/log/hakeeper.log"), "logrotate does not rotate /var/log/hakeeper.log:\n{text}");
}

/// A private rsyslogd in the foreground, killed by PID on drop.
struct Rsyslogd(Child);

impl Rsyslogd {
    fn start(config: &Path, pidfile: &Path) -> Rsyslogd {
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(config)
            .arg("-i")
            .arg(pidfile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd");
        Rsyslogd(child)
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
