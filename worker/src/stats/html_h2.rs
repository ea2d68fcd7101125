//! The stats page's HTTP/2 flood section: per `mode http` frontend, how many HTTP/2
//! connections each flood guard ended with GOAWAY (rapid reset, CONTINUATION flood, HPACK
//! bomb, SETTINGS and PING floods, empty frames, unread control frames, zero-window stalls;
//! see `crate::h2::limits`). HAProxy 2.6 counts protocol errors in its `h2` stats module
//! instead; hakeeper has the guards of later versions and shows what they did.

use super::html::escape;
use crate::h2::limits::FloodCounts;
use std::fmt::Write;

/// Shown only once a guard has fired: a quiet page stays as HAProxy's.
pub fn floods_html(out: &mut String, floods: &[(String, FloodCounts)]) {
    if floods.iter().all(|(_, f)| f.total() == 0) {
        return;
    }
    out.push_str("<h2 id=\"h2-floods\">HTTP/2 connections ended by a flood guard</h2>\n<table class=\"h2floods\"><tr><th class=\"name\">Frontend</th>");
    for (kind, _) in FloodCounts::default().kinds() {
        let _ = write!(out, "<th>{}</th>", kind.replace('_', " "));
    }
    out.push_str("<th>total</th></tr>\n");
    for (name, f) in floods {
        let _ = write!(out, "<tr data-frontend=\"{}\"><td class=\"name\">{}</td>", escape(name), escape(name));
        for (kind, n) in f.kinds() {
            let _ = write!(out, "<td data-kind=\"{kind}\">{n}</td>");
        }
        let _ = writeln!(out, "<td>{}</td></tr>", f.total());
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_appears_once_a_guard_fired_with_each_frontend_and_kind() {
        let mut out = String::new();
        floods_html(&mut out, &[("web".into(), FloodCounts::default())]);
        assert!(out.is_empty(), "a quiet page has no flood section: {out}");
        let hit = FloodCounts { rapid_reset: 3, ping: 1, ..FloodCounts::default() };
        floods_html(&mut out, &[("web".into(), hit), ("a<b".into(), FloodCounts::default())]);
        assert!(out.contains("<tr data-frontend=\"web\"><td class=\"name\">web</td><td data-kind=\"rapid_reset\">3</td>"), "{out}");
        assert!(out.contains("<td data-kind=\"ping\">1</td>") && out.contains("<td>4</td></tr>"), "{out}");
        assert!(out.contains("a&lt;b") && !out.contains("a<b"), "names are escaped: {out}");
    }
}
