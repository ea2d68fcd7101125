//! The command line. These verbs are an interface: scripts, the systemd unit and the tests rely
//! on them, so they change only with care.

use clap::{Parser, Subcommand};
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
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Also fail on what this host lacks and `run` would refuse (chroot directory, VRRP
        /// interfaces, user); without it these are warnings.
        #[arg(long)]
        host: bool,
    },
    /// Run the appliance.
    Run {
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Stay attached to the terminal and log to stderr.
        #[arg(long)]
        foreground: bool,
        /// Write the supervisor's PID to this file.
        #[arg(long)]
        pidfile: Option<PathBuf>,
    },
    /// Translate haproxy.cfg and/or keepalived.conf into a hakeeper RON config.
    Import {
        #[arg(long, value_name = "FILE")]
        haproxy: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        keepalived: Option<PathBuf>,
        /// Write the config here instead of standard output.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Treat every untranslated directive as an error.
        #[arg(long)]
        strict: bool,
        /// Write the config even though lines that meant access control (deny, reject, auth,
        /// ACL-guarded routing), encryption (ssl), authentication or routing could not be kept;
        /// without it such an import fails with exit status 2 and lists those lines.
        #[arg(long)]
        allow_lossy: bool,
    },
    /// Run the appliance on loopback with an embedded config and built-in demo backends.
    Demo,
    /// Runtime commands to the running appliance: show info|stat|servers|vrrp,
    /// enable|disable server B/S, set server B/S state ready|drain|maint, set server B/S weight N.
    Ctl {
        /// The ctl socket (default: the config's `ctl_socket`, else /run/hakeeper/ctl.sock).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Read `ctl_socket` from this config file.
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print the answer as JSON, for scripts.
        #[arg(long)]
        json: bool,
        #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Internal: write the man page and shell completions into DIR (used by packaging).
    #[command(name = "__generate", hide = true)]
    Generate { dir: PathBuf },
}
