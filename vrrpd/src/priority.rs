//! What an instance's priority and health depend on: tracked scripts (weights from the checker),
//! the local proxy (FAULT or a weight while it is down, per instance), and the links it watches.
//! Pure bookkeeping; the state machine asks it for the effective priority and whether the
//! instance must be in FAULT.

use hakeeper_common::config::{ProxyDown, TrackScript};

/// The address owner's priority: it always wins and its priority never changes.
pub const OWNER: u8 = 255;

/// Why an instance is in FAULT (the first cause found, for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultCause {
    /// A zero-weight tracked script is failing (index into `Vrrp::scripts`).
    Script(usize),
    ProxyDown,
    LinkDown,
    /// Another member of the instance's sync group is in FAULT.
    SyncGroup,
    /// `hakeeper ctl switchover`: a planned hand-over; the proxy keeps serving.
    Switchover,
}

#[derive(Debug, Clone)]
struct Tracked {
    script: usize,
    weight: i32,
    /// `None` until the checker's first result: keepalived lets the first result decide, and
    /// until then the script neither adds, subtracts nor faults.
    ok: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Tracking {
    base: u8,
    tracks: Vec<Tracked>,
    proxy_down: ProxyDown,
    proxy_up: bool,
    links_up: bool,
    group_fault: bool,
    switched_over: bool,
}

impl Tracking {
    pub fn new(base: u8, tracks: &[TrackScript], proxy_down: ProxyDown) -> Tracking {
        let tracks = tracks.iter().map(|t| Tracked { script: t.script, weight: t.weight, ok: None }).collect();
        Tracking { base, tracks, proxy_down, proxy_up: true, links_up: true, group_fault: false, switched_over: false }
    }

    /// After a reload that renumbered the scripts: the same tracks (in the same order) now name
    /// scripts by these indexes. Their last results are kept.
    pub fn renumber(&mut self, tracks: &[TrackScript]) {
        for (t, new) in self.tracks.iter_mut().zip(tracks) {
            t.script = new.script;
        }
    }

    pub fn group_fault(&self) -> bool {
        self.group_fault
    }

    pub fn base(&self) -> u8 {
        self.base
    }

    /// Records a script result; returns whether this instance tracks the script.
    pub fn set_script(&mut self, script: usize, ok: bool) -> bool {
        let mut tracked = false;
        for t in self.tracks.iter_mut().filter(|t| t.script == script) {
            t.ok = Some(ok);
            tracked = true;
        }
        tracked
    }

    pub fn set_proxy(&mut self, up: bool) {
        self.proxy_up = up;
    }

    pub fn set_links(&mut self, up: bool) {
        self.links_up = up;
    }

    pub fn set_switchover(&mut self, on: bool) {
        self.switched_over = on;
    }

    pub fn set_group_fault(&mut self, on: bool) {
        self.group_fault = on;
    }

    /// Base priority plus the weights that apply: a positive weight while its script succeeds, a
    /// negative one while it fails, minus the proxy_down weight while the proxy is down; clamped
    /// to 1..=254. The owner's 255 never changes.
    pub fn effective(&self) -> u8 {
        if self.base == OWNER {
            return OWNER;
        }
        let delta: i32 = self
            .tracks
            .iter()
            .map(|t| match t.ok {
                Some(true) if t.weight > 0 => t.weight,
                Some(false) if t.weight < 0 => t.weight,
                _ => 0,
            })
            .sum();
        let proxy = match (self.proxy_up, self.proxy_down) {
            (false, ProxyDown::Weight(w)) => -i32::from(w),
            _ => 0,
        };
        (i32::from(self.base) + delta + proxy).clamp(1, 254) as u8
    }

    /// The reason this instance must be in FAULT, if any.
    pub fn fault(&self) -> Option<FaultCause> {
        self.own_fault().or(if self.group_fault { Some(FaultCause::SyncGroup) } else { None })
    }

    /// A fault of this instance itself, not inherited from its sync group.
    pub fn own_fault(&self) -> Option<FaultCause> {
        if !self.links_up {
            return Some(FaultCause::LinkDown);
        }
        if self.switched_over {
            return Some(FaultCause::Switchover);
        }
        if !self.proxy_up && self.proxy_down == ProxyDown::Fault {
            return Some(FaultCause::ProxyDown);
        }
        self.tracks.iter().find(|t| t.weight == 0 && t.ok == Some(false)).map(|t| FaultCause::Script(t.script))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking(base: u8, weights: &[i32]) -> Tracking {
        let tracks: Vec<TrackScript> = weights.iter().enumerate().map(|(i, w)| TrackScript { script: i, weight: *w }).collect();
        Tracking::new(base, &tracks, ProxyDown::Fault)
    }

    #[test]
    fn unknown_scripts_change_nothing() {
        let t = tracking(100, &[20, -30, 0]);
        assert_eq!(t.effective(), 100);
        assert_eq!(t.fault(), None);
    }

    #[test]
    fn positive_weight_counts_while_ok_negative_while_failing() {
        let mut t = tracking(100, &[20, -30]);
        t.set_script(0, true);
        t.set_script(1, true);
        assert_eq!(t.effective(), 120);
        t.set_script(0, false);
        t.set_script(1, false);
        assert_eq!(t.effective(), 70);
    }

    #[test]
    fn effective_priority_is_clamped_to_1_254() {
        let mut t = tracking(250, &[20]);
        t.set_script(0, true);
        assert_eq!(t.effective(), 254);
        let mut t = tracking(10, &[-50]);
        t.set_script(0, false);
        assert_eq!(t.effective(), 1);
    }

    #[test]
    fn owner_priority_never_changes() {
        let mut t = tracking(OWNER, &[-50]);
        t.set_script(0, false);
        assert_eq!(t.effective(), OWNER);
    }

    #[test]
    fn zero_weight_failure_proxy_down_and_link_down_fault() {
        let mut t = tracking(100, &[0]);
        t.set_script(0, false);
        assert_eq!(t.fault(), Some(FaultCause::Script(0)));
        t.set_script(0, true);
        assert_eq!(t.fault(), None);
        t.set_proxy(false);
        assert_eq!(t.fault(), Some(FaultCause::ProxyDown));
        t.set_links(false);
        assert_eq!(t.fault(), Some(FaultCause::LinkDown));
    }

    #[test]
    fn a_switchover_faults_even_with_a_proxy_down_weight_and_yields_to_a_link_down() {
        let mut t = Tracking::new(150, &[], ProxyDown::Weight(60));
        t.set_switchover(true);
        assert_eq!(t.own_fault(), Some(FaultCause::Switchover));
        t.set_proxy(false);
        assert_eq!(t.fault(), Some(FaultCause::Switchover));
        t.set_links(false);
        assert_eq!(t.fault(), Some(FaultCause::LinkDown));
        t.set_links(true);
        t.set_switchover(false);
        assert_eq!(t.fault(), None, "the proxy_down weight lowers the priority, no FAULT");
    }

    #[test]
    fn a_group_fault_is_not_the_instance_own() {
        let mut t = tracking(100, &[]);
        t.set_group_fault(true);
        assert_eq!(t.fault(), Some(FaultCause::SyncGroup));
        assert_eq!(t.own_fault(), None);
        t.set_proxy(false);
        assert_eq!(t.fault(), Some(FaultCause::ProxyDown));
    }

    #[test]
    fn proxy_down_with_a_weight_lowers_the_priority_instead_of_faulting() {
        let mut t = Tracking::new(150, &[TrackScript { script: 0, weight: 10 }], ProxyDown::Weight(60));
        t.set_script(0, true);
        assert_eq!(t.effective(), 160);
        t.set_proxy(false);
        assert_eq!(t.effective(), 100);
        assert_eq!(t.fault(), None);
        t.set_proxy(true);
        assert_eq!(t.effective(), 160);
        // Clamped like track weights, and never for the owner.
        let mut low = Tracking::new(20, &[], ProxyDown::Weight(253));
        low.set_proxy(false);
        assert_eq!(low.effective(), 1);
        let mut owner = Tracking::new(OWNER, &[], ProxyDown::Weight(50));
        owner.set_proxy(false);
        assert_eq!(owner.effective(), OWNER);
    }

    #[test]
    fn renumbered_tracks_keep_their_results() {
        let mut t = tracking(100, &[20]);
        t.set_script(0, true);
        t.renumber(&[TrackScript { script: 3, weight: 20 }]);
        assert_eq!(t.effective(), 120);
        assert!(!t.set_script(0, false), "index 0 is another script now");
        assert!(t.set_script(3, false));
        assert_eq!(t.effective(), 100);
    }

    #[test]
    fn untracked_scripts_are_reported_as_such() {
        let mut t = tracking(100, &[5]);
        assert!(!t.set_script(7, false));
        assert!(t.set_script(0, false));
    }
}
