//! Replication: the master feeds each replica from its AOF; a replica follows its
//! master. The handshake finds where their histories part using the reign chains
//! (Kafka's leader-epoch idea): partial resync when they share a reign, full otherwise.

mod base_sync;
mod master;
mod own_sync;
mod progress;
mod rebuild;
mod replica;

pub(crate) use base_sync::BaseReceive;
pub(crate) use own_sync::OwnSync;
pub(crate) use progress::{Feed, Progress};
pub(crate) use rebuild::Rebuild;
pub(crate) use replica::Upstream;

use crate::ids::Offset;
use crate::meta::Reign;
use crate::peer::SyncKind;

/// Where a replica's history and the master's part: the end, in the shorter of the two,
/// of the last reign both share. No shared reign means a full resync from zero.
pub(crate) fn divergence(
    master_reigns: &[Reign],
    master_end: Offset,
    replica_reigns: &[Reign],
    replica_end: Offset,
) -> (SyncKind, Offset) {
    let shared = replica_reigns
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, reign)| {
            master_reigns
                .iter()
                .position(|m| m == reign)
                .map(|j| (i, j))
        });
    let Some((i, j)) = shared else {
        return (SyncKind::Full, Offset(0));
    };
    if replica_end <= replica_reigns[i].start {
        // A chain that claims a reign its AOF does not reach: trust none of it.
        return (SyncKind::Full, Offset(0));
    }
    let replica_reign_end = replica_reigns.get(i + 1).map_or(replica_end, |r| r.start);
    let master_reign_end = master_reigns.get(j + 1).map_or(master_end, |r| r.start);
    let point = replica_reign_end.min(master_reign_end).min(replica_end);
    debug_assert!(point >= replica_reigns[i].start, "the shared reign is kept");
    (SyncKind::Partial, point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{MasterId, Term};

    fn reign(id: u64, term: u64, start: u64) -> Reign {
        Reign {
            master_id: MasterId(id),
            term: Term(term),
            start: Offset(start),
        }
    }

    #[test]
    fn divergence_cases() {
        let a = reign(1, 1, 0);
        let b = reign(2, 2, 100);
        let c = reign(3, 3, 150);
        let b_other = reign(9, 2, 120);
        // (name, master chain, master end, replica chain, replica end, want)
        type Case<'a> = (&'a str, &'a [Reign], u64, &'a [Reign], u64, (SyncKind, u64));
        let cases: &[Case] = &[
            (
                "same reign, replica behind",
                &[a],
                80,
                &[a],
                50,
                (SyncKind::Partial, 50),
            ),
            (
                "one failover, replica caught up",
                &[a, b],
                130,
                &[a],
                100,
                (SyncKind::Partial, 100),
            ),
            (
                "one failover, replica ahead",
                &[a, b],
                130,
                &[a],
                110,
                (SyncKind::Partial, 100),
            ),
            (
                "two failovers",
                &[a, b, c],
                200,
                &[a, b],
                140,
                (SyncKind::Partial, 140),
            ),
            (
                "two failovers, replica ahead in b",
                &[a, b, c],
                200,
                &[a, b],
                170,
                (SyncKind::Partial, 150),
            ),
            (
                "rival reign in the same term",
                &[a, b],
                130,
                &[a, b_other],
                140,
                (SyncKind::Partial, 100),
            ),
            ("empty replica", &[a], 80, &[], 0, (SyncKind::Full, 0)),
            ("nothing shared", &[b], 80, &[a], 60, (SyncKind::Full, 0)),
        ];
        for (i, (name, master, master_end, replica, replica_end, want)) in cases.iter().enumerate()
        {
            let got = divergence(master, Offset(*master_end), replica, Offset(*replica_end));
            assert_eq!(got, (want.0, Offset(want.1)), "#{i}: {name}");
        }
    }
}
