//! vrrpd's errors: each says which interface, instance or channel it concerns.

use hakeeper_common::ipc::IpcError;

#[derive(Debug, thiserror::Error)]
pub enum VrrpError {
    #[error("supervisor channel: {0}")]
    Ipc(#[from] IpcError),
    #[error("the supervisor closed the channel before sending the VRRP config")]
    NoStart,
    #[error("the supervisor closed the channel; VIPs released")]
    SupervisorGone,
    #[error("interface {name}: {reason}")]
    Interface { name: String, reason: String },
    #[error("{what} on interface {iface}: {source}")]
    Socket { what: &'static str, iface: String, source: nix::Error },
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("poll: {0}")]
    Poll(nix::Error),
    #[error("instance {instance}: {reason}")]
    Unsupported { instance: String, reason: String },
}
