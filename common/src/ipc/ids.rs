//! Typed ids for what the supervisor and its children name on the wire and in caches, one per
//! kind, instead of bare indexes and (backend, server) string pairs. The index newtypes are
//! `serde(transparent)`: on the wire they are the same numbers as before.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `Vrrp::scripts[i]`: a tracked script (keepalived's `vrrp_script`) or a built-in track.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScriptId(pub usize);

/// `Vrrp::instances[i]`: a VRRP instance (keepalived's `vrrp_instance`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub usize);

// Debug-printed as the bare index, as messages were logged before the ids were typed
// (`InstanceState { instance: 1, .. }`; vrrp_lab's log, which tests read).
impl fmt::Debug for ScriptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A server by its names, which a reload keeps (indexes move when servers are added or
/// removed): how the supervisor remembers a server's health, weight and operator override.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerName {
    pub backend: String,
    pub server: String,
}

impl ServerName {
    pub fn new(backend: impl Into<String>, server: impl Into<String>) -> ServerName {
        ServerName { backend: backend.into(), server: server.into() }
    }
}

impl fmt::Display for ServerName {
    /// As HAProxy writes a server: `backend/server`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.backend, self.server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ids_are_plain_numbers_on_the_wire() {
        assert_eq!(ron::to_string(&(ScriptId(3), InstanceId(7))).expect("encode"), "(3,7)");
        assert_eq!(ron::from_str::<InstanceId>("7").expect("decode"), InstanceId(7));
        assert_eq!(ServerName::new("web", "s1").to_string(), "web/s1");
        assert_eq!(format!("{:?}", (InstanceId(1), ScriptId(2))), "(1, 2)", "logged as before");
    }
}
