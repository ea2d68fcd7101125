//! Which HAProxy lines the import must not lose quietly: those that deny, reject or
//! authenticate (access control), route, or encrypt. When such a line cannot be kept, the import
//! fails closed (see `WarningKind::Lossy`); everything else lost is an ordinary warning.

use super::Ctx;

/// `http-request`/`http-response` actions that stop, refuse, authenticate or redirect a request;
/// `return` answers in HAProxy's place (often a 403), `redirect` commonly enforces https.
const ACCESS_ACTIONS: &[&str] = &["deny", "reject", "tarpit", "auth", "silent-drop", "return", "redirect"];

/// `tcp-request`/`tcp-response` actions that refuse a connection.
const TCP_ACCESS_ACTIONS: &[&str] = &["reject", "silent-drop"];

/// Directives HAProxy 2.1 removed that denied requests (2.6 refuses them; they must be rewritten
/// as `http-request deny`/`tarpit` or `http-response deny`).
pub const REMOVED_ACCESS: &[&str] = &["block", "reqdeny", "reqideny", "reqtarpit", "reqitarpit", "rspdeny", "rspideny"];

/// Why a [`REMOVED_ACCESS`] directive cannot be kept.
pub const REMOVED_WHY: &str =
    "HAProxy 2.1 removed it and 2.6 refuses it: write it as `http-request deny` (or `tarpit`, `http-response deny`)";

/// True when an `http-request`/`http-response` rule starting with `action` controls access.
pub fn is_access_action(action: &str) -> bool {
    ACCESS_ACTIONS.contains(&action)
}

/// What a proxy-section directive would have meant, when losing it weakens access control,
/// encryption or routing; `None` for everything else.
pub fn meaning(words: &[String]) -> Option<String> {
    let kw = words.first().map(String::as_str)?;
    let arg = words.get(1).map(String::as_str).unwrap_or("");
    match kw {
        "http-request" | "http-response" if is_access_action(arg) => {
            Some(format!("`{}` would have applied `{arg}` to matching requests", super::section::directive(words)))
        }
        "tcp-request" | "tcp-response" if words.iter().any(|w| TCP_ACCESS_ACTIONS.contains(&w.as_str())) => {
            Some(format!("`{}` would have refused matching connections", super::section::directive(words)))
        }
        _ if REMOVED_ACCESS.contains(&kw) => Some(format!("`{}` would have denied matching requests", super::section::directive(words))),
        "acl" => Some(format!("`{}` would have defined condition {arg} of access or routing rules", super::section::directive(words))),
        "use_backend" | "use-server" | "default_backend" => {
            Some(format!("`{}` would have routed requests to {arg}", super::section::directive(words)))
        }
        "bind" if words.iter().any(|w| w == "ssl") => {
            Some(format!("`{}` would have accepted TLS connections", super::section::directive(words)))
        }
        "disabled" => Some("`disabled` would have kept this proxy stopped".into()),
        _ => None,
    }
}

/// Like [`meaning`], for a directive of a section that became the stats page: its servers
/// would also have served every other request.
pub fn meaning_beside_stats(words: &[String]) -> Option<String> {
    match words.first().map(String::as_str) {
        Some("server") => Some(format!("`{}` would have served the requests not for the stats page", super::section::directive(words))),
        _ => meaning(words),
    }
}

/// Reports a directive that is not in the output: lossy when [`meaning`] says it mattered,
/// otherwise an ordinary "not translated" warning with `untranslated` as its message.
pub fn report(ctx: &mut Ctx, n: usize, words: &[String], why: &str, untranslated: String) {
    report_with(ctx, n, meaning(words), why, untranslated)
}

/// [`report`] with the meaning already worked out.
pub fn report_with(ctx: &mut Ctx, n: usize, meaning: Option<String>, why: &str, untranslated: String) {
    match meaning {
        Some(meant) => ctx.notes.lossy(&ctx.file, n, meant, why),
        None => ctx.notes.untranslated(&ctx.file, n, untranslated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn access_routing_and_removed_denials_matter() {
        for line in [
            "http-request deny if bad",
            "http-request auth realm x",
            "http-response deny if leak",
            "tcp-request connection reject if abuser",
            "tcp-request content silent-drop",
            "block if bad",
            "reqdeny ^GET",
            "acl bad src 10.0.0.1",
            "use_backend db if primary",
            "use-server s1 if x",
            "bind :443 ssl crt /x.pem",
            "disabled",
        ] {
            assert!(meaning(&w(line)).is_some(), "{line}");
        }
        for line in
            ["http-request set-header X-A b", "tcp-request inspect-delay 5s", "tcp-request content accept if x", "timeout client 5s"]
        {
            assert!(meaning(&w(line)).is_none(), "{line}");
        }
    }
}
