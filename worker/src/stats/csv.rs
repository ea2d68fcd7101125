//! `;csv` and `show stat`: HAProxy 2.6's CSV (management guide, section 9.1), same columns in the
//! same order, so that scripts and collectors written for HAProxy keep working. Columns this
//! proxy has no value for are left empty, as HAProxy does for fields that do not apply.

use super::snapshot::{Row, RowKind, Snapshot};

/// HAProxy 2.6's stat fields 0 to 100, in order.
pub const COLUMNS: [&str; 101] = [
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_check_status",
];

pub fn header() -> String {
    let mut h = String::from("# ");
    for c in COLUMNS {
        h.push_str(c);
        h.push(',');
    }
    h
}

/// Quotes a value only when it needs it (RFC 4180), as names may hold anything.
fn escape(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

struct Fields(Vec<String>);

impl Fields {
    fn set(&mut self, name: &str, value: impl ToString) {
        if let Some(i) = COLUMNS.iter().position(|c| *c == name) {
            self.0[i] = value.to_string();
        }
    }

    fn opt(&mut self, name: &str, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.set(name, v);
        }
    }
}

/// The values of one row, by column, as strings (empty = not applicable).
pub fn fields(row: &Row) -> Vec<String> {
    let mut f = Fields(vec![String::new(); COLUMNS.len()]);
    f.set("pxname", &row.pxname);
    f.set("svname", &row.svname);
    f.opt("qcur", row.qcur);
    f.opt("qmax", row.qmax);
    f.set("scur", row.scur);
    f.set("smax", row.smax);
    f.opt("slim", row.slim);
    f.set("stot", row.stot);
    f.set("bin", row.bin);
    f.set("bout", row.bout);
    if row.kind != RowKind::Server {
        f.set("dreq", row.dreq.unwrap_or(0));
    }
    f.set("dresp", row.dresp);
    if row.kind == RowKind::Frontend {
        f.opt("ereq", row.ereq);
        f.opt("dcon", row.dcon);
        f.opt("dses", row.dses);
    } else {
        f.opt("econ", row.econ);
        f.set("eresp", 0);
    }
    f.opt("wretr", row.wretr);
    f.opt("wredis", row.wredis);
    f.set("status", &row.status);
    f.opt("weight", row.weight);
    f.opt("act", row.act);
    f.opt("bck", row.bck);
    f.opt("chkdown", row.chkdown);
    f.opt("lastchg", row.lastchg);
    f.opt("downtime", row.downtime);
    f.set("pid", 1);
    f.set("iid", row.iid);
    f.set("sid", row.sid);
    f.opt("lbtot", row.lbtot);
    f.set("type", row.kind.code());
    f.set("rate", row.rate);
    f.set("rate_max", row.rate_max);
    f.set("mode", row.mode_name());
    f.opt("algo", row.algo);
    if row.kind == RowKind::Frontend {
        f.set("conn_rate", row.rate);
        f.set("conn_rate_max", row.rate_max);
        f.set("conn_tot", row.stot);
    }
    if let Some(s) = &row.server {
        f.opt("check_status", s.check_code);
        f.opt("check_duration", s.check_ms);
        f.opt("check_desc", s.check_desc.as_deref());
        f.set("addr", &s.addr);
        f.set("uweight", s.configured_weight);
    }
    f.0
}

pub fn render(snapshot: &Snapshot) -> String {
    let mut out = header();
    out.push('\n');
    for row in &snapshot.rows {
        for v in fields(row) {
            out.push_str(&escape(&v));
            out.push(',');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HAProxy 2.6's first 34 columns, verbatim from its management guide.
    const HAPROXY_26_FIRST_34: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,";

    #[test]
    fn header_starts_with_haproxy_26_first_34_columns_exactly() {
        let h = header();
        assert!(h.starts_with(HAPROXY_26_FIRST_34), "{h}");
        assert_eq!(HAPROXY_26_FIRST_34.trim_start_matches("# ").split(',').filter(|c| !c.is_empty()).count(), 34);
        assert!(h.ends_with("uweight,agg_server_check_status,"));
    }

    #[test]
    fn values_with_commas_are_quoted() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
    }
}
