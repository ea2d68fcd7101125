//! Which output a request asks for. As in HAProxy, the configured `uri` is a prefix: anything
//! after it may carry options `;csv`, `;json`, `;norefresh`, `;up` (only running servers) and
//! `;st=STATUS` (the outcome of the last admin action, shown on the page). `/metrics` on the
//! same listener serves Prometheus text.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Html { refresh: bool, admin_status: Option<String> },
    Csv,
    Json,
    Metrics,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub format: Format,
    /// `;up`: leave out servers that are not running.
    pub up_only: bool,
}

pub const METRICS_PATH: &str = "/metrics";

/// None: the URL is neither under `uri` nor `/metrics`.
pub fn route(uri: &str, url: &str) -> Option<Route> {
    let path = url.split(['?', ';']).next().unwrap_or("");
    if path == METRICS_PATH {
        return Some(Route { format: Format::Metrics, up_only: false });
    }
    let rest = url.strip_prefix(uri)?;
    let mut route = Route { format: Format::Html { refresh: true, admin_status: None }, up_only: false };
    let mut refresh = true;
    let mut admin_status = None;
    for option in rest.split(';').skip(1) {
        // An option ends where a query or another separator starts.
        let option = option.split(['?', '&', '/']).next().unwrap_or("");
        match option {
            "csv" => route.format = Format::Csv,
            "json" => route.format = Format::Json,
            "norefresh" => refresh = false,
            "up" => route.up_only = true,
            o => {
                if let Some(st) = o.strip_prefix("st=") {
                    admin_status = Some(st.to_string());
                }
            }
        }
    }
    if let Format::Html { .. } = route.format {
        route.format = Format::Html { refresh, admin_status };
    }
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(refresh: bool, st: Option<&str>) -> Format {
        Format::Html { refresh, admin_status: st.map(String::from) }
    }

    #[test]
    fn uri_is_a_prefix_with_options() {
        assert_eq!(route("/admin", "/admin").map(|r| r.format), Some(html(true, None)));
        assert_eq!(route("/admin", "/admin/").map(|r| r.format), Some(html(true, None)));
        assert_eq!(route("/admin", "/admin;csv").map(|r| r.format), Some(Format::Csv));
        assert_eq!(route("/admin", "/admin;csv;norefresh").map(|r| r.format), Some(Format::Csv));
        assert_eq!(route("/admin", "/admin;json").map(|r| r.format), Some(Format::Json));
        assert_eq!(route("/admin", "/admin;norefresh").map(|r| r.format), Some(html(false, None)));
        assert_eq!(route("/admin", "/admin;st=DONE").map(|r| r.format), Some(html(true, Some("DONE"))));
        assert_eq!(route("/admin", "/admin;up;csv").map(|r| r.up_only), Some(true));
        assert_eq!(route("/haproxy?stats", "/haproxy?stats;csv").map(|r| r.format), Some(Format::Csv));
        assert_eq!(route("/admin", "/other"), None);
        assert_eq!(route("/admin", "/"), None);
    }

    #[test]
    fn metrics_is_served_beside_the_page() {
        assert_eq!(route("/admin", "/metrics").map(|r| r.format), Some(Format::Metrics));
        assert_eq!(route("/", "/metrics?x=1").map(|r| r.format), Some(Format::Metrics));
        assert_eq!(route("/admin", "/metricsx"), None);
    }
}
