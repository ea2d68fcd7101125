//! Received-packet counters for the supervisor (the stats page shows them): every
//! COUNTERS_EVERY, each instance whose counters moved since its last report sends them.

use super::Node;
use hakeeper_common::ipc::{send, FromVrrp, InstanceId};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

pub(super) const COUNTERS_EVERY: Duration = Duration::from_secs(10);

impl Node {
    pub(super) fn report_counters(&mut self, now: Instant) {
        if now < self.counters_due {
            return;
        }
        self.counters_due = now + COUNTERS_EVERY;
        for inst in &mut self.instances {
            let current = (inst.received, inst.drops.total());
            if inst.counters_sent == Some(current) {
                continue;
            }
            inst.counters_sent = Some(current);
            let msg = FromVrrp::Counters { instance: InstanceId(inst.id), received: inst.received, dropped: inst.drops.by_reason() };
            if let Err(e) = send(self.channel.as_fd(), &msg, &[]) {
                log::warn!("cannot send the counters of {} to the supervisor: {e}", inst.tag());
            }
        }
    }
}
