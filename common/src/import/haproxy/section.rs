//! A proxy section (`defaults`, `frontend`, `backend`, `listen`) while it is being read, with the
//! bits that are only resolved once the whole file is known.

use super::server::ServerParams;
use super::stats::StatsDirectives;
use crate::config::http_syntax::AclTable;
use crate::config::raw::{RawHttpCheck, RawHttpConnection, RawProxy};
use crate::import::warning::Notes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Defaults,
    Frontend,
    Backend,
    Listen,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Defaults => "defaults",
            Kind::Frontend => "frontend",
            Kind::Backend => "backend",
            Kind::Listen => "listen",
        }
    }

    /// Accepts connections (may `bind`).
    pub fn listens(self) -> bool {
        matches!(self, Kind::Frontend | Kind::Listen)
    }

    /// Has servers of its own.
    pub fn serves(self) -> bool {
        matches!(self, Kind::Backend | Kind::Listen)
    }
}

#[derive(Debug)]
pub struct Section {
    pub kind: Kind,
    pub name: String,
    pub line: usize,
    /// Index of the `defaults` section it inherits from, if any.
    pub defaults: Option<usize>,
    pub proxy: RawProxy,
    /// `default-server` settings, inherited from the defaults section.
    pub default_server: ServerParams,
    pub stats: StatsDirectives,
    /// Translated proxy directives other than `bind`/`mode`/`maxconn`: if the section turns out
    /// to be the stats page, each of these is reported, since the stats page has no such setting.
    pub proxy_lines: Vec<(usize, Vec<String>)>,
    /// Line of a backend `cookie` directive (for the lint on servers without `cookie`).
    pub cookie_line: Option<usize>,
    /// `stick` rules (without the word `stick`) and their lines.
    pub stick_rules: Vec<(usize, String)>,
    /// Line of `stick-table` and what it translates to.
    pub stick_table: Option<(usize, crate::config::raw::RawStickTable)>,
    /// Line of each server, in `proxy.servers` order.
    pub server_lines: Vec<usize>,
    /// `http-check` rules (first line, what they set), applied once the check kind is known.
    pub http_check: Option<(usize, RawHttpCheck)>,
    /// The ACLs defined so far, to check conditions as HAProxy does: a name must be declared
    /// before a rule uses it.
    pub acl_table: AclTable,
    /// Line of each rule, in `proxy.use_backend` order.
    pub use_backend_lines: Vec<usize>,
    /// For each rule: the first ACL of its condition that reads the request (mode tcp cannot
    /// switch on it), in `proxy.use_backend` order.
    pub use_backend_layer7: Vec<Option<String>>,
    /// Line of each rule, in `proxy.tcp_request_content` order (dropped in mode http).
    pub tcp_content_lines: Vec<usize>,
    /// Line of each rule, in `proxy.tcp_response_content` order (dropped in mode http).
    pub tcp_response_lines: Vec<usize>,
    /// `no option httpclose|http-server-close` with no mode of the section's own: it resets the
    /// inherited mode only if that is the one named, which is known once the file is read.
    pub unset_connection: Option<RawHttpConnection>,
    /// Legacy `redirect` rules as `http-request redirect` rules: HAProxy evaluates them after
    /// the section's `http-request` rules, so they are appended once the section is read.
    pub legacy_redirects: Vec<String>,
}

impl Section {
    pub fn new(kind: Kind, name: String, line: usize, defaults: Option<usize>, default_server: ServerParams) -> Self {
        Section {
            kind,
            name,
            line,
            defaults,
            proxy: RawProxy::default(),
            default_server,
            stats: StatsDirectives::default(),
            proxy_lines: Vec::new(),
            cookie_line: None,
            stick_rules: Vec::new(),
            stick_table: None,
            server_lines: Vec::new(),
            http_check: None,
            acl_table: AclTable::default(),
            use_backend_lines: Vec::new(),
            use_backend_layer7: Vec::new(),
            tcp_content_lines: Vec::new(),
            tcp_response_lines: Vec::new(),
            unset_connection: None,
            legacy_redirects: Vec::new(),
        }
    }

    /// The section's stick table and rules, once all its lines are read (see [`super::stick`]).
    pub fn resolve_stick(&mut self, file: &str, notes: &mut Notes) {
        super::stick::resolve(self, file, notes);
    }
}

/// A directive as text for messages: its words, quoted where needed, cut when long.
pub fn directive(words: &[String]) -> String {
    let mut text = words
        .iter()
        .map(|w| if w.is_empty() || w.contains(char::is_whitespace) { format!("{w:?}") } else { w.clone() })
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > 80 {
        text = text.chars().take(77).collect::<String>() + "...";
    }
    text
}
