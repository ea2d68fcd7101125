//! vrrpd: keepalived's VRRP half. VRRP v2/v3 instances elect a master, which holds the virtual
//! addresses and announces them with gratuitous ARP. Interoperates with keepalived 2.2.
//!
//! Pure parts (`packet`, `state`, `validate`, `timing`, `priority`) do no I/O and are tested
//! from tables; `driver` wires them to sockets, netlink and the supervisor channel.

pub mod checksum;
mod driver;
pub mod error;
pub mod garp;
pub mod iface;
mod instance;
mod linkwatch;
pub mod lvs;
mod ndisc;
pub mod packet;
pub mod priority;
mod rawsock;
mod rawsock6;
mod sockopt;
pub mod state;
pub mod timing;
mod tundev;
pub mod validate;
mod vip;

pub use driver::run;
pub use error::VrrpError;
