//! HTTP/2 settings: `global.h2` (HAProxy's `tune.h2.*`) and a bind's `proto`.
//!
//! `proto: h2` (HTTP/2 with prior knowledge, HAProxy's `proto h2`) needs `mode http`; the
//! worker serves it with `worker/src/session/h2/`. The stats page stays HTTP/1.1.

use super::Checker;
use crate::config::model::{BindProto, H2Settings};
use crate::config::raw::{RawBind, RawBindProto, RawH2};

/// RFC 9113 §6.5.2: the largest window.
const MAX_WINDOW: u32 = (1 << 31) - 1;
/// The most streams a connection may have at once: each holds a transaction and its buffers.
pub const MAX_STREAMS: u32 = 1000;
/// The largest frame announced: each connection may buffer one frame of this size.
const MAX_FRAME: u32 = 1 << 20;

fn bounded(c: &mut Checker, field: &str, v: Option<u32>, range: std::ops::RangeInclusive<u32>, default: u32, why: &str) -> u32 {
    match v {
        None => default,
        Some(v) if range.contains(&v) => v,
        Some(v) => {
            c.error(format!("global.h2.{field}"), format!("{field} {v} out of range {}..{} ({why})", range.start(), range.end()));
            default
        }
    }
}

/// `global.h2`, with HAProxy's defaults for what is absent.
pub(super) fn tune(c: &mut Checker, raw: Option<&RawH2>) -> H2Settings {
    let d = H2Settings::default();
    let Some(r) = raw else { return d };
    H2Settings {
        // HAProxy: "cannot be larger than 65536".
        header_table_size: bounded(c, "header_table_size", r.header_table_size, 0..=65_536, d.header_table_size, "HAProxy's bound"),
        initial_window_size: bounded(
            c,
            "initial_window_size",
            r.initial_window_size,
            1..=MAX_WINDOW,
            d.initial_window_size,
            "RFC 9113 §6.5.2; 0 would stall every upload",
        ),
        max_concurrent_streams: bounded(
            c,
            "max_concurrent_streams",
            r.max_concurrent_streams,
            1..=MAX_STREAMS,
            d.max_concurrent_streams,
            "HAProxy's 0 (no limit) is not offered: every connection stays bounded",
        ),
        max_frame_size: bounded(
            c,
            "max_frame_size",
            r.max_frame_size,
            16_384..=MAX_FRAME,
            d.max_frame_size,
            "RFC 9113 minimum; 1 MiB buffered at most",
        ),
    }
}

/// A frontend bind's `proto`.
pub(super) fn bind_proto(c: &mut Checker, path: &str, i: usize, b: &RawBind, http: bool) -> BindProto {
    let field = format!("{path}.bind[{i}].proto");
    match b.proto {
        None => BindProto::Auto,
        Some(RawBindProto::H1) => BindProto::H1,
        Some(RawBindProto::H2) if !http => {
            c.error(field, "proto h2 needs mode http");
            BindProto::Auto
        }
        Some(RawBindProto::H2) => BindProto::H2,
    }
}

/// The stats page's bind `proto`: its own front serves HTTP/1.1 and HTTP/2 (prior knowledge,
/// or ALPN `h2` on TLS), as an HAProxy `listen` with `stats enable` does.
pub(super) fn stats_bind_proto(b: &RawBind) -> BindProto {
    match b.proto {
        None => BindProto::Auto,
        Some(RawBindProto::H1) => BindProto::H1,
        Some(RawBindProto::H2) => BindProto::H2,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::model::{BindProto, H2Settings};

    fn check(text: &str) -> Result<crate::config::Config, String> {
        crate::config::load_str("t.ron", text).map(|l| l.config).map_err(|e| e.to_string())
    }

    const BASE: &str = r#"listen: [(name: "w", mode: http, bind: [BIND], servers: [(name: "s", addr: "127.0.0.1:81")])]"#;

    fn with_bind(bind: &str, global: &str) -> Result<crate::config::Config, String> {
        check(&format!("(global: ({global}), {})", BASE.replace("BIND", bind)))
    }

    #[test]
    fn tune_h2_defaults_and_values() {
        let c = with_bind(r#""*:80""#, "").unwrap();
        assert_eq!(c.global.h2, H2Settings::default());
        let c = with_bind(r#""*:80""#, "h2: (initial_window_size: 1048576, max_concurrent_streams: 200)").unwrap();
        assert_eq!((c.global.h2.initial_window_size, c.global.h2.max_concurrent_streams), (1 << 20, 200));
        assert_eq!(c.global.h2.max_frame_size, 16384);
    }

    #[test]
    fn tune_h2_out_of_range_names_the_field() {
        for (g, field) in [
            ("h2: (header_table_size: 65537)", "global.h2.header_table_size"),
            ("h2: (initial_window_size: 0)", "global.h2.initial_window_size"),
            ("h2: (max_concurrent_streams: 0)", "global.h2.max_concurrent_streams"),
            ("h2: (max_frame_size: 1000)", "global.h2.max_frame_size"),
        ] {
            let e = with_bind(r#""*:80""#, g).unwrap_err();
            assert!(e.contains(field) && e.contains("t.ron:"), "{g}: {e}");
        }
        let e = with_bind(r#""*:80""#, "h2: (window: 1)").unwrap_err();
        assert!(e.contains("window"), "{e}");
    }

    #[test]
    fn bind_proto_h1_and_h2_are_kept() {
        let c = with_bind(r#"(addr: "*:80", proto: h1)"#, "").unwrap();
        assert_eq!(c.frontends[0].bind_proto, [BindProto::H1]);
        let c = with_bind(r#""*:80""#, "").unwrap();
        assert_eq!(c.frontends[0].bind_proto, [BindProto::Auto]);
        let c = with_bind(r#"(addr: "*:80", proto: h2)"#, "").unwrap();
        assert_eq!(c.frontends[0].bind_proto, [BindProto::H2]);
        let e =
            check(&format!("({})", BASE.replace("mode: http", "mode: tcp").replace("BIND", r#"(addr: "*:80", proto: h2)"#))).unwrap_err();
        assert!(e.contains("needs mode http"), "{e}");
        let e = with_bind(r#"(addr: "*:80", proto: h3)"#, "").unwrap_err();
        assert!(e.contains("h3"), "{e}");
    }

    #[test]
    fn a_bind_with_proto_round_trips_through_ron() {
        let raw = crate::config::parse_raw("t.ron", &format!("({})", BASE.replace("BIND", r#"(addr: "*:80", proto: h1)"#))).unwrap();
        let text = crate::config::to_ron(&raw).unwrap();
        assert!(text.contains("proto: h1"), "{text}");
        assert_eq!(crate::config::parse_raw("t.ron", &text).unwrap(), raw);
    }
}
