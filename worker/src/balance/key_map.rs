//! Key hashing for `balance source` (the client address) and `balance uri|hdr|url_param` (a
//! request key): with `hash-type map-based` (the default) the key's hash indexes the members'
//! weighted map; with `hash-type consistent` it finds its place on the members' ring, so only the
//! keys of a server that leaves move. A redispatch walks on past the server to avoid. The map or ring
//! is built when the members or their weights change, never per request.

use super::ring::Ring;
use super::{weighted_sequence, Pool};
use hakeeper_common::config::HashType;

#[derive(Debug)]
pub enum KeyMap {
    Map(Vec<usize>),
    Ring(Ring),
}

impl KeyMap {
    pub fn new(hash_type: HashType) -> Self {
        match hash_type {
            HashType::MapBased => KeyMap::Map(Vec::new()),
            HashType::Consistent => KeyMap::Ring(Ring::default()),
        }
    }

    /// Called after the set of members or their weights changed.
    pub fn rebuild(&mut self, pool: &Pool<'_>) {
        match self {
            KeyMap::Map(map) => *map = weighted_sequence(pool),
            KeyMap::Ring(ring) => ring.rebuild(pool),
        }
    }

    /// The member `hash` maps to (even when full: the request then waits in its queue).
    pub fn pick(&self, pool: &Pool<'_>, hash: u32, avoid: Option<usize>) -> Option<usize> {
        match self {
            KeyMap::Map(map) => {
                if map.is_empty() {
                    return None;
                }
                let avoid = pool.effective_avoid(avoid);
                let start = hash as usize % map.len();
                (0..map.len()).map(|k| map[(start + k) % map.len()]).find(|&i| Some(i) != avoid)
            }
            KeyMap::Ring(ring) => ring.pick(pool, hash, avoid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn a_hash_indexes_the_weighted_map_and_avoids_on_redispatch() {
        let s = servers(&[2, 1]);
        let m = all(&s);
        let pool = Pool { servers: &s, members: &m };
        let mut k = KeyMap::new(HashType::MapBased);
        assert_eq!(k.pick(&pool, 7, None), None, "not built yet: no member");
        k.rebuild(&pool);
        // The map is [0, 0, 1].
        assert_eq!([0, 1, 2, 3, 4].map(|h| k.pick(&pool, h, None)), [Some(0), Some(0), Some(1), Some(0), Some(0)]);
        assert_eq!(k.pick(&pool, 0, Some(0)), Some(1));
        assert_eq!(k.pick(&pool, 2, Some(1)), Some(0));
    }

    #[test]
    fn rebuilding_follows_the_members() {
        for hash_type in [HashType::MapBased, HashType::Consistent] {
            let s = servers(&[1, 1, 1]);
            let mut k = KeyMap::new(hash_type);
            let pool = Pool { servers: &s, members: &[0, 2] };
            k.rebuild(&pool);
            assert!((0..200).all(|h| k.pick(&pool, h * 21_474_836, None) != Some(1)), "server 1 left the members");
            let none = Pool { servers: &s, members: &[] };
            k.rebuild(&none);
            assert_eq!(k.pick(&none, 3, None), None);
        }
    }
}
