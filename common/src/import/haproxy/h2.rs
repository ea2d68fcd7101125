//! HTTP/2 keywords: `proto h1|h2` on a `bind`, and the `tune.h2.*` globals.

use super::section::directive;
use super::Ctx;
use crate::config::raw::{RawBindProto, RawH2};
use crate::import::units::number;

/// Takes `proto NAME` out of a bind's options. HAProxy 2.6 accepts on a bind the multiplexers
/// `h1` and `h2` for TCP binds (`quic` needs a QUIC bind, which hakeeper does not have).
pub fn bind_proto(ctx: &mut Ctx, n: usize, args: &[String], options: &mut Vec<String>) -> Option<RawBindProto> {
    let i = options.iter().position(|o| o == "proto")?;
    let value = options.get(i + 1).cloned();
    options.drain(i..(i + 2).min(options.len()));
    match value.as_deref() {
        Some("h2") => Some(RawBindProto::H2),
        Some("h1") => Some(RawBindProto::H1),
        other => {
            ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`bind {}`: proto {} not translated (h1 or h2 only)", directive(args), other.unwrap_or("(missing)")),
            );
            None
        }
    }
}

/// `tune.h2.header-table-size` and its siblings; `false` if `kw` is not one of them.
pub fn tune(ctx: &mut Ctx, h2: &mut Option<RawH2>, n: usize, words: &[String]) -> bool {
    let kw = words[0].as_str();
    fn slot<'a>(kw: &str, h: &'a mut RawH2) -> Option<&'a mut Option<u32>> {
        match kw {
            "tune.h2.header-table-size" => Some(&mut h.header_table_size),
            "tune.h2.initial-window-size" => Some(&mut h.initial_window_size),
            "tune.h2.max-concurrent-streams" => Some(&mut h.max_concurrent_streams),
            "tune.h2.max-frame-size" => Some(&mut h.max_frame_size),
            _ => None,
        }
    }
    let mut probe = RawH2::default();
    if slot(kw, &mut probe).is_none() {
        return false;
    }
    let what = directive(words);
    let value = match words.get(1).map(|v| number(v, kw)) {
        Some(Ok(v)) if words.len() == 2 => v,
        Some(Err(e)) => {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated"));
            return true;
        }
        _ => {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: expected one number; not translated"));
            return true;
        }
    };
    if kw == "tune.h2.max-concurrent-streams" && value == 0 {
        // HAProxy's 0 means "no limit"; hakeeper keeps every bound.
        ctx.notes.replaced(
            &ctx.file,
            n,
            format!(
                "`{what}` (no limit) translated as max_concurrent_streams: 1000, the most hakeeper accepts: it bounds every connection"
            ),
        );
        h2.get_or_insert_with(RawH2::default).max_concurrent_streams = Some(1000);
        return true;
    }
    if let Some(s) = slot(kw, h2.get_or_insert_with(RawH2::default)) {
        *s = Some(value);
    }
    true
}
