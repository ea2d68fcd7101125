//! `balance source`: the client address's key (HAProxy's XOR of its 32-bit words) picks the
//! server through a [`KeyMap`], as the request keys of `balance uri|hdr|url_param` do:
//! `hash-type map-based` (the default) indexes the members' weighted map, so any change of the
//! member set moves most clients (HAProxy's behaviour); `hash-type consistent` uses HAProxy's ring
//! (see `ring.rs`), so only the clients of a server that leaves (or joins) move.

use super::hash::source_key;
use super::{Balancer, KeyMap, Pool};
use hakeeper_common::config::HashType;
use std::net::IpAddr;

pub struct Source {
    keys: KeyMap,
}

impl Source {
    pub fn new(hash_type: HashType) -> Self {
        Source { keys: KeyMap::new(hash_type) }
    }
}

impl Balancer for Source {
    /// The hashed server even when full (the connection then waits in its queue); only a
    /// redispatch walks on to another one.
    fn pick(&mut self, pool: &Pool<'_>, client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        self.keys.pick(pool, source_key(client), avoid)
    }

    fn rebuild(&mut self, pool: &Pool<'_>) {
        self.keys.rebuild(pool);
    }

    /// HAProxy's map-based hashing is static: only 0 % and 100 % weight changes apply.
    fn dynamic_weights(&self) -> bool {
        matches!(self.keys, KeyMap::Ring(_))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn assign_all(b: &mut dyn Balancer, s: &[super::super::ServerLoad], members: &[usize], clients: u32) -> Vec<usize> {
        let pool = Pool { servers: s, members };
        b.rebuild(&pool);
        (0..clients).map(|c| b.pick(&pool, client(c), None).unwrap()).collect()
    }

    /// Client addresses spread over the whole IPv4 space (the consistent ring takes the address
    /// unmixed, as HAProxy does, so neighbouring addresses would share one arc).
    fn spread(c: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(c.wrapping_mul(4_294_967)))
    }

    fn assign_spread(b: &mut dyn Balancer, s: &[super::super::ServerLoad], members: &[usize], clients: u32) -> Vec<usize> {
        let pool = Pool { servers: s, members };
        b.rebuild(&pool);
        (0..clients).map(|c| b.pick(&pool, spread(c), None).unwrap()).collect()
    }

    #[test]
    fn map_based_keeps_a_client_on_one_server() {
        let s = servers(&[1, 1, 1]);
        let m = all(&s);
        let mut b = Source::new(HashType::MapBased);
        let first = assign_all(&mut b, &s, &m, 30);
        assert_eq!(first, assign_all(&mut b, &s, &m, 30));
        let mut per = [0; 3];
        first.iter().for_each(|&i| per[i] += 1);
        assert_eq!(per, [10, 10, 10]);
    }

    #[test]
    fn consistent_moves_only_the_clients_of_a_removed_server() {
        let s = servers(&[1, 1, 1, 1]);
        let mut b = Source::new(HashType::Consistent);
        let before = assign_spread(&mut b, &s, &[0, 1, 2, 3], 1000);
        let after = assign_spread(&mut b, &s, &[0, 1, 3], 1000);
        let mut moved_from_2 = 0;
        for (b, a) in before.iter().zip(&after) {
            if *b == 2 {
                moved_from_2 += 1;
                assert_ne!(*a, 2);
            } else {
                assert_eq!(a, b, "a client of a remaining server moved");
            }
        }
        // Each server holds a fair share of the ring.
        assert!((150..350).contains(&moved_from_2), "{moved_from_2}");
        // And they come back when the server returns.
        assert_eq!(before, assign_spread(&mut b, &s, &[0, 1, 2, 3], 1000));
    }

    #[test]
    fn map_based_moves_many_clients_on_removal() {
        let s = servers(&[1, 1, 1, 1]);
        let mut b = Source::new(HashType::MapBased);
        let before = assign_all(&mut b, &s, &[0, 1, 2, 3], 1000);
        let after = assign_all(&mut b, &s, &[0, 1, 3], 1000);
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        assert!(moved > 500, "{moved}");
    }

    #[test]
    fn consistent_avoids_on_redispatch_and_queues_on_a_full_server() {
        let mut s = servers(&[1, 1]);
        let m = all(&s);
        let mut b = Source::new(HashType::Consistent);
        b.rebuild(&Pool { servers: &s, members: &m });
        let home = b.pick(&Pool { servers: &s, members: &m }, client(7), None).unwrap();
        assert_eq!(b.pick(&Pool { servers: &s, members: &m }, client(7), Some(home)), Some(1 - home));
        s[home].maxconn = 1;
        s[home].served = 1;
        assert_eq!(b.pick(&Pool { servers: &s, members: &m }, client(7), None), Some(home), "HAProxy queues on the hashed server");
    }
}
