//! What the stats page answers, once the front ([`super::front`]) has read a whole request:
//! authentication, routing to the HTML/CSV/JSON/Prometheus outputs, and the admin form's POST,
//! which is handed to event-loop thread 0 ([`crate::admin`]'s queue) and waited for (without blocking the front) so that
//! the redirect reports what happened.

use super::auth::{self, Access};
use super::form;
use super::front::{self, Front};
use super::request::{Method, Request};
use super::response::Response;
use super::route::{route, Format, Route};
use super::snapshot::Snapshot;
use super::{csv, html, json, prometheus, VERSION};
use crate::admin::{resolve, AdminAction, AdminCommand, AdminLink, AdminOutcome};
use crate::counters::Stats as Counters;
use crate::status::StatsHub;
use hakeeper_common::config::Stats;
use hakeeper_common::ipc::WorkerConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest wait for thread 0 to apply an admin action before answering anyway.
const ADMIN_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("stats listener: {0}")]
    Listener(#[source] std::io::Error),
    #[error("stats poll: {0}")]
    Poll(#[source] std::io::Error),
    #[error("stats thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Read access to everything the page shows.
#[derive(Clone)]
pub struct StatsView {
    pub config: Arc<WorkerConfig>,
    pub counters: Arc<Counters>,
    pub hub: Arc<StatsHub>,
    /// The stick tables, for their usage on `/metrics` and the HTML page.
    pub tables: Arc<Vec<std::sync::Mutex<crate::stick::Table>>>,
    /// The peers sections' counters (section name), for `/metrics`.
    pub peers: Vec<(String, Arc<crate::peers::PeersCounters>)>,
}

/// The page's one thread; dropping it stops the thread and closes its connections.
pub struct StatsThread {
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for StatsThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Err(e) = self.waker.wake() {
            log::warn!("stats: cannot wake the page's thread to stop it: {e}");
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub(super) struct Ctx {
    pub config: Stats,
    pub view: StatsView,
    admin: AdminLink,
    pub server_header: String,
}

impl Ctx {
    pub fn new(config: Stats, view: StatsView, admin: AdminLink) -> Ctx {
        let server_header = if config.hide_version { "hakeeper".to_string() } else { format!("hakeeper/{VERSION}") };
        Ctx { config, view, admin, server_header }
    }
}

/// Serves the stats page on `listener` (the supervisor's `ListenerTag::Stats` socket) from one
/// thread until the returned handle is dropped. At most `config.maxconn` connections are open
/// at once; more wait in the listener's backlog, as on an HAProxy frontend.
pub fn spawn_stats_thread(
    listener: std::net::TcpListener,
    config: Stats,
    view: StatsView,
    admin: AdminLink,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<StatsThread, StatsError> {
    let ctx = Ctx::new(config, view, admin);
    let stop = Arc::new(AtomicBool::new(false));
    let mut front = Front::new(listener, ctx, stop.clone())?;
    front.tls = tls;
    let waker = front.waker();
    log::info!("stats page on {} (uri {}, maxconn {})", front.ctx().config.bind, front.ctx().config.uri, front.ctx().config.maxconn);
    let handle = std::thread::Builder::new().name("stats".into()).spawn(move || front::run(front)).map_err(StatsError::Spawn)?;
    Ok(StatsThread { stop, waker, handle: Some(handle) })
}

/// What a request gets: a response now, or once thread 0 has applied an admin action.
pub(super) enum Answer {
    Now(Response),
    Admin(PendingAdmin),
}

/// The checks that need no body: the route, the credentials, the method. A POST's body is read
/// only once they pass, so that a client without credentials makes the page buffer nothing.
pub(super) fn precheck(request: &Request, ctx: &Ctx) -> Result<(Route, Access), Response> {
    let Some(route) = route(&ctx.config.uri, &request.target) else {
        return Err(Response::text(404, "404 Not Found"));
    };
    let access = auth::check(&ctx.config.auth, request.authorization.as_deref());
    if !access.allowed() {
        let challenge = format!("Basic realm=\"{}\"", ctx.config.realm.replace(['"', '\\'], ""));
        let r = Response::text(401, "401 Unauthorized: this page needs a user name and password");
        return Err(r.with("WWW-Authenticate", challenge));
    }
    match request.method {
        Method::Get | Method::Head => Ok((route, access)),
        Method::Post if matches!(route.format, Format::Html { .. }) => match ctx.config.admin {
            true => Ok((route, access)),
            false => Err(Response::text(403, "403 Forbidden: admin actions are not enabled")),
        },
        _ => Err(Response::text(405, "405 Method Not Allowed").with("Allow", "GET, HEAD, POST".into())),
    }
}

pub(super) fn handle(request: &Request, ctx: &Ctx) -> Answer {
    let (route, access) = match precheck(request, ctx) {
        Ok(passed) => passed,
        Err(refused) => return Answer::Now(refused),
    };
    match request.method {
        Method::Post => admin_post(request, ctx, &access),
        _ => Answer::Now(render(ctx, &route.format, route.up_only, &access)),
    }
}

fn render(ctx: &Ctx, format: &Format, up_only: bool, access: &Access) -> Response {
    let view = &ctx.view;
    let snapshot = Snapshot::take(&view.config, &view.counters, &view.hub, Instant::now());
    let dropped = hakeeper_common::logging::DROPPED_LINES.load(Ordering::Relaxed);
    match format {
        Format::Csv => Response::new(200, "text/plain; charset=utf-8", csv::render(&snapshot)),
        Format::Json => Response::new(200, "application/json", json::render(&snapshot)),
        Format::Metrics => {
            let mut body = prometheus::render(&snapshot, &view.hub.vrrp(), &view.hub.lvs(), dropped);
            body.push_str(&prometheus::announce_metrics(&view.hub.process().announce));
            body.push_str(&crate::stick_runtime::metrics::render(&view.tables));
            body.push_str(&crate::peers::metrics::render(&view.peers));
            Response::new(200, "text/plain; version=0.0.4; charset=utf-8", body)
        }
        Format::Html { refresh, admin_status } => {
            let refresh_secs = ctx.config.refresh.filter(|_| *refresh).map(|d| d.as_secs().max(1));
            let vrrp = view.hub.vrrp();
            let lvs = view.hub.lvs();
            let process = view.hub.process();
            let stick_tables = super::html_stick::rows(&view.tables);
            let info = html::PageInfo {
                uri: &ctx.config.uri,
                version: (!ctx.config.hide_version).then_some(VERSION),
                pid: std::process::id(),
                refresh_secs,
                admin: ctx.config.admin && access.allowed(),
                admin_status: admin_status.as_deref(),
                up_only,
                dropped_log_lines: dropped,
                vrrp: &vrrp,
                lvs: &lvs,
                process: &process,
                stick_tables: &stick_tables,
            };
            let page = Response::new(200, "text/html; charset=utf-8", html::render(&snapshot, &info));
            match refresh_secs {
                Some(s) => page.with("Refresh", s.to_string()),
                None => page,
            }
        }
    }
}

/// HAProxy's `;st=` outcome of an admin POST, as a redirect to the page.
fn admin_post(request: &Request, ctx: &Ctx, access: &Access) -> Answer {
    let location = format!("{};st=", ctx.config.uri);
    let Ok(body) = std::str::from_utf8(&request.body) else { return Answer::Now(redirect(location, "ERRP")) };
    let form = form::parse(body);
    let (Some(backend), Some(action)) = (&form.backend, &form.action) else { return Answer::Now(redirect(location, "ERRP")) };
    let Some(action) = AdminAction::from_form(action, form.weight.as_deref()) else {
        return Answer::Now(redirect(location, "ERRP"));
    };
    if form.servers.is_empty() {
        return Answer::Now(redirect(location, "NONE"));
    }
    let config = &ctx.view.config;
    let mut pending = PendingAdmin {
        waits: Vec::new(),
        changed: 0,
        refused: 0,
        total: form.servers.len(),
        deadline: Instant::now() + ADMIN_WAIT,
        who: access.who(),
        location,
    };
    for server in &form.servers {
        match resolve(config, backend, server) {
            Ok((b, s)) => {
                let (tx, rx) = mpsc::channel();
                ctx.admin.submit(AdminCommand { backend: b, server: s, action, who: access.who(), done: Some(tx) });
                pending.waits.push(rx);
            }
            Err(e) => {
                log::warn!("stats admin by {}: {e}", access.who());
                pending.refused += 1;
            }
        }
    }
    Answer::Admin(pending)
}

fn redirect(location: String, status: &str) -> Response {
    Response::text(303, status).with("Location", format!("{location}{status}"))
}

/// Admin actions handed to thread 0, whose outcomes the front collects without blocking.
pub(super) struct PendingAdmin {
    waits: Vec<Receiver<AdminOutcome>>,
    changed: usize,
    refused: usize,
    total: usize,
    deadline: Instant,
    who: String,
    /// The page's uri with `;st=`.
    location: String,
}

impl PendingAdmin {
    /// The redirect once every outcome is in or [`ADMIN_WAIT`] has passed; `None`: not yet.
    pub fn poll(&mut self, now: Instant) -> Option<Response> {
        let late = now >= self.deadline;
        let mut i = 0;
        while i < self.waits.len() {
            match self.waits[i].try_recv() {
                Ok(outcome) => {
                    match outcome {
                        Ok(true) => self.changed += 1,
                        Ok(false) => {}
                        Err(e) => {
                            log::warn!("stats admin by {}: {e}", self.who);
                            self.refused += 1;
                        }
                    }
                    self.waits.swap_remove(i);
                }
                Err(TryRecvError::Disconnected) => {
                    self.refused += 1;
                    self.waits.swap_remove(i);
                }
                Err(TryRecvError::Empty) => i += 1,
            }
        }
        if !self.waits.is_empty() && !late {
            return None;
        }
        // Those still waiting when time is up count as refused.
        self.refused += std::mem::take(&mut self.waits).len();
        let status = match (self.changed, self.refused) {
            (c, 0) if c > 0 => "DONE",
            (0, 0) => "NONE",
            (0, r) if r == self.total => "ERRP",
            _ => "PART",
        };
        Some(redirect(std::mem::take(&mut self.location), status))
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}
