//! The proxy sections (`listen`, `frontend`, `backend`) in file order: their names, which of
//! them are backends, frontends or LVS virtual servers, and how frontends name their backend.

use super::backend::backend;
use super::frontend::frontend;
use super::{lvs, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Section {
    Listen,
    Frontend,
    Backend,
}

impl Section {
    pub(super) fn key(self) -> &'static str {
        match self {
            Section::Listen => "listen",
            Section::Frontend => "frontend",
            Section::Backend => "backend",
        }
    }
}

/// Backend indexes by name, with the path of the section that defined each.
type BackendIds<'a> = HashMap<&'a str, (usize, String)>;

pub(super) fn proxies(c: &mut Checker, raw: &RawConfig) -> (Vec<Frontend>, Vec<Backend>, Vec<LvsService>) {
    let d = &raw.defaults;
    super::defaults::defaults(c, d);
    let sections = sections(raw);
    let (backend_ids, backends) = backends(c, &sections, d);
    let (frontends, lvs_services) = frontends(c, raw, &sections, &backend_ids, &backends);
    (frontends, backends, lvs_services)
}

/// Every section in file order, so that names resolve whatever order they are written in.
fn sections(raw: &RawConfig) -> Vec<(Section, usize, &RawProxy)> {
    raw.listen
        .iter()
        .enumerate()
        .map(|(i, p)| (Section::Listen, i, p))
        .chain(raw.frontend.iter().enumerate().map(|(i, p)| (Section::Frontend, i, p)))
        .chain(raw.backend.iter().enumerate().map(|(i, p)| (Section::Backend, i, p)))
        .collect()
}

/// Checks every section's name, and validates the backends (`backend` and `listen` sections).
fn backends<'a>(c: &mut Checker, sections: &[(Section, usize, &'a RawProxy)], d: &RawProxy) -> (BackendIds<'a>, Vec<Backend>) {
    let mut backend_ids: BackendIds<'a> = HashMap::new();
    let mut frontend_names: HashMap<&str, String> = HashMap::new();
    let mut backends = Vec::new();
    for (section, i, p) in sections {
        let path = format!("{}[{i}]", section.key());
        proxy_name(c, &path, *section, p);
        if *section != Section::Backend {
            if let Some(prev) = frontend_names.insert(&p.name, path.clone()) {
                c.error(format!("{path}.name"), format!("duplicate frontend name {:?} (also {prev})", p.name));
            }
        }
        if *section != Section::Frontend {
            if let Some((_, prev)) = backend_ids.get(p.name.as_str()) {
                c.error(format!("{path}.name"), format!("duplicate backend name {:?} (also {prev})", p.name));
            } else {
                backend_ids.insert(&p.name, (backends.len(), path.clone()));
                backends.push(backend(c, &path, p, d));
            }
        }
    }
    (backend_ids, backends)
}

fn proxy_name(c: &mut Checker, path: &str, section: Section, p: &RawProxy) {
    if p.name.is_empty() {
        c.error(format!("{path}.name"), format!("a {} needs a name", section.key()));
    } else if !p.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch)) {
        c.error(format!("{path}.name"), format!("invalid name {:?}: use letters, digits, '-', '_', '.', ':'", p.name));
    }
}

/// Validates the frontends (`frontend` and `listen` sections) and the LVS virtual servers
/// (`listen` sections with `lvs`).
fn frontends(
    c: &mut Checker,
    raw: &RawConfig,
    sections: &[(Section, usize, &RawProxy)],
    backend_ids: &BackendIds<'_>,
    backends: &[Backend],
) -> (Vec<Frontend>, Vec<LvsService>) {
    let d = &raw.defaults;
    let mut frontends = Vec::new();
    let mut lvs_services = Vec::new();
    let ipip = raw.listen.iter().any(|p| p.lvs.as_ref().is_some_and(|l| l.kind == Some(RawLvsKind::Tun))) && lvs::kernel_has_ipip();
    for (section, i, p) in sections {
        let path = format!("{}[{i}]", section.key());
        if p.lvs.is_some() && *section != Section::Listen {
            c.error(format!("{path}.lvs"), format!("`lvs` is allowed only in a listen, not in a {}", section.key()));
        }
        if *section == Section::Listen && p.lvs.is_some() {
            lvs_services.extend(lvs_listen(c, &path, p, d, backend_ids, backends, ipip));
            continue;
        }
        match section {
            Section::Backend => backend_only(c, &path, p),
            Section::Frontend | Section::Listen => {
                if *section == Section::Frontend && !p.servers.is_empty() {
                    c.error(format!("{path}.servers"), "`servers` is not allowed in a frontend; put them in a backend");
                }
                let default_backend = default_backend(c, &path, *section, p, d, backend_ids);
                let fe = frontend(c, &path, p, d, default_backend);
                modes_match(c, &path, *section, p, &fe, backends);
                frontends.push(fe);
            }
        }
    }
    (frontends, lvs_services)
}

/// A `listen` with `lvs`: no user-space listener, the kernel balances the VIP (see
/// `Config::lvs`).
fn lvs_listen(
    c: &mut Checker,
    path: &str,
    p: &RawProxy,
    d: &RawProxy,
    backend_ids: &BackendIds<'_>,
    backends: &[Backend],
    ipip: bool,
) -> Option<LvsService> {
    let service = backend_ids.get(p.name.as_str()).and_then(|(id, _)| lvs::lvs_service(c, path, p, d, *id, &backends[*id], ipip));
    if p.default_backend.is_some() || !p.use_backend.is_empty() {
        c.error(format!("{path}.default_backend"), "an LVS virtual server balances over its own servers only");
    }
    service
}

/// The listening-side fields a `backend` section may not have.
fn backend_only(c: &mut Checker, path: &str, p: &RawProxy) {
    for (field, set) in
        [("bind", !p.bind.is_empty()), ("default_backend", p.default_backend.is_some()), ("accept_proxy", p.accept_proxy.is_some())]
    {
        if set {
            c.error(format!("{path}.{field}"), format!("`{field}` is not allowed in a backend"));
        }
    }
}

/// The frontend's `default_backend`: its own, a `listen`'s own servers, or the defaults'.
fn default_backend(
    c: &mut Checker,
    path: &str,
    section: Section,
    p: &RawProxy,
    d: &RawProxy,
    backend_ids: &BackendIds<'_>,
) -> Option<usize> {
    match (&p.default_backend, section) {
        (Some(name), _) => match backend_ids.get(name.as_str()) {
            Some((id, _)) => Some(*id),
            None => {
                c.error(format!("{path}.default_backend"), format!("no backend named {name:?}"));
                None
            }
        },
        (None, Section::Listen) => backend_ids.get(p.name.as_str()).map(|(id, _)| *id),
        (None, _) => d.default_backend.as_ref().and_then(|n| backend_ids.get(n.as_str()).map(|(id, _)| *id)),
    }
}

/// A mode tcp frontend may use an http backend: the connection is upgraded to HTTP once the
/// backend is chosen, as HAProxy 2.6 does. Not the reverse.
fn modes_match(c: &mut Checker, path: &str, section: Section, p: &RawProxy, fe: &Frontend, backends: &[Backend]) {
    let Some(b) = fe.default_backend.and_then(|id| backends.get(id)) else { return };
    if fe.mode == Mode::Http && b.mode == Mode::Tcp {
        c.error(
            format!("{path}.mode"),
            format!(
                "{} {:?} is in {} mode but its backend {:?} is in {} mode",
                section.key(),
                p.name,
                mode_name(fe.mode),
                b.name,
                mode_name(b.mode)
            ),
        );
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Tcp => "tcp",
        Mode::Http => "http",
    }
}
