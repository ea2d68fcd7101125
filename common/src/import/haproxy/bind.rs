//! `bind ADDR[,ADDR…] [options]`: TCP addresses (with port ranges expanded) become bind entries;
//! other address families and every bind option are reported.

use super::server::split_host_port;
use crate::config::validate::parse_bind;
use std::net::IpAddr;

/// Port ranges up to this size are expanded into one bind each.
const MAX_RANGE: u32 = 100;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Bind {
    pub addrs: Vec<String>,
    /// Addresses that could not be translated, with the reason.
    pub bad_addrs: Vec<String>,
    pub options: Vec<String>,
}

pub fn parse(args: &[String]) -> Bind {
    let mut out = Bind::default();
    let Some((list, options)) = args.split_first() else {
        out.bad_addrs.push("`bind` without an address".into());
        return out;
    };
    out.options = options.to_vec();
    for text in list.split(',').filter(|t| !t.is_empty()) {
        match addresses(text) {
            Ok(mut a) => out.addrs.append(&mut a),
            Err(e) => out.bad_addrs.push(e),
        }
    }
    out
}

fn addresses(text: &str) -> Result<Vec<String>, String> {
    let mut t = text;
    for prefix in ["ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest;
        }
    }
    if t.starts_with('/') || t.contains('@') {
        return Err(format!("bind address {text:?} is not a TCP address; not translated"));
    }
    let (host, port) = split_host_port(t);
    let Some(port) = port.filter(|p| !p.is_empty()) else {
        return Err(format!("bind address {text:?} has no port; not translated"));
    };
    let host = match host {
        "" | "*" => host.to_string(),
        h => match h.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
            Ok(IpAddr::V4(ip)) => ip.to_string(),
            Err(_) => return Err(format!("bind address {text:?}: {h:?} is not an IP address; not translated")),
        },
    };
    let (first, last) = match port.split_once('-') {
        Some((a, b)) => (a, b),
        None => (port, port),
    };
    let digits = |p: &str| p.parse::<u16>().ok().filter(|_| p.bytes().all(|b| b.is_ascii_digit()));
    let range = digits(first).zip(digits(last)).filter(|(a, b)| a <= b);
    let Some((first, last)) = range else {
        return Err(format!("bind address {text:?}: invalid port {port:?}; not translated"));
    };
    if u32::from(last - first) >= MAX_RANGE {
        return Err(format!("bind address {text:?}: port range of more than {MAX_RANGE} ports; not translated"));
    }
    (first..=last)
        .map(|p| {
            let a = format!("{host}:{p}");
            parse_bind(&a).map(|_| a).map_err(|e| format!("bind address {text:?}: {e}; not translated"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Bind {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn address_forms() {
        assert_eq!(p("*:48066").addrs, ["*:48066"]);
        assert_eq!(p(":7777").addrs, [":7777"]);
        assert_eq!(p("0.0.0.0:1080").addrs, ["0.0.0.0:1080"]);
        assert_eq!(p("ipv6@:::80").addrs, ["[::]:80"]);
        assert_eq!(p("[::1]:8443").addrs, ["[::1]:8443"]);
        assert_eq!(p("10.0.0.1:80,10.0.0.2:81").addrs, ["10.0.0.1:80", "10.0.0.2:81"]);
        assert_eq!(p(":8000-8002").addrs, [":8000", ":8001", ":8002"]);
    }

    #[test]
    fn options_and_bad_addresses_are_reported() {
        let b = p(":443 ssl crt /etc/site.pem");
        assert_eq!(b.addrs, [":443"]);
        assert_eq!(b.options, ["ssl", "crt", "/etc/site.pem"]);
        assert_eq!(p("/var/run/x.sock").bad_addrs.len(), 1);
        assert_eq!(p("10.0.0.1").bad_addrs.len(), 1);
        assert_eq!(p("web.local:80").bad_addrs.len(), 1);
        assert_eq!(p(":1-60000").bad_addrs.len(), 1);
        assert_eq!(p(":0").bad_addrs.len(), 1);
        assert_eq!(parse(&[]).bad_addrs.len(), 1);
    }
}
