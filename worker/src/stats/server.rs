//! The stats listener, served with tiny_http from threads of the worker process: authentication,
//! routing to the HTML/CSV/JSON/Prometheus outputs, and the admin form's POST, which is handed
//! to event-loop thread 0 and waited for so that the redirect reports what happened.

use super::admin::{AdminAction, AdminCommand};
use super::auth::{self, Access};
use super::ctl::resolve;
use super::form::{self, MAX_BODY};
use super::hub::StatsHub;
use super::route::{route, Format};
use super::snapshot::Snapshot;
use super::{csv, html, json, prometheus, VERSION};
use crate::counters::Stats as Counters;
use hakeeper_common::config::Stats;
use hakeeper_common::ipc::WorkerConfig;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tiny_http::{Header, Method, Request, Response};

/// Longest wait for thread 0 to apply an admin action before answering anyway.
const ADMIN_WAIT: Duration = Duration::from_secs(2);
/// How often the serving threads look at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);
/// Most requests served at once, whatever `maxconn` allows: the page is cheap to render.
const MAX_HANDLERS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("stats listener: {0}")]
    Listener(#[source] std::io::Error),
    #[error("stats server: {0}")]
    Server(String),
    #[error("stats thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Read access to everything the page shows.
#[derive(Clone)]
pub struct StatsView {
    pub config: Arc<WorkerConfig>,
    pub counters: Arc<Counters>,
    pub hub: Arc<StatsHub>,
}

/// How the page hands admin actions to event-loop thread 0: the hub's queue plus a wake-up of
/// that thread's `mio::Waker`.
#[derive(Clone)]
pub struct AdminLink {
    hub: Arc<StatsHub>,
    wake: Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>,
}

impl AdminLink {
    pub fn new(hub: Arc<StatsHub>, wake: Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>) -> Self {
        AdminLink { hub, wake }
    }

    fn submit(&self, cmd: AdminCommand) {
        self.hub.push_admin(cmd);
        if let Err(e) = (self.wake)() {
            log::error!("stats: cannot wake the event loop for an admin action: {e}");
        }
    }
}

/// The serving threads; dropping it stops them (within [`STOP_POLL`]).
pub struct StatsThread {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Drop for StatsThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

struct Ctx {
    config: Stats,
    view: StatsView,
    admin: AdminLink,
    server_header: String,
}

/// Serves the stats page on `listener` (the supervisor's `ListenerTag::Stats` socket) until the
/// returned handle is dropped. `config.maxconn` bounds the requests served at once; more wait.
pub fn spawn_stats_thread(
    listener: std::net::TcpListener,
    config: Stats,
    view: StatsView,
    admin: AdminLink,
) -> Result<StatsThread, StatsError> {
    // tiny_http's accept thread blocks in accept(); a non-blocking socket would end it.
    listener.set_nonblocking(false).map_err(StatsError::Listener)?;
    let server = Arc::new(tiny_http::Server::from_listener(listener, None).map_err(|e| StatsError::Server(e.to_string()))?);
    let handlers = config.maxconn.clamp(1, MAX_HANDLERS);
    let server_header = if config.hide_version { "hakeeper".to_string() } else { format!("hakeeper/{VERSION}") };
    let ctx = Arc::new(Ctx { config, view, admin, server_header });
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for i in 0..handlers {
        let (server, ctx, flag) = (server.clone(), ctx.clone(), stop.clone());
        let spawned = std::thread::Builder::new().name(format!("stats-{i}")).spawn(move || serve(&server, &ctx, &flag));
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                // Dropping what was built stops the threads already started.
                drop(StatsThread { stop, handles });
                return Err(StatsError::Spawn(e));
            }
        }
    }
    log::info!("stats page on {} (uri {})", ctx.config.bind, ctx.config.uri);
    Ok(StatsThread { stop, handles })
}

fn serve(server: &tiny_http::Server, ctx: &Ctx, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match server.recv_timeout(STOP_POLL) {
            Ok(Some(request)) => handle(request, ctx),
            Ok(None) => {}
            Err(e) => {
                log::warn!("stats: {e}");
                std::thread::sleep(STOP_POLL);
            }
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// A response carrying the headers every answer has.
fn respond(request: Request, ctx: &Ctx, status: u16, content_type: &str, body: String, extra: &[(&str, String)]) {
    // The length is known: no chunked encoding, whatever the size.
    let mut response = Response::from_string(body).with_status_code(status).with_chunked_threshold(usize::MAX);
    let mut headers =
        vec![("Server", ctx.server_header.clone()), ("Content-Type", content_type.to_string()), ("Cache-Control", "no-cache".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    for (k, v) in headers {
        if let Some(h) = header(k, &v) {
            response.add_header(h);
        }
    }
    if let Err(e) = request.respond(response) {
        log::debug!("stats: response not sent: {e}");
    }
}

fn text(request: Request, ctx: &Ctx, status: u16, body: &str, extra: &[(&str, String)]) {
    respond(request, ctx, status, "text/plain; charset=utf-8", format!("{body}\n"), extra);
}

fn authorization(request: &Request) -> Option<String> {
    request.headers().iter().find(|h| h.field.equiv("Authorization")).map(|h| h.value.as_str().to_string())
}

fn handle(request: Request, ctx: &Ctx) {
    let url = request.url().to_string();
    let Some(route) = route(&ctx.config.uri, &url) else {
        return text(request, ctx, 404, "404 Not Found", &[]);
    };
    let access = auth::check(&ctx.config.auth, authorization(&request).as_deref());
    if !access.allowed() {
        let challenge = format!("Basic realm=\"{}\"", ctx.config.realm.replace(['"', '\\'], ""));
        return text(request, ctx, 401, "401 Unauthorized: this page needs a user name and password", &[("WWW-Authenticate", challenge)]);
    }
    match request.method() {
        Method::Get | Method::Head => render(request, ctx, &route.format, route.up_only, &access),
        Method::Post if matches!(route.format, Format::Html { .. }) => admin_post(request, ctx, &access),
        _ => text(request, ctx, 405, "405 Method Not Allowed", &[("Allow", "GET, HEAD, POST".into())]),
    }
}

fn render(request: Request, ctx: &Ctx, format: &Format, up_only: bool, access: &Access) {
    let view = &ctx.view;
    let snapshot = Snapshot::take(&view.config, &view.counters, &view.hub, Instant::now());
    let dropped = hakeeper_common::logging::DROPPED_LINES.load(Ordering::Relaxed);
    match format {
        Format::Csv => respond(request, ctx, 200, "text/plain; charset=utf-8", csv::render(&snapshot), &[]),
        Format::Json => respond(request, ctx, 200, "application/json", json::render(&snapshot), &[]),
        Format::Metrics => {
            let body = prometheus::render(&snapshot, &view.hub.vrrp(), dropped);
            respond(request, ctx, 200, "text/plain; version=0.0.4; charset=utf-8", body, &[])
        }
        Format::Html { refresh, admin_status } => {
            let refresh_secs = ctx.config.refresh.filter(|_| *refresh).map(|d| d.as_secs().max(1));
            let vrrp = view.hub.vrrp();
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
            };
            let extra: Vec<(&str, String)> = refresh_secs.map(|s| ("Refresh", s.to_string())).into_iter().collect();
            respond(request, ctx, 200, "text/html; charset=utf-8", html::render(&snapshot, &info), &extra)
        }
    }
}

/// HAProxy's `;st=` outcome of an admin POST.
fn admin_post(mut request: Request, ctx: &Ctx, access: &Access) {
    if !ctx.config.admin {
        return text(request, ctx, 403, "403 Forbidden: admin actions are not enabled", &[]);
    }
    let mut body = String::new();
    let read = request.as_reader().take(MAX_BODY as u64 + 1).read_to_string(&mut body);
    let status = match read {
        Ok(n) if n <= MAX_BODY => apply_form(&form::parse(&body), ctx, access),
        _ => "ERRP",
    };
    let location = format!("{};st={status}", ctx.config.uri);
    respond(request, ctx, 303, "text/plain; charset=utf-8", format!("{status}\n"), &[("Location", location)]);
}

fn apply_form(form: &form::AdminForm, ctx: &Ctx, access: &Access) -> &'static str {
    let config = &ctx.view.config;
    let (Some(backend), Some(action)) = (&form.backend, &form.action) else { return "ERRP" };
    let Some(action) = AdminAction::from_form(action, form.weight.as_deref()) else { return "ERRP" };
    if form.servers.is_empty() {
        return "NONE";
    }
    let mut waits = Vec::new();
    let mut refused = 0;
    for server in &form.servers {
        match resolve(config, backend, server) {
            Ok((b, s)) => {
                let (tx, rx) = mpsc::channel();
                ctx.admin.submit(AdminCommand { backend: b, server: s, action, who: access.who(), done: Some(tx) });
                waits.push(rx);
            }
            Err(e) => {
                log::warn!("stats admin by {}: {e}", access.who());
                refused += 1;
            }
        }
    }
    let deadline = Instant::now() + ADMIN_WAIT;
    let mut changed = 0;
    for rx in waits {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(true)) => changed += 1,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                log::warn!("stats admin by {}: {e}", access.who());
                refused += 1;
            }
            Err(_) => refused += 1,
        }
    }
    match (changed, refused) {
        (_, 0) if changed > 0 => "DONE",
        (0, 0) => "NONE",
        (0, _) if refused == form.servers.len() => "ERRP",
        _ => "PART",
    }
}
