//! The command line. These verbs are an interface: scripts, the systemd unit and the tests rely
//! on them, so they change only with care.

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Parser, Subcommand, ValueHint};
use std::ffi::OsStr;
use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/hakeeper/hakeeper.ron";

#[derive(Debug, Parser)]
#[command(name = "hakeeper", version, about = "Load-balancer appliance: VRRP virtual IPs, L4/L7 proxy and health checks in one service")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a config file; print FILE:LINE:COL: message for each problem.
    Check {
        /// The config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG, value_hint = ValueHint::FilePath)]
        config: PathBuf,
        /// This host's name in `peers` sections, instead of `global.localpeer` or the host
        /// name (HAProxy's `-L`).
        #[arg(short = 'L', long, value_name = "NAME")]
        localpeer: Option<String>,
        /// Also fail on what this host lacks and `run` would refuse (chroot directory, VRRP
        /// interfaces, user); without it these are warnings.
        #[arg(long)]
        host: bool,
    },
    /// Run the appliance.
    ///
    /// Signals: SIGHUP reloads the config (the new worker takes over the listeners, the old one
    /// drains; a bad config is logged and the running one stays). SIGUSR2, or `hakeeper ctl
    /// upgrade`, upgrades the binary in place, as HAProxy's master re-exec: the binary now on
    /// disk first checks the config (a refusal changes nothing), vrrpd hands over without a
    /// priority-0 advert and keeps the VIPs, and the supervisor re-executes the new binary under
    /// the same PID with its listening sockets; the new worker serves at once, the old one
    /// drains, and the new vrrpd carries on in the old one's states. SIGTERM releases the VIPs,
    /// drains and stops within 5 seconds.
    Run {
        /// The config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG, value_hint = ValueHint::FilePath)]
        config: PathBuf,
        /// This host's name in `peers` sections, instead of `global.localpeer` or the host
        /// name (HAProxy's `-L`); kept for reloads.
        #[arg(short = 'L', long, value_name = "NAME")]
        localpeer: Option<String>,
        /// Stay attached to the terminal and log to stderr.
        #[arg(long)]
        foreground: bool,
        /// Write the supervisor's PID to this file.
        #[arg(long, value_hint = ValueHint::FilePath)]
        pidfile: Option<PathBuf>,
    },
    /// Translate haproxy.cfg and/or keepalived.conf into a hakeeper RON config.
    Import {
        /// An haproxy.cfg to translate.
        #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        haproxy: Option<PathBuf>,
        /// A keepalived.conf to translate.
        #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        keepalived: Option<PathBuf>,
        /// Write the config here instead of standard output.
        #[arg(short, long, value_name = "OUT", value_hint = ValueHint::FilePath)]
        output: Option<PathBuf>,
        /// Treat every untranslated directive as an error.
        #[arg(long)]
        strict: bool,
        /// Write the config even though lines that meant access control (deny, reject, auth,
        /// ACL-guarded routing), encryption (ssl), authentication or routing could not be kept;
        /// without it such an import fails with exit status 2 and lists those lines.
        #[arg(long)]
        allow_lossy: bool,
        /// Translate keepalived's virtual_servers into L4 proxy listens (the translation before
        /// the kernel data plane) instead of `lvs` listens balanced by nftables.
        #[arg(long)]
        lvs_as_proxy: bool,
    },
    /// Run the appliance on loopback with an embedded config and built-in demo backends.
    Demo,
    /// Runtime commands to the running appliance: show info|stat|servers|vrrp|lvs|announce,
    /// enable|disable server B/S, set server B/S state ready|drain|maint, set server B/S weight N,
    /// switchover, switchback, show table [NAME [data.TYPE OP VALUE]],
    /// clear table NAME [key KEY | data.TYPE OP VALUE], set table NAME key KEY data.TYPE VALUE...,
    /// reload (answers once the new worker serves, or with the
    /// file:line:col errors), upgrade (binary upgrade in place: answers once the re-executed
    /// supervisor's new worker serves, or with why the running binary stays), stop (as
    /// SIGTERM: VIPs released, connections drained, exit within 5 s).
    Ctl {
        /// The ctl socket (default: the config's `ctl_socket`, else /run/hakeeper/ctl.sock).
        #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
        socket: Option<PathBuf>,
        /// Read `ctl_socket` from this config file.
        #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
        /// Print the answer as JSON, for scripts.
        #[arg(long)]
        json: bool,
        /// The command and its arguments, as listed above.
        #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND", value_parser = CtlWord, hide_possible_values = true)]
        command: Vec<String>,
    },
}

/// A word of a ctl command: any word is accepted (targets are BACKEND/SERVER, weights numbers;
/// `CtlRequest::parse` judges the command), and the keywords are offered to shell completion.
#[derive(Clone)]
struct CtlWord;

impl TypedValueParser for CtlWord {
    type Value = String;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(hakeeper_common::ctl::KEYWORDS.iter().map(|k| PossibleValue::new(*k))))
    }
}
