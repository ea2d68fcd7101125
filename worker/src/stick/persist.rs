//! The stick table for `stick on src` (keepalived's `persistence_timeout`): client address →
//! server, forgotten `expire` after its last use. When full, expired entries go first, then the
//! least recently used one, as HAProxy evicts its oldest entries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub struct StickTable {
    entries: HashMap<IpAddr, Entry>,
    expire: Duration,
    size: usize,
}

#[derive(Clone, Copy)]
struct Entry {
    server: usize,
    expires: Instant,
}

impl StickTable {
    pub fn new(expire: Duration, size: u32) -> Self {
        StickTable { entries: HashMap::new(), expire, size: size.max(1) as usize }
    }

    /// The server `client` is stuck to, if the entry has not expired.
    pub fn lookup(&mut self, client: IpAddr, now: Instant) -> Option<usize> {
        match self.entries.get(&client) {
            Some(e) if e.expires > now => Some(e.server),
            Some(_) => {
                self.entries.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Records (or refreshes) that `client` uses `server`.
    pub fn store(&mut self, client: IpAddr, server: usize, now: Instant) {
        let expires = now + self.expire;
        if self.entries.len() >= self.size && !self.entries.contains_key(&client) {
            self.entries.retain(|_, e| e.expires > now);
            if self.entries.len() >= self.size {
                if let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.expires).map(|(k, _)| *k) {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(client, Entry { server, expires });
    }

    /// Live entries as (client, server, remaining lifetime), to hand to a successor worker.
    pub fn export(&self, now: Instant) -> Vec<(IpAddr, usize, Duration)> {
        self.entries.iter().filter(|(_, e)| e.expires > now).map(|(c, e)| (*c, e.server, e.expires - now)).collect()
    }

    /// Adopts an entry from a predecessor unless this table already knows the client.
    pub fn import(&mut self, client: IpAddr, server: usize, remaining: Duration, now: Instant) {
        if self.entries.contains_key(&client) || remaining.is_zero() {
            return;
        }
        self.store(client, server, now);
        if let Some(e) = self.entries.get_mut(&client) {
            e.expires = now + remaining.min(self.expire);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_then_import_keeps_remaining_lifetimes() {
        let t0 = Instant::now();
        let mut old = StickTable::new(Duration::from_secs(30), 10);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        old.store(a, 2, t0);
        let dump = old.export(t0 + Duration::from_secs(10));
        assert_eq!(dump, vec![(a, 2, Duration::from_secs(20))]);
        let mut new = StickTable::new(Duration::from_secs(30), 10);
        let t1 = t0 + Duration::from_secs(11);
        for (c, s, left) in dump {
            new.import(c, s, left, t1);
        }
        assert_eq!(new.lookup(a, t1 + Duration::from_secs(19)), Some(2));
        assert_eq!(new.lookup(a, t1 + Duration::from_secs(21)), None, "the remaining lifetime carried over, not a fresh one");
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn entries_expire_after_last_use() {
        let t0 = Instant::now();
        let mut t = StickTable::new(Duration::from_secs(10), 100);
        t.store(ip(1), 2, t0);
        assert_eq!(t.lookup(ip(1), t0 + Duration::from_secs(9)), Some(2));
        t.store(ip(1), 2, t0 + Duration::from_secs(9));
        assert_eq!(t.lookup(ip(1), t0 + Duration::from_secs(18)), Some(2));
        assert_eq!(t.lookup(ip(1), t0 + Duration::from_secs(19)), None);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_full_table_evicts_the_oldest() {
        let t0 = Instant::now();
        let mut t = StickTable::new(Duration::from_secs(10), 2);
        t.store(ip(1), 0, t0);
        t.store(ip(2), 1, t0 + Duration::from_secs(1));
        t.store(ip(3), 2, t0 + Duration::from_secs(2));
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup(ip(1), t0 + Duration::from_secs(3)), None);
        assert_eq!(t.lookup(ip(3), t0 + Duration::from_secs(3)), Some(2));
    }
}
