//! haproxy.cfg `peers` sections and `localpeer`.

use super::haproxy::{assert_warned, import_ok};
use super::*;
use crate::config::raw::RawPeer;

fn peer(name: &str, addr: &str) -> RawPeer {
    RawPeer { name: name.into(), addr: addr.into() }
}

#[test]
fn peer_lines_and_localpeer_are_translated() {
    let text = "\
global
  localpeer lb1
peers lb
  peer lb1 192.0.2.1:10000
  peer lb2 192.0.2.2:10000
  peer hap [2001:db8::3]:10000
";
    let imported = import_ok(text);
    assert_eq!(imported.config.global.localpeer.as_deref(), Some("lb1"));
    assert_eq!(imported.config.peers.len(), 1);
    let p = &imported.config.peers[0];
    assert_eq!(p.name, "lb");
    assert_eq!(p.peers, [peer("lb1", "192.0.2.1:10000"), peer("lb2", "192.0.2.2:10000"), peer("hap", "[2001:db8::3]:10000")]);
    assert!(imported.warnings.is_empty(), "{:?}", printed(&imported));
}

#[test]
fn bind_and_server_form_is_translated() {
    let text = "\
global
  localpeer lb1
peers lb
  bind 192.0.2.1:10000
  server lb1
  server lb2 192.0.2.2:10000
";
    let imported = import_ok(text);
    assert_eq!(imported.config.peers[0].peers, [peer("lb2", "192.0.2.2:10000"), peer("lb1", "192.0.2.1:10000")]);
}

#[test]
fn what_hakeeper_cannot_take_is_reported() {
    let text = "\
global
  localpeer lb1
peers lb
  peer lb1 192.0.2.1:10000
  peer lb2 lb2.example.net:10000
  peer lb3 192.0.2.3:10000 shard 1
  table t type ip size 1k
  disabled
";
    let imported = import_ok(text);
    assert_eq!(imported.config.peers[0].peers, [peer("lb1", "192.0.2.1:10000"), peer("lb3", "192.0.2.3:10000")]);
    assert_warned(&imported, text, "lb2.example.net", WarningKind::Untranslated, "IP:PORT");
    assert_warned(&imported, text, "shard 1", WarningKind::Untranslated, "peer parameters");
    assert_warned(&imported, text, "table t", WarningKind::Untranslated, "not translated");
    assert_warned(&imported, text, "disabled", WarningKind::Untranslated, "not translated");
}
