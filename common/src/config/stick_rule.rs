//! A resolved `stick match|on|store-request|store-response KEY [table T] [if|unless COND]`
//! rule (parsed by [`super::http_syntax::parse_stick_rule`]): kept apart from
//! [`super::stick_syntax`], which the ACLs use, since a rule holds a condition on ACLs.

use super::acl::Cond;
use super::stick_syntax::{StickRuleKind, StickSample};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickRule {
    pub kind: StickRuleKind,
    pub sample: StickSample,
    /// Index into `HttpConfig::stick_tables`.
    pub table: usize,
    /// On the section's ACLs, evaluated on the request as HAProxy does for `match`, `on` and
    /// `store-request` (none on `store-response`: see `parse_stick_rule`).
    #[serde(default)]
    pub cond: Option<Cond>,
}
