//! `balance first`: the member with the lowest server id that has a free maxconn slot. Weights
//! are ignored (beyond 0 meaning "no balanced traffic"); without maxconn the first server takes
//! everything.

use super::{Balancer, Pool};
use std::net::IpAddr;

#[derive(Default)]
pub struct First {
    by_id: Vec<usize>,
}

impl Balancer for First {
    fn pick(&mut self, pool: &Pool<'_>, _client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        let avoid = pool.effective_avoid(avoid);
        self.by_id.iter().copied().find(|&i| pool.open(i, avoid))
    }

    fn rebuild(&mut self, pool: &Pool<'_>) {
        self.by_id = pool.members.to_vec();
        self.by_id.sort_by_key(|&i| pool.servers[i].id);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn fills_the_lowest_id_up_to_its_maxconn() {
        let mut s = servers(&[1, 1]);
        s[0].id = 2;
        s[1].id = 1;
        s[1].maxconn = 3;
        let m = all(&s);
        let mut f = First::default();
        f.rebuild(&Pool { servers: &s, members: &m });
        let mut order = Vec::new();
        for _ in 0..5 {
            let i = f.pick(&Pool { servers: &s, members: &m }, client(0), None).unwrap();
            s[i].served += 1;
            order.push(i);
        }
        assert_eq!(order, vec![1, 1, 1, 0, 0]);
    }
}
