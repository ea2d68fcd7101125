//! Raw config → checked [`Config`]: every value parsed, every name resolved, defaults applied.
//! All problems are collected (not just the first) with the path of the field at fault.
//!
//! One function per config node, in a file per section: [`validate`] calls them in order.
//! Validation reads nothing from the host: what it needs (the host name) is passed in.

use super::model::*;
use super::raw::*;
use crate::duration::parse_duration;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod address;
mod announce;
mod backend;
mod bind_conflicts;
mod command_line;
mod defaults;
mod frontend;
mod global;
mod h2;
mod l7;
mod lints;
mod lvs;
mod peers;
mod proxies;
mod script_user;
mod server;
mod server_tls;
mod stats;
mod stick_table;
mod tcp_content;
mod tcp_response;
mod vrrp;
mod vrrp_instance;
mod vrrp_options;
mod vrrp_script;

pub use address::parse_bind;
use address::{parse_server_addr, parse_vip};
pub use command_line::split_command_line;
use defaults::inherit_timeouts;
pub use global::{FACILITIES, LEVELS};
use proxies::Section;

/// A finding before positions are attached: the field path and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
}

#[derive(Default)]
struct Checker {
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Checker {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let message = message.into();
        // A bad value in `defaults` is reported once, not again for every proxy inheriting it.
        if self.errors.iter().any(|e| e.message == message && e.path.starts_with("defaults.")) {
            return;
        }
        self.errors.push(Finding { path: path.into(), message });
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding { path: path.into(), message: message.into() });
    }

    fn duration(&mut self, path: &str, text: Option<&String>, default: Duration) -> Duration {
        match text {
            None => default,
            Some(t) => match parse_duration(t) {
                Ok(d) => d,
                Err(e) => {
                    self.error(path, e);
                    default
                }
            },
        }
    }

    fn opt_duration(&mut self, path: &str, text: Option<&String>) -> Option<Duration> {
        text.map(|t| self.duration(path, Some(t), Duration::ZERO))
    }
}

/// The result of validation: the config and any warnings, or every error found.
pub struct Validated {
    pub config: Config,
    pub warnings: Vec<Finding>,
}

/// Checks `raw`, read from `source`, on the host named `hostname`.
pub fn validate(raw: &RawConfig, source: PathBuf, hostname: &str) -> Result<Validated, (Vec<Finding>, Vec<Finding>)> {
    let mut c = Checker::default();
    let global = global::global(&mut c, &raw.global);
    let (frontends, backends, lvs) = proxies::proxies(&mut c, raw);
    let stats = raw.stats.as_ref().map(|s| stats::stats(&mut c, s));
    let peers = peers::peers(&mut c, raw, hostname);
    bind_conflicts::check_bind_conflicts(&mut c, raw, &frontends, &lvs, stats.as_ref(), &peers);
    // Pattern files are read now, at start-up and on each reload, as HAProxy reads them.
    let pattern_dir = source.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut http = l7::http_config(&mut c, raw, &frontends, &backends, &pattern_dir);
    http.stick_tables = stick_table::tables(&mut c, raw);
    stick_table::stick_rules(&mut c, raw, &backends, &http);
    let mut vrrp = vrrp::vrrp(&mut c, &raw.vrrp, &backends, hostname);
    vrrp.announce = announce::announce(&mut c, raw, &backends, &vrrp).map(Box::new);
    lvs::vip_carriers(&mut c, raw, &lvs, &vrrp);
    lints::lint(&mut c, raw);
    if c.errors.is_empty() {
        Ok(Validated { config: Config { source, global, frontends, backends, http, stats, vrrp, lvs, peers }, warnings: c.warnings })
    } else {
        Err((c.errors, c.warnings))
    }
}

#[cfg(test)]
pub(super) fn kernel_has_ipip_for_tests() -> bool {
    lvs::kernel_has_ipip()
}
