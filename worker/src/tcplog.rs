//! Per-connection log lines in HAProxy's `option tcplog` format, so existing log tooling keeps
//! working:
//!
//! `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
//!
//! Dates are UTC: the worker runs chrooted without the zone database.

use crate::termination::Termination;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct TcpLog<'a> {
    pub client: SocketAddr,
    pub accepted: SystemTime,
    pub frontend: &'a str,
    pub backend: &'a str,
    /// `None` prints `<NOSRV>`.
    pub server: Option<&'a str>,
    /// Milliseconds waiting in queues; `None` (-1) if the session never got past them.
    pub queue_ms: Option<u64>,
    /// Milliseconds to connect; `None` (-1) if never connected.
    pub connect_ms: Option<u64>,
    pub total_ms: u64,
    /// Bytes sent to the client.
    pub bytes: u64,
    pub termination: Termination,
    pub counts: LogCounts,
}

/// What ends both of HAProxy's log formats: `%ac/%fc/%bc/%sc/%rc %sq/%bq`, the connection
/// counts, the retries (after a `+` when the session was redispatched) and the queue positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCounts {
    pub actconn: u64,
    pub feconn: u64,
    pub beconn: u64,
    pub srvconn: u64,
    pub retries: u32,
    pub redispatched: bool,
    pub srv_queue: usize,
    pub backend_queue: usize,
}

impl std::fmt::Display for LogCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}{} {}/{}",
            self.actconn,
            self.feconn,
            self.beconn,
            self.srvconn,
            if self.redispatched { "+" } else { "" },
            self.retries,
            self.srv_queue,
            self.backend_queue
        )
    }
}

/// A duration field in ms; `None` prints -1, as HAProxy does for a step never reached.
pub fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "-1".to_string(), |v| v.to_string())
}

impl TcpLog<'_> {
    pub fn line(&self) -> String {
        let mut s = String::with_capacity(160);
        let _ = write!(
            s,
            "{}:{} [{}] {} {}/{} {}/{}/{} {} {} {}",
            self.client.ip(),
            self.client.port(),
            accept_date(self.accepted),
            self.frontend,
            self.backend,
            self.server.unwrap_or("<NOSRV>"),
            ms(self.queue_ms),
            ms(self.connect_ms),
            self.total_ms,
            self.bytes,
            self.termination,
            self.counts,
        );
        s
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `%t`: `06/Feb/2009:12:12:51.443`.
pub fn accept_date(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::termination::{Cause, Phase};
    use std::time::Duration;

    #[test]
    fn date_is_haproxy_style() {
        // 2009-02-06 12:12:51.443 UTC
        let t = UNIX_EPOCH + Duration::from_millis(1_233_922_371_443);
        assert_eq!(accept_date(t), "06/Feb/2009:12:12:51.443");
        assert_eq!(accept_date(UNIX_EPOCH + Duration::from_secs(951_782_400)), "29/Feb/2000:00:00:00.000");
    }

    #[test]
    fn line_matches_the_tcplog_format() {
        let log = TcpLog {
            client: "10.0.1.2:33313".parse().unwrap(),
            accepted: UNIX_EPOCH + Duration::from_millis(1_233_922_371_443),
            frontend: "fnt",
            backend: "bck",
            server: Some("srv1"),
            queue_ms: Some(0),
            connect_ms: Some(0),
            total_ms: 5007,
            bytes: 212,
            termination: Termination::NORMAL,
            counts: LogCounts {
                actconn: 0,
                feconn: 0,
                beconn: 0,
                srvconn: 0,
                retries: 3,
                redispatched: false,
                srv_queue: 0,
                backend_queue: 0,
            },
        };
        assert_eq!(log.line(), "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0");
        let failed = TcpLog {
            server: None,
            queue_ms: None,
            connect_ms: None,
            counts: LogCounts { redispatched: true, ..log.counts },
            termination: Termination::new(Cause::ServerAbort, Phase::Connect),
            ..log
        };
        assert!(failed.line().contains("bck/<NOSRV> -1/-1/5007 212 SC 0/0/0/0/+3 0/0"), "{}", failed.line());
    }
}
